//! Fuzzes the profiler's perf record parser (samples with callchains and raw payloads, COMM,
//! MMAP/MMAP2, FORK/EXIT, LOST, LOST_SAMPLES, THROTTLE) on arbitrary bodies.
#![no_main]
use ktrace_core::RawData;
use ktrace_sample::profile::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let ty = [1u32, 2, 3, 4, 5, 7, 9, 10, 13][sel as usize % 9];
    let mut p = Profile { callchain: sel & 0x10 != 0, ..Profile::default() };
    let split = body.len() / 2;
    let (a, b) = body.split_at(split);
    p.add_record(ty, RawData::Split(a, b), sel & 0x20 != 0);
    p.add_record(ty, RawData::Single(body), sel & 0x40 != 0);
});
