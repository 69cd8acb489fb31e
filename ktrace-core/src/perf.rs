//! Framing of the perf mmap ring buffer: `struct perf_event_header` records between tail and head.
//!
//! The data area of a `perf_event_open(2)` mmap ring is a power-of-two sized circular buffer; the
//! kernel writes records at `data_head` and the reader consumes from `data_tail`. A record may wrap
//! the end of the area; it is then yielded as [`RawData::Split`]. See `include/uapi/linux/perf_event.h`
//! and perf_event_open(2). Minimum kernel: 2.6.31.

use zerocopy::byteorder::{NativeEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::{ParseError, Result};
use crate::raw::{Endian, RawData};

/// `struct perf_event_header` as the kernel lays it out (native byte order).
#[doc(alias = "perf_event_header")]
#[derive(Debug, Clone, Copy, FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct PerfEventHeader {
    /// Record type (`PERF_RECORD_*`).
    pub type_: U32<NativeEndian>,
    /// `PERF_RECORD_MISC_*` bits.
    pub misc: U16<NativeEndian>,
    /// Size of the record including this header.
    pub size: U16<NativeEndian>,
}
const _: () = assert!(size_of::<PerfEventHeader>() == 8);

/// A perf record type (`PERF_RECORD_*`). Open-ended: unknown values are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PerfRecordType(pub u32);

macro_rules! record_types {
    ($($name:ident = $v:expr),* $(,)?) => {
        impl PerfRecordType {
            $(#[doc = concat!("`PERF_RECORD_", stringify!($name), "`")]
            pub const $name: PerfRecordType = PerfRecordType($v);)*
            /// The kernel's name without the `PERF_RECORD_` prefix, or `None` for an unknown type.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($v => Some(stringify!($name)),)* _ => None }
            }
        }
    };
}
record_types! {
    MMAP = 1, LOST = 2, COMM = 3, EXIT = 4, THROTTLE = 5, UNTHROTTLE = 6, FORK = 7, READ = 8,
    SAMPLE = 9, MMAP2 = 10, AUX = 11, ITRACE_START = 12, LOST_SAMPLES = 13, SWITCH = 14,
    SWITCH_CPU_WIDE = 15, NAMESPACES = 16, KSYMBOL = 17, BPF_EVENT = 18, CGROUP = 19,
    TEXT_POKE = 20, AUX_OUTPUT_HW_ID = 21,
}

/// One record from the ring: its header fields and its bytes (header included), maybe split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfRecord<'a> {
    /// The record type.
    pub kind: PerfRecordType,
    /// `misc` bits (CPU mode, `PERF_RECORD_MISC_*`).
    pub misc: u16,
    /// Position of the record in the ring (a running byte count, as head and tail are).
    pub position: u64,
    /// The whole record, header included.
    pub data: RawData<'a>,
}

impl<'a> PerfRecord<'a> {
    /// The record's body after the 8-byte header.
    pub fn body(&self) -> RawData<'a> {
        self.data.slice(8, self.data.len().saturating_sub(8)).unwrap_or(RawData::Single(&[]))
    }
}

/// Iterator over the records of a perf ring's data area between `tail` and `head`.
///
/// `data` is the whole data area (its length a power of two); `tail` and `head` are the running
/// positions from the mmap control page (`data_tail`, `data_head`). After an error it yields nothing.
#[doc(alias = "perf_event_mmap_page")]
#[doc(alias = "data_head")]
#[doc(alias = "data_tail")]
#[derive(Debug, Clone)]
pub struct PerfRing<'a> {
    data: &'a [u8],
    tail: u64,
    head: u64,
}

impl<'a> PerfRing<'a> {
    /// Frames the records of `data` from `tail` to `head`.
    pub fn new(data: &'a [u8], tail: u64, head: u64) -> PerfRing<'a> {
        PerfRing { data, tail, head }
    }

    /// The position up to which records were consumed (write it to `data_tail` when done).
    pub fn tail(&self) -> u64 {
        self.tail
    }
}

impl<'a> Iterator for PerfRing<'a> {
    type Item = Result<PerfRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let size = self.data.len() as u64;
        if self.tail >= self.head || size == 0 {
            return None;
        }
        let avail = self.head - self.tail;
        if avail > size {
            let t = self.tail;
            self.tail = self.head;
            return Some(Err(ParseError::BadValue {
                offset: (t % size) as usize,
                what: "perf ring head - tail",
                expected: "at most the data size",
                found: avail,
            }));
        }
        let start = (self.tail % size) as usize;
        let whole = ring_range(self.data, start, avail as usize);
        let hdr = whole.array::<8>(0, "perf_event_header").and_then(|b| {
            PerfEventHeader::read_from_bytes(&b).map_err(|_| ParseError::truncated("perf_event_header", start, 8, 0))
        });
        let hdr = match hdr {
            Ok(h) => h,
            Err(e) => {
                self.tail = self.head;
                return Some(Err(e));
            }
        };
        let len = hdr.size.get() as usize;
        if len < 8 || len as u64 > avail {
            self.tail = self.head;
            return Some(Err(ParseError::BadValue {
                offset: start,
                what: "perf_event_header.size",
                expected: "8 up to the bytes between tail and head",
                found: len as u64,
            }));
        }
        let data = whole.slice(0, len).unwrap_or(RawData::Single(&[]));
        let rec = PerfRecord { kind: PerfRecordType(hdr.type_.get()), misc: hdr.misc.get(), position: self.tail, data };
        self.tail += len as u64;
        Some(Ok(rec))
    }
}

/// The `len` bytes of a ring starting at `start`, as one slice or two.
fn ring_range(data: &[u8], start: usize, len: usize) -> RawData<'_> {
    let first = data.get(start..).unwrap_or_default();
    if first.len() >= len {
        RawData::Single(first.get(..len).unwrap_or_default())
    } else {
        RawData::Split(first, data.get(..len - first.len()).unwrap_or_default())
    }
}

/// Reads a `PERF_RECORD_LOST` body: `{ u64 id; u64 lost; }` (plus `sample_id` if enabled).
pub fn lost_count(rec: &PerfRecord<'_>) -> Result<u64> {
    rec.data.u64(16, Endian::NATIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ty: u32, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&0u16.to_ne_bytes());
        v.extend_from_slice(&((8 + body.len()) as u16).to_ne_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn frames_and_wraps() {
        let mut ring = vec![0u8; 64];
        let a = rec(9, &[1; 24]); // 32 bytes at 48..64 then 0..16
        let b = rec(2, &[0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        for (i, x) in a.iter().chain(b.iter()).enumerate() {
            ring[(48 + i) % 64] = *x;
        }
        let recs: Vec<_> = PerfRing::new(&ring, 48, 48 + 56).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].kind, PerfRecordType::SAMPLE);
        assert!(matches!(recs[0].data, RawData::Split(x, y) if x.len() == 16 && y.len() == 16));
        assert_eq!(recs[0].body().to_vec(), vec![1; 24]);
        assert_eq!(recs[1].kind.name(), Some("LOST"));
        assert_eq!(lost_count(&recs[1]).unwrap(), 5);
    }

    #[test]
    fn bad_sizes_are_errors() {
        let mut ring = rec(9, &[0; 8]);
        ring.resize(32, 0);
        ring[6] = 4; // size 4 < 8
        let r: Vec<_> = PerfRing::new(&ring, 0, 16).collect();
        assert!(matches!(r[..], [Err(ParseError::BadValue { what: "perf_event_header.size", .. })]));
        assert!(PerfRing::new(&ring, 0, 100).next().unwrap().is_err());
        assert_eq!(PerfRecordType(999).name(), None);
    }
}
