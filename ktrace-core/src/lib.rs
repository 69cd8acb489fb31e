//! # ktrace-core
//!
//! Zero-copy parsers for the Linux kernel's trace formats, with no syscalls: the ftrace ring-buffer
//! page ([`page`]), one checked byte reader for every parser ([`Cursor`]), the tracefs event `format` language ([`format`](mod@format)), perf mmap ring framing
//! and typed records ([`perf`]), the mapped ftrace ring's meta page ([`trace_mmap`]), log2 histograms and counts by key ([`agg`]), a k-way per-CPU merge ([`merge`]),
//! timestamps on named clocks ([`time`]) and the
//! [`Lost`] record for kernel drops. Records borrow from the buffer they were read from.
//!
//! It builds and tests on any OS; the facade crates (`ktrace-ftrace`, `ktrace-ptrace`, …) do the I/O.
//!
//! ```
//! use ktrace_core::{EventFormat, Page, PageItem, PageLayout, RawData};
//!
//! // One event of id 7 with a u32 field `v` = 99, in a 64-byte page stamped at t=1000.
//! let mut page = vec![0u8; 64];
//! page[..8].copy_from_slice(&1000u64.to_le_bytes());
//! page[8..16].copy_from_slice(&12u64.to_le_bytes()); // commit: 12 data bytes
//! page[16..20].copy_from_slice(&((5u32 << 5) | 2).to_le_bytes()); // delta 5, 2 words
//! page[20..22].copy_from_slice(&7u16.to_le_bytes());
//! page[24..28].copy_from_slice(&99u32.to_le_bytes());
//! let fmt = EventFormat::parse("demo", "name: demo\nID: 7\nformat:\n\
//!     \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\
//!     \tfield:u32 v;\toffset:4;\tsize:4;\tsigned:0;\n\nprint fmt: \"v=%u\"\n").unwrap();
//! let v = fmt.field("v").unwrap();
//! for item in Page::parse(&page, &PageLayout::LE64, 0).unwrap().items() {
//!     let PageItem::Event(ev) = item.unwrap() else { continue };
//!     assert_eq!(ev.timestamp, 1005);
//!     assert_eq!(v.u64(RawData::Single(ev.data), PageLayout::LE64.endian).unwrap(), 99);
//! }
//! ```

/// Compile-time checks that a `#[repr(C)]` kernel struct has the kernel's size and field offsets
/// (as `sizeof`/`offsetof` report them from the UAPI header):
/// `assert_layout!(T, 80; reader.id = 24, entries = 40)`.
macro_rules! assert_layout {
    ($t:ty, $size:expr; $($field:ident $(. $sub:ident)* = $off:expr),* $(,)?) => {
        const _: () = {
            assert!(size_of::<$t>() == $size);
            $(assert!(std::mem::offset_of!($t, $field $(. $sub)*) == $off);)*
        };
    };
}

pub mod agg;
pub mod cursor;
pub mod error;
pub mod format;
pub mod hint;
pub mod kallsyms;
pub mod lost;
pub mod merge;
pub mod page;
pub mod perf;
pub mod raw;
pub mod syserror;
pub mod time;
pub mod trace_mmap;

pub use agg::{Counts, EntryReturn, Log2Hist};
pub use cursor::{Cursor, Reading};
pub use error::{ParseError, Result};
pub use format::{EventFormat, Field, FieldKind, FormatRegistry, Value};
pub use kallsyms::Kallsyms;
pub use lost::{Lost, LostSource};
pub use merge::Merge;
pub use page::{Page, PageItem, PageItems, PageLayout, Pages, RawEvent};
pub use perf::{PerfRecord, PerfRecordType, PerfRing, RawPerfRecord};
pub use raw::{Endian, RawData};
pub use syserror::{Subject, SysError};
pub use time::{Clock, Stamped, Timestamp, Timestamped};

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
