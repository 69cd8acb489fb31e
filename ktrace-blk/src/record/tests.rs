use super::*;

pub(crate) fn rec(seq: u32, time: u64, sector: u64, bytes: u32, act: u32, cpu: u32, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&time.to_ne_bytes());
    v.extend_from_slice(&sector.to_ne_bytes());
    v.extend_from_slice(&bytes.to_ne_bytes());
    v.extend_from_slice(&act.to_ne_bytes());
    v.extend_from_slice(&42u32.to_ne_bytes());
    v.extend_from_slice(&((7u32 << 20) | 3).to_ne_bytes());
    v.extend_from_slice(&cpu.to_ne_bytes());
    v.extend_from_slice(&0u16.to_ne_bytes());
    v.extend_from_slice(&(pdu.len() as u16).to_ne_bytes());
    v.extend_from_slice(pdu);
    v
}

#[test]
fn parses_and_rejects() {
    let q = (Action::QUEUE.0 as u32) | ((Category::QUEUE | Category::WRITE | Category::SYNC).bits() as u32) << 16;
    let mut buf = rec(1, 100, 8, 4096, q, 0, &[]);
    buf.extend(rec(2, 200, 0, 0, (Category::NOTIFY.bits() as u32) << 16, 0, b"bash\0"));
    let v: Vec<_> = Records::new(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[0].action(), v[0].rwbs().as_str(), v[0].sector(), v[0].dev_major_minor()),
        (Action::QUEUE, "WS", 8, (7, 3))
    );
    assert_eq!(v[0].action().letter(), "Q");
    assert!(v[1].is_notify());
    assert_eq!(v[1].pdu, b"bash\0");
    let mut bad = buf.clone();
    bad[0] ^= 0xff;
    assert!(matches!(Records::new(&bad).next(), Some(Err(ParseError::BadValue { offset: 0, .. }))));
    for cut in 0..buf.len() {
        let _ = Records::new(&buf[..cut]).count();
    }
    let files = per_cpu_files(v.clone().into_iter());
    assert_eq!(files[&0], buf);
    assert!(sequence_gaps(v.into_iter()).is_empty());
    let mut gap = rec(1, 100, 8, 4096, q, 0, &[]);
    gap.extend(rec(5, 200, 8, 4096, q, 0, &[]));
    let lost = sequence_gaps(Records::new(&gap).flatten());
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].count, Some(3));
}

/// A `blk_io_trace2` record (v8): 64-bit action after the pid, 12 bytes of padding.
pub(crate) fn rec2(seq: u32, sector: u64, bytes: u32, act: u64, cpu: u32, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(MAGIC | VERSION2 as u32).to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&1000u64.to_ne_bytes());
    v.extend_from_slice(&sector.to_ne_bytes());
    v.extend_from_slice(&bytes.to_ne_bytes());
    v.extend_from_slice(&42u32.to_ne_bytes()); // pid
    v.extend_from_slice(&act.to_ne_bytes());
    v.extend_from_slice(&((8u32 << 20) | 16).to_ne_bytes());
    v.extend_from_slice(&cpu.to_ne_bytes());
    v.extend_from_slice(&(-5i16).to_ne_bytes());
    v.extend_from_slice(&(pdu.len() as u16).to_ne_bytes());
    v.extend_from_slice(&[0; 12]);
    assert_eq!(v.len(), 64);
    v.extend_from_slice(pdu);
    v
}

#[test]
fn version_8_records_and_mixed_streams() {
    let q = Action::COMPLETE.0 as u64 | (((Category::COMPLETE | Category::WRITE).bits() as u64) << 16) | (1 << 40);
    let mut buf = rec2(9, 2048, 8192, q, 1, &[]);
    buf.extend(rec(10, 5, 16, 512, Action::QUEUE.0 as u32, 1, &[]));
    buf.extend(rec2(11, 0, 0, (Category::NOTIFY.bits() as u64) << 16, 1, b"fio\0"));
    let v: Vec<_> = Records::new(&buf).collect::<Result<_, _>>().unwrap();
    assert_eq!(v.len(), 3);
    let r = v[0];
    assert_eq!((r.version(), r.sequence(), r.sector(), r.bytes(), r.pid(), r.cpu()), (8, 9, 2048, 8192, 42, 1));
    assert_eq!((r.action(), r.rwbs().as_str(), r.dev_major_minor(), r.error()), (Action::COMPLETE, "W", (8, 16), -5));
    assert_eq!(r.category_bits() >> 24, 1, "a category past bit 15 of v8");
    assert!(!r.is_zone_append());
    let za = rec2(1, 0, 4096, Action::COMPLETE.0 as u64 | (CATEGORY_ZONE_APPEND << 16), 0, &[]);
    let z = parse_at(&za, 0).unwrap();
    assert!(z.is_zone_append() && z.action() == Action::COMPLETE);
    assert_eq!((Action(18).letter(), Action(19).letter()), ("ZP", "ZU"));
    assert!(r.raw().is_none() && r.raw2().is_some() && r.header_bytes().len() == 64 && r.len() == 64);
    assert_eq!((v[1].version(), v[1].action()), (7, Action::QUEUE));
    assert_eq!(v[2].payload(), Payload::Process(b"fio"));
    let files = per_cpu_files(v.into_iter());
    assert_eq!(files[&1], buf);
    // CPU 0 saw nothing: an empty file, so blkparse finds .0 before .1.
    assert!(files[&0].is_empty() && files.len() == 2);
    for cut in 0..buf.len() {
        let _ = Records::new(&buf[..cut]).count();
    }
    let mut bad = rec2(1, 0, 0, 0, 0, &[]);
    bad[0] = 9;
    match parse_at(&bad, 0) {
        Err(ParseError::BadValue { what: "blk_io_trace version", found: 9, .. }) => {}
        r => panic!("{r:?}"),
    }
}

#[test]
fn ftrace_bin_records_with_v2_fields_under_a_v7_magic() {
    // As Linux 7.2's blk tracer writes them: 16-byte ftrace prefix (pid, cpu, ts), then 48
    // bytes holding blk_io_trace2's first 48 (pid at 28, u64 action at 32, device at 40).
    let mut buf = Vec::new();
    for (pid, act, sector) in [(117u32, 1u64 | (0x1a << 16), 0u64), (0, 8 | (0x18a << 16), 0)] {
        buf.extend_from_slice(&pid.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&5u64.to_ne_bytes());
        let v2 = rec2(0, sector, 4096, act, 0, &[]);
        let mut head = v2[..48].to_vec();
        head[0..4].copy_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
        head[28..32].copy_from_slice(&pid.to_ne_bytes());
        head[46..48].copy_from_slice(&[0, 0]);
        buf.extend_from_slice(&head);
    }
    let (v, lost) = FtraceBinRecords::new(&buf).split().unwrap();
    assert!(lost.is_empty());
    assert_eq!((v[0].action(), v[0].pid(), v[0].rwbs().as_str()), (Action::QUEUE, 117, "WS"));
    assert_eq!((v[1].action(), v[1].pid(), v[1].dev_major_minor()), (Action::COMPLETE, 0, (8, 16)));
    assert!(v.iter().all(|r| r.version() == 7 && r.raw().is_none()));
    // Written out as proper v7 records (as blkparse reads them).
    let files = per_cpu_files(v.iter().copied());
    let back: Vec<_> = Records::new(&files[&0]).collect::<Result<_, _>>().unwrap();
    assert_eq!(back.len(), 2);
    assert!(back[0].raw().is_some());
    assert_eq!((back[0].action(), back[0].pid(), back[0].rwbs().as_str()), (Action::QUEUE, 117, "WS"));
    assert_eq!((back[1].action(), back[1].dev_major_minor()), (Action::COMPLETE, (8, 16)));
    // A proper v7 stream with its pid at 32 is read as v7.
    let mut ok = vec![0u8; 16];
    ok[0..4].copy_from_slice(&42u32.to_ne_bytes());
    ok.extend(rec(1, 100, 8, 4096, Action::ISSUE.0 as u32 | (1 << 22), 0, &[]));
    let r = FtraceBinRecords::new(&ok).next().unwrap().unwrap().record().unwrap();
    assert_eq!((r.action(), r.pid()), (Action::ISSUE, 42));
    assert!(r.raw().is_some());
}

/// What the kernel writes to `trace_pipe` (bin) when the ring dropped events: the text line
/// of `print_trace_line()` between two prefixed records.
#[test]
fn ftrace_lost_events_lines_are_lost_items() {
    let prefixed = |pid: u32, cpu: u32, ts: u64, r: Vec<u8>| {
        let mut v = pid.to_ne_bytes().to_vec();
        v.extend_from_slice(&cpu.to_ne_bytes());
        v.extend_from_slice(&ts.to_ne_bytes());
        v.extend(r);
        v
    };
    let q = Action::QUEUE.0 as u32;
    let mut buf = prefixed(42, 0, 100, rec(0, 100, 8, 4096, q, 0, &[]));
    buf.extend_from_slice(b"CPU:0 [LOST 572812 EVENTS]\n");
    buf.extend(prefixed(42, 0, 900, rec(0, 900, 16, 4096, q, 0, &[])));
    buf.extend_from_slice(b"CPU:1 [LOST EVENTS]\n");
    buf.extend(prefixed(43, 1, 950, rec(0, 950, 24, 4096, q, 1, b"x")));
    buf.extend_from_slice(b"CPU:1 [LOST 3 EVENTS]\n");
    let items: Vec<_> = FtraceBinRecords::new(&buf).collect::<Result<_, _>>().unwrap();
    let shape: Vec<String> = items
        .iter()
        .map(|i| match i {
            BlkItem::Record(r) => format!("rec {}", r.sector()),
            BlkItem::Lost(l) => format!("lost cpu {} {:?} at {}", l.cpu, l.count, l.timestamp_ns),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "rec 8",
            "lost cpu 0 Some(572812) at 900",
            "rec 16",
            "lost cpu 1 None at 950",
            "rec 24",
            "lost cpu 1 Some(3) at 0"
        ]
    );
    let (recs, lost) = FtraceBinRecords::new(&buf).split().unwrap();
    assert_eq!((recs.len(), lost.iter().filter_map(|l| l.count).sum::<u64>()), (3, 572815));
    // Malformed or cut lines are errors naming the text, and the stream stops there.
    for bad in [&b"CPU:0 [LOST x EVENTS]\n"[..], b"CPU:0 [LOST 5 EVENTS]", b"CPU:zero [LOST EVENTS]\n"] {
        let mut b = prefixed(42, 0, 100, rec(0, 100, 8, 4096, q, 0, &[]));
        b.extend_from_slice(bad);
        b.extend(prefixed(42, 0, 900, rec(0, 900, 16, 4096, q, 0, &[])));
        let mut it = FtraceBinRecords::new(&b);
        assert!(matches!(it.next(), Some(Ok(BlkItem::Record(_)))));
        match it.next() {
            Some(Err(ParseError::Text { what: "ftrace lost-events line", .. })) => {}
            r => panic!("{:?}", r.map(|r| r.map(|i| i.record().is_some()))),
        }
        assert!(it.next().is_none());
    }
}

#[test]
fn typed_payloads() {
    let notify = (Category::NOTIFY.bits() as u32) << 16;
    let mut buf = rec(1, 1, 0, 0, notify, 0, b"kworker\0");
    buf.extend(rec(2, 2, 0, 0, notify | 2, 0, b"hello\0"));
    buf.extend(rec(3, 3, 0, 0, notify | 1, 0, &[5, 0, 0, 0, 7, 0, 0, 0]));
    let mut remap = Vec::new();
    remap.extend_from_slice(&0x0080_0001u32.to_be_bytes());
    remap.extend_from_slice(&0x0080_0010u32.to_be_bytes());
    remap.extend_from_slice(&4096u64.to_be_bytes());
    buf.extend(rec(4, 4, 8, 4096, Action::REMAP.0 as u32 | ((Category::QUEUE.bits() as u32) << 16), 0, &remap));
    let mut cg = 77u64.to_ne_bytes().to_vec();
    cg.extend_from_slice(b"x\0");
    buf.extend(rec(5, 5, 0, 0, notify | 0x100 | 2, 0, &cg));
    buf.extend(rec(6, 6, 8, 4096, Action::QUEUE.0 as u32, 0, &[]));
    let p: Vec<_> = Records::new(&buf).map(|r| r.unwrap().payload()).collect();
    assert_eq!(p[0], Payload::Process(b"kworker"));
    assert_eq!(p[1], Payload::Message(b"hello"));
    assert_eq!(p[2], Payload::Timestamp { sec: 5, nsec: 7 });
    assert_eq!(p[3], Payload::Remap { dev_from: 0x0080_0001, dev_to: 0x0080_0010, sector_from: 4096 });
    assert_eq!(p[4], Payload::Message(b"x"));
    assert_eq!(Records::new(&buf).nth(4).unwrap().unwrap().cgroup_id(), Some(77));
    assert_eq!(p[5], Payload::None);
}
