//! The state machine: per-task state, resuming the stopped task, and turning each `waitpid`
//! status into an [`Event`].

use super::*;

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tracee {
    /// Entry of the syscall in progress.
    pub(super) entry: Option<(AuditArch, u64, [u64; 6])>,
    /// Still starting up (spawned child before its exec): hide its own SIGSTOP/SIGCONT dance.
    pub(super) starting: bool,
    /// Attached but its first stop not yet seen.
    pub(super) new: bool,
    /// Injected failure pending for this syscall's exit.
    pub(super) injected: Option<i64>,
    /// A seccomp stop was just resumed on a kernel where a syscall-enter stop follows it (< 4.8).
    pub(super) skip_entry_stop: bool,
    /// Seized while held before its exec ([`Tracer::seize_held`]): its first stop is the exec,
    /// whose execve entry is reported then, from the new image.
    pub(super) held: bool,
}

impl Tracer {
    pub(super) fn resume(&mut self) {
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

    pub(super) fn default_resume(&self) -> Resume {
        if self.seccomp { Resume::Cont } else { Resume::Syscall }
    }

    /// The next event, or `None` when no tracee is left. The task the event is about stays stopped
    /// until this is called again.
    #[doc(alias = "PTRACE_SYSCALL")]
    #[doc(alias = "PTRACE_GET_SYSCALL_INFO")]
    #[doc(alias = "PTRACE_LISTEN")]
    #[doc(alias = "waitpid")]
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        let ev = self.next_event_unobserved()?;
        #[cfg(feature = "stack")]
        if let (Some(u), Some(ev)) = (self.unwinder.as_mut(), ev.as_ref()) {
            u.observe(ev);
        }
        Ok(ev)
    }

    fn next_event_unobserved(&mut self) -> Result<Option<Event>> {
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
            self.waited_ns = sys::monotonic_ns();
            if std::env::var_os("KTRACE_PTRACE_DEBUG").is_some() {
                eprintln!("ktrace-ptrace: {st:?}");
            }
            if let Some(ev) = self.handle(st)? {
                return Ok(Some(ev));
            }
        }
    }

    /// [`Tracer::next_event`] with the time it happened: when the `waitpid` that reported the
    /// stop returned, on `CLOCK_MONOTONIC` (the events one stop produces share it; the first
    /// `Attached` carries the time the tracer was made). The stop itself came earlier, by the
    /// tracer's wake-up latency (microseconds); a syscall's tracepoints seen by ftrace on the same
    /// clock fall after the entry stamp and before the exit stamp.
    #[doc(alias = "clock_gettime")]
    #[doc(alias = "CLOCK_MONOTONIC")]
    pub fn next_stamped(&mut self) -> Result<Option<Stamped<Event>>> {
        let ev = self.next_event()?;
        let ts = Timestamp::new(self.waited_ns, Clock::Mono);
        Ok(ev.map(|event| Stamped { ts, event }))
    }

    pub(super) fn handle(&mut self, st: WaitStatus) -> Result<Option<Event>> {
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
}

/// execve's arguments as they are in the new image of `pid`, stopped at its exec: the file name
/// as passed (`AT_EXECFN` of `/proc/PID/auxv`), then argv and envp on the fresh stack (argc at its
/// start, `startstack` of `/proc/PID/stat`). Native word size.
pub(super) fn exec_args_of_new_image(pid: i32) -> Option<[u64; 6]> {
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

pub(super) fn siginfo(si: &libc::siginfo_t) -> SigInfo {
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
pub(super) fn regs_info(p: Pid, in_syscall: bool) -> Result<SyscallInfo> {
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
        Err(Error::Unsupported {
            feature: "syscall info without PTRACE_GET_SYSCALL_INFO (Linux 5.3+; x86_64 also reads registers)".into(),
            pid: p.as_raw(),
        })
    }
}
