//! Fuzzes the `.note.stapsdt` parser and the SDT argument translation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for p in ktrace_kprobe::usdt::parse_notes(data, None, Some(0x1000)) {
        for a in p.args.split_whitespace() {
            let _ = ktrace_kprobe::usdt::translate_arg("a", a);
        }
    }
});
