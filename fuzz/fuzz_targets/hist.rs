//! Fuzzes the hist-trigger `hist` file parser.
#![no_main]
use ktrace_ftrace::hist::Hist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Hist::parse(&String::from_utf8_lossy(data));
});
