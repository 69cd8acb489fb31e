//! The error type of ktrace-blk.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong tracing block devices.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A syscall or ioctl failed (the call, the path, the OS error).
    #[error(transparent)]
    Syscall(#[from] ktrace_core::SysError),
    /// A call the kernel refused for lack of privilege, with what would allow it
    /// (`open /dev/loop-control: Permission denied (os error 13): needs CAP_SYS_ADMIN (or root)`).
    #[error("{error}: {hint}")]
    Permission {
        /// The refused call.
        error: ktrace_core::SysError,
        /// The capability (or root) that allows it.
        hint: String,
    },
    /// The relay files' directory is missing because debugfs is not mounted.
    #[error("no {path}: debugfs is not mounted (mount -t debugfs nodev /sys/kernel/debug)")]
    NoDebugfs {
        /// The per-CPU relay file that was looked for.
        path: PathBuf,
    },
    /// The running kernel cannot do this (e.g. relay files refused under lockdown).
    #[error("unsupported by this kernel: {feature} ({hint})")]
    Unsupported {
        /// What.
        feature: String,
        /// What was observed.
        hint: String,
    },
    /// A thread of ours panicked: a bug, never "unsupported" (so a test fails, not skips).
    #[error("the {thread} thread panicked")]
    Panicked {
        /// Which thread (`trace_pipe reader`).
        thread: &'static str,
    },
    /// Records did not parse.
    #[error(transparent)]
    Parse(#[from] ktrace_core::ParseError),
    /// ftrace-side error (tracer busy, tracefs missing…).
    #[error(transparent)]
    Ftrace(#[from] ktrace_ftrace::Error),
}

impl Error {
    pub(crate) fn io(call: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Syscall(ktrace_core::SysError::new(call, path.into(), source))
    }
    /// Like [`Error::io`] for a call that needs privilege: a refusal (EACCES/EPERM) becomes
    /// [`Error::Permission`] naming `caps` (none: root, for files only root may write).
    pub(crate) fn privileged(
        call: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
        caps: &[&str],
    ) -> Error {
        let error = ktrace_core::SysError::new(call, path.into(), source);
        if error.is_permission() {
            Error::Permission { error, hint: ktrace_core::hint::permission(caps, None) }
        } else {
            Error::Syscall(error)
        }
    }
    /// True when a call was refused for lack of privilege (EACCES/EPERM on a device, an ioctl
    /// or tracefs): run as root.
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Syscall(e) => e.is_permission(),
            Error::Permission { .. } => true,
            Error::Ftrace(e) => e.is_permission(),
            _ => false,
        }
    }
    /// True when the running kernel cannot do this.
    pub fn is_unsupported(&self) -> bool {
        match self {
            Error::Unsupported { .. } => true,
            Error::Ftrace(e) => e.is_unsupported(),
            _ => false,
        }
    }
}

/// What the block layer's ioctls and loop-control check: CAP_SYS_ADMIN.
pub(crate) const ADMIN: &[&str] = &["CAP_SYS_ADMIN"];

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
