//! `struct trace_buffer_meta`: the meta page of a memory-mapped ftrace ring buffer (Linux 6.10+,
//! `include/uapi/linux/trace_mmap.h`, Documentation/trace/ring-buffer-map.rst).
//!
//! An mmap of `per_cpu/cpuN/trace_pipe_raw` is this meta page followed by every sub-buffer by
//! id; after `TRACE_MMAP_IOCTL_GET_READER` the meta page names the reader sub-buffer.
//!
//! ```
//! use ktrace_core::trace_mmap::TraceBufferMeta;
//! use zerocopy::FromZeros;
//!
//! let mut meta = TraceBufferMeta::new_zeroed();
//! (meta.meta_page_size, meta.subbuf_size, meta.nr_subbufs) = (4096, 4096, 4);
//! meta.reader.id = 2;
//! assert_eq!(meta.mapping_len()?, 5 * 4096);
//! assert_eq!(meta.reader_subbuf()?, 3 * 4096..4 * 4096);
//! # Ok::<(), ktrace_core::ParseError>(())
//! ```

use std::ops::Range;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::{ParseError, Result};

/// The reader sub-buffer's part of [`TraceBufferMeta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct TraceBufferReader {
    /// Events lost at the time of the reader swap.
    pub lost_events: u64,
    /// Sub-buffer id of the current reader, 0 to `nr_subbufs - 1`.
    pub id: u32,
    /// Bytes already read on the reader sub-buffer.
    pub read: u32,
}

/// `struct trace_buffer_meta` (Linux 6.10+), native byte order. Sizes and offsets are checked at
/// compile time against the kernel's (80 bytes; `reader` at 16, `entries` at 40).
///
/// The kernel updates `reader` during `TRACE_MMAP_IOCTL_GET_READER` and the counters as it
/// writes: read a copy ([`TraceBufferMeta::parse`]) after the ioctl returns.
#[doc(alias = "trace_buffer_meta")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct TraceBufferMeta {
    /// Size of the meta page (where sub-buffer 0 starts in the mapping).
    pub meta_page_size: u32,
    /// Size of this structure as the kernel filled it.
    pub meta_struct_len: u32,
    /// Size of each sub-buffer, header included.
    pub subbuf_size: u32,
    /// Number of sub-buffers in the ring.
    pub nr_subbufs: u32,
    /// The reader sub-buffer.
    pub reader: TraceBufferReader,
    /// Flags (none defined yet).
    pub flags: u64,
    /// Entries in the ring buffer.
    pub entries: u64,
    /// Entries lost (overwritten) in the ring buffer.
    pub overrun: u64,
    /// Entries read.
    pub read: u64,
    /// Reserved (`Reserved1`).
    pub reserved1: u64,
    /// Reserved (`Reserved2`).
    pub reserved2: u64,
}

assert_layout!(TraceBufferReader, 16; lost_events = 0, id = 8, read = 12);
assert_layout!(TraceBufferMeta, 80; subbuf_size = 8, nr_subbufs = 12, reader.lost_events = 16, reader.id = 24,
    flags = 32, entries = 40, overrun = 48, read = 56, reserved2 = 72);

impl TraceBufferMeta {
    /// A copy of the meta page's structure from the start of `meta`; fewer than 80 bytes is
    /// [`ParseError::Truncated`].
    pub fn parse(meta: &[u8]) -> Result<TraceBufferMeta> {
        TraceBufferMeta::read_from_prefix(meta)
            .map(|(m, _)| m)
            .map_err(|_| ParseError::truncated("trace_buffer_meta", 0, size_of::<Self>(), meta.len()))
    }

    /// Bytes to map: the meta page and every sub-buffer. Zero sizes or counts, or a total that
    /// does not fit, are [`ParseError::BadValue`].
    pub fn mapping_len(&self) -> Result<usize> {
        let bad = |found| ParseError::BadValue {
            offset: 0,
            what: "trace_buffer_meta",
            expected: "non-zero meta page size, sub-buffer size and count",
            found,
        };
        if self.meta_page_size == 0 || self.subbuf_size == 0 || self.nr_subbufs == 0 {
            return Err(bad(0));
        }
        (self.subbuf_size as usize)
            .checked_mul(self.nr_subbufs as usize)
            .and_then(|n| n.checked_add(self.meta_page_size as usize))
            .ok_or(bad(u64::from(self.nr_subbufs)))
    }

    /// The reader sub-buffer's byte range in the mapping; an id not below `nr_subbufs` is
    /// [`ParseError::BadValue`].
    pub fn reader_subbuf(&self) -> Result<Range<usize>> {
        let id = self.reader.id;
        if id >= self.nr_subbufs {
            return Err(ParseError::BadValue {
                offset: 24,
                what: "trace_buffer_meta reader.id",
                expected: "below nr_subbufs",
                found: u64::from(id),
            });
        }
        let start = self.meta_page_size as usize + id as usize * self.subbuf_size as usize;
        Ok(start..start + self.subbuf_size as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn meta_page_fields_at_the_kernels_offsets() {
        // The u64 words of the meta page, two u32 fields sharing a word where the kernel's do.
        let pair = |a: u32, b: u32| u64::from_ne_bytes([a.to_ne_bytes(), b.to_ne_bytes()].concat().try_into().unwrap());
        let words = [pair(4096, 80), pair(8192, 3), 5, pair(2, 0), 0, 100, 7, 0, 0, 0];
        let b: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).chain([0; 4016]).collect();
        let m = TraceBufferMeta::parse(&b).unwrap();
        assert_eq!((m.meta_page_size, m.meta_struct_len, m.subbuf_size, m.nr_subbufs), (4096, 80, 8192, 3));
        assert_eq!((m.reader.lost_events, m.reader.id, m.entries, m.overrun), (5, 2, 100, 7));
        assert_eq!((m.mapping_len(), m.reader_subbuf()), (Ok(4096 + 3 * 8192), Ok(20480..28672)));
        assert_eq!(m.as_bytes(), &b[..80]);
        let e = TraceBufferMeta::parse(&b[..79]).unwrap_err();
        assert_eq!(e, ParseError::Truncated { offset: 0, wanted: 80, available: 79, what: "trace_buffer_meta" });
    }

    #[test]
    fn bad_sizes_and_ids_are_errors() {
        let mut m = TraceBufferMeta::new_zeroed();
        assert!(m.mapping_len().is_err());
        (m.meta_page_size, m.subbuf_size) = (4096, 4096);
        m.nr_subbufs = 2;
        m.reader.id = 2;
        assert!(matches!(m.reader_subbuf(), Err(ParseError::BadValue { offset: 24, found: 2, .. })));
    }
}
