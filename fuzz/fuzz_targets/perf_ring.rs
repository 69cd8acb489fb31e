//! Fuzzes perf ring framing: the first 16 bytes are tail and head, the rest is the data area.
#![no_main]
use ktrace_core::PerfRing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (pos, ring) = data.split_at(16);
    let tail = u64::from_le_bytes(pos[..8].try_into().unwrap_or_default()) % 4096;
    let head = tail + u64::from_le_bytes(pos[8..].try_into().unwrap_or_default()) % 4096;
    for rec in PerfRing::new(ring, tail, head).flatten() {
        let _ = rec.body.to_vec();
    }
});
