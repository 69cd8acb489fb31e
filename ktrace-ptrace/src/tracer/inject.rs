//! Failure injection (`strace -e inject=`): which calls fail, and the register writes that
//! skip a call at entry and set its return value at exit.

use super::*;

/// An injected failure (`strace -e inject=SYSCALL:error=ERRNO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inject {
    /// Syscall number (native arch).
    pub nr: u64,
    /// Errno to return, or `None` to skip the call and return 0.
    pub errno: Option<i32>,
}

/// Makes the syscall at entry not run (orig_rax = -1).
pub(super) fn skip_syscall(p: Pid) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = ptrace::getregs(p).map_err(|e| Error::sys("ptrace(PTRACE_GETREGS)", p.as_raw(), e))?;
        r.orig_rax = u64::MAX;
        ptrace::setregs(p, r).map_err(|e| Error::sys("ptrace(PTRACE_SETREGS)", p.as_raw(), e))
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err(Error::Unsupported {
        feature: "syscall injection off x86_64 (register writes are x86_64-only here)".into(),
        pid: p.as_raw(),
    })
}

/// Sets the return value at syscall exit.
pub(super) fn set_return(p: Pid, v: i64) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = ptrace::getregs(p).map_err(|e| Error::sys("ptrace(PTRACE_GETREGS)", p.as_raw(), e))?;
        r.rax = v as u64;
        ptrace::setregs(p, r).map_err(|e| Error::sys("ptrace(PTRACE_SETREGS)", p.as_raw(), e))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = v;
        Err(Error::Unsupported {
            feature: "syscall injection off x86_64 (register writes are x86_64-only here)".into(),
            pid: p.as_raw(),
        })
    }
}
