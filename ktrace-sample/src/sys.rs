//! The calls ktrace-sample makes outside its libraries: the raw-fd bridge (neli's netlink socket
//! offers only `AsRawFd`, and poll(2) through nix wants a `BorrowedFd`), reading sysctls for
//! hints, and mapping ELF files.
#![allow(unsafe_code, reason = "borrowing a raw fd that a live owner keeps open; mapping a file")]

#[cfg(feature = "taskstats")]
use std::os::fd::{AsRawFd, BorrowedFd};

#[cfg(feature = "taskstats")]
/// Waits up to `timeout` for `owner`'s fd to be readable; `Ok(false)` on timeout or EINTR.
pub(crate) fn readable(owner: &impl AsRawFd, timeout: std::time::Duration) -> std::io::Result<bool> {
    // SAFETY: `owner` is borrowed for this whole call and owns the fd, so the fd stays open and
    // refers to the same socket while `fd` exists; `fd` does not escape this function.
    let fd = unsafe { BorrowedFd::borrow_raw(owner.as_raw_fd()) };
    let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
    let ms = nix::poll::PollTimeout::try_from(timeout).unwrap_or(nix::poll::PollTimeout::MAX);
    match nix::poll::poll(&mut fds, ms) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// `CLOCK_MONOTONIC` now, in ns (clock_gettime(2)): the stamp of records that carry no time
/// (taskstats exits, inotify events), on the clock perf and ftrace can use too.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

#[cfg(feature = "perf")]
/// The current value of a sysctl (`kernel.perf_event_paranoid`), trimmed; `None` when absent.
pub(crate) fn sysctl(name: &str) -> Option<String> {
    std::fs::read_to_string(ktrace_core::hint::Sysctl::path(name)).ok().map(|v| v.trim().to_owned())
}

#[cfg(feature = "symbolize")]
/// Maps a regular file read-only, or says what the file is instead (`Ok(Err("a FIFO"))`).
///
/// Opens with O_NONBLOCK so a FIFO does not block the open, and refuses anything but a non-empty
/// regular file: a device such as `/dev/zero` would otherwise be read without end. An error comes
/// with the call that failed (`open`, `fstat`, `mmap`).
pub(crate) fn map_regular(
    path: impl AsRef<std::path::Path>,
) -> Result<Result<memmap2::Mmap, &'static str>, (&'static str, std::io::Error)> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| ("open", e))?;
    let meta = f.metadata().map_err(|e| ("fstat", e))?;
    if !meta.is_file() {
        return Ok(Err(ktrace_core::hint::file_kind(meta.mode())));
    }
    if meta.len() == 0 {
        return Err(("mmap", std::io::Error::new(std::io::ErrorKind::InvalidData, "empty file")));
    }
    // SAFETY: a read-only private mapping of a regular file that is only read. A file truncated
    // by someone else while mapped would fault (SIGBUS), as for any mmap reader (perf, gdb).
    unsafe { memmap2::Mmap::map(&f) }.map(Ok).map_err(|e| ("mmap", e))
}
