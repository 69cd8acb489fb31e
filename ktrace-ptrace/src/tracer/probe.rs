//! The seccomp-order probe: where this kernel puts seccomp stops relative to syscall-enter stops.

use super::*;

/// Finds where this kernel puts `PTRACE_EVENT_SECCOMP` stops relative to syscall-enter stops, the
/// way strace does: a child with a filter that traces `execve` runs `true`; the seccomp stop is
/// resumed with `PTRACE_SYSCALL`, and whether the next stop is the entry or the exit tells.
///
/// ```no_run
/// use ktrace_ptrace::seccomp::SeccompOrder;
/// match ktrace_ptrace::tracer::probe_seccomp_order()? {
///     SeccompOrder::AfterEntry => println!("Linux 4.8+ order"),
///     SeccompOrder::BeforeEntry => println!("pre-4.8 order: an entry stop follows a seccomp stop"),
/// }
/// # Ok::<(), ktrace_ptrace::Error>(())
/// ```
#[doc(alias = "PTRACE_EVENT_SECCOMP")]
pub fn probe_seccomp_order() -> Result<SeccompOrder> {
    let prog_path =
        ["/usr/bin/true", "/bin/true"].into_iter().find(|p| std::path::Path::new(p).exists()).ok_or_else(|| {
            Error::Unsupported {
                feature: "seccomp order probe (no /usr/bin/true or /bin/true to run; install coreutils)".into(),
                pid: 0,
            }
        })?;
    let path =
        std::ffi::CString::new(prog_path).map_err(|e| Error::Spawn { program: prog_path.into(), source: e.into() })?;
    let argv = [path.clone()];
    let execve = AuditArch::NATIVE.syscall_nr("execve").ok_or_else(|| Error::Unsupported {
        feature: "execve number for this architecture (no syscall table for it)".into(),
        pid: 0,
    })?;
    let filter = crate::seccomp::trace_only(AuditArch::NATIVE, &[execve]);
    let pid = sys::fork_exec_stopped(&path, &argv, Some(&filter), true, None)
        .map_err(|e| Error::Spawn { program: prog_path.into(), source: e })?;
    let raw = pid.as_raw();
    let fail = |what: String| Error::Unexpected { pid: raw, what };
    let result = (|| {
        match waitpid(pid, Some(WaitPidFlag::WSTOPPED)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
            other => return Err(fail(format!("{other:?} while starting the probe"))),
        }
        let opts = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACESECCOMP | Options::PTRACE_O_EXITKILL;
        ptrace::seize(pid, opts).map_err(|e| Error::sys("ptrace(PTRACE_SEIZE)", raw, e))?;
        let mut seen_seccomp = false;
        for _ in 0..16 {
            let st = waitpid(pid, Some(WaitPidFlag::__WALL)).map_err(|e| Error::sys("waitpid", raw, e))?;
            match st {
                WaitStatus::PtraceEvent(_, _, e) if e == PtraceEvent::PTRACE_EVENT_SECCOMP as i32 => {
                    seen_seccomp = true;
                    let _ = ptrace::syscall(pid, None);
                }
                WaitStatus::PtraceSyscall(_) if seen_seccomp => {
                    let entry = match sys::syscall_info(pid) {
                        Ok(SyscallInfo::Entry { .. }) => true,
                        Ok(_) => false,
                        // x86_64 registers: rax holds -ENOSYS at a syscall-enter stop.
                        Err(_) => {
                            #[cfg(target_arch = "x86_64")]
                            {
                                ptrace::getregs(pid).map(|r| r.rax as i64 == -(libc::ENOSYS as i64)).unwrap_or(false)
                            }
                            #[cfg(not(target_arch = "x86_64"))]
                            {
                                false
                            }
                        }
                    };
                    return Ok(if entry { SeccompOrder::BeforeEntry } else { SeccompOrder::AfterEntry });
                }
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    return Err(fail("the probe ended before its seccomp stop".into()));
                }
                // The seized child's group-stop, or anything else: let it run on (with syscall
                // stops only once the seccomp stop was seen).
                _ => {
                    let _ = if seen_seccomp { ptrace::syscall(pid, None) } else { ptrace::cont(pid, None) };
                }
            }
        }
        Err(fail("no syscall stop after the seccomp stop".into()))
    })();
    let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
    result
}

/// [`probe_seccomp_order`] once per process; 4.8+ behaviour if the probe cannot run.
pub(super) fn probe_seccomp_order_cached() -> SeccompOrder {
    static ORDER: std::sync::OnceLock<SeccompOrder> = std::sync::OnceLock::new();
    *ORDER.get_or_init(|| probe_seccomp_order().unwrap_or(SeccompOrder::AfterEntry))
}
