//! Bounded robustness test of the blk parsers and analysis: v7 and v8 record streams (as the
//! kernel writes them), truncated and mutated thousands of times, go through the record iterator,
//! the typed payloads, sequence-gap accounting, per-CPU file splitting and btt. Nothing may panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_blk::btt::Btt;
use ktrace_blk::record::{MAGIC, VERSION, VERSION2, per_cpu_files, sequence_gaps};
use ktrace_blk::{Action, BlkItem, Category, FtraceBinRecords, Records};

use ktrace_testing::Rng;

/// A record as the kernel writes it: `struct blk_io_trace` (`VERSION`: a 32-bit action before the
/// pid) or `struct blk_io_trace2` (`VERSION2`: a 64-bit action after it, 12 bytes of padding).
fn record(version: u8, seq: u32, t: u64, sector: u64, bytes: u32, act: u64, pdu: &[u8]) -> Vec<u8> {
    let v8 = version == VERSION2;
    let mut v = Vec::new();
    v.extend_from_slice(&(MAGIC | version as u32).to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&t.to_ne_bytes());
    v.extend_from_slice(&sector.to_ne_bytes());
    v.extend_from_slice(&bytes.to_ne_bytes());
    if v8 {
        v.extend_from_slice(&42u32.to_ne_bytes());
        v.extend_from_slice(&act.to_ne_bytes());
    } else {
        v.extend_from_slice(&(act as u32).to_ne_bytes());
        v.extend_from_slice(&42u32.to_ne_bytes());
    }
    v.extend_from_slice(&((7u32 << 20) | 1).to_ne_bytes());
    v.extend_from_slice(&u32::from(v8).to_ne_bytes()); // cpu
    v.extend_from_slice(&0u16.to_ne_bytes());
    v.extend_from_slice(&(pdu.len() as u16).to_ne_bytes());
    if v8 {
        v.extend_from_slice(&[0; 12]);
    }
    v.extend_from_slice(pdu);
    v
}

#[test]
fn mutated_blk_streams_never_panic() {
    assert!(ktrace_testing::overflow_checks_on(), "robustness tests need overflow checks (no --release)");
    let act = |a: Action, c: Category| u64::from(a.0) | (u64::from(c.bits()) << 16);
    let mut stream = Vec::new();
    let mut seq = 1;
    for (i, a) in [Action::QUEUE, Action::GETRQ, Action::INSERT, Action::ISSUE, Action::COMPLETE].iter().enumerate() {
        stream.extend(record(VERSION, seq, 100 + i as u64, 8, 4096, act(*a, Category::WRITE | Category::QUEUE), &[]));
        seq += 1;
    }
    stream.extend(record(VERSION, seq, 200, 0, 0, act(Action(0), Category::NOTIFY), b"fio\0"));
    let mut remap = Vec::new();
    remap.extend_from_slice(&0x0080_0001u32.to_be_bytes());
    remap.extend_from_slice(&0x0080_0010u32.to_be_bytes());
    remap.extend_from_slice(&4096u64.to_be_bytes());
    stream.extend(record(VERSION, seq + 1, 210, 16, 4096, act(Action::REMAP, Category::QUEUE), &remap));
    stream.extend(record(VERSION2, seq + 2, 220, u64::MAX - 3, u32::MAX, act(Action::ISSUE, Category::ISSUE), &[]));
    stream.extend(record(VERSION2, seq + 3, 230, 8, 4096, act(Action::COMPLETE, Category::COMPLETE) | 1 << 40, &[]));
    // The ftrace bin form: 16 bytes before each record.
    let mut ftrace = Vec::new();
    for r in Records::new(&stream) {
        let r = r.unwrap();
        ftrace.extend_from_slice(&[0u8; 16]);
        ftrace.extend_from_slice(r.header_bytes());
        ftrace.extend_from_slice(r.pdu);
    }
    let mut rng = Rng::new(0x5eed);
    for round in 0..6000 {
        let base = if round % 3 == 0 { &ftrace } else { &stream };
        let mut b = base.clone();
        rng.mutate(&mut b, |rng, b| {
            // Same magic, other versions and lengths.
            let i = rng.below(b.len().saturating_sub(4));
            b[i] = [7u8, 8, 9, 0][rng.below(4)];
        });
        let recs: Vec<_> = if round % 3 == 0 {
            FtraceBinRecords::new(&b).map_while(Result::ok).filter_map(BlkItem::record).collect()
        } else {
            Records::new(&b).map_while(Result::ok).collect()
        };
        let mut btt = Btt::new();
        for r in &recs {
            let _ = (r.payload(), r.cgroup_id(), r.rwbs(), r.category_bits(), r.dev_major_minor(), r.raw(), r.raw2());
            btt.feed(r);
        }
        let _ = (btt.q2c(), btt.d2c(), btt.q2g(), btt.i2d(), btt.q2m(), btt.merge_ratio(), btt.d2c_hist());
        let _ = sequence_gaps(recs.iter().copied());
        let _ = per_cpu_files(recs.iter().copied());
    }
}
