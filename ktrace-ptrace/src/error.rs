//! The error type of ktrace-ptrace.

use ktrace_core::hint::{self, Sysctl};
use thiserror::Error;

/// Everything that can go wrong tracing processes.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A ptrace/wait call (or a read of /proc or a netlink socket) failed: the call, the task or
    /// file, the OS error.
    #[error(transparent)]
    Syscall(#[from] ktrace_core::SysError),
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
    /// The process is already traced by another tracer (its `TracerPid` in `/proc/PID/status`).
    #[error("pid {pid} is already traced by pid {tracer}")]
    AlreadyTraced {
        /// The pid.
        pid: i32,
        /// The tracer's pid, from `/proc/PID/status`.
        tracer: i32,
    },
    /// We may not trace the process (EPERM while nobody traces it): `hint` names CAP_SYS_PTRACE
    /// and `kernel.yama.ptrace_scope` with its current value.
    #[error("{call} on pid {pid}: permission denied: {hint}")]
    Permission {
        /// The call.
        call: &'static str,
        /// The task.
        pid: i32,
        /// What to do about it.
        hint: String,
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
        Error::Syscall(ktrace_core::SysError::new(call, ktrace_core::Subject::Pid(pid), source.into()))
    }

    /// EPERM from attaching to task `tid` of `pid`: [`Error::AlreadyTraced`] when its
    /// `TracerPid` names a tracer, else [`Error::Permission`] with what would allow it.
    pub(crate) fn attach_refused(call: &'static str, pid: i32, tid: i32) -> Error {
        if let Some(tracer) = crate::sys::tracer_pid(tid).filter(|&t| t != 0) {
            return Error::AlreadyTraced { pid, tracer };
        }
        let value = crate::sys::sysctl("kernel.yama.ptrace_scope");
        let meaning = match value.as_deref() {
            Some("0") => "0: any process of your own user",
            Some("1") => "1: only your descendants, or a process that allowed you with PR_SET_PTRACER",
            Some("2") => "2: only with CAP_SYS_PTRACE",
            Some("3") => "3: no attaching at all until reboot",
            _ => "",
        };
        let yama = Sysctl { name: "kernel.yama.ptrace_scope", value: value.as_deref() };
        let hint = format!(
            "a process of another user (or a setuid one) {}",
            hint::permission_restricted(&["CAP_SYS_PTRACE"], &yama, meaning)
        );
        Error::Permission { call, pid, hint }
    }

    /// True when the kernel refused for lack of privilege ([`Error::Permission`]).
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::Permission { .. })
    }

    /// True when this kernel or architecture cannot do this (skip, don't fail).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }
}
