//! Bounded robustness test of ktrace-sample's parsers: real /proc texts and real taskstats
//! payloads from this kernel, truncated and mutated thousands of times; nothing may panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_sample::taskstats::TaskStats;

include!("common/procfs_all.rs");

use ktrace_testing::Rng;

/// `base` with one random corruption; the format's own: a run of one of the characters /proc text
/// is made of.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    rng.mutate(&mut b, |rng, b| {
        let i = rng.below(b.len());
        b.splice(i..i, std::iter::repeat_n(b"0123456789 \n:()-"[rng.below(16)], rng.below(40)));
    });
    b
}

#[test]
fn mutated_proc_texts_never_panic() {
    assert!(ktrace_testing::overflow_checks_on(), "robustness tests need overflow checks (no --release)");
    let pid = std::process::id();
    let mut texts: Vec<Vec<u8>> = Vec::new();
    for p in [
        "/proc/stat".to_string(),
        format!("/proc/{pid}/stat"),
        format!("/proc/{pid}/statm"),
        format!("/proc/{pid}/io"),
        "/proc/diskstats".into(),
        "/proc/meminfo".into(),
        "/proc/vmstat".into(),
        format!("/proc/{pid}/schedstat"),
        "/proc/pressure/cpu".into(),
    ] {
        if let Ok(t) = std::fs::read(&p) {
            texts.push(t);
        }
    }
    assert!(texts.len() >= 6, "too few /proc files readable");
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..4000 {
        let base = &texts[rng.below(texts.len())];
        let m = mutate(&mut rng, base);
        parse_every_procfs(&String::from_utf8_lossy(&m));
    }
}

#[test]
fn mutated_taskstats_payloads_never_panic() {
    // Synthesized payloads of every layout size (v13 416, v14 432, v15/v16 560) with live values.
    let mut rng = Rng::new(42);
    let mut bases = Vec::new();
    for (v, len) in [(13u16, 416usize), (14, 432), (15, 560), (16, 560), (17, 688)] {
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        b[0..2].copy_from_slice(&v.to_ne_bytes());
        bases.push(b);
    }
    for _ in 0..5000 {
        let base = &bases[rng.below(bases.len())];
        let m = mutate(&mut rng, base);
        match TaskStats::parse(&m) {
            Ok(t) => assert_eq!(t.len, m.len()),
            Err(ktrace_sample::Error::Malformed { offset, .. }) => assert!(offset <= m.len()),
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
}

#[test]
fn mutated_perf_records_never_panic() {
    use ktrace_core::RawData;
    use ktrace_sample::profile::Profile;
    // A well-formed sample (IP, TID, TIME, CPU, PERIOD, 3-frame callchain, 12-byte raw payload)
    // and COMM / MMAP2 / FORK / LOST bodies, each ending in the sampler's sample_id (pid/tid, time,
    // cpu), then truncated and mutated.
    let mut sample = Vec::new();
    for v in [0x401000u64, (7u64 << 32) | 7, 123_456, 1, 1000, 3, 0x401000, 0x402000, 0xffff_ffff_8100_0000] {
        sample.extend_from_slice(&v.to_ne_bytes());
    }
    sample.extend_from_slice(&12u32.to_ne_bytes());
    sample.extend_from_slice(&[1; 12]);
    let mut comm = vec![7, 0, 0, 0, 7, 0, 0, 0];
    comm.extend_from_slice(b"hot\0\0\0\0\0");
    let mut mmap2 = vec![0u8; 64];
    mmap2.extend_from_slice(b"/usr/bin/true\0");
    let mut fork = vec![9, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    let mut lost = [5u64, 42].iter().flat_map(|v| v.to_ne_bytes()).collect::<Vec<u8>>();
    let sample_id: Vec<u8> = [(7u64 << 32) | 7, 123_456, 1].iter().flat_map(|v| v.to_ne_bytes()).collect();
    for b in [&mut comm, &mut mmap2, &mut fork, &mut lost] {
        b.extend_from_slice(&sample_id);
    }
    let bases: [(u32, Vec<u8>); 5] = [(9, sample), (3, comm), (10, mmap2), (7, fork), (2, lost)];
    let mut rng = Rng::new(7);
    let mut p = Profile { callchain: true, ..Profile::default() };
    for (ty, b) in &bases {
        p.add_record(*ty, RawData::Single(b), true);
    }
    assert_eq!((p.samples.len(), p.malformed, p.forks.len()), (1, 0, 1), "well-formed records parse");
    assert_eq!(p.raw_of(&p.samples[0]), &[1; 12]);
    assert_eq!((p.comms.get(&7).map(String::as_str), p.mappings.len()), (Some("hot"), 1));
    let loss =
        ktrace_core::Lost { source: ktrace_core::LostSource::PerfRing, cpu: 1, count: Some(42), timestamp_ns: 123_456 };
    assert_eq!((p.lost, &p.losses[..]), (42, &[loss][..]), "a loss is an item with its cpu, count and time");
    for _ in 0..5000 {
        let (ty, base) = &bases[rng.below(bases.len())];
        let m = mutate(&mut rng, base);
        let cut = rng.below(m.len() + 1);
        let (a, b) = m.split_at(cut);
        p.add_record(*ty, RawData::Split(a, b), rng.below(2) == 0);
    }
}
