//! # ktrace-ptrace
//!
//! strace as a library: spawn or attach to processes and iterate typed events (syscall entry and
//! exit with arguments, signals, group-stops, forks, execs, exits), following children and threads.
//! Optionally only chosen syscalls stop the tracee, through a seccomp-bpf filter, so the rest run
//! at native speed; syscalls can be failed on purpose (fault injection).
//!
//! ```no_run
//! use ktrace_ptrace::{Event, TraceCommand};
//! let mut t = TraceCommand::new("cat").arg("/etc/hostname").stdout_null().spawn()?;
//! while let Some(ev) = t.next_event()? {
//!     if matches!(ev, Event::SyscallExit { .. }) {
//!         println!("{}", t.describe(&ev)); // openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
//!     }
//! }
//! # Ok::<(), ktrace_ptrace::Error>(())
//! ```
//!
//! Kernel interfaces: ptrace(2) with PTRACE_SEIZE (3.4+), PTRACE_GET_SYSCALL_INFO (5.3+, with a
//! register fallback on x86_64), PTRACE_O_EXITKILL (3.8+), seccomp(2) SECCOMP_RET_TRACE (3.5+;
//! the stop order used here is that of 4.8+), process_vm_readv(2) (3.2+) with /proc/PID/mem fallback.

pub mod arch;
pub mod decode;
pub mod error;
pub mod info;
pub mod seccomp;
pub mod sock_diag;
mod sys;
pub mod tracer;

pub use arch::AuditArch;
pub use error::{Error, Result};
pub use info::SyscallInfo;
pub use tracer::{Event, ForkKind, Inject, SigInfo, TraceCommand, Tracer};

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
