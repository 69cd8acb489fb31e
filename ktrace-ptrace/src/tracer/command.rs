//! [`TraceCommand`]: the builder of a traced command, and its spawn.

use super::*;

/// Builder for a traced command, in the spirit of `std::process::Command`.
///
/// ```no_run
/// use ktrace_ptrace::{Event, TraceCommand};
/// let mut t = TraceCommand::new("ls").arg("/").spawn()?;
/// while let Some(ev) = t.next_event()? {
///     if let Event::SyscallExit { .. } = ev {
///         println!("{}", t.describe(&ev));
///     }
/// }
/// # Ok::<(), ktrace_ptrace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TraceCommand {
    program: OsString,
    args: Vec<OsString>,
    follow: bool,
    kill_on_drop: bool,
    seccomp: Option<Vec<u64>>,
    registers_only: bool,
    inject: Vec<Inject>,
    stdout_null: bool,
    same_cpu: bool,
}

impl TraceCommand {
    /// A command to trace.
    pub fn new(program: impl Into<OsString>) -> TraceCommand {
        TraceCommand {
            program: program.into(),
            args: Vec::new(),
            follow: true,
            kill_on_drop: true,
            seccomp: None,
            registers_only: false,
            inject: Vec::new(),
            stdout_null: false,
            same_cpu: false,
        }
    }
    /// Adds an argument.
    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }
    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, a: I) -> Self {
        self.args.extend(a.into_iter().map(Into::into));
        self
    }
    /// Follow children and threads (default on: TRACECLONE, TRACEFORK, TRACEVFORK).
    #[doc(alias = "PTRACE_O_TRACEFORK")]
    #[doc(alias = "PTRACE_O_TRACECLONE")]
    pub fn follow_forks(mut self, on: bool) -> Self {
        self.follow = on;
        self
    }
    /// Kill the command (and its traced children) when the tracer drops (default on,
    /// PTRACE_O_EXITKILL). Off: the tracer detaches and lets them run.
    #[doc(alias = "PTRACE_O_EXITKILL")]
    pub fn kill_on_drop(mut self, on: bool) -> Self {
        self.kill_on_drop = on;
        self
    }
    /// Decodes syscall stops from registers only, as on kernels before 5.3 (no
    /// `PTRACE_GET_SYSCALL_INFO`): for testing that path on newer kernels (x86_64).
    #[doc(alias = "PTRACE_GETREGS")]
    #[doc(hidden)]
    pub fn registers_only(mut self) -> Self {
        self.registers_only = true;
        self
    }

    /// Stop only for these syscalls (native arch numbers), through a seccomp-bpf filter returning
    /// SECCOMP_RET_TRACE for them; all others run without stopping. Linux 3.5+ (filter); the
    /// kernel's seccomp/syscall-stop order is probed once ([`probe_seccomp_order`]).
    #[doc(alias = "seccomp")]
    #[doc(alias = "SECCOMP_RET_TRACE")]
    #[doc(alias = "PTRACE_O_TRACESECCOMP")]
    pub fn seccomp_filter(mut self, nrs: &[u64]) -> Self {
        self.seccomp = Some(nrs.to_vec());
        self
    }
    /// Fails (or skips) a syscall on every call (x86_64).
    #[doc(alias = "PTRACE_SETREGS")]
    pub fn inject(mut self, i: Inject) -> Self {
        self.inject.push(i);
        self
    }
    /// Runs the tracee and the calling (tracer) thread on one CPU (the tracer's current one).
    /// Every stop is a tracee -> tracer -> tracee hand-off; on one CPU it is a plain context switch
    /// instead of a cross-CPU wakeup (an IPI, costly in VMs): `benches/compare/ptrace.sh` measured
    /// 16.5 -> 6.5 us per traced syscall on a 2-CPU x86-64 host. The calling thread's affinity is restored when the
    /// tracer drops.
    pub fn same_cpu(mut self, on: bool) -> Self {
        self.same_cpu = on;
        self
    }
    /// Sends the command's stdout to /dev/null.
    pub fn stdout_null(mut self) -> Self {
        self.stdout_null = true;
        self
    }

    /// Starts the command traced from its first instruction after exec.
    #[doc(alias = "PTRACE_SEIZE")]
    pub fn spawn(self) -> Result<Tracer> {
        // Resolve PATH here, as strace does, so the child makes exactly one execve.
        let program = resolve(&self.program);
        let cstr = |s: &std::ffi::OsStr| std::ffi::CString::new(s.as_encoded_bytes().to_vec());
        let spawn_err =
            |e: std::io::Error| Error::Spawn { program: self.program.to_string_lossy().into_owned(), source: e };
        let path = cstr(program.as_os_str()).map_err(|e| spawn_err(e.into()))?;
        let mut argv = vec![cstr(&self.program).map_err(|e| spawn_err(e.into()))?];
        for a in &self.args {
            argv.push(cstr(a).map_err(|e| spawn_err(e.into()))?);
        }
        let prog = self.seccomp.as_ref().map(|n| crate::seccomp::trace_only(AuditArch::NATIVE, n));
        // The child could only _exit(126) on a program the kernel refuses: say why here instead.
        if let Some(p) = prog.as_ref().filter(|p| p.len() > crate::seccomp::MAX_INSNS) {
            let why = format!(
                "the seccomp filter for {} syscall numbers needs {} BPF instructions, over the kernel's \
                 BPF_MAXINSNS {}: pass only numbers of real syscalls (x86_64 has fewer than 500)",
                self.seccomp.as_ref().map_or(0, Vec::len),
                p.len(),
                crate::seccomp::MAX_INSNS
            );
            return Err(spawn_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why)));
        }
        let cpu = if self.same_cpu { sys::current_cpu() } else { None };
        let old_affinity = if cpu.is_some() { nix::sched::sched_getaffinity(Pid::from_raw(0)).ok() } else { None };
        if let Some(c) = cpu {
            sys::pin_self(c).map_err(spawn_err)?;
        }
        let pid = sys::fork_exec_stopped(&path, &argv, prog.as_deref(), self.stdout_null, cpu).map_err(spawn_err)?;
        match waitpid(pid, Some(WaitPidFlag::WSTOPPED)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
            Ok(other) => {
                return Err(Error::Unexpected { pid: pid.as_raw(), what: format!("{other:?} while starting") });
            }
            Err(e) => return Err(Error::sys("waitpid", pid.as_raw(), e)),
        }
        let mut opts = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC;
        if self.follow {
            opts |= Options::PTRACE_O_TRACECLONE | Options::PTRACE_O_TRACEFORK | Options::PTRACE_O_TRACEVFORK;
        }
        if self.kill_on_drop {
            opts |= Options::PTRACE_O_EXITKILL;
        }
        if self.seccomp.is_some() {
            opts |= Options::PTRACE_O_TRACESECCOMP;
        }
        ptrace::seize(pid, opts).map_err(|e| Error::sys("ptrace(PTRACE_SEIZE)", pid.as_raw(), e))?;
        // No SIGCONT: the seized child reports its group-stop as PTRACE_EVENT_STOP and the first
        // ptrace restart lets it run on into execve.
        let mut t = Tracer::empty(opts, self.seccomp.is_some(), self.kill_on_drop);
        t.tracees.insert(pid.as_raw(), Tracee { starting: true, ..Default::default() });
        t.spawned.insert(pid.as_raw());
        t.inject = self.inject;
        t.restore_affinity = old_affinity;
        t.use_info = !self.registers_only;
        t.queue.push(Event::Attached { pid: pid.as_raw() });
        Ok(t)
    }
}

/// Finds `prog` in PATH when it has no `/`.
pub(super) fn resolve(prog: &std::ffi::OsStr) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = std::path::Path::new(prog);
    if prog.as_encoded_bytes().contains(&b'/') {
        return p.to_owned();
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(p))
        .find(|c| c.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .unwrap_or_else(|| p.to_owned())
}
