//! Reading one CPU's ring buffer through `per_cpu/cpuN/trace_pipe_raw`.
//!
//! Each read(2) returns one whole sub-buffer (a page in the format of
//! [`ktrace_core::page`]), consuming it from the ring. With tracing on, a partially filled page is
//! returned too (the kernel copies its committed events out), so nothing waits for a page to fill.
//!
//! **read(2) or splice(2):** measured with `benches/compare/ftrace-record.sh` (2M getppid, 4M
//! events, 1408 KiB per CPU). A read(2) of a page that the kernel is still writing copies its
//! events out one by one under the reader lock; a recorder that keeps reading while the writer is
//! active spins on such tiny pages and slowed the traced child from ~300 ns to ~600 ns per syscall.
//! splice(2) hands over only full pages, so the [`crate::Recorder`] takes full pages by splice
//! into a one-page pipe and then read(2) from it into its own buffer (one copy, no spinning):
//! the child then runs as fast as under `trace-cmd record` (~330-450 ns on a 2-CPU x86-64 host, both without loss).
//! At stop, [`CpuReader::read_page_into`] (plain read(2)) flushes the partial pages. On 6.10+ the
//! ring can instead be mapped and parsed in place ([`crate::MappedCpuReader`]): draining a full
//! 16 MiB-per-CPU ring of 100k events takes 4.5 ms against 11.5 ms by read(2) on that host
//! (`benches/compare/ftrace-mmap.sh`: 22M vs 8.8M events/s).
//!
//! Reads can return 0 while data remains (a page being swapped in); callers retry, and
//! [`CpuReader::drain_into`] does so before concluding the buffer is empty.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::error::{Error, Result};

/// poll(2) for POLLIN on a `trace_pipe_raw` (the kernel wakes it at the `buffer_percent` mark).
pub(crate) fn wait_readable(file: &File, path: &Path, timeout: Duration) -> Result<bool> {
    let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
    let ms = PollTimeout::try_from(timeout.as_millis().min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
    match poll(&mut fds, ms) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(Error::io("poll", path, e.into())),
    }
}

/// The most pages one [`CpuReader::read_full_pages_into`] moves (the splice pipe's capacity).
const SPLICE_PAGES: usize = 64;

/// A reader of one CPU's `trace_pipe_raw`, opened non-blocking.
#[doc(alias = "trace_pipe_raw")]
#[derive(Debug)]
pub struct CpuReader {
    file: File,
    path: PathBuf,
    cpu: u32,
    page_size: usize,
    /// A pipe for splice(2), made on first use of [`CpuReader::read_full_pages_into`], with
    /// its capacity in pages.
    pipe: Option<(std::os::fd::OwnedFd, File, usize)>,
}

impl CpuReader {
    /// Opens `path` (a `trace_pipe_raw`) for CPU `cpu` with sub-buffers of `page_size` bytes.
    pub fn open(path: &Path, cpu: u32, page_size: usize) -> Result<CpuReader> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        Ok(CpuReader { file, path: path.into(), cpu, page_size, pipe: None })
    }

    /// The CPU.
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Sub-buffer size in bytes.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Waits up to `timeout` for the buffer to reach its `buffer_percent` watermark; true if readable.
    pub fn wait(&self, timeout: Duration) -> Result<bool> {
        wait_readable(&self.file, &self.path, timeout)
    }

    /// Reads one page into `out` (appending `page_size` bytes). Returns false when nothing was
    /// available (EAGAIN or a 0-byte read).
    ///
    /// The page is read straight into `out`'s spare capacity: no zero-filling, no second copy.
    pub fn read_page_into(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        let n = loop {
            match crate::sys::read_append(&self.file, out, self.page_size) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        match n {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(Error::io("read", &self.path, e)),
        }
    }

    /// Reads one *full* page into `out` through splice(2) and a pipe: the kernel hands over only
    /// complete pages this way (a page still being written stays in the ring), so a reader racing
    /// an active writer never copies pages out event by event. Returns false when no full page
    /// is ready. Use [`CpuReader::read_page_into`] to flush partial pages at the end.
    pub fn read_full_page_into(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        Ok(self.read_full_pages_into(out, 1)? > 0)
    }

    /// Like [`CpuReader::read_full_page_into`] for up to `max_pages` full pages at once (at most
    /// 64, the splice pipe's capacity): one splice(2) into the pipe and one read(2) out of it for the lot, not
    /// two calls per page. Returns the number of pages appended to `out` (0 when no full page is
    /// ready).
    pub fn read_full_pages_into(&mut self, out: &mut Vec<u8>, max_pages: usize) -> Result<usize> {
        use nix::fcntl::{SpliceFFlags, splice};
        if self.pipe.is_none() {
            let (r, w) = nix::unistd::pipe().map_err(|e| Error::io("pipe", &self.path, e.into()))?;
            // The pipe holds page references, not copies; a larger pipe only lets one splice move
            // more pages. If the size is refused, the default (16 pages) is what there is.
            let want = (self.page_size.max(4096) * SPLICE_PAGES) as i32;
            let fd = std::os::fd::AsRawFd::as_raw_fd(&w);
            let got = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(want))
                .or_else(|_| nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETPIPE_SZ))
                .map_or(self.page_size, |n| n as usize);
            self.pipe = Some((w, File::from(r), (got / self.page_size.max(1)).max(1)));
        }
        let Some((w, r, cap)) = self.pipe.as_ref() else {
            return Ok(0);
        };
        let len = self.page_size * max_pages.clamp(1, *cap);
        let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
        let n = match splice(&self.file, None, w, None, len, flags) {
            Ok(0) => return Ok(0),
            Ok(n) => n,
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => return Ok(0),
            Err(e) => return Err(Error::io("splice", &self.path, e.into())),
        };
        // The pipe now holds exactly `n` bytes: whole pages.
        let start = out.len();
        while out.len() - start < n {
            let want = n - (out.len() - start);
            match crate::sys::read_append(r, out, want) {
                Ok(0) => break,
                Ok(got) => out.truncate(out.len() - want + got),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read(pipe)", &self.path, e)),
            }
        }
        if out.len() - start != n || n % self.page_size != 0 {
            out.truncate(start);
            return Err(Error::io("read(pipe)", &self.path, std::io::Error::other("short page from the splice pipe")));
        }
        Ok(n / self.page_size)
    }

    /// Reads pages until the buffer stays empty for `retries` consecutive attempts (1 ms apart).
    /// Returns the number of pages read.
    pub fn drain_into(&mut self, out: &mut Vec<u8>, retries: u32) -> Result<usize> {
        let mut pages = 0;
        let mut empty = 0;
        while empty < retries {
            if self.read_page_into(out)? {
                pages += 1;
                empty = 0;
            } else {
                empty += 1;
                if empty < retries {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        Ok(pages)
    }

    /// Reads whatever is available now without waiting; returns the number of pages read.
    pub fn read_available(&mut self, out: &mut Vec<u8>) -> Result<usize> {
        let mut pages = 0;
        while self.read_page_into(out)? {
            pages += 1;
        }
        Ok(pages)
    }
}
