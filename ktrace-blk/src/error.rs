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
    /// True when a call was refused for lack of privilege (EACCES/EPERM on a device, an ioctl
    /// or tracefs): run as root.
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Syscall(e) => e.is_permission(),
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

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
