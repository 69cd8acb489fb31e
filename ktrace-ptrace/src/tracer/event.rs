//! The events a [`Tracer`] yields, and what they carry.

use super::*;

/// How a new task came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkKind {
    /// fork(2).
    Fork,
    /// vfork(2).
    Vfork,
    /// clone(2) (a thread, or a process with custom flags).
    Clone,
}

/// Signal information of a signal-delivery stop (from PTRACE_GETSIGINFO).
#[doc(alias = "PTRACE_GETSIGINFO")]
#[doc(alias = "siginfo_t")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number.
    pub signo: i32,
    /// `si_code` (SI_USER, SI_KERNEL, SEGV_MAPERR…).
    pub code: i32,
    /// `si_errno`.
    pub errno: i32,
    /// Sending pid for signals from kill(2)/tgkill(2).
    pub sender_pid: i32,
    /// Sending uid for signals from kill(2)/tgkill(2).
    pub sender_uid: u32,
    /// Faulting address for SIGSEGV/SIGBUS/SIGILL/SIGFPE.
    pub fault_addr: u64,
}

/// What happened to a tracee. Events are small `Copy` values; strings (paths, argv) are read from
/// the tracee on demand with [`Tracer::describe`] while the tracee is still stopped, i.e. before
/// the next call of [`Tracer::next_event`].
#[doc(alias = "PTRACE_EVENT_FORK")]
#[doc(alias = "PTRACE_EVENT_CLONE")]
#[doc(alias = "PTRACE_EVENT_EXEC")]
#[doc(alias = "PTRACE_EVENT_EXIT")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The tracer attached to this task (spawned, attached, or auto-attached child).
    Attached {
        /// Task id.
        pid: i32,
    },
    /// Syscall entry.
    SyscallEnter {
        /// Task id.
        pid: i32,
        /// Audit arch of the syscall.
        arch: AuditArch,
        /// Number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
    },
    /// Syscall exit, with the entry's number and arguments.
    SyscallExit {
        /// Task id.
        pid: i32,
        /// Audit arch.
        arch: AuditArch,
        /// Number.
        nr: u64,
        /// Arguments at entry.
        args: [u64; 6],
        /// Return value (negative errno on error).
        ret: i64,
    },
    /// A signal is about to be delivered.
    Signal {
        /// Task id.
        pid: i32,
        /// Details.
        info: SigInfo,
    },
    /// The task entered group-stop (SIGSTOP, SIGTSTP…); it stays stopped (PTRACE_LISTEN).
    GroupStop {
        /// Task id.
        pid: i32,
        /// The stopping signal.
        signo: i32,
    },
    /// The task created a new task, which is traced from now on.
    Fork {
        /// Parent task id.
        pid: i32,
        /// New task id.
        child: i32,
        /// fork, vfork or clone.
        kind: ForkKind,
    },
    /// The task executed a new program. `old_pid` differs from `pid` when a non-leader thread
    /// called execve (it takes over the leader's pid).
    Exec {
        /// Task id after exec.
        pid: i32,
        /// Task id that called execve.
        old_pid: i32,
    },
    /// The task exited normally.
    Exited {
        /// Task id.
        pid: i32,
        /// Exit code.
        code: i32,
    },
    /// The task was killed by a signal.
    Killed {
        /// Task id.
        pid: i32,
        /// The signal.
        signo: i32,
        /// A core dump was written.
        core_dumped: bool,
    },
    /// The tracer let go of the task.
    Detached {
        /// Task id.
        pid: i32,
    },
}
