//! The one raw-fd bridge ktrace-sample needs: neli's netlink socket offers only `AsRawFd`, and
//! poll(2) through nix wants a `BorrowedFd`.
#![allow(unsafe_code, reason = "borrowing a raw fd that a live owner keeps open")]

use std::os::fd::{AsRawFd, BorrowedFd};

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
