//! Fuzzes blktrace record streams (file format and the ftrace blk tracer's bin format) and btt.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut btt = ktrace_blk::btt::Btt::new();
    for r in ktrace_blk::Records::new(data).flatten() {
        let _ = r.rwbs();
        btt.feed(&r);
    }
    for item in ktrace_blk::FtraceBinRecords::new(data).flatten() {
        if let ktrace_blk::BlkItem::Record(r) = item {
            btt.feed(&r);
        }
    }
    let _ = btt.q2c();
});
