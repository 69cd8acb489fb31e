//! The error type of ktrace-sample.

#[cfg(feature = "perf")]
use ktrace_core::hint::{self, Sysctl};
use thiserror::Error;

/// Everything that can go wrong sampling.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A syscall failed (the call, the file or object, the OS error).
    #[error(transparent)]
    Syscall(#[from] ktrace_core::SysError),
    /// Bytes from the kernel (or a capture) that do not parse.
    #[error("malformed {what} at offset {offset}: expected {expected}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected there.
        expected: String,
    },
    /// The call was refused (EACCES/EPERM); `hint` names the capability and the sysctl (with its
    /// current value) that would allow it.
    #[error("{call} {what}: permission denied: {hint}")]
    Permission {
        /// The call (`perf_event_open`, `netlink(TASKSTATS_CMD_GET)`…).
        call: &'static str,
        /// What it was asked for (event name, pid…).
        what: String,
        /// What to do about it.
        hint: String,
    },
    /// The process asked about does not exist (ESRCH).
    #[error("{call}: no such process: pid {pid}")]
    NoSuchProcess {
        /// The call.
        call: &'static str,
        /// The pid (or tgid).
        pid: u32,
    },
    /// A file to read as ELF is not a regular file (a device, a FIFO, a directory…).
    #[error("{path} is not a regular file: it is {kind}")]
    NotRegularFile {
        /// The file.
        path: String,
        /// What it is (`a character device`, `a FIFO`…).
        kind: &'static str,
    },
    /// The kernel or machine cannot do this (no PMU for hardware events…).
    #[error("unsupported: {feature} ({hint})")]
    Unsupported {
        /// What.
        feature: String,
        /// What was observed.
        hint: String,
    },
}

impl Error {
    pub(crate) fn io(call: &'static str, what: impl Into<ktrace_core::Subject>, source: std::io::Error) -> Error {
        Error::Syscall(ktrace_core::SysError::new(call, what.into(), source))
    }

    #[cfg(feature = "perf")]
    /// A failed perf_event_open(2) of `what`: EACCES/EPERM become [`Error::Permission`] naming
    /// CAP_PERFMON and `kernel.perf_event_paranoid` with its current value and the value `need`s
    /// (`"≤ 0 for system-wide sampling"`).
    pub(crate) fn perf_open(what: impl Into<String>, need: &str, e: std::io::Error) -> Error {
        if !matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
            return Error::io("perf_event_open", what.into(), e);
        }
        let value = crate::sys::sysctl("kernel.perf_event_paranoid");
        let paranoid = Sysctl { name: "kernel.perf_event_paranoid", value: value.as_deref() };
        let hint = hint::permission(&["CAP_PERFMON", "CAP_SYS_ADMIN"], Some((&paranoid, need)));
        Error::Permission { call: "perf_event_open", what: what.into(), hint }
    }

    /// True when the call was refused for lack of privilege ([`Error::Permission`], or EACCES/EPERM
    /// from another call).
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Permission { .. } => true,
            Error::Syscall(e) => e.is_permission(),
            _ => false,
        }
    }

    /// True when the running kernel or the system cannot do this (skip, do not fail).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
