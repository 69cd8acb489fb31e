//! Fuzzes the `/proc/PID/maps` parser of ktrace-ptrace's stack walker.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let maps = ktrace_ptrace::stack::parse_maps(&String::from_utf8_lossy(data));
    // In address order, none overlapping: what the lookups rely on.
    assert!(maps.windows(2).all(|w| w[0].end <= w[1].start));
});
