//! The tracer: spawn or attach, follow forks/clones/exec, and yield typed events.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;

use ktrace_core::{Clock, Stamped, Timestamp};
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

mod command;
mod event;
mod inject;
mod probe;
mod render;
#[cfg(feature = "stack")]
mod stack;
mod state;

pub use command::TraceCommand;
pub use event::{Event, ForkKind, SigInfo};
pub use inject::Inject;
use inject::*;
pub use probe::probe_seccomp_order;
use probe::*;
use state::*;

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
    /// `CLOCK_MONOTONIC` when the last `waitpid` returned (or the tracer was made): the stamp of
    /// the events it produced ([`Tracer::next_stamped`]).
    waited_ns: u64,
    use_info: bool,
    /// execve's arguments rendered at entry (its memory is gone at exit), by pid.
    exec_args: HashMap<i32, String>,
    /// ptrace binds tracees to the tracing thread: a Tracer stays on the thread that made it.
    _not_send: std::marker::PhantomData<*const ()>,
    /// The calling thread's CPU affinity before `same_cpu` pinned it (restored on drop).
    restore_affinity: Option<nix::sched::CpuSet>,
    /// Where this kernel puts seccomp stops (matters only without PTRACE_GET_SYSCALL_INFO).
    seccomp_order: SeccompOrder,
    /// Stack walks ([`Tracer::stack`]), made at the first.
    #[cfg(feature = "stack")]
    unwinder: Option<crate::stack::Unwinder>,
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
            waited_ns: sys::monotonic_ns(),
            use_info: true,
            exec_args: HashMap::new(),
            _not_send: std::marker::PhantomData,
            restore_affinity: None,
            seccomp_order,
            #[cfg(feature = "stack")]
            unwinder: None,
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
