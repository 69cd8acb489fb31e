//! `struct perf_event_mmap_page`: the control page at the start of a perf event's mmap ring.

use std::ops::Range;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::{ParseError, Result};

/// `struct perf_event_mmap_page` (`include/uapi/linux/perf_event.h`), the first page of a
/// `perf_event_open(2)` mmap: self-monitoring fields, then the ring's control words at offset
/// 1024. Native byte order and natural alignment, as the kernel writes it.
///
/// A reader of a live ring does not copy this struct (the kernel writes `data_head` and the time
/// fields concurrently): it takes the addresses of [`data_head`](Self::data_head) and
/// [`data_tail`](Self::data_tail) in the mapping and accesses them atomically, loading
/// `data_head` with Acquire and storing `data_tail` with Release (the `smp_rmb()` / `smp_mb()`
/// pair of the header's comment on `data_head`, and of `perf_output_put_handle()` in
/// `kernel/events/ring_buffer.c`). [`PerfEventMmapPage::parse`] reads a copy, e.g. of a snapshot.
///
/// Sizes and offsets are checked at compile time against the kernel's (1088 bytes; `data_head`
/// at 1024), as `offsetof` reports them from Linux 6.1's UAPI header.
#[doc(alias = "perf_event_mmap_page")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct PerfEventMmapPage {
    /// Version number of this structure.
    pub version: u32,
    /// Lowest version this is compatible with.
    pub compat_version: u32,
    /// Seqlock for the self-monitoring fields below.
    pub lock: u32,
    /// Hardware event identifier (for `rdpmc`).
    pub index: u32,
    /// Added to the hardware event value.
    pub offset: i64,
    /// Time the event was active.
    pub time_enabled: u64,
    /// Time the event was on the CPU.
    pub time_running: u64,
    /// The `cap_*` bits (`cap_user_rdpmc`, `cap_user_time`, …).
    pub capabilities: u64,
    /// Width of the hardware counter in bits.
    pub pmc_width: u16,
    /// For converting TSC cycles to ns.
    pub time_shift: u16,
    /// For converting TSC cycles to ns.
    pub time_mult: u32,
    /// For converting TSC cycles to ns.
    pub time_offset: u64,
    /// For converting TSC cycles to perf's clock.
    pub time_zero: u64,
    /// Header size up to the reserved area.
    pub size: u32,
    /// Reserved (`__reserved_1`).
    pub reserved_1: u32,
    /// For `cap_user_time_short`.
    pub time_cycles: u64,
    /// For `cap_user_time_short`.
    pub time_mask: u64,
    /// Reserved, aligns the control words to 1 KiB (`__reserved[116*8]`).
    pub reserved: [u8; 928],
    /// Head of the data area: a running byte count the kernel advances (load with Acquire).
    pub data_head: u64,
    /// Tail of the data area: what the reader has consumed (store with Release; with a writable
    /// mapping the kernel never overwrites unread records).
    pub data_tail: u64,
    /// Where the data area starts in the mapping (Linux 4.1+; 0 before: right after this page).
    pub data_offset: u64,
    /// The data area's size (Linux 4.1+; 0 before).
    pub data_size: u64,
    /// Head of the AUX area.
    pub aux_head: u64,
    /// Tail of the AUX area.
    pub aux_tail: u64,
    /// Where the AUX area starts.
    pub aux_offset: u64,
    /// The AUX area's size.
    pub aux_size: u64,
}

assert_layout!(PerfEventMmapPage, 1088; offset = 16, capabilities = 40, pmc_width = 48, time_zero = 64, size = 72,
    time_mask = 88, reserved = 96, data_head = 1024, data_tail = 1032, data_offset = 1040, data_size = 1048, aux_size = 1080);
// Atomic access to the control words needs them 8-aligned in a page-aligned mapping.
const _: () = assert!(align_of::<PerfEventMmapPage>() == 8);

impl PerfEventMmapPage {
    /// A copy of the control page at the start of `bytes`; fewer than 1088 bytes is
    /// [`ParseError::Truncated`].
    pub fn parse(bytes: &[u8]) -> Result<PerfEventMmapPage> {
        PerfEventMmapPage::read_from_prefix(bytes)
            .map(|(p, _)| p)
            .map_err(|_| ParseError::truncated("perf_event_mmap_page", 0, size_of::<Self>(), bytes.len()))
    }

    /// The byte range of the data area in a mapping of `map_len` bytes whose first `page` bytes
    /// are the control page, from `data_offset`/`data_size` (Linux 4.1+), or everything after the
    /// control page when the kernel leaves them 0. A range outside the mapping, or a size that is
    /// not a power of two, is [`ParseError::BadValue`].
    pub fn data_area(data_offset: u64, data_size: u64, page: usize, map_len: usize) -> Result<Range<usize>> {
        if data_offset == 0 && data_size == 0 {
            return match map_len.checked_sub(page) {
                Some(n) if n.is_power_of_two() => Ok(page..map_len),
                _ => Err(ParseError::BadValue {
                    offset: 0,
                    what: "perf mmap length",
                    expected: "one page plus a power-of-two data area",
                    found: map_len as u64,
                }),
            };
        }
        let bad = |offset: usize, what: &'static str, found: u64| ParseError::BadValue {
            offset,
            what,
            expected: "a power-of-two data area inside the mapping",
            found,
        };
        let start =
            usize::try_from(data_offset).map_err(|_| bad(1040, "perf_event_mmap_page.data_offset", data_offset))?;
        let size = usize::try_from(data_size).map_err(|_| bad(1048, "perf_event_mmap_page.data_size", data_size))?;
        if !size.is_power_of_two() {
            return Err(bad(1048, "perf_event_mmap_page.data_size", data_size));
        }
        match start.checked_add(size) {
            Some(end) if start >= size_of::<Self>() && end <= map_len => Ok(start..end),
            _ => Err(bad(1040, "perf_event_mmap_page.data_offset", data_offset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    #[test]
    fn parses_and_places_the_data_area() {
        let mut page = PerfEventMmapPage::new_zeroed();
        page.data_head = 4096 + 40;
        page.data_tail = 4096;
        page.data_offset = 4096;
        page.data_size = 8192;
        let mut bytes = page.as_bytes().to_vec();
        assert_eq!(bytes.get(1024..1032), Some(&(4096u64 + 40).to_ne_bytes()[..]));
        assert_eq!(PerfEventMmapPage::parse(&bytes), Ok(page));
        bytes.truncate(1087);
        assert_eq!(
            PerfEventMmapPage::parse(&bytes),
            Err(ParseError::Truncated { offset: 0, wanted: 1088, available: 1087, what: "perf_event_mmap_page" })
        );
        let area = |o, s, m| PerfEventMmapPage::data_area(o, s, 4096, m);
        assert_eq!(area(4096, 8192, 4096 + 8192), Ok(4096..12288));
        assert_eq!(area(0, 0, 4096 + 8192), Ok(4096..12288)); // before Linux 4.1
        assert!(area(4096, 8192, 4096 + 4096).is_err()); // past the mapping
        assert!(area(4096, 6000, 4096 + 8192).is_err()); // not a power of two
        assert!(area(0, 4096, 4096 + 8192).is_err()); // over the control page
        assert!(area(u64::MAX, 1 << 62, usize::MAX).is_err());
        assert!(area(0, 0, 4096 + 6000).is_err());
    }
}
