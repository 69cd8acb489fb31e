//! Fuzzes the `struct taskstats` parser (every version layout).
#![no_main]
use ktrace_sample::taskstats::TaskStats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = TaskStats::parse(data);
});
