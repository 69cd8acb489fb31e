//! [`SessionBuilder`]: what a session records, and starting it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use ktrace_core::Clock;
use ktrace_ftrace::Tracefs;
use ktrace_ftrace::stream::Budget;

use crate::command::HeldCommand;
use crate::sys;
use crate::timeline::{Feed, Timeline};

#[cfg(feature = "blk")]
use super::sources::blk_source;
use super::sources::{
    FtraceOpts, Ready, counters_source, ftrace_source, perf_source, ptrace_source, spawn, wait_command, watch_source,
};
#[cfg(feature = "taskstats")]
use super::sources::{Tree, exits_source};
use super::{Session, SessionError, Shared, TimelineEvent};

/// What a session records: add sources, then [`SessionBuilder::start`].
#[derive(Debug, Default)]
#[must_use]
pub struct SessionBuilder {
    events: Vec<String>,
    /// `(label, glob, filter)`: one instance per label.
    filtered: Vec<(String, String, String)>,
    this_thread: bool,
    block: bool,
    block_devs: Vec<(u32, u32)>,
    syscalls: bool,
    sample_hz: Option<u64>,
    budget: Option<Budget>,
    buffer_kb: Option<u64>,
    command: Option<Command>,
    #[cfg(feature = "kprobe")]
    probes: Vec<ktrace_kprobe::ProbeDef>,
    #[cfg(feature = "blk")]
    blk_device: Option<String>,
    /// `Some(true)`: every task's exits; `Some(false)`: the command's tree's (all without one).
    #[cfg(feature = "taskstats")]
    exits: Option<bool>,
    counters: Option<(Vec<ktrace_sample::counters::Ev>, Duration)>,
    watches: Vec<(PathBuf, ktrace_sample::inotify::Mask)>,
}

impl SessionBuilder {
    /// Records the ftrace events matching a `system:event` glob (`sched:sched_switch`,
    /// `raw_syscalls:*`); with a command, only of its tasks (`set_event_pid`, following forks), with
    /// [`SessionBuilder::this_thread`] only of the calling thread's.
    pub fn events(mut self, glob: &str) -> Self {
        self.events.push(glob.to_owned());
        self
    }

    /// Records the events matching `glob` that pass the kernel event filter `filter`
    /// (`filename.ustring == "/etc/passwd"`, `prev_state == 0`: see the kernel's
    /// `events.rst`, section "Event filtering"), scoped like [`SessionBuilder::events`], in an
    /// instance of their own shared by the calls with the same `label`: the same event can be
    /// recorded unfiltered by `events` and filtered here, and each of its events says which
    /// ([`FtraceEvent::label`](super::FtraceEvent::label)). A filter the kernel rejects fails
    /// [`SessionBuilder::start`] with its `error_log` explanation. String filters on user memory
    /// (`.ustring`) need Linux 6.1.
    #[doc(alias = "filter")]
    pub fn events_where(mut self, label: &str, glob: &str, filter: &str) -> Self {
        self.filtered.push((label.to_owned(), glob.to_owned(), filter.to_owned()));
        self
    }

    /// Scopes the session to **the thread that calls [`SessionBuilder::start`]** and every task
    /// it creates afterwards (threads, children, theirs), instead of a command: the ftrace
    /// events and probes of [`SessionBuilder::events`] and [`SessionBuilder::events_where`], and
    /// the samples of [`SessionBuilder::samples`]. The session's own threads are created before the
    /// scope is set, so they are never in it; a thread the caller made before `start` is not either.
    /// This is how a test records what its own code does (`ktrace::capture` is built on it).
    /// The calling thread's own reading of the session is in the scope too: read it after
    /// [`Session::stop`](super::Session::stop), or from a thread made before `start`, as
    /// `capture` does.
    ///
    /// Counting what a piece of the program's own code calls, as `strace -c` would:
    ///
    /// ```no_run
    /// use std::collections::BTreeMap;
    /// use ktrace::session::{Session, TimelineEvent};
    /// let s = Session::builder().this_thread().events("raw_syscalls:sys_enter").start()?;
    /// std::fs::write("/tmp/ktrace-this-thread", "hi")?;
    /// std::thread::spawn(std::os::unix::process::parent_id).join().unwrap(); // getppid(2)
    /// s.stop();
    /// let mut calls = BTreeMap::new();
    /// for ev in s {
    ///     if let TimelineEvent::Ftrace(e) = ev? {
    ///         let name = ktrace::ftrace::syscall_name(e.int("id")?).unwrap_or("?");
    ///         *calls.entry(name).or_insert(0) += 1;
    ///     }
    /// }
    /// for (name, n) in &calls {
    ///     println!("{n:>6} {name}"); // openat, write, close, clone3, getppid, munmap…
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    /// Not with [`SessionBuilder::command`], [`SessionBuilder::syscalls`] or
    /// [`SessionBuilder::counters`] (they follow a command from its exec), nor with
    /// [`SessionBuilder::exits`] (a command's tree; `exits_all` is every task's). Minimum kernel:
    /// 4.7 (an instance's `event-fork` option).
    #[doc(alias = "gettid")]
    #[doc(alias = "event-fork")]
    pub fn this_thread(mut self) -> Self {
        self.this_thread = true;
        self
    }

    /// Records the block requests of device `(major, minor)`, by any task
    /// (`block:block_rq_issue`/`block_rq_complete` filtered by `dev`; completions run in
    /// interrupts, so they are not scoped to the command). Several calls add devices.
    #[doc(alias = "block_rq_issue")]
    pub fn block_of(mut self, dev: (u32, u32)) -> Self {
        self.block_devs.push(dev);
        self
    }

    /// Records block I/O of the whole system (`block:block_rq_issue`, `block:block_rq_complete`;
    /// completions run in interrupts, so they are not filtered by pid).
    pub fn block(mut self) -> Self {
        self.block = true;
        self
    }

    /// Traces the command's syscalls, signals, forks and exits with ptrace (its tasks stop at
    /// each call: the command runs slower).
    pub fn syscalls(mut self) -> Self {
        self.syscalls = true;
        self
    }

    /// Samples the command (and its children) at `hz` samples per second of CPU time (perf
    /// `cpu-clock`); with [`SessionBuilder::this_thread`], the calling thread and what it spawns.
    pub fn samples(mut self, hz: u64) -> Self {
        self.sample_hz = Some(hz);
        self
    }

    /// Records hits of a kprobe or uprobe (its group is replaced by the session's own): they come
    /// as [`TimelineEvent::Ftrace`] events of the session's ftrace instance (system: the probe
    /// group, name: `def.event`), scoped like [`SessionBuilder::events`].
    /// The probe is removed when the session ends (and by the guardian if the process dies).
    #[cfg(feature = "kprobe")]
    #[doc(alias = "uprobe_events")]
    #[doc(alias = "kprobe_events")]
    pub fn probe(mut self, def: ktrace_kprobe::ProbeDef) -> Self {
        self.probes.push(def);
        self
    }

    /// Records the block I/O of device `dev` (`loop0`, `sda`) with the ftrace `blk` tracer, as
    /// blktrace actions ([`TimelineEvent::Block`]: queue, issue, complete…). The `blk` tracer is
    /// global: the session fails to start with `Busy` while another tracer is set, sets the
    /// top-level `trace_clock` to `mono` (the records' time is that ring's), and restores
    /// `current_tracer`, `trace_clock`, the `bin` option and the device's trace files at its end
    /// (or, if this process dies, its guardian does).
    #[cfg(feature = "blk")]
    #[doc(alias = "blktrace")]
    pub fn blk_device(mut self, dev: &str) -> Self {
        self.blk_device = Some(dev.to_owned());
        self
    }

    /// Records the exit statistics of the command's tasks, the command and its descendants, as
    /// they exit ([`TimelineEvent::Exit`]; of every task without a command). The kernel sends
    /// every task's record (taskstats `TASKSTATS_CMD_ATTR_REGISTER_CPUMASK` on every CPU, as
    /// `getdelays -m`); the session keeps those whose task, group or parent is the command or
    /// a task found under it, following a parent's parents in `/proc` (a task orphaned before
    /// it exits, its parent gone, is missed). Needs CAP_NET_ADMIN.
    #[doc(alias = "taskstats")]
    #[cfg(feature = "taskstats")]
    pub fn exits(mut self) -> Self {
        self.exits = Some(self.exits == Some(true));
        self
    }

    /// Records the exit statistics of every task of the system that exits while the session
    /// runs, the command's or not (see [`SessionBuilder::exits`]).
    #[cfg(feature = "taskstats")]
    pub fn exits_all(mut self) -> Self {
        self.exits = Some(true);
        self
    }

    /// Reads perf counters of the command (and its children, counting from its exec) every
    /// `period`: [`TimelineEvent::Counter`] items with the value and its increase.
    #[doc(alias = "perf_event_open")]
    pub fn counters(mut self, events: &[ktrace_sample::counters::Ev], period: Duration) -> Self {
        self.counters = Some((events.to_vec(), period));
        self
    }

    /// Watches `path` with inotify for `mask` (`IN_CREATE | IN_MODIFY`…): [`TimelineEvent::Fs`].
    #[doc(alias = "inotify_add_watch")]
    pub fn watch(mut self, path: impl Into<PathBuf>, mask: ktrace_sample::inotify::Mask) -> Self {
        self.watches.push((path.into(), mask));
        self
    }

    /// The memory budget (default 32 MiB): half for the ftrace page queues, half for the merge.
    pub fn budget(mut self, b: Budget) -> Self {
        self.budget = Some(b);
        self
    }

    /// The size of each ftrace CPU ring (`buffer_size_kb`; default: the kernel's) and of each
    /// perf sample ring (rounded up to a power-of-two number of pages; default 1 MiB).
    pub fn buffer_size_kb(mut self, kb: u64) -> Self {
        self.buffer_kb = Some(kb);
        self
    }

    /// The command to run and trace, started held before its exec (no shell) and released once
    /// every source is recording.
    pub fn command(mut self, cmd: Command) -> Self {
        self.command = Some(cmd);
        self
    }

    /// Sets the sources up, starts the command, and returns the session.
    pub fn start(self) -> Result<Session, SessionError> {
        let budget = self.budget.unwrap_or(Budget::mib(32)).bytes;
        if self.this_thread {
            let other = [
                (self.command.is_some(), "a command"),
                (self.syscalls, "ptrace syscalls (they trace a command)"),
                (self.counters.is_some(), "perf counters (they count a command from its exec)"),
                #[cfg(feature = "taskstats")]
                (self.exits == Some(false), "exits (a command's tree; exits_all records every task's)"),
            ];
            if let Some((_, what)) = other.into_iter().find(|(on, _)| *on) {
                return Err(SessionError::ThisThread { what });
            }
        } else if self.command.is_none() {
            if self.syscalls {
                return Err(SessionError::NoCommand { what: "ptrace" });
            }
            if self.sample_hz.is_some() {
                return Err(SessionError::NoCommand { what: "perf sampling" });
            }
            if self.counters.is_some() {
                return Err(SessionError::NoCommand { what: "perf counters" });
            }
        }
        let held = self.command.map(HeldCommand::spawn).transpose()?;
        let pid = held.as_ref().map(HeldCommand::pid);
        // The thread scoped by `this_thread`: set in each instance by its source thread once every
        // session thread exists (`go`).
        let tid = self.this_thread.then(sys::gettid);
        let shared = Arc::new(Shared::default());
        // Declared before the timeline, so an early return drops the timeline first (a source
        // waiting for room sees it closed) and then stops and joins what started.
        let mut started = Started { shared: shared.clone(), threads: Vec::new(), gates: Vec::new(), armed: true };
        let Started { threads, gates, .. } = &mut started;
        let mut timeline = Timeline::new(budget / 2, TimelineEvent::weight, sys::monotonic_ns);
        let mut ready = Vec::new();

        let mut instances = Vec::new();
        #[cfg(feature = "kprobe")]
        let has_probes = !self.probes.is_empty();
        #[cfg(not(feature = "kprobe"))]
        let has_probes = false;
        if !self.events.is_empty()
            || self.block
            || has_probes
            || !self.filtered.is_empty()
            || !self.block_devs.is_empty()
        {
            let fs = Tracefs::find()?;
            if !self.events.is_empty() || has_probes {
                let inst = fs.new_instance()?;
                for g in &self.events {
                    inst.enable_glob(g)?;
                }
                #[allow(unused_mut, reason = "only probes keep a guard")]
                let mut keep: Option<Box<dyn Send>> = None;
                #[cfg(feature = "kprobe")]
                if has_probes {
                    let mut probes = ktrace_kprobe::Probes::new(&fs);
                    for def in self.probes {
                        let event = def.event.clone();
                        probes.add(def)?;
                        inst.enable_event(probes.group(), &event)?;
                    }
                    keep = Some(Box::new(probes));
                }
                instances.push(("ftrace", inst, keep, None, true));
            }
            let mut labels: Vec<&str> = self.filtered.iter().map(|(l, ..)| l.as_str()).collect();
            labels.sort_unstable();
            labels.dedup();
            for label in labels {
                let inst = fs.new_instance()?;
                for (_, glob, filter) in self.filtered.iter().filter(|(l, ..)| l == label) {
                    for (system, name) in inst.matching_events(glob)? {
                        inst.set_filter(&system, &name, filter)?;
                        inst.enable_event(&system, &name)?;
                    }
                }
                instances.push(("ftrace", inst, None, Some(Arc::<str>::from(label)), true));
            }
            if self.block || !self.block_devs.is_empty() {
                let inst = fs.new_instance()?;
                let filter = (!self.block)
                    .then(|| self.block_devs.iter().map(|&(ma, mi)| format!("dev == {}", (ma << 20) | mi)))
                    .map(|f| f.collect::<Vec<_>>().join(" || "));
                for name in ["block_rq_issue", "block_rq_complete"] {
                    if let Some(f) = &filter {
                        inst.set_filter("block", name, f)?;
                    }
                    inst.enable_event("block", name)?;
                }
                instances.push(("block", inst, None, None, false));
            }
        }
        let ftrace_budget = Budget { bytes: budget / 2 / instances.len().max(1) };
        // Every instance set up before any source thread starts: what fails here leaves no thread
        // waiting at its gate.
        // A scoped instance follows the command's tasks from here, or the calling thread's from
        // its source thread (see `FtraceOpts::scope`).
        for (_, inst, _, _, scoped) in &instances {
            if let (Some(pid), true) = (pid, *scoped) {
                inst.set_event_pids(&[pid])?;
                inst.follow_forks(true)?;
            }
            inst.set_clock(Clock::Mono)?;
            if let Some(kb) = self.buffer_kb {
                inst.set_buffer_size_kb(kb)?;
            }
        }
        for (name, inst, keep, label, scoped) in instances {
            let feed = timeline.feed(name);
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            let scope = match tid.filter(|_| scoped) {
                Some(tid) => {
                    let (go, gate) = mpsc::channel();
                    gates.push(go);
                    Some((tid, gate))
                }
                None => None,
            };
            let opts = FtraceOpts { budget: ftrace_budget, label, scope };
            threads.push(spawn(name, move || ftrace_source(inst, opts, feed, &sh, &tx, keep))?);
            ready.push((name, rx));
        }
        let mut pollers: Vec<(&'static str, Poller)> = Vec::new();
        #[cfg(feature = "blk")]
        if let Some(dev) = self.blk_device {
            pollers.push(("blk", Box::new(move |feed, sh, tx| blk_source(dev, feed, sh, tx))));
        }
        #[cfg(feature = "taskstats")]
        if let Some(all) = self.exits {
            let tree = pid.filter(|_| !all).map(Tree::new);
            pollers.push(("exits", Box::new(move |feed, sh, tx| exits_source(tree, feed, sh, tx))));
        }
        if let (Some((events, period)), Some(pid)) = (self.counters, pid) {
            pollers
                .push(("counters", Box::new(move |feed, sh, tx| counters_source(pid, events, period, feed, sh, tx))));
        }
        if !self.watches.is_empty() {
            let watches = self.watches;
            pollers.push(("inotify", Box::new(move |feed, sh, tx| watch_source(watches, feed, sh, tx))));
        }
        for (name, source) in pollers {
            let feed = timeline.feed(name);
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            threads.push(spawn(name, move || source(feed, &sh, &tx))?);
            ready.push((name, rx));
        }
        if let (Some(hz), Some(pid)) = (self.sample_hz, pid.or(tid)) {
            let feed = timeline.feed("perf");
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            let ring = self.buffer_kb.map(|kb| usize::try_from(kb).unwrap_or(usize::MAX).saturating_mul(1024));
            threads.push(spawn("perf", move || perf_source(pid, hz, ring, feed, &sh, &tx))?);
            ready.push(("perf", rx));
        }
        // Every session thread exists: the instances may be scoped to the calling thread.
        for go in gates.drain(..) {
            let _ = go.send(());
        }
        // Every source records before the command runs.
        for (what, rx) in ready {
            match rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(SessionError::Thread { what }),
            }
        }
        if let Some(held) = held {
            let sh = shared.clone();
            if self.syscalls {
                let feed = timeline.feed("ptrace");
                threads.push(spawn("ptrace", move || ptrace_source(held, feed, &sh))?);
            } else {
                threads.push(spawn("command", move || wait_command(held, &sh))?);
            }
        }
        started.armed = false;
        let threads = std::mem::take(&mut started.threads);
        Ok(Session { timeline, threads, shared, pid, failed: false })
    }
}

/// A source started on its own thread: its feed, the session's shared state, and where it says
/// it is ready.
type Poller = Box<dyn FnOnce(Feed<TimelineEvent>, &Shared, &Ready) + Send>;

/// The source threads of a session being started: should [`SessionBuilder::start`] fail
/// half-way, they are stopped (their instances removed) and joined.
struct Started {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The gates of the ftrace sources waiting to scope their instance to the calling thread
    /// ([`SessionBuilder::this_thread`]): dropped unopened on failure, which ends those sources.
    gates: Vec<mpsc::Sender<()>>,
    armed: bool,
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.armed {
            self.gates.clear();
            self.shared.stop_all();
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}
