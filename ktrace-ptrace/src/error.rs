//! The error type of ktrace-ptrace.

use thiserror::Error;

/// Everything that can go wrong tracing processes.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A ptrace/wait call failed.
    #[error("{call} on pid {pid}: {source}")]
    Syscall {
        /// The call.
        call: &'static str,
        /// The task.
        pid: i32,
        /// errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// The command could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No such process to attach to.
    #[error("no such process: {pid}")]
    NoSuchProcess {
        /// The pid.
        pid: i32,
    },
    /// The process is a zombie: it has exited and waits to be reaped; there is nothing to trace.
    #[error("pid {pid} is a zombie (exited, not yet reaped)")]
    Zombie {
        /// The pid.
        pid: i32,
    },
    /// The process is already traced (or we may not trace it).
    #[error("pid {pid} is already traced or not ours to trace (EPERM)")]
    AlreadyTraced {
        /// The pid.
        pid: i32,
    },
    /// Something this kernel or architecture cannot do.
    #[error("unsupported: {feature} (pid {pid})")]
    Unsupported {
        /// What.
        feature: String,
        /// The task.
        pid: i32,
    },
    /// A wait status the tracer did not expect.
    #[error("unexpected state of pid {pid}: {what}")]
    Unexpected {
        /// The task.
        pid: i32,
        /// What was seen.
        what: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn sys(call: &'static str, pid: i32, source: nix::errno::Errno) -> Error {
        Error::Syscall { call, pid, source }
    }
}
