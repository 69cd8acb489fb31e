//! Reading one CPU's ring buffer through `per_cpu/cpuN/trace_pipe_raw`.
//!
//! Each read(2) returns one whole sub-buffer (a page in the format of
//! [`ktrace_core::page`]), consuming it from the ring. With tracing on, a partially filled page is
//! returned too (the kernel copies its committed events out), so nothing waits for a page to fill.
//!
//! **Why read(2):** every recorder here keeps the pages (in memory or in a file), so a copy into
//! our buffer is needed anyway; `splice(2)` to a pipe saves that copy only when pages go straight to
//! a file descriptor, and the 6.10+ mmap reader (`TRACE_MMAP_IOCTL_GET_READER`) needs 6.10 and a
//! different reader protocol. The `ftrace-record` bench shows read(2) with one thread per CPU keeps
//! up with a 2M-syscall storm without loss at the default buffer size.
//!
//! Reads can return 0 while data remains (a page being swapped in); callers retry, and
//! [`CpuReader::drain_into`] does so before concluding the buffer is empty.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::error::{Error, Result};

/// A reader of one CPU's `trace_pipe_raw`, opened non-blocking.
#[doc(alias = "trace_pipe_raw")]
#[derive(Debug)]
pub struct CpuReader {
    file: File,
    path: PathBuf,
    cpu: u32,
    page_size: usize,
}

impl CpuReader {
    /// Opens `path` (a `trace_pipe_raw`) for CPU `cpu` with sub-buffers of `page_size` bytes.
    pub fn open(path: &Path, cpu: u32, page_size: usize) -> Result<CpuReader> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        Ok(CpuReader {
            file,
            path: path.into(),
            cpu,
            page_size,
        })
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
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(timeout.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(Error::io("poll", &self.path, e.into())),
        }
    }

    /// Reads one page into `out` (appending `page_size` bytes). Returns false when nothing was
    /// available (EAGAIN or a 0-byte read).
    pub fn read_page_into(&mut self, out: &mut Vec<u8>) -> Result<bool> {
        let start = out.len();
        out.resize(start + self.page_size, 0);
        let dst = out.get_mut(start..).unwrap_or_default();
        let r = loop {
            match self.file.read(dst) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        match r {
            Ok(n) if n > 0 => {
                // A short read still holds a whole page header + data; keep page alignment.
                Ok(true)
            }
            Ok(_) => {
                out.truncate(start);
                Ok(false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                out.truncate(start);
                Ok(false)
            }
            Err(e) => {
                out.truncate(start);
                Err(Error::io("read", &self.path, e))
            }
        }
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
