//! Bounded mutation test of the trace.dat reader: thousands of corrupted files, no panics.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::path::Path;

use ktrace_ftrace::tracedat::{Buffer, TraceDat};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ktrace-core/tests/fixtures")
}

fn sample() -> Vec<u8> {
    let raw = std::fs::read(fixtures().join("raw_syscalls.raw")).unwrap();
    let mut cpus = BTreeMap::new();
    cpus.insert(0u32, raw[..8192].to_vec());
    cpus.insert(1u32, raw[8192..12288].to_vec());
    trace_dat(cpus)
}

/// A v6 trace.dat of the fixtures' raw_syscalls formats with these per-CPU pages (4096-byte, LE64).
fn trace_dat(cpus: BTreeMap<u32, Vec<u8>>) -> Vec<u8> {
    let fx = fixtures();
    let mut formats = Vec::new();
    for ev in ["sys_enter", "sys_exit"] {
        formats.push((
            "raw_syscalls".to_owned(),
            std::fs::read_to_string(fx.join(format!("formats/raw_syscalls/{ev}/format"))).unwrap(),
        ));
    }
    let t = TraceDat {
        version: 6,
        long_size: 8,
        page_size: 4096,
        header_page: std::fs::read_to_string(fx.join("header_page")).unwrap(),
        header_event: std::fs::read_to_string(fx.join("header_event")).unwrap(),
        formats,
        cmdlines: "1 init\n".into(),
        trace_clock: Some("[local] global".into()),
        buffers: vec![Buffer {
            name: String::new(),
            clock: "local".into(),
            page_size: 4096,
            cpus: cpus.into_iter().map(|(c, d)| (c, d.into())).collect(),
        }],
        ..Default::default()
    };
    let mut out = Vec::new();
    t.write_v6(&mut out).unwrap();
    out
}

#[test]
fn mutated_trace_dat_never_panics() {
    assert!(ktrace_testing::overflow_checks_on(), "robustness tests need overflow checks (no --release)");
    let orig = sample();
    let ok = TraceDat::parse(&orig).unwrap();
    assert!(ok.recording().unwrap().events().count() > 100);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2000 {
        let mut m = orig.clone();
        for _ in 0..1 + rnd() % 6 {
            let i = (rnd() % m.len() as u64) as usize;
            match rnd() % 4 {
                0 => m[i] ^= 1 << (rnd() % 8),
                1 => m[i] = rnd() as u8,
                2 => m.truncate(i),
                _ => m[i] = 0xff,
            }
            if m.is_empty() {
                break;
            }
        }
        if let Ok(t) = TraceDat::parse(&m)
            && let Ok(r) = t.recording()
        {
            for ev in r.events().flatten() {
                let _ = ev.typed();
            }
        }
    }
}

/// Found by cargo-fuzz (`tracedat`, issue 13): pages whose stored missed-events counts sum past
/// `u64::MAX` panicked `Recording::from_chunks` with overflow checks and read as `lost_total() == 0`
/// without. The counts now saturate: each page still yields its `Lost`, and the total stays huge.
#[test]
fn missed_counts_past_u64_max_saturate() {
    let page = missed_page(u64::MAX - 1);
    let mut cpus = BTreeMap::new();
    cpus.insert(0u32, [page.as_slice(), &page, &page].concat());
    let r = TraceDat::parse(&trace_dat(cpus)).unwrap().recording().unwrap();
    let lost: Vec<_> = r
        .items()
        .filter_map(|i| match i.unwrap() {
            ktrace_ftrace::Item::Lost(l) => l.count,
            ktrace_ftrace::Item::Event(_) => None,
        })
        .collect();
    assert_eq!(lost, [u64::MAX - 1; 3]);
    assert_eq!(r.lost_total(), u64::MAX);
}

/// An empty LE64 page (commit size 0) flagged as missed, with the count `n` stored right after the data.
fn missed_page(n: u64) -> Vec<u8> {
    use ktrace_core::page::{RB_MISSED_EVENTS, RB_MISSED_STORED};
    let mut page = vec![0u8; 4096];
    page[8..16].copy_from_slice(&(RB_MISSED_EVENTS | RB_MISSED_STORED).to_le_bytes());
    page[16..24].copy_from_slice(&n.to_le_bytes());
    page
}

/// Recordings of 1-4 CPUs of 1-4 missed pages with random stored counts (half near `u64::MAX`) and
/// random counter readings: no overflow, and `lost_total()` is never below any one loss it reports.
#[test]
fn random_missed_counts_never_overflow() {
    use ktrace_core::{Clock, Endian, FormatRegistry, PageLayout};
    use ktrace_ftrace::{Decoder, Item, Recording};
    use ktrace_testing::Rng;
    let mut rng = Rng::new(13);
    for _ in 0..500 {
        let (mut cpus, mut stats) = (Vec::new(), Vec::new());
        for _ in 0..=rng.below(4) {
            let pages = (0..=rng.below(4))
                .map(|_| missed_page(if rng.below(2) == 0 { u64::MAX - rng.next() % 1000 } else { rng.next() }));
            cpus.push(pages.collect::<Vec<_>>().concat());
            stats.push((rng.next(), 0));
        }
        let dec = Decoder::new(FormatRegistry::new(), Endian::Little, Clock::Local);
        let r = Recording::new(cpus, 4096, PageLayout::LE64, stats, dec);
        let most = r.items().filter_map(|i| if let Ok(Item::Lost(l)) = i { l.count } else { None }).max();
        assert!(r.lost_total() >= most.unwrap_or(0));
    }
}

/// A v7 trace.dat (`fuzz/seeds/tracedat/v7_raw_syscalls`, `trace-cmd convert --file-version 7` of the
/// v6 seed) whose BUFFER option names CPU `u32::MAX`: `recording()` sized a vector by the largest cpu
/// id (96 GiB, an abort). Ids past any kernel's NR_CPUS are an error naming the offset.
#[test]
fn v7_cpu_id_past_nr_cpus_is_an_error() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/tracedat/v7_raw_syscalls");
    let mut d = std::fs::read(seed).unwrap();
    assert!(TraceDat::parse(&d).unwrap().recording().unwrap().events().count() > 50);
    // The BUFFER option's cpu table: page size 4096, 1 cpu, cpu 0 at offset 0x1000.
    let table =
        [&4096u32.to_le_bytes()[..], &1u32.to_le_bytes(), &0u32.to_le_bytes(), &0x1000u64.to_le_bytes()].concat();
    let at = d.windows(table.len()).position(|w| w == table).unwrap() + 8;
    for cpu in [u32::MAX, 1 << 20] {
        d[at..at + 4].copy_from_slice(&cpu.to_le_bytes());
        match TraceDat::parse(&d).and_then(|t| t.recording()) {
            Err(ktrace_ftrace::Error::TraceDat { what, .. }) => assert!(what.contains("cpu id"), "{what}"),
            other => panic!("cpu {cpu}: {other:?}"),
        }
    }
    d[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
    let r = TraceDat::parse(&d).unwrap().recording().unwrap();
    assert_eq!(r.cpu_chunks().len(), 6, "a sparse cpu id still reads");
}

/// The hist-file parser on mutated kernel-shaped text (rows with execname/syscall keys, values,
/// totals), and typed stacks decoded from mutated records, never panic.
#[test]
fn mutated_hist_text_never_panics() {
    use ktrace_ftrace::hist::Hist;
    use ktrace_testing::Rng;
    let base = "# event histogram\n#\n# trigger info: hist:keys=common_pid.execname,id.syscall:vals=hitcount,bytes:sort=hitcount:size=2048 [active]\n#\n\n{ common_pid: python3 [ 4242], id: sys_getppid [110] } hitcount: 100 bytes: 7\n{ common_pid: a, b [ 7], id: 0x10 } hitcount: 3 bytes: 4096\n{ lat: ~ 2^5 } hitcount: 9\n\nTotals:\n    Hits: 112\n    Entries: 3\n    Dropped: 0\n";
    let alphabet = b"{}[]:, 0123456789xabc\n~^";
    let mut rng = Rng::new(11);
    let mut parsed = 0;
    for _ in 0..6000 {
        let mut b = base.as_bytes().to_vec();
        for _ in 0..=rng.below(6) {
            match rng.below(3) {
                0 => b.truncate(rng.below(b.len() + 1)),
                1 => {
                    let i = rng.below(b.len());
                    if let Some(x) = b.get_mut(i) {
                        *x = alphabet[rng.below(alphabet.len())];
                    }
                }
                _ => {
                    let (i, j) = (rng.below(b.len()), rng.below(b.len()));
                    b.drain(i.min(j)..i.max(j));
                }
            }
        }
        parsed += usize::from(Hist::parse(&String::from_utf8_lossy(&b)).is_ok());
    }
    assert!(parsed > 1000, "most mutations still parse: {parsed}");
}
