//! The tracer: spawn or attach, follow forks/clones/exec, and yield typed events.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Event as PtraceEvent, Options};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::arch::AuditArch;
use crate::error::{Error, Result};
use crate::info::SyscallInfo;
use crate::seccomp::SeccompOrder;
use crate::sys;

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

/// An injected failure (`strace -e inject=SYSCALL:error=ERRNO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inject {
    /// Syscall number (native arch).
    pub nr: u64,
    /// Errno to return, or `None` to skip the call and return 0.
    pub errno: Option<i32>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tracee {
    /// Entry of the syscall in progress.
    entry: Option<(AuditArch, u64, [u64; 6])>,
    /// Still starting up (spawned child before its exec): hide its own SIGSTOP/SIGCONT dance.
    starting: bool,
    /// Attached but its first stop not yet seen.
    new: bool,
    /// Injected failure pending for this syscall's exit.
    injected: Option<i64>,
    /// A seccomp stop was just resumed on a kernel where a syscall-enter stop follows it (< 4.8).
    skip_entry_stop: bool,
    /// Seized while held before its exec ([`Tracer::seize_held`]): its first stop is the exec,
    /// whose execve entry is reported then, from the new image.
    held: bool,
}

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
fn resolve(prog: &std::ffi::OsStr) -> std::path::PathBuf {
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

/// A running trace of one or more tasks.
///
/// ptrace ties tracees to the thread that attached them, so a `Tracer` is not `Send`, and it only
/// waits for its own thread's children (`__WNOTHREAD`): several tracers can run on several
/// threads of one process.
#[doc(alias = "ptrace")]
#[derive(Debug)]
pub struct Tracer {
    tracees: HashMap<i32, Tracee>,
    spawned: HashSet<i32>,
    opts: Options,
    seccomp: bool,
    kill_on_drop: bool,
    inject: Vec<Inject>,
    /// The task left stopped after the last event, and the signal to deliver when resuming it.
    stopped: Option<(i32, Option<Signal>, Resume)>,
    queue: Vec<Event>,
    use_info: bool,
    /// execve's arguments rendered at entry (its memory is gone at exit), by pid.
    exec_args: HashMap<i32, String>,
    /// ptrace binds tracees to the tracing thread: a Tracer stays on the thread that made it.
    _not_send: std::marker::PhantomData<*const ()>,
    /// The calling thread's CPU affinity before `same_cpu` pinned it (restored on drop).
    restore_affinity: Option<nix::sched::CpuSet>,
    /// Where this kernel puts seccomp stops (matters only without PTRACE_GET_SYSCALL_INFO).
    seccomp_order: SeccompOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
    Syscall,
    Cont,
    Listen,
}

impl Tracer {
    fn empty(opts: Options, seccomp: bool, kill_on_drop: bool) -> Tracer {
        let seccomp_order = if seccomp { probe_seccomp_order_cached() } else { SeccompOrder::AfterEntry };
        Tracer {
            tracees: HashMap::new(),
            spawned: HashSet::new(),
            opts,
            seccomp,
            kill_on_drop,
            inject: Vec::new(),
            stopped: None,
            queue: Vec::new(),
            use_info: true,
            exec_args: HashMap::new(),
            _not_send: std::marker::PhantomData,
            restore_affinity: None,
            seccomp_order,
        }
    }

    /// Where this kernel puts seccomp stops relative to syscall-enter stops (probed once per
    /// process when a seccomp filter is used).
    pub fn seccomp_order(&self) -> SeccompOrder {
        self.seccomp_order
    }

    /// Attaches to a running process and all its threads (`/proc/PID/task`) with PTRACE_SEIZE.
    /// Children are followed; the process is never killed by the tracer, which detaches on drop.
    #[doc(alias = "PTRACE_SEIZE")]
    #[doc(alias = "PTRACE_INTERRUPT")]
    pub fn attach(pid: i32) -> Result<Tracer> {
        let opts = Options::PTRACE_O_TRACESYSGOOD
            | Options::PTRACE_O_TRACEEXEC
            | Options::PTRACE_O_TRACECLONE
            | Options::PTRACE_O_TRACEFORK
            | Options::PTRACE_O_TRACEVFORK;
        if let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && st.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'))
        {
            return Err(Error::Zombie { pid });
        }
        let dir = format!("/proc/{pid}/task");
        let tids: Vec<i32> = std::fs::read_dir(&dir)
            .map_err(|_| Error::NoSuchProcess { pid })?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        let mut t = Tracer::empty(opts, false, false);
        for tid in tids {
            match ptrace::seize(Pid::from_raw(tid), opts) {
                Ok(()) => {}
                Err(Errno::ESRCH) if tid != pid => continue, // a thread that just exited
                Err(Errno::ESRCH) => return Err(Error::NoSuchProcess { pid }),
                Err(Errno::EPERM) => return Err(Error::attach_refused("ptrace(PTRACE_SEIZE)", pid, tid)),
                Err(e) => return Err(Error::sys("ptrace(PTRACE_SEIZE)", tid, e)),
            }
            let _ = ptrace::interrupt(Pid::from_raw(tid));
            t.tracees.insert(tid, Tracee { new: true, ..Default::default() });
        }
        Ok(t)
    }

    /// Traces a process that is held just before its `execve(2)` and will exec next (a
    /// `ktrace::HeldCommand` before its release, or any child blocked before its exec): seizes it
    /// with PTRACE_SEIZE, to be released after this returns. Nothing before its exec is traced:
    /// the events are [`Event::Attached`], then its execve as strace shows it (the
    /// [`Event::SyscallEnter`], [`Event::Exec`], then the [`Event::SyscallExit`] whose
    /// [`Tracer::describe`] is `execve("/bin/ls", ["ls", "/"], 0x7ffc… /* 20 vars */) = 0`), then
    /// everything the program does. Children and threads are followed when `follow_forks` is on;
    /// the tracees are killed when the tracer drops (PTRACE_O_EXITKILL), as with [`TraceCommand`].
    ///
    /// Release the process after this call: it runs to its exec without stopping (so a release
    /// that waits for the exec, as `HeldCommand::release` does, returns), and stays stopped there
    /// until [`Tracer::next_event`] is called. Should its exec fail, the process exits and only
    /// this tracer can reap it: a release that waits for the exec (a `std::process::Command`
    /// spawn) then waits until this tracer's thread calls [`Tracer::next_event`], so release it on
    /// another thread when the exec may fail.
    ///
    /// ```no_run
    /// # fn held_pid() -> i32 { 0 }
    /// # fn release() {}
    /// use ktrace_ptrace::{Event, Tracer};
    /// let mut t = Tracer::seize_held(held_pid(), true)?;
    /// release(); // e.g. `held.release()?` of a ktrace::HeldCommand
    /// while let Some(ev) = t.next_event()? {
    ///     if matches!(ev, Event::SyscallExit { .. }) {
    ///         println!("{}", t.describe(&ev));
    ///     }
    /// }
    /// # Ok::<(), ktrace_ptrace::Error>(())
    /// ```
    #[doc(alias = "PTRACE_SEIZE")]
    pub fn seize_held(pid: i32, follow_forks: bool) -> Result<Tracer> {
        let mut opts = Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_TRACEEXEC | Options::PTRACE_O_EXITKILL;
        if follow_forks {
            opts |= Options::PTRACE_O_TRACECLONE | Options::PTRACE_O_TRACEFORK | Options::PTRACE_O_TRACEVFORK;
        }
        match ptrace::seize(Pid::from_raw(pid), opts) {
            Ok(()) => {}
            Err(Errno::ESRCH) => return Err(Error::NoSuchProcess { pid }),
            Err(Errno::EPERM) => return Err(Error::attach_refused("ptrace(PTRACE_SEIZE)", pid, pid)),
            Err(e) => return Err(Error::sys("ptrace(PTRACE_SEIZE)", pid, e)),
        }
        // No interrupt: it runs on to its exec unstopped, and PTRACE_O_TRACEEXEC stops it there.
        let mut t = Tracer::empty(opts, false, true);
        t.tracees.insert(pid, Tracee { held: true, ..Default::default() });
        t.spawned.insert(pid);
        t.queue.push(Event::Attached { pid });
        Ok(t)
    }

    /// Tasks currently traced.
    pub fn tracees(&self) -> impl Iterator<Item = i32> + '_ {
        self.tracees.keys().copied()
    }

    fn resume(&mut self) {
        let Some((pid, sig, how)) = self.stopped.take() else {
            return;
        };
        let p = Pid::from_raw(pid);
        let r = match how {
            Resume::Syscall => ptrace::syscall(p, sig),
            Resume::Cont => ptrace::cont(p, sig),
            Resume::Listen => sys::listen(p),
        };
        // ESRCH: it died meanwhile; its exit status will come through waitpid.
        let _ = r;
    }

    fn default_resume(&self) -> Resume {
        if self.seccomp { Resume::Cont } else { Resume::Syscall }
    }

    /// The next event, or `None` when no tracee is left. The task the event is about stays stopped
    /// until this is called again.
    #[doc(alias = "PTRACE_SYSCALL")]
    #[doc(alias = "PTRACE_GET_SYSCALL_INFO")]
    #[doc(alias = "PTRACE_LISTEN")]
    #[doc(alias = "waitpid")]
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        if let Some(e) = self.queue.pop() {
            return Ok(Some(e));
        }
        loop {
            // Resume the task of the previous event (or of a stop that made no event).
            self.resume();
            if self.tracees.is_empty() {
                return Ok(None);
            }
            let st = match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
                Ok(s) => s,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => {
                    self.tracees.clear();
                    return Ok(None);
                }
                Err(e) => return Err(Error::sys("waitpid", -1, e)),
            };
            if std::env::var_os("KTRACE_PTRACE_DEBUG").is_some() {
                eprintln!("ktrace-ptrace: {st:?}");
            }
            if let Some(ev) = self.handle(st)? {
                return Ok(Some(ev));
            }
        }
    }

    fn handle(&mut self, st: WaitStatus) -> Result<Option<Event>> {
        let def = self.default_resume();
        match st {
            WaitStatus::Exited(p, code) => {
                let pid = p.as_raw();
                self.tracees.remove(&pid);
                Ok(Some(Event::Exited { pid, code }))
            }
            WaitStatus::Signaled(p, sig, core) => {
                let pid = p.as_raw();
                self.tracees.remove(&pid);
                Ok(Some(Event::Killed { pid, signo: sig as i32, core_dumped: core }))
            }
            WaitStatus::PtraceSyscall(p) => {
                let pid = p.as_raw();
                let tr = self.tracees.entry(pid).or_default();
                if std::mem::take(&mut tr.skip_entry_stop) {
                    // Before 4.8 a syscall-enter stop follows the seccomp stop that already
                    // reported this entry: go on to its exit.
                    self.stopped = Some((pid, None, Resume::Syscall));
                    return Ok(None);
                }
                let tr_starting = tr.starting;
                let info = if self.use_info { sys::syscall_info(p) } else { Err(Errno::EIO) };
                let info = match info {
                    Ok(i) => i,
                    Err(Errno::ESRCH) => return Ok(None),
                    Err(_) => {
                        self.use_info = false;
                        regs_info(p, tr.entry.is_some())?
                    }
                };
                // While a spawned command is still on its way to exec, only execve is shown.
                let hidden = |arch: AuditArch, nr: u64| tr_starting && arch.syscall_name(nr) != Some("execve");
                match info {
                    SyscallInfo::Entry { arch, nr, args } => {
                        tr.entry = Some((arch, nr, args));
                        if hidden(arch, nr) {
                            self.stopped = Some((pid, None, Resume::Syscall));
                            return Ok(None);
                        }
                        let inj = self.inject.iter().find(|i| i.nr == nr && arch == AuditArch::NATIVE).copied();
                        if let Some(i) = inj {
                            skip_syscall(p)?;
                            tr.injected = Some(i.errno.map_or(0, |e| -(e as i64)));
                        }
                        if matches!(arch.syscall_name(nr), Some("execve" | "execveat")) {
                            let name = arch.syscall_name(nr).unwrap_or("execve");
                            self.exec_args.insert(pid, crate::decode::format_call(p, name, &args, None));
                        }
                        self.stopped = Some((pid, None, Resume::Syscall));
                        Ok(Some(Event::SyscallEnter { pid, arch, nr, args }))
                    }
                    SyscallInfo::Exit { arch, rval, .. } => {
                        let (earch, nr, args) = tr.entry.take().unwrap_or((arch, u64::MAX, [0; 6]));
                        if nr == u64::MAX || hidden(earch, nr) {
                            self.stopped = Some((pid, None, def));
                            return Ok(None);
                        }
                        let mut ret = rval;
                        if let Some(r) = tr.injected.take() {
                            set_return(p, r)?;
                            ret = r;
                        }
                        self.stopped = Some((pid, None, def));
                        Ok(Some(Event::SyscallExit { pid, arch: earch, nr, args, ret }))
                    }
                    _ => {
                        self.stopped = Some((pid, None, Resume::Syscall));
                        Ok(None)
                    }
                }
            }
            WaitStatus::PtraceEvent(p, sig, ev) => {
                let pid = p.as_raw();
                // A new task's first stop can arrive before its parent's fork/clone event: a task
                // we have never seen is new too (else its SIGSTOP-stop would pass for a group-stop).
                let unknown = !self.tracees.contains_key(&pid);
                self.tracees.entry(pid).or_default();
                let tr_new = unknown || self.tracees.get(&pid).is_some_and(|t| t.new);
                let mut resume = def;
                let out = match ev {
                    e if e == PtraceEvent::PTRACE_EVENT_FORK as i32
                        || e == PtraceEvent::PTRACE_EVENT_VFORK as i32
                        || e == PtraceEvent::PTRACE_EVENT_CLONE as i32 =>
                    {
                        let child = ptrace::getevent(p).map(|c| c as i32).unwrap_or(-1);
                        // The child may already have reported its first stop.
                        self.tracees.entry(child).or_insert(Tracee { new: true, ..Default::default() });
                        let kind = if e == PtraceEvent::PTRACE_EVENT_FORK as i32 {
                            ForkKind::Fork
                        } else if e == PtraceEvent::PTRACE_EVENT_VFORK as i32 {
                            ForkKind::Vfork
                        } else {
                            ForkKind::Clone
                        };
                        Some(Event::Fork { pid, child, kind })
                    }
                    e if e == PtraceEvent::PTRACE_EVENT_EXEC as i32 => {
                        let old = ptrace::getevent(p).map(|c| c as i32).unwrap_or(pid);
                        if old != pid {
                            self.tracees.remove(&old);
                        }
                        let held = self.tracees.get_mut(&pid).map(|t| {
                            t.starting = false;
                            // execve's entry was seen (unless held); its exit comes next.
                            std::mem::take(&mut t.held)
                        });
                        if held == Some(true)
                            && let Some(nr) = AuditArch::NATIVE.syscall_nr("execve")
                        {
                            // Its first stop: the entry it made in the old image is reported from
                            // the new one (the file name, argv and envp are on its fresh stack),
                            // so its exit is shown as strace shows it.
                            let args = exec_args_of_new_image(pid).unwrap_or_default();
                            if let Some(t) = self.tracees.get_mut(&pid) {
                                t.entry = Some((AuditArch::NATIVE, nr, args));
                            }
                            self.exec_args.insert(pid, crate::decode::format_call(p, "execve", &args, None));
                            self.queue.push(Event::Exec { pid, old_pid: old });
                            Some(Event::SyscallEnter { pid, arch: AuditArch::NATIVE, nr, args })
                        } else {
                            Some(Event::Exec { pid, old_pid: old })
                        }
                    }
                    e if e == PtraceEvent::PTRACE_EVENT_SECCOMP as i32 => {
                        resume = Resume::Syscall;
                        let info = if self.use_info { sys::syscall_info(p).ok() } else { None };
                        // Without PTRACE_GET_SYSCALL_INFO the registers at a seccomp stop hold
                        // the syscall's number and arguments, as at a syscall-enter stop.
                        let info = match info {
                            Some(i) => Ok(i),
                            None => regs_info(p, false).map(|i| match i {
                                SyscallInfo::Entry { arch, nr, args } => {
                                    SyscallInfo::Seccomp { arch, nr, args, ret_data: 0 }
                                }
                                other => other,
                            }),
                        };
                        let skip_entry = self.seccomp_order == SeccompOrder::BeforeEntry;
                        match info {
                            Ok(SyscallInfo::Seccomp { arch, nr, args, .. }) => {
                                if let Some(t) = self.tracees.get_mut(&pid) {
                                    t.skip_entry_stop = skip_entry;
                                    t.entry = Some((arch, nr, args));
                                    let inj = self.inject.iter().find(|i| i.nr == nr).copied();
                                    if let Some(i) = inj {
                                        skip_syscall(p)?;
                                        t.injected = Some(i.errno.map_or(0, |e| -(e as i64)));
                                    }
                                }
                                Some(Event::SyscallEnter { pid, arch, nr, args })
                            }
                            _ => None,
                        }
                    }
                    e if e == PtraceEvent::PTRACE_EVENT_EXIT as i32 => None,
                    128 => {
                        // PTRACE_EVENT_STOP: first stop of a new tracee, an interrupt, or group-stop.
                        let is_stop_sig =
                            matches!(sig, Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU);
                        if tr_new {
                            if let Some(t) = self.tracees.get_mut(&pid) {
                                t.new = false;
                            }
                            Some(Event::Attached { pid })
                        } else if is_stop_sig {
                            if self.tracees.get(&pid).is_some_and(|t| t.starting) {
                                // The spawned child's own SIGSTOP before exec: let it run.
                                resume = Resume::Syscall;
                                None
                            } else {
                                resume = Resume::Listen;
                                Some(Event::GroupStop { pid, signo: sig as i32 })
                            }
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                self.stopped = Some((pid, None, resume));
                Ok(out)
            }
            WaitStatus::Stopped(p, sig) => {
                // Signal-delivery stop.
                let pid = p.as_raw();
                let starting = self.tracees.get(&pid).is_some_and(|t| t.starting);
                let info = ptrace::getsiginfo(p).ok();
                self.stopped = Some((pid, Some(sig), def));
                if starting && matches!(sig, Signal::SIGCONT | Signal::SIGSTOP) {
                    if sig == Signal::SIGSTOP {
                        self.stopped = Some((pid, None, def));
                    }
                    return Ok(None);
                }
                let info = info.map_or(
                    SigInfo { signo: sig as i32, code: 0, errno: 0, sender_pid: 0, sender_uid: 0, fault_addr: 0 },
                    |si| siginfo(&si),
                );
                Ok(Some(Event::Signal { pid, info }))
            }
            WaitStatus::Continued(_) | WaitStatus::StillAlive => Ok(None),
        }
    }

    /// Appends the strace-like text of a syscall exit to `out` without allocating (execve's, whose
    /// arguments were rendered at entry, is copied). Returns false for other events.
    pub fn describe_into(&self, ev: &Event, out: &mut String) -> bool {
        match *ev {
            Event::SyscallExit { pid, arch, nr, args, ret } => match arch.syscall_name(nr) {
                Some(name) if !name.starts_with("execve") => {
                    crate::decode::write_call(out, Pid::from_raw(pid), name, &args, Some(ret));
                    true
                }
                _ => {
                    out.push_str(&self.describe(ev));
                    true
                }
            },
            _ => false,
        }
    }

    /// strace-like text for an event (reads strings from the tracee, which is still stopped).
    pub fn describe(&self, ev: &Event) -> String {
        use crate::decode::format_call;
        match *ev {
            Event::SyscallEnter { pid, arch, nr, args } => {
                let name = arch.syscall_name(nr).map_or_else(|| format!("syscall_{nr}"), str::to_owned);
                format_call(Pid::from_raw(pid), &name, &args, None)
            }
            Event::SyscallExit { pid, arch, nr, args, ret } => {
                let name = arch.syscall_name(nr).map_or_else(|| format!("syscall_{nr}"), str::to_owned);
                if let Some(entry) = self.exec_args.get(&pid).filter(|_| name.starts_with("execve")) {
                    let mut s = entry.clone();
                    crate::decode::format_ret(&mut s, &name, ret);
                    return s;
                }
                format_call(Pid::from_raw(pid), &name, &args, Some(ret))
            }
            Event::Signal { info, .. } => {
                let name = Signal::try_from(info.signo).map_or("?", |s| s.as_str());
                format!(
                    "--- {name} {{si_signo={name}, si_code={}, si_pid={}, si_uid={}}} ---",
                    info.code, info.sender_pid, info.sender_uid
                )
            }
            Event::GroupStop { signo, .. } => {
                format!("--- stopped by {} ---", Signal::try_from(signo).map_or("?", |s| s.as_str()))
            }
            Event::Fork { child, kind, .. } => format!("--- {kind:?} -> {child} ---"),
            Event::Exec { pid, old_pid } => {
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                format!("--- exec {} (by {old_pid}) ---", exe.display())
            }
            Event::Exited { code, .. } => format!("+++ exited with {code} +++"),
            Event::Killed { signo, core_dumped, .. } => format!(
                "+++ killed by {}{} +++",
                Signal::try_from(signo).map_or("?", |s| s.as_str()),
                if core_dumped { " (core dumped)" } else { "" }
            ),
            Event::Attached { pid } => format!("--- attached {pid} ---"),
            Event::Detached { pid } => format!("--- detached {pid} ---"),
        }
    }

    /// Detaches from every tracee (those spawned with kill-on-drop are killed instead), leaving
    /// none stopped. Returns an [`Event::Detached`] for each task let go (as strace prints
    /// `--- detached ---` lines on interrupt), none for killed ones.
    #[doc(alias = "PTRACE_DETACH")]
    pub fn detach_all(&mut self) -> Result<Vec<Event>> {
        let mut detached = Vec::new();
        let stopped = self.stopped.take();
        let pids: Vec<i32> = self.tracees.keys().copied().collect();
        for pid in pids {
            let p = Pid::from_raw(pid);
            if self.kill_on_drop && !self.spawned.is_empty() {
                let _ = kill(p, Signal::SIGKILL);
                continue;
            }
            if stopped.is_some_and(|s| s.0 == pid) {
                if ptrace::detach(p, stopped.and_then(|s| s.1)).is_ok() {
                    detached.push(Event::Detached { pid });
                }
                continue;
            }
            // A running tracee must be in a ptrace-stop to be detached: interrupt it first.
            if ptrace::interrupt(p).is_err() {
                continue;
            }
            // Its next stop (interrupt, syscall or a pending signal) is where it can be detached;
            // a pending signal is handed back so it is not lost.
            let done = match waitpid(p, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
                Ok(WaitStatus::PtraceEvent(..)) | Ok(WaitStatus::PtraceSyscall(_)) => ptrace::detach(p, None).is_ok(),
                Ok(WaitStatus::Stopped(_, sig)) => ptrace::detach(p, Some(sig)).is_ok(),
                Ok(_) | Err(_) => false,
            };
            if done {
                detached.push(Event::Detached { pid });
            }
        }
        if self.kill_on_drop && !self.spawned.is_empty() {
            // Reap what we killed.
            while !self.tracees.is_empty() {
                match waitpid(None, Some(WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD)) {
                    Ok(WaitStatus::Exited(p, _)) | Ok(WaitStatus::Signaled(p, _, _)) => {
                        self.tracees.remove(&p.as_raw());
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        self.tracees.clear();
        Ok(detached)
    }

    /// The ptrace options in force.
    #[doc(alias = "PTRACE_SETOPTIONS")]
    pub fn options(&self) -> Options {
        self.opts
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.detach_all();
        if let Some(set) = self.restore_affinity.take() {
            let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), &set);
        }
    }
}

/// execve's arguments as they are in the new image of `pid`, stopped at its exec: the file name
/// as passed (`AT_EXECFN` of `/proc/PID/auxv`), then argv and envp on the fresh stack (argc at its
/// start, `startstack` of `/proc/PID/stat`). Native word size.
fn exec_args_of_new_image(pid: i32) -> Option<[u64; 6]> {
    const AT_EXECFN: u64 = 31;
    const WORD: u64 = std::mem::size_of::<u64>() as u64;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the comm's closing parenthesis start with the 3rd (state); startstack is the 28th.
    let start: u64 = stat.rsplit_once(')')?.1.split_whitespace().nth(28 - 3)?.parse().ok()?;
    let auxv = std::fs::read(format!("/proc/{pid}/auxv")).ok()?;
    let mut aux = ktrace_core::Cursor::new(&auxv);
    let execfn = loop {
        let (k, v) = (aux.u64().ok()?, aux.u64().ok()?);
        if k == AT_EXECFN {
            break v;
        }
    };
    let mut argc = [0u8; 8];
    (sys::read_mem(Pid::from_raw(pid), start, &mut argc).ok()? == 8).then_some(())?;
    let argc = ktrace_core::Cursor::new(&argc).u64().ok()?;
    let argv = start + WORD;
    let envp = argv.checked_add(WORD.checked_mul(argc.checked_add(1)?)?)?;
    Some([execfn, argv, envp, 0, 0, 0])
}

fn siginfo(si: &libc::siginfo_t) -> SigInfo {
    // SAFETY-free access: the union fields are read through libc's accessor methods.
    #[allow(unsafe_code, reason = "siginfo_t union accessors are unsafe in libc")]
    // SAFETY: the kernel filled `si` for this signal; si_pid/si_uid/si_addr read the union members
    // valid for kill/fault signals and are plain integers otherwise.
    let (pid, uid, addr) = unsafe { (si.si_pid(), si.si_uid(), si.si_addr() as u64) };
    let fault = matches!(si.si_signo, libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE);
    SigInfo {
        signo: si.si_signo,
        code: si.si_code,
        errno: si.si_errno,
        sender_pid: if fault { 0 } else { pid },
        sender_uid: if fault { 0 } else { uid },
        fault_addr: if fault { addr } else { 0 },
    }
}

/// Fallback for kernels before 5.3: syscall info from registers (x86_64).
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
    let prog_path = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .ok_or_else(|| Error::Unsupported { feature: "seccomp order probe (no true binary)".into(), pid: 0 })?;
    let path =
        std::ffi::CString::new(prog_path).map_err(|e| Error::Spawn { program: prog_path.into(), source: e.into() })?;
    let argv = [path.clone()];
    let execve = AuditArch::NATIVE
        .syscall_nr("execve")
        .ok_or_else(|| Error::Unsupported { feature: "execve number for this arch".into(), pid: 0 })?;
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
fn probe_seccomp_order_cached() -> SeccompOrder {
    static ORDER: std::sync::OnceLock<SeccompOrder> = std::sync::OnceLock::new();
    *ORDER.get_or_init(|| probe_seccomp_order().unwrap_or(SeccompOrder::AfterEntry))
}

fn regs_info(p: Pid, in_syscall: bool) -> Result<SyscallInfo> {
    #[cfg(target_arch = "x86_64")]
    {
        let r = ptrace::getregs(p).map_err(|e| Error::sys("ptrace(PTRACE_GETREGS)", p.as_raw(), e))?;
        if in_syscall {
            Ok(SyscallInfo::Exit { arch: AuditArch::X86_64, rval: r.rax as i64, is_error: (r.rax as i64) < 0 })
        } else {
            Ok(SyscallInfo::Entry {
                arch: AuditArch::X86_64,
                nr: r.orig_rax,
                args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9],
            })
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = in_syscall;
        Err(Error::Unsupported { feature: "syscall info without PTRACE_GET_SYSCALL_INFO".into(), pid: p.as_raw() })
    }
}

/// Makes the syscall at entry not run (orig_rax = -1).
fn skip_syscall(p: Pid) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = ptrace::getregs(p).map_err(|e| Error::sys("ptrace(PTRACE_GETREGS)", p.as_raw(), e))?;
        r.orig_rax = u64::MAX;
        ptrace::setregs(p, r).map_err(|e| Error::sys("ptrace(PTRACE_SETREGS)", p.as_raw(), e))
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err(Error::Unsupported { feature: "syscall injection".into(), pid: p.as_raw() })
}

/// Sets the return value at syscall exit.
fn set_return(p: Pid, v: i64) -> Result<()> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = ptrace::getregs(p).map_err(|e| Error::sys("ptrace(PTRACE_GETREGS)", p.as_raw(), e))?;
        r.rax = v as u64;
        ptrace::setregs(p, r).map_err(|e| Error::sys("ptrace(PTRACE_SETREGS)", p.as_raw(), e))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = v;
        Err(Error::Unsupported { feature: "syscall injection".into(), pid: p.as_raw() })
    }
}
