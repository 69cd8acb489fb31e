//! Fuzzes ktrace-core's typed perf record parser (`RawPerfRecord::parse`) on arbitrary bodies and
//! layouts: kind (% 16), misc bits, `sample_type`, `read_format` (0x80: `sample_id_all`), the
//! point where the body is split as the ring's wrap would split it, then the body. A record that
//! parses split must parse the same once made contiguous; errors are fine, panics are not.
#![no_main]
use ktrace_core::perf::{PerfRecord, ReadFormat, RecordLayout, SampleType};
use ktrace_core::{Cursor, PerfRecordType, RawData, RawPerfRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let (Ok(kind), Ok(misc), Ok(sample_type), Ok(fmt), Ok(split)) = (c.u8(), c.u8(), c.u32_le(), c.u8(), c.u8()) else {
        return;
    };
    let Ok(body) = c.bytes(c.remaining()) else { return };
    let layout = RecordLayout::new(SampleType::from_bits_retain(u64::from(sample_type)), fmt & 0x80 != 0)
        .with_read_format(ReadFormat::from_bits_retain(u64::from(fmt & 0x1f)));
    let kind = PerfRecordType(u32::from(kind % 16));
    let misc = u16::from(misc & 3) << 13;
    let (a, b) = body.split_at(body.len() * usize::from(split) / 256);
    let whole = RawPerfRecord::new(kind, misc, body).parse(&layout);
    let split = RawPerfRecord::new(kind, misc, RawData::Split(a, b));
    if let Ok(PerfRecord::Sample(s)) = split.parse(&layout) {
        let n = s.callchain.map_or(0, |cc| cc.iter().count() + cc.ips().count());
        let _ = (n, s.raw.map(|r| r.to_vec()));
    }
    let mut scratch = Vec::new();
    assert_eq!(split.contiguous(&mut scratch).parse(&layout), whole);
});
