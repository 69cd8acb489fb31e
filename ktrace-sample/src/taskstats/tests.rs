use super::*;
#[test]
fn parses_by_length_and_version() {
    let mut b = vec![0u8; 416];
    b[0..2].copy_from_slice(&13u16.to_ne_bytes());
    b[16..24].copy_from_slice(&5u64.to_ne_bytes());
    b[40..48].copy_from_slice(&777u64.to_ne_bytes());
    b[80..84].copy_from_slice(b"dd\0\0");
    let t = TaskStats::parse(&b).unwrap();
    assert_eq!((t.version, t.cpu.count, t.blkio.total_ns, t.comm.as_str(), t.irq.count), (13, 5, 777, "dd", 0));
    assert_eq!(t.cpu.max_ns, 0, "no max before v15");
    // A payload ending at a field boundary is an older layout: the later fields are zero.
    let short = TaskStats::parse(&b[..80]).unwrap();
    assert_eq!((short.wpcopy, short.comm.as_str(), short.blkio.total_ns), (Delay::default(), "", 777));
    // One ending inside a field is malformed, naming the field (comm at 80), never zeros.
    match TaskStats::parse(&b[..100]) {
        Err(Error::Malformed { offset: 80, expected, .. }) => {
            assert_eq!(expected, "32 bytes for a char[] field, found 20")
        }
        r => panic!("{r:?}"),
    }
    match TaskStats::parse(&[1]) {
        Err(Error::Malformed { offset: 1, .. }) => {}
        r => panic!("{r:?}"),
    }
}

fn put(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

#[test]
fn v17_when_each_maximum_happened() {
    // As Debian sid's 7.2 sent it: 688 bytes, timespecs from byte 560.
    let mut b = vec![0u8; 688];
    b[0..2].copy_from_slice(&17u16.to_ne_bytes());
    put(&mut b, 432, 5000); // cpu_delay_max (v16 place)
    put(&mut b, 560, 0x6b08_51d3); // cpu_delay_max_ts.tv_sec
    put(&mut b, 568, 0x2995_0791); // .tv_nsec
    put(&mut b, 576 + 16, 7); // swapin (third) .tv_sec
    let t = TaskStats::parse(&b).unwrap();
    assert_eq!((t.version, t.cpu.max_ns), (17, 5000));
    assert_eq!(t.cpu.max_at_ns, 0x6b08_51d3 * 1_000_000_000 + 0x2995_0791);
    assert_eq!((t.blkio.max_at_ns, t.swapin.max_at_ns), (0, 7_000_000_000));
    // A v16 payload of the same bytes has no times.
    b[0..2].copy_from_slice(&16u16.to_ne_bytes());
    assert_eq!(TaskStats::parse(&b).unwrap().cpu.max_at_ns, 0);
}

#[test]
fn v15_interleaved_and_v16_appended_max_min() {
    // Same values, placed by each version's layout.
    let mut v15 = vec![0u8; 560];
    v15[0..2].copy_from_slice(&15u16.to_ne_bytes());
    put(&mut v15, 16, 3); // cpu_count
    put(&mut v15, 24, 300); // cpu_delay_total
    put(&mut v15, 32, 200); // cpu_delay_max
    put(&mut v15, 40, 40); // cpu_delay_min
    put(&mut v15, 48, 2); // blkio_count
    put(&mut v15, 112, 123_456); // cpu_run_real_total
    v15[128..131].copy_from_slice(b"fio");
    v15[176..180].copy_from_slice(&77u32.to_ne_bytes()); // ac_pid
    put(&mut v15, 320, 9); // nvcsw
    put(&mut v15, 528, 1); // irq_count
    put(&mut v15, 544, 5); // irq_delay_max
    let mut v16 = vec![0u8; 560];
    v16[0..2].copy_from_slice(&16u16.to_ne_bytes());
    put(&mut v16, 16, 3);
    put(&mut v16, 24, 300);
    put(&mut v16, 432, 200);
    put(&mut v16, 440, 40);
    put(&mut v16, 32, 2);
    put(&mut v16, 64, 123_456);
    v16[80..83].copy_from_slice(b"fio");
    v16[128..132].copy_from_slice(&77u32.to_ne_bytes());
    put(&mut v16, 272, 9);
    put(&mut v16, 416, 1);
    put(&mut v16, 544, 5);
    for b in [&v15, &v16] {
        let t = TaskStats::parse(b).unwrap();
        let cpu = Delay { count: 3, total_ns: 300, max_ns: 200, min_ns: 40, max_at_ns: 0 };
        assert_eq!((t.cpu, t.blkio.count, t.cpu_run_real_ns, t.comm.as_str()), (cpu, 2, 123_456, "fio"));
        assert_eq!((t.pid, t.nvcsw, t.irq.count, t.irq.max_ns, t.cpu.avg_ns()), (77, 9, 1, 5, 100));
    }
}
