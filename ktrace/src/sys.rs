//! The calls `ktrace` makes itself: the pipes that hold a forked child before its exec, and the
//! thread id and monotonic clock a capture scopes itself by.
#![allow(unsafe_code, reason = "pipe2/read/write on raw fds, and a pre_exec hook in the forked child")]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes the child of `cmd`, after the other pre_exec hooks, close the parent's ends, write its
/// pid to `ready_w`, and wait for one byte on `go_r` (end-of-file: exit without exec).
pub(crate) fn hold_before_exec(
    cmd: &mut Command,
    ready_r: &OwnedFd,
    ready_w: &OwnedFd,
    go_r: &OwnedFd,
    go_w: &OwnedFd,
) {
    let (rr, rw, gr, gw) = (ready_r.as_raw_fd(), ready_w.as_raw_fd(), go_r.as_raw_fd(), go_w.as_raw_fd());
    let hold = move || -> std::io::Result<()> {
        // SAFETY: runs in the forked child before exec, calling only async-signal-safe functions
        // (close, getpid, write, read) on fds the child inherited; nothing allocates.
        unsafe {
            libc::close(rr);
            libc::close(gw);
            let pid = libc::getpid().to_ne_bytes();
            let _ = libc::write(rw, pid.as_ptr().cast(), pid.len());
            libc::close(rw);
            let mut b = 0u8;
            let n = loop {
                let n = libc::read(gr, (&raw mut b).cast(), 1);
                if n >= 0 || *libc::__errno_location() != libc::EINTR {
                    break n;
                }
            };
            libc::close(gr);
            if n == 1 { Ok(()) } else { Err(std::io::Error::from_raw_os_error(libc::ECANCELED)) }
        }
    };
    // SAFETY: the hook is async-signal-safe (see above) and touches no state shared with the parent.
    unsafe {
        cmd.pre_exec(hold);
    }
}

/// The pid the held child wrote, or `None` at end-of-file (no child was forked).
pub(crate) fn read_pid(ready_r: &OwnedFd) -> std::io::Result<Option<i32>> {
    use std::io::Read;
    let mut f = std::fs::File::from(ready_r.try_clone()?);
    let mut b = [0u8; 4];
    match f.read_exact(&mut b) {
        Ok(()) => Ok(Some(i32::from_ne_bytes(b))),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// Releases the held child.
pub(crate) fn write_go(go_w: &OwnedFd) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::File::from(go_w.try_clone()?).write_all(&[1])
}

/// The calling thread's id (gettid(2)): what tracefs `set_event_pid` and `common_pid` name.
#[cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// CLOCK_MONOTONIC now, in nanoseconds: the `mono` trace clock's time base.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// Sends `sig` to `pid` (errors ignored: it may have exited).
#[cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
pub(crate) fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes plain integers; no memory is passed.
    unsafe { libc::kill(pid, sig) };
}
