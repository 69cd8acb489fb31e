//! Fuzzes the tracefs `format`, `header_page` and `header_event` parsers, then decodes a record with
//! whatever format parsed.
#![no_main]
use ktrace_core::{Endian, EventFormat, PageLayout, RawData};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = PageLayout::from_header_page(&text, Endian::Little);
    let _ = ktrace_core::page::check_header_event(&text);
    if let Ok(f) = EventFormat::parse("fuzz", &text) {
        let rec = data.get(..data.len().min(256)).unwrap_or_default();
        for field in f.fields.iter().chain(&f.common_fields) {
            let _ = field.value(RawData::Single(rec), Endian::Little);
        }
    }
});
