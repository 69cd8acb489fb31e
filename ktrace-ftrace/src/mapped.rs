//! The 6.10+ zero-copy reader: `per_cpu/cpuN/trace_pipe_raw` memory-mapped
//! (Documentation/trace/ring-buffer-map.rst). The mapping is the meta page (`struct
//! trace_buffer_meta`) followed by every sub-buffer by id; `TRACE_MMAP_IOCTL_GET_READER` swaps the
//! next unread sub-buffer in as the reader, whose id the meta page then names. Events are parsed
//! in place, without the copy read(2) or splice(2) make.
//!
//! The reader sub-buffer can be the one the kernel is still writing: a later swap may return the
//! same id with more committed bytes. [`MappedPage::items`] hands out only the events after those
//! already returned, so every event comes out once. A mapped ring cannot be resized or
//! snapshotted while mapped (the kernel refuses); [`crate::Recorder`] keeps using splice/read.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ktrace_core::page::{RB_MISSED_EVENTS, RB_MISSED_STORED};
use ktrace_core::trace_mmap::TraceBufferMeta;
use ktrace_core::{Cursor, Endian, Lost, Page, PageItem, PageLayout, ParseError};

use crate::error::{Error, Result};
use crate::sys;

/// A memory-mapped reader of one CPU's ring buffer (Linux 6.10+).
///
/// ```no_run
/// use ktrace_core::PageItem;
/// let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
/// let inst = fs.new_instance()?;
/// inst.enable_event("sched", "sched_switch")?;
/// let mut r = inst.mapped_reader(0)?;
/// let layout = r.layout();
/// for _ in 0..10 {
///     r.wait(std::time::Duration::from_millis(100))?;
///     while let Some(page) = r.next_page()? {
///         for item in page.items(&layout)? {
///             if let PageItem::Event(ev) = item? {
///                 println!("{} bytes at {}", ev.data.len(), ev.timestamp);
///             }
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "TRACE_MMAP_IOCTL_GET_READER")]
#[doc(alias = "trace_buffer_meta")]
#[derive(Debug)]
pub struct MappedCpuReader {
    file: File,
    path: PathBuf,
    map: memmap2::Mmap,
    cpu: u32,
    subbuf_size: usize,
    /// The page layout, from `events/header_page`.
    layout: PageLayout,
    /// The reader sub-buffer last handed out and how many data bytes of it were.
    last: Option<(u32, usize)>,
}

/// One reader sub-buffer, borrowed from the mapping.
#[derive(Debug, Clone, Copy)]
pub struct MappedPage<'a> {
    /// The whole sub-buffer (a page in [`ktrace_core::page`] format).
    pub bytes: &'a [u8],
    /// Data bytes of this sub-buffer already handed out by an earlier swap of the same id.
    pub skip: usize,
    /// Events the kernel dropped before this sub-buffer (`reader.lost_events`).
    pub lost_events: u64,
    cpu: u32,
    /// The commit word as read at the swap: the data size, with the missed-events flags.
    commit: u64,
}

impl MappedCpuReader {
    /// The layout of the ring's pages (from the instance's `events/header_page`), for
    /// [`MappedPage::items`].
    pub fn layout(&self) -> PageLayout {
        self.layout
    }

    /// Maps `path` (a `trace_pipe_raw`) of CPU `cpu`. Kernels before 6.10 refuse the mmap:
    /// that is [`Error::Unsupported`].
    pub fn open(path: &Path, cpu: u32) -> Result<MappedCpuReader> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        let unsupported = |e: std::io::Error| Error::Unsupported {
            feature: "trace_pipe_raw mmap (6.10+)".into(),
            hint: format!("{}: {e}", path.display()),
        };
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as usize);
        let meta = TraceBufferMeta::parse(&sys::map_read_only(&file, page).map_err(unsupported)?)?;
        let (subbuf_size, total) = (meta.subbuf_size as usize, meta.mapping_len()?);
        let map = sys::map_read_only(&file, total).map_err(|e| Error::io("mmap", path, e))?;
        // `<instance>/per_cpu/cpu<N>/trace_pipe_raw`: the instance's `events/header_page` says the layout.
        let layout = match path.ancestors().nth(3) {
            Some(dir) => crate::tracefs::page_layout(dir)?,
            None => PageLayout::LE64,
        };
        Ok(MappedCpuReader { file, path: path.into(), map, cpu, subbuf_size, layout, last: None })
    }

    /// The CPU.
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Sub-buffer size in bytes.
    pub fn subbuf_size(&self) -> usize {
        self.subbuf_size
    }

    /// Waits up to `timeout` for the ring to reach its `buffer_percent` watermark; true if there is
    /// something to read.
    pub fn wait(&self, timeout: std::time::Duration) -> Result<bool> {
        crate::reader::wait_readable(&self.file, &self.path, timeout)
    }

    /// (entries written, entries overwritten) from the meta page.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let meta = TraceBufferMeta::parse(&self.map)?;
        Ok((meta.entries, meta.overrun))
    }

    /// Swaps in the next reader sub-buffer and returns it, or `None` when nothing new was
    /// committed since the last call.
    pub fn next_page(&mut self) -> Result<Option<MappedPage<'_>>> {
        sys::trace_mmap_get_reader(&self.file)
            .map_err(|e| Error::io("ioctl(TRACE_MMAP_IOCTL_GET_READER)", &self.path, e))?;
        // The ioctl has returned: the kernel has written the new reader's id and lost count.
        let meta = TraceBufferMeta::parse(&self.map)?;
        let (id, lost) = (meta.reader.id, meta.reader.lost_events);
        let start = meta.reader_subbuf()?.start;
        let bytes = Cursor::at(&self.map[..], start)
            .and_then(|mut c| c.bytes(self.subbuf_size))
            .map_err(|e| e.reading("mapped sub-buffer"))?;
        let page = Page::parse(bytes, &self.layout, self.cpu)?;
        let skip = match self.last {
            Some((last_id, done)) if last_id == id => done,
            _ => 0,
        };
        if page.size <= skip && lost == 0 {
            return Ok(None);
        }
        self.last = Some((id, page.size));
        let flags = match page.missed {
            Some(Some(_)) => RB_MISSED_EVENTS | RB_MISSED_STORED,
            Some(None) => RB_MISSED_EVENTS,
            None => 0,
        };
        let commit = page.size as u64 | flags;
        Ok(Some(MappedPage { bytes, skip, lost_events: lost, cpu: self.cpu, commit }))
    }
}

fn short(offset: usize, wanted: usize, available: usize, what: &'static str) -> ParseError {
    ParseError::Truncated { offset, wanted, available, what }
}

impl<'a> MappedPage<'a> {
    /// Copies the whole sub-buffer into `dst` (one sub-buffer long) as a page in
    /// [`ktrace_core::page`] format holding what was committed at the swap, flags included. The
    /// kernel may still be writing to the sub-buffer (the reader caught up with the writer): its
    /// commit word is set to what was read at the swap, so the copy never claims bytes written
    /// later. When the same sub-buffer comes back grown (`skip > 0`), copying it over the earlier
    /// copy gives the page with every event once.
    pub fn copy_to(&self, dst: &mut [u8], layout: &PageLayout) -> Result<()> {
        let (n, have) = (self.bytes.len(), dst.len());
        let out = dst.get_mut(..n).ok_or_else(|| short(0, n, have, "page copy"))?;
        out.copy_from_slice(self.bytes);
        self.set_commit(out, layout)
    }

    /// [`MappedPage::copy_to`] onto the end of `out`, which grows by one sub-buffer.
    pub fn append_to(&self, out: &mut Vec<u8>, layout: &PageLayout) -> Result<()> {
        let at = out.len();
        out.extend_from_slice(self.bytes);
        self.set_commit(out.get_mut(at..).unwrap_or_default(), layout)
    }

    /// Writes the commit word read at the swap into the copy `out` of the sub-buffer.
    fn set_commit(&self, out: &mut [u8], layout: &PageLayout) -> Result<()> {
        let (at, len) = (layout.commit_offset, layout.commit_size);
        // A 4-byte commit word is the low half of the 8-byte one.
        let wide = match layout.endian {
            Endian::Little => self.commit.to_le_bytes(),
            Endian::Big => self.commit.to_be_bytes(),
        };
        let word = match (layout.endian, len) {
            (_, 8) => &wide[..],
            (Endian::Little, _) => &wide[..4],
            (Endian::Big, _) => &wide[4..],
        };
        let n = out.len();
        let c = out.get_mut(at..at + word.len()).ok_or_else(|| short(at, word.len(), n, "page commit"))?;
        c.copy_from_slice(word);
        Ok(())
    }

    /// The sub-buffer's items not handed out before: a [`PageItem::Lost`] first when events were
    /// dropped (from the page's flags, or the meta page's count when the page carries none).
    pub fn items(&self, layout: &PageLayout) -> Result<impl Iterator<Item = Result<PageItem<'a>, ParseError>> + 'a> {
        let mut page = Page::parse(self.bytes, layout, self.cpu)?;
        // The writer may still be filling this sub-buffer: the mapping's commit has grown since
        // `next_page` read it, but the next call skips only what it saw then. Events past it
        // are for the next call (yielded here too, they came twice: seen in a live test).
        page.size = page.size.min((self.commit & !(RB_MISSED_EVENTS | RB_MISSED_STORED)) as usize);
        let from = layout.data_offset + self.skip;
        let first_time = self.skip == 0;
        let extra = (page.missed.is_none() && self.lost_events > 0).then_some(Ok(PageItem::Lost(Lost {
            source: ktrace_core::LostSource::FtraceRing,
            cpu: self.cpu,
            count: Some(self.lost_events),
            timestamp_ns: page.timestamp,
        })));
        let items = page.items().filter(move |it| match it {
            Ok(PageItem::Event(e)) => e.offset >= from,
            // The page's own missed-events flag was reported with its first part.
            Ok(PageItem::Lost(_)) => first_time,
            Err(_) => true,
        });
        Ok(extra.into_iter().chain(items))
    }
}
