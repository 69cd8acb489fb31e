use super::*;
use crate::perf::PerfRing;
use ktrace_testing::Rng;

/// The profiler's layout: IP, TID, TIME, CPU, PERIOD, CALLCHAIN, RAW, with `sample_id_all`.
const LAYOUT: RecordLayout = RecordLayout::new(
    SampleType::IP
        .union(SampleType::TID)
        .union(SampleType::TIME)
        .union(SampleType::CPU)
        .union(SampleType::PERIOD)
        .union(SampleType::CALLCHAIN)
        .union(SampleType::RAW),
    true,
);

fn words(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// `struct sample_id` for LAYOUT: pid/tid 7, time, cpu 1.
fn trailer(time: u64) -> Vec<u8> {
    words(&[(7 << 32) | 7, time, 1])
}

fn sample_body() -> Vec<u8> {
    let mut b =
        words(&[0x401000, (8 << 32) | 7, 123_456, 1, 1000, 3, 0x401000, PERF_CONTEXT_MAX + 1, 0xffff_8000_0000_1000]);
    b.extend_from_slice(&12u32.to_ne_bytes());
    b.extend_from_slice(&[1; 12]);
    b
}

fn with_trailer(mut b: Vec<u8>, time: u64) -> Vec<u8> {
    b.extend_from_slice(&trailer(time));
    b
}

fn parse(kind: PerfRecordType, misc: u16, body: &[u8]) -> Result<PerfRecord<'_>> {
    RawPerfRecord::new(kind, misc, body).parse(&LAYOUT)
}

#[test]
fn samples_with_callchain_and_raw() {
    let b = sample_body();
    let PerfRecord::Sample(s) = parse(PerfRecordType::SAMPLE, 0, &b).unwrap() else { panic!() };
    assert_eq!(
        (s.ip, s.sample_id.pid, s.sample_id.tid, s.sample_id.time, s.sample_id.cpu, s.period),
        (Some(0x401000), Some(7), Some(8), Some(123_456), Some(1), Some(1000))
    );
    let cc = s.callchain.unwrap();
    assert_eq!(cc.len(), 3);
    assert_eq!(cc.ips().collect::<Vec<_>>(), [0x401000, 0xffff_8000_0000_1000]);
    assert_eq!(s.raw.unwrap().to_vec(), [1; 12]);
    assert_eq!((s.addr, s.sample_id.id, s.read), (None, None, None));
    // The same bytes split at every point parse the same.
    for cut in 0..=b.len() {
        let (x, y) = b.split_at(cut);
        let r = RawPerfRecord::new(PerfRecordType::SAMPLE, 0, RawData::Split(x, y)).parse(&LAYOUT).unwrap();
        let PerfRecord::Sample(t) = r else { panic!() };
        assert_eq!(
            (t.ip, t.period, t.callchain.unwrap().iter().collect::<Vec<_>>()),
            (s.ip, s.period, cc.iter().collect())
        );
        assert_eq!(t.raw.unwrap().to_vec(), [1; 12]);
    }
}

#[test]
fn sample_fields_in_kernel_order() {
    let all = SampleType::IDENTIFIER
        | SampleType::IP
        | SampleType::TID
        | SampleType::TIME
        | SampleType::ADDR
        | SampleType::ID
        | SampleType::STREAM_ID
        | SampleType::CPU
        | SampleType::PERIOD
        | SampleType::READ;
    // read_format GROUP | ID | TOTAL_TIME_ENABLED: nr, enabled, nr x {value, id}.
    let fmt = ReadFormat::GROUP | ReadFormat::ID | ReadFormat::TOTAL_TIME_ENABLED;
    let layout = RecordLayout::new(all, false).with_read_format(fmt);
    let b = words(&[9, 1, 2 << 32 | 3, 4, 5, 9, 6, 7, 8, 2, 100, 11, 9, 12, 9]);
    let PerfRecord::Sample(s) = RawPerfRecord::new(PerfRecordType::SAMPLE, 0, &b[..]).parse(&layout).unwrap() else {
        panic!()
    };
    let id = SampleId { pid: Some(3), tid: Some(2), time: Some(4), id: Some(9), stream_id: Some(6), cpu: Some(7) };
    assert_eq!((s.sample_id, s.ip, s.addr, s.period), (id, Some(1), Some(5), Some(8)));
    assert_eq!(s.read.unwrap().len(), 6 * 8);
    // A group count that does not fit is an error naming where the count was.
    let b = words(&[9, 1, 2, 4, 5, 9, 6, 7, 8, u64::MAX]);
    let e = RawPerfRecord::new(PerfRecordType::SAMPLE, 0, &b[..]).parse(&layout).unwrap_err();
    assert!(matches!(e, ParseError::BadValue { offset: 80, what: "sample read nr", .. }), "{e:?}");
    let e = RawPerfRecord::new(PerfRecordType::SAMPLE, 0, &b[..72]).parse(&layout).unwrap_err();
    assert!(matches!(e, ParseError::Truncated { offset: 80, what: "sample read nr", .. }), "{e:?}");
}

#[test]
fn side_band_records() {
    let mut comm = words(&[(7 << 32) | 7]);
    comm.extend_from_slice(b"hot\0\0\0\0\0");
    let comm = with_trailer(comm, 50);
    let PerfRecord::Comm(c) = parse(PerfRecordType::COMM, 1 << 13, &comm).unwrap() else { panic!() };
    assert_eq!((c.pid, c.name, c.exec, c.sample_id.time, c.sample_id.cpu), (7, &b"hot"[..], true, Some(50), Some(1)));

    let mut mmap2 = words(&[(7 << 32) | 7, 0x400000, 0x1000, 0, (3 << 32) | 8, 42, 1, (2 << 32) | 5]);
    mmap2.extend_from_slice(b"/usr/bin/true\0\0\0");
    let mmap2 = with_trailer(mmap2, 60);
    let PerfRecord::Mmap(m) = parse(PerfRecordType::MMAP2, 0, &mmap2).unwrap() else { panic!() };
    assert_eq!((m.pid, m.addr, m.len, m.filename, m.data), (7, 0x400000, 0x1000, &b"/usr/bin/true"[..], false));
    let file = Mmap2File::Inode { maj: 8, min: 3, ino: 42, ino_generation: 1 };
    assert_eq!(m.mmap2, Some(Mmap2 { file, prot: 5, flags: 2 }));
    // With a build id in the union instead (PERF_RECORD_MISC_MMAP_BUILD_ID).
    let mut bid = mmap2.clone();
    bid[32] = 4;
    bid[36..40].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let PerfRecord::Mmap(m) = parse(PerfRecordType::MMAP2, 1 << 14, &bid).unwrap() else { panic!() };
    assert_eq!(m.mmap2.unwrap().file, Mmap2File::BuildId(&[0xde, 0xad, 0xbe, 0xef]));

    let mut mmap = words(&[(7 << 32) | 7, 0x400000, 0x1000, 0]);
    mmap.extend_from_slice(b"[vdso]\0\0");
    let mmap = with_trailer(mmap, 1);
    let PerfRecord::Mmap(m) = parse(PerfRecordType::MMAP, 1 << 13, &mmap).unwrap() else { panic!() };
    assert_eq!((m.filename, m.data, m.mmap2), (&b"[vdso]"[..], true, None));

    let fork = with_trailer(words(&[(1 << 32) | 9, (1 << 32) | 9, 70]), 70);
    let exit = fork.clone();
    assert_eq!(
        parse(PerfRecordType::FORK, 0, &fork).unwrap(),
        PerfRecord::Fork(Task { pid: 9, ppid: 1, tid: 9, ptid: 1, time: 70, sample_id: sid(70) })
    );
    assert!(matches!(parse(PerfRecordType::EXIT, 0, &exit).unwrap(), PerfRecord::Exit(Task { pid: 9, .. })));

    let throttle = with_trailer(words(&[80, 5, 6]), 80);
    let t = Throttle { time: 80, id: 5, stream_id: 6, sample_id: sid(80) };
    assert_eq!(parse(PerfRecordType::THROTTLE, 0, &throttle).unwrap(), PerfRecord::Throttle(t));
    assert_eq!(parse(PerfRecordType::UNTHROTTLE, 0, &throttle).unwrap(), PerfRecord::Unthrottle(t));
}

fn sid(time: u64) -> SampleId {
    SampleId { pid: Some(7), tid: Some(7), time: Some(time), id: None, stream_id: None, cpu: Some(1) }
}

#[test]
fn losses_are_lost_items_with_the_exact_count() {
    let lost = with_trailer(words(&[3, 12_345]), 90);
    let want = Lost { source: LostSource::PerfRing, cpu: 1, count: Some(12_345), timestamp_ns: 90 };
    let r = parse(PerfRecordType::LOST, 0, &lost).unwrap();
    assert_eq!((r, r.lost()), (PerfRecord::Lost(want), Some(want)));
    let lost_samples = with_trailer(words(&[12_345]), 90);
    let r = parse(PerfRecordType::LOST_SAMPLES, 0, &lost_samples).unwrap();
    assert_eq!(r, PerfRecord::LostSamples(want));
    // Without sample_id_all: no CPU, no time.
    let bare = RecordLayout::new(LAYOUT.sample_type, false);
    let body = words(&[3, 4]);
    let r = RawPerfRecord::new(PerfRecordType::LOST, 0, &body[..]).parse(&bare).unwrap();
    assert_eq!(r.lost(), Some(Lost { cpu: u32::MAX, count: Some(4), timestamp_ns: 0, ..want }));
}

#[test]
fn unknown_kinds_stay_raw() {
    for kind in [PerfRecordType::SWITCH, PerfRecordType::KSYMBOL, PerfRecordType(4242)] {
        let rec = RawPerfRecord::new(kind, 3, &[1u8, 2, 3][..]);
        assert_eq!(rec.parse(&LAYOUT), Ok(PerfRecord::Raw(rec)));
    }
}

#[test]
fn short_and_inconsistent_records_are_errors_naming_the_offset() {
    // Shorter than its sample_id trailer (24 bytes).
    let e = parse(PerfRecordType::LOST, 0, &[0; 16]).unwrap_err();
    assert_eq!(e, ParseError::Truncated { offset: 8, wanted: 24, available: 16, what: "sample_id" });
    // A LOST body without its count.
    let e = parse(PerfRecordType::LOST, 0, &with_trailer(words(&[3]), 1)).unwrap_err();
    assert_eq!(e, ParseError::Truncated { offset: 16, wanted: 8, available: 0, what: "lost count" });
    // A callchain claiming more entries than the record holds.
    let mut b = sample_body();
    b[40..48].copy_from_slice(&1000u64.to_ne_bytes());
    let e = parse(PerfRecordType::SAMPLE, 0, &b).unwrap_err();
    assert!(matches!(e, ParseError::BadValue { offset: 48, what: "sample callchain nr", found: 1000, .. }), "{e:?}");
    // A raw payload longer than the record.
    let mut b = sample_body();
    let at = b.len() - 16;
    b[at..at + 4].copy_from_slice(&13u32.to_ne_bytes());
    let e = parse(PerfRecordType::SAMPLE, 0, &b).unwrap_err();
    assert!(matches!(e, ParseError::Truncated { what: "sample raw data", wanted: 13, available: 12, .. }), "{e:?}");
    // A COMM name split by the wrap needs the record made contiguous first.
    let mut comm = words(&[(7 << 32) | 7]);
    comm.extend_from_slice(b"hot\0\0\0\0\0");
    let comm = with_trailer(comm, 5);
    let (x, y) = comm.split_at(10);
    let split = RawPerfRecord::new(PerfRecordType::COMM, 0, RawData::Split(x, y));
    assert!(split.parse(&LAYOUT).is_err());
    let mut scratch = Vec::new();
    let PerfRecord::Comm(c) = split.contiguous(&mut scratch).parse(&LAYOUT).unwrap() else { panic!() };
    assert_eq!(c.name, b"hot");
}

/// Fuzz-style: well-formed records of every kind, truncated, mutated and split anywhere, parsed
/// with random layouts. No panics; every error names an offset inside the record.
#[test]
fn mutated_records_never_panic() {
    let mut comm = words(&[(7 << 32) | 7]);
    comm.extend_from_slice(b"hot\0\0\0\0\0");
    let mut mmap2 = words(&[(7 << 32) | 7, 0x400000, 0x1000, 0, 0, 0, 0, 0]);
    mmap2.extend_from_slice(b"/bin/true\0\0\0\0\0\0\0");
    let bases: Vec<(PerfRecordType, Vec<u8>)> = vec![
        (PerfRecordType::SAMPLE, sample_body()),
        (PerfRecordType::COMM, with_trailer(comm, 1)),
        (PerfRecordType::MMAP2, with_trailer(mmap2, 2)),
        (PerfRecordType::FORK, with_trailer(words(&[1, 2, 3]), 3)),
        (PerfRecordType::LOST, with_trailer(words(&[1, 2]), 4)),
        (PerfRecordType::THROTTLE, with_trailer(words(&[1, 2, 3]), 5)),
    ];
    let mut rng = Rng::new(0x9e4f);
    for _ in 0..20_000 {
        let (kind, base) = &bases[rng.below(bases.len())];
        let mut b = base.clone();
        b.truncate(rng.below(b.len() + 9));
        for _ in 0..rng.below(4) {
            if !b.is_empty() {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
        }
        let cut = rng.below(b.len() + 1);
        let (x, y) = b.split_at(cut);
        let layout = RecordLayout::new(SampleType::from_bits_retain(rng.next() & 0x1ffff), rng.below(2) == 0)
            .with_read_format(ReadFormat::from_bits_retain(rng.next() & 0x1f));
        let misc = (rng.next() as u16) & 0x6000;
        for data in [RawData::Split(x, y), RawData::Single(&b)] {
            if let Err(e) = RawPerfRecord::new(*kind, misc, data).parse(&layout) {
                let offset = match e {
                    ParseError::Truncated { offset, .. } | ParseError::BadValue { offset, .. } => offset,
                    e => panic!("{e:?}"),
                };
                assert!(offset <= 8 + b.len(), "{e:?} past {}", 8 + b.len());
            }
        }
    }
}

/// A ring framed and parsed end to end: records in order, a LOST among them, the wrap handled.
#[test]
fn ring_to_typed_stream() {
    let recs: Vec<(u32, Vec<u8>)> = vec![
        (9, sample_body()),
        (2, with_trailer(words(&[3, 77]), 10)),
        (13, with_trailer(words(&[5]), 11)),
        (14, trailer(12)), // SWITCH: kept raw
    ];
    let mut bytes = Vec::new();
    for (ty, body) in &recs {
        bytes.extend_from_slice(&ty.to_ne_bytes());
        bytes.extend_from_slice(&0u16.to_ne_bytes());
        bytes.extend_from_slice(&((8 + body.len()) as u16).to_ne_bytes());
        bytes.extend_from_slice(body);
    }
    let size = bytes.len().next_power_of_two();
    for start in [0, 40, size - 8, size - 3] {
        let mut ring = vec![0u8; size];
        for (i, x) in bytes.iter().enumerate() {
            ring[(start + i) % size] = *x;
        }
        let mut scratch = Vec::new();
        let mut lost = 0;
        let mut kinds = Vec::new();
        for raw in PerfRing::new(&ring, start as u64, (start + bytes.len()) as u64) {
            let rec = raw.unwrap();
            let rec = rec.contiguous(&mut scratch).parse(&LAYOUT).unwrap();
            lost += rec.lost().and_then(|l| l.count).unwrap_or(0);
            kinds.push(match rec {
                PerfRecord::Sample(s) => s.callchain.map_or(0, |c| c.len()),
                PerfRecord::Raw(r) => r.kind.0 as usize,
                _ => 0,
            });
        }
        assert_eq!(lost, 82);
        assert_eq!(kinds, [3, 0, 0, 14]);
    }
}
