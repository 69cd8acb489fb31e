//! The perf mmap ring buffer: its control page ([`PerfEventMmapPage`]), the framing of
//! `struct perf_event_header` records between tail and head ([`PerfRing`]), and the typed records
//! ([`PerfRecord`]).
//!
//! The data area of a `perf_event_open(2)` mmap ring is a power-of-two sized circular buffer; the
//! kernel writes records at `data_head` and the reader consumes from `data_tail`. A record may wrap
//! the end of the area; its body is then [`RawData::Split`]. Records are read in two stages, as
//! linux-perf-event-reader does: [`PerfRing`] yields cheap [`RawPerfRecord`]s (type, misc, borrowed
//! bytes), and [`RawPerfRecord::parse`] turns one into a typed [`PerfRecord`] given the event's
//! [`RecordLayout`] (its `sample_type`, `read_format` and `sample_id_all`). A kind not typed here
//! is [`PerfRecord::Raw`], never an error. See `include/uapi/linux/perf_event.h` and
//! perf_event_open(2). Minimum kernel: 2.6.31.
//!
//! ```
//! use ktrace_core::perf::{PerfRecord, PerfRing, RecordLayout, SampleType};
//!
//! // A ring holding one PERF_RECORD_LOST_SAMPLES { u64 lost = 3 } (no sample_id trailer).
//! let mut ring = Vec::new();
//! ring.extend_from_slice(&13u32.to_ne_bytes()); // type
//! ring.extend_from_slice(&0u16.to_ne_bytes()); // misc
//! ring.extend_from_slice(&16u16.to_ne_bytes()); // size, header included
//! ring.extend_from_slice(&3u64.to_ne_bytes());
//! let layout = RecordLayout::new(SampleType::IP | SampleType::TID, false);
//! for raw in PerfRing::new(&ring, 0, 16) {
//!     match raw?.parse(&layout)? {
//!         PerfRecord::LostSamples(lost) => assert_eq!(lost.count, Some(3)),
//!         other => panic!("{other:?}"),
//!     }
//! }
//! # Ok::<(), ktrace_core::ParseError>(())
//! ```

mod mmap_page;
mod record;

pub use mmap_page::PerfEventMmapPage;
pub use record::{
    Callchain, Comm, Mmap, Mmap2, Mmap2File, PERF_CONTEXT_MAX, PerfRecord, ReadFormat, RecordLayout, Sample, SampleId,
    SampleType, Task, Throttle,
};

use zerocopy::byteorder::{NativeEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::{ParseError, Result};
use crate::raw::RawData;

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

/// One record from the ring, not yet parsed: its header fields and its body, borrowed from the
/// ring (two slices where it wraps the end of the data area).
///
/// [`RawPerfRecord::parse`] makes it a typed [`PerfRecord`]. Strings (a COMM's name, an MMAP's
/// file name) are borrowed as one slice, so a record split by the wrap is first copied into a
/// caller's scratch buffer with [`RawPerfRecord::contiguous`] (a no-op for the usual whole record).
#[doc(alias = "perf_event_header")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPerfRecord<'a> {
    /// The record type (`perf_event_header.type`).
    pub kind: PerfRecordType,
    /// `misc` bits (CPU mode, `PERF_RECORD_MISC_*`).
    pub misc: u16,
    /// Position of the record in the ring (a running byte count, as head and tail are); 0 for a
    /// record made with [`RawPerfRecord::new`].
    pub position: u64,
    /// The record's bytes after the 8-byte header.
    pub body: RawData<'a>,
}

impl<'a> RawPerfRecord<'a> {
    /// A record of `kind` with `misc` bits and `body` (the bytes after the header), e.g. from a
    /// perf.data file or a test.
    pub fn new(kind: PerfRecordType, misc: u16, body: impl Into<RawData<'a>>) -> RawPerfRecord<'a> {
        RawPerfRecord { kind, misc, position: 0, body: body.into() }
    }

    /// The record's size in the ring, header included (`perf_event_header.size`).
    pub fn size(&self) -> usize {
        8 + self.body.len()
    }

    /// The same record with its body as one slice: borrowed as before when it is contiguous, else
    /// copied into `scratch` (cleared first). The copy is the caller's explicit choice, made once
    /// per wrap of the ring.
    pub fn contiguous<'b>(&self, scratch: &'b mut Vec<u8>) -> RawPerfRecord<'b>
    where
        'a: 'b,
    {
        let body: &'b [u8] = match self.body {
            RawData::Single(a) | RawData::Split(a, []) => a,
            RawData::Split([], b) => b,
            RawData::Split(a, b) => {
                scratch.clear();
                scratch.extend_from_slice(a);
                scratch.extend_from_slice(b);
                scratch
            }
        };
        RawPerfRecord { body: RawData::Single(body), ..*self }
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
    type Item = Result<RawPerfRecord<'a>>;

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
        let body = whole.slice(8, len - 8).unwrap_or(RawData::Single(&[]));
        let rec =
            RawPerfRecord { kind: PerfRecordType(hdr.type_.get()), misc: hdr.misc.get(), position: self.tail, body };
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
        assert!(matches!(recs[0].body, RawData::Split(x, y) if x.len() == 8 && y.len() == 16));
        assert_eq!((recs[0].size(), recs[0].body.to_vec()), (32, vec![1; 24]));
        let mut scratch = Vec::new();
        assert_eq!(recs[0].contiguous(&mut scratch).body, RawData::Single(&[1; 24]));
        assert_eq!(recs[1].kind.name(), Some("LOST"));
        let layout = RecordLayout::new(SampleType::IP, false);
        let PerfRecord::Lost(lost) = recs[1].parse(&layout).unwrap() else { panic!() };
        assert_eq!(lost.count, Some(5));
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
