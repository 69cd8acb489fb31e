//! Live: the public perf ring reader ([`MappedRing`]) on a one-page ring. Page-fault samples
//! (period 1) of this thread overflow it: the kernel's `PERF_RECORD_LOST` comes out of the typed
//! stream as a `Lost` item whose count, added to the samples read, is every fault the sampler
//! counted; drained often, the ring wraps many times and every record (split ones included)
//! parses.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_core::LostSource;
use ktrace_core::perf::{PerfRecord, RecordLayout, SampleType};
use ktrace_sample::perf::ring::MappedRing;
use ktrace_testing::root;
use perf_event::events::Software;
use perf_event::{Builder, Counter, SampleFlag};

const PAGE: usize = 4096;
/// The samples' fields: 40-byte records, so some straddle the end of a 4 KiB ring.
const LAYOUT: SampleType = SampleType::IP.union(SampleType::TID).union(SampleType::TIME).union(SampleType::PERIOD);

/// As root, a page-fault sampler of the calling thread (every fault a sample), counting, and
/// its one-page ring; or the skip of `test` recorded.
fn sampler(test: &str) -> Option<(Counter, MappedRing)> {
    if !root(test) {
        return None;
    }
    let mut c = Builder::new(Software::PAGE_FAULTS)
        .sample_period(1)
        .sample(SampleFlag::IP | SampleFlag::TID | SampleFlag::TIME | SampleFlag::PERIOD)
        .sample_id_all(true)
        .enabled(false)
        .build()
        .unwrap();
    let ring = MappedRing::new(&c, PAGE).unwrap();
    assert_eq!(ring.data_size(), PAGE);
    c.enable().unwrap();
    Some((c, ring))
}

/// Touches `pages` fresh pages (one page fault each) and keeps them, so that no later
/// allocation reuses pages already faulted in.
fn fault(pages: usize) -> Vec<u8> {
    let mut v = vec![0u8; pages * PAGE];
    for i in (0..v.len()).step_by(PAGE) {
        v[i] = 1;
    }
    std::hint::black_box(v)
}

#[derive(Default, Debug)]
struct Seen {
    samples: u64,
    lost: u64,
    throttled: bool,
    records: u64,
    split: u64,
}

fn drain(ring: &mut MappedRing, seen: &mut Seen) {
    let layout = RecordLayout::new(LAYOUT, true);
    let tid = nix::unistd::gettid().as_raw() as u32;
    seen.records += ring
        .drain_parsed(&layout, |r| match r.unwrap() {
            PerfRecord::Sample(s) => {
                assert_eq!((s.sample_id.tid, s.period), (Some(tid), Some(1)));
                seen.samples += 1;
            }
            PerfRecord::Lost(l) => {
                assert_eq!((l.source, l.count.is_some(), l.timestamp_ns > 0), (LostSource::PerfRing, true, true));
                seen.lost += l.count.unwrap();
            }
            PerfRecord::Throttle(_) => seen.throttled = true,
            _ => {}
        })
        .unwrap() as u64;
}

#[test]
fn an_overflowed_ring_reports_the_exact_loss() {
    let Some((mut c, mut ring)) = sampler("an_overflowed_ring_reports_the_exact_loss") else { return };
    let a = fault(4096); // 4096 samples of 40 bytes into a 4 KiB ring: most are lost
    let mut seen = Seen::default();
    drain(&mut ring, &mut seen);
    let first = seen.samples;
    // The kernel reports the loss in the first record it writes once there is room again.
    let b = fault(8);
    c.disable().unwrap();
    drop((a, b));
    drain(&mut ring, &mut seen);
    let count = c.read().unwrap();
    eprintln!("{seen:?} of {count} faults counted");
    assert!(first > 0 && first < 200, "{seen:?}");
    assert!(seen.lost > 3000, "{seen:?} of {count}");
    if seen.throttled {
        // Throttled events are counted but neither sampled nor lost.
        assert!(seen.samples + seen.lost <= count, "{seen:?} of {count}");
    } else {
        assert_eq!(seen.samples + seen.lost, count, "{seen:?}");
    }
    assert_eq!(ring.pending(), 0);
}

#[test]
fn a_ring_drained_often_wraps_and_every_record_parses() {
    let Some((mut c, mut ring)) = sampler("a_ring_drained_often_wraps_and_every_record_parses") else { return };
    let mut seen = Seen::default();
    let mut kept = Vec::new();
    let layout = RecordLayout::new(LAYOUT, true);
    let mut scratch = Vec::new();
    for _ in 0..200 {
        kept.push(fault(20));
        // The raw records, a split one copied into scratch before it is parsed.
        ring.drain(|raw| {
            seen.split += u64::from(raw.body.as_slice().is_none());
            match raw.contiguous(&mut scratch).parse(&layout).unwrap() {
                PerfRecord::Sample(s) => seen.samples += u64::from(s.period == Some(1)),
                r => panic!("{r:?}"),
            }
        })
        .unwrap();
    }
    c.disable().unwrap();
    drop(kept);
    drain(&mut ring, &mut seen);
    let count = c.read().unwrap();
    eprintln!("{seen:?} of {count} faults counted");
    // 4000 samples of 40 bytes went through a 4 KiB ring: it wrapped about 40 times, and
    // records straddled its end.
    assert!(seen.samples * 40 > 30 * PAGE as u64 && seen.split > 5, "{seen:?} of {count}");
    assert_eq!((seen.lost, seen.samples), (0, count), "{seen:?}");
}
