//! Fuzzes the ftrace page walker: the first byte picks the page size and byte order.
#![no_main]
use ktrace_core::{Endian, PageLayout, Pages, RawData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let page = [4096usize, 8192, 64, 128][(sel & 3) as usize];
    let mut layout = PageLayout::LE64;
    if sel & 4 != 0 {
        layout.endian = Endian::Big;
    }
    if sel & 8 != 0 {
        layout.commit_size = 4;
        layout.data_offset = 12;
    }
    for item in Pages::new(rest, page, layout, 0) {
        if let Ok(ktrace_core::PageItem::Event(ev)) = item {
            let _ = RawData::Single(ev.data).c_str(8, 64);
        }
    }
});
