//! A perf_event mmap ring read in place: the control page's `data_head` is loaded with Acquire,
//! the records between `data_tail` and `data_head` are framed by ktrace-core's [`PerfRing`]
//! (borrowed, split at the wrap), and `data_tail` is stored with Release once they are consumed,
//! as perf_event_open(2) prescribes.
#![allow(unsafe_code, reason = "the perf ring is shared memory the kernel writes")]

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use ktrace_core::{ParseError, PerfRecord, PerfRing};

/// `offsetof(struct perf_event_mmap_page, data_head / data_tail / data_offset / data_size)`.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

/// A mapped ring (control page + data area).
pub(crate) struct MappedRing {
    map: memmap2::MmapRaw,
    page: usize,
    size: usize,
}

impl MappedRing {
    /// Maps `fd`'s ring with a data area of at least `bytes` (rounded up to a power-of-two number
    /// of pages). Read-write, so the kernel honours `data_tail` and never overwrites unread records.
    pub(crate) fn new(fd: &impl AsRawFd, bytes: usize) -> std::io::Result<MappedRing> {
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as usize);
        let size = bytes.max(page).checked_next_power_of_two().ok_or(std::io::ErrorKind::InvalidInput)?;
        let map = memmap2::MmapOptions::new().len(page + size).map_raw(fd.as_raw_fd())?;
        let mut r = MappedRing { map, page, size };
        // 4.1+ says where the data area is; older kernels put it right after the control page.
        let (off, sz) = (r.word(DATA_OFFSET), r.word(DATA_SIZE));
        if off != 0 && sz != 0 && off as usize + sz as usize <= r.map.len() {
            r.page = off as usize;
            r.size = sz as usize;
        }
        Ok(r)
    }

    fn word(&self, off: usize) -> u64 {
        // SAFETY: `off` is one of the 8-aligned control-page offsets above, inside the mapping
        // (a page is at least 4096 bytes); the kernel does not write these fields after mmap.
        unsafe { std::ptr::read_volatile(self.map.as_ptr().add(off).cast::<u64>()) }
    }

    fn atomic(&self, off: usize) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and `off` (DATA_HEAD/DATA_TAIL) is 8-aligned and
        // inside the control page; AtomicU64 has the layout of u64; the kernel accesses these
        // words atomically too; the reference lives no longer than `self`, which owns the mapping.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// Hands every record between tail and head to `f`, then releases them to the kernel.
    /// A framing error stops the drain and is returned (the ring is then consumed to head).
    pub(crate) fn drain(&mut self, mut f: impl FnMut(PerfRecord<'_>)) -> Result<(), ParseError> {
        let head = self.atomic(DATA_HEAD).load(Ordering::Acquire);
        let tail = self.atomic(DATA_TAIL).load(Ordering::Relaxed);
        // SAFETY: `page..page + size` is inside the mapping, which outlives `data` (dropped at the
        // end of this call, before `self` can be dropped). The kernel writes only outside
        // [tail, head), the range PerfRing reads, until data_tail moves past it below.
        let data = unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(self.page), self.size) };
        let mut ring = PerfRing::new(data, tail, head);
        let mut res = Ok(());
        for r in ring.by_ref() {
            match r {
                Ok(rec) => f(rec),
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        let done = if res.is_ok() { ring.tail() } else { head };
        self.atomic(DATA_TAIL).store(done, Ordering::Release);
        res
    }
}
