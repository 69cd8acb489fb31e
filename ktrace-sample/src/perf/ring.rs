//! [`MappedRing`]: a perf_event mmap ring read in place. The control page is ktrace-core's typed
//! [`PerfEventMmapPage`]: its `data_head` is loaded with Acquire, the records between `data_tail`
//! and `data_head` are framed by ktrace-core's [`PerfRing`] (borrowed, split at the wrap), and
//! `data_tail` is stored with Release once they are consumed, as perf_event_open(2) prescribes.
//! This module holds all of the crate's perf ring `unsafe`.
#![allow(unsafe_code, reason = "the perf ring is shared memory the kernel writes")]

use std::os::fd::AsRawFd;
use std::ptr::addr_of;
use std::sync::atomic::{AtomicU64, Ordering};

use ktrace_core::perf::{PerfEventMmapPage, PerfRecord, RecordLayout};
use ktrace_core::{ParseError, PerfRing, RawPerfRecord};

/// A perf event's mapped ring (control page + data area), read in place.
///
/// Map it on the fd of an event opened with `perf_event_open(2)` (e.g. a perf-event2
/// `Counter`) before the workload runs: the kernel writes records only into a mapped ring. The
/// mapping is read-write, so the kernel honours `data_tail` and never overwrites unread records
/// (it counts them in a `PERF_RECORD_LOST` instead).
///
/// ```no_run
/// use ktrace_core::perf::{PerfRecord, RecordLayout, SampleType};
/// use ktrace_sample::perf::ring::MappedRing;
/// use perf_event::events::Software;
/// use perf_event::{Builder, SampleFlag};
///
/// let mut c = Builder::new(Software::TASK_CLOCK).sample(SampleFlag::IP | SampleFlag::TID).sample_frequency(999).build()?;
/// let mut ring = MappedRing::new(&c, 1 << 16)?;
/// c.enable()?;
/// let _: u64 = (0..10_000_000u64).sum();
/// let layout = RecordLayout::new(SampleType::IP | SampleType::TID, false);
/// ring.drain_parsed(&layout, |rec| {
///     if let Ok(PerfRecord::Sample(s)) = rec {
///         println!("{:?} at {:#x?}", s.sample_id.tid, s.ip);
///     }
/// })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "perf_event_mmap_page")]
#[doc(alias = "data_head")]
#[doc(alias = "data_tail")]
pub struct MappedRing {
    map: memmap2::MmapRaw,
    data: std::ops::Range<usize>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for MappedRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedRing").field("data", &self.data).field("pending", &self.pending()).finish()
    }
}

impl MappedRing {
    /// Maps `fd`'s ring with a data area of at least `bytes` (rounded up to a power-of-two number
    /// of pages), read-write. Fails as mmap(2) does (`EINVAL` for an event that cannot be mapped,
    /// e.g. an inherited per-task event without a CPU), or with `InvalidData` when the control
    /// page's `data_offset`/`data_size` do not describe a data area inside the mapping.
    pub fn new(fd: &impl AsRawFd, bytes: usize) -> std::io::Result<MappedRing> {
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as usize);
        let size = bytes.max(page).checked_next_power_of_two().ok_or(std::io::ErrorKind::InvalidInput)?;
        let len = size.checked_add(page).ok_or(std::io::ErrorKind::InvalidInput)?;
        let map = memmap2::MmapOptions::new().len(len).map_raw(fd.as_raw_fd())?;
        let p = map.as_ptr().cast::<PerfEventMmapPage>();
        // SAFETY: the mapping is at least one page (≥ 4096 > size_of::<PerfEventMmapPage>())
        // and page-aligned, so both fields are in bounds and 8-aligned (static asserts in
        // ktrace-core); `addr_of!` makes no reference to memory the kernel may write. The kernel
        // sets data_offset/data_size at mmap time (perf_mmap → ring_buffer_attach) and never
        // changes them afterwards; a volatile read keeps the compiler from assuming otherwise.
        let (offset, size) =
            unsafe { (addr_of!((*p).data_offset).read_volatile(), addr_of!((*p).data_size).read_volatile()) };
        let data = PerfEventMmapPage::data_area(offset, size, page, len)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(MappedRing { map, data, scratch: Vec::new() })
    }

    /// The data area's size in bytes (a power of two).
    pub fn data_size(&self) -> usize {
        self.data.len()
    }

    /// `data_head` (Acquire) or `data_tail` of the control page, as an atomic in the mapping.
    fn control(&self, head: bool) -> &AtomicU64 {
        let p = self.map.as_ptr().cast::<PerfEventMmapPage>();
        // SAFETY: the mapping is page-aligned and at least a page long, so `data_head` (offset
        // 1024) and `data_tail` (1032) are in bounds and 8-aligned (static asserts in
        // ktrace-core); `AtomicU64` has the size and alignment of `u64`. The kernel writes
        // `data_head` and reads `data_tail` with its own atomic accesses (`local_read` /
        // `smp_store_release` of `rb->user_page->data_head` in kernel/events/ring_buffer.c,
        // `READ_ONCE(rb->user_page->data_tail)`), so all accesses to these words are atomic.
        // The reference lives no longer than `&self`, which owns the mapping.
        unsafe { &*(if head { addr_of!((*p).data_head) } else { addr_of!((*p).data_tail) }).cast::<AtomicU64>() }
    }

    /// Bytes written by the kernel and not yet consumed (`data_head - data_tail`).
    pub fn pending(&self) -> u64 {
        let head = self.control(true).load(Ordering::Acquire);
        head.wrapping_sub(self.control(false).load(Ordering::Relaxed))
    }

    /// Hands every record between tail and head to `f`, borrowed from the ring (its body split
    /// where it wraps), then releases them to the kernel. Returns how many records there were.
    /// A framing error stops the drain and is returned (the ring is then consumed to head).
    pub fn drain(&mut self, mut f: impl FnMut(RawPerfRecord<'_>)) -> Result<usize, ParseError> {
        // Acquire pairs with the kernel's store of data_head after it wrote the records (the
        // smp_rmb() perf_event.h asks of readers after loading data_head): the records up to
        // head are visible before they are read.
        let head = self.control(true).load(Ordering::Acquire);
        // Only this reader writes data_tail.
        let tail = self.control(false).load(Ordering::Relaxed);
        // SAFETY: `self.data` is inside the mapping (checked by `data_area` in `new`), which
        // outlives `data` (dropped at the end of this call, before `self` can be dropped). The
        // kernel writes only outside [tail, head), the range PerfRing reads, until data_tail
        // moves past it below; bytes it writes elsewhere in the area are never read here.
        let data = unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(self.data.start), self.data.len()) };
        let mut ring = PerfRing::new(data, tail, head);
        let (mut n, mut res) = (0, Ok(()));
        for r in ring.by_ref() {
            match r {
                Ok(rec) => {
                    n += 1;
                    f(rec);
                }
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        let done = if res.is_ok() { ring.tail() } else { head };
        // Release orders every read of the records above before the kernel may reuse their
        // space (the smp_mb() before the data_tail store in perf_event.h's comment, and (D) in
        // perf_output_put_handle()'s diagram in kernel/events/ring_buffer.c).
        self.control(false).store(done, Ordering::Release);
        res.map(|()| n)
    }

    /// [`MappedRing::drain`] with each record parsed as `layout` lays it out: a record split by
    /// the ring's wrap is first copied into the ring's own scratch buffer. A record that does not
    /// parse is handed to `f` as its error; the drain goes on (framing errors stop it).
    pub fn drain_parsed(
        &mut self,
        layout: &RecordLayout,
        mut f: impl FnMut(Result<PerfRecord<'_>, ParseError>),
    ) -> Result<usize, ParseError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let r = self.drain(|rec| f(rec.contiguous(&mut scratch).parse(layout)));
        self.scratch = scratch;
        r
    }
}
