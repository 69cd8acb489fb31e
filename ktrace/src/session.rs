//! A session: ftrace events, ptrace of a command, perf samples and block I/O on one clock, merged
//! live into one time-ordered stream of [`TimelineEvent`]s.
//!
//! Every source stamps on `CLOCK_MONOTONIC`: the ftrace instances record with `trace_clock=mono`,
//! perf samples are opened with `use_clockid` on `CLOCK_MONOTONIC`, ptrace stops are stamped with
//! `clock_gettime(CLOCK_MONOTONIC)` when `waitpid` returns. Each source runs on its own thread and
//! feeds a [`Timeline`] with a watermark, so a slow or quiet source
//! holds the merge back but never breaks its order:
//! - ftrace: the last event delivered, and a marker the session writes to the instance's
//!   `trace_marker` every 10 ms (when it comes out of the ring, every older event has);
//! - ptrace: "now" while the tracer waits in `waitpid` (a stop is stamped after it returns);
//! - perf: the time of the last drain of the rings, less 2 ms for samples being written.
//!
//! Losses are items in the stream, in order: the ftrace rings' (`RB_MISSED_EVENTS` and the
//! overrun counters), pages dropped over the ftrace budget, perf `LOST` records. Memory is bounded
//! by the [`Budget`]: half for the ftrace streams' page queues, half for the merge's queues (a
//! source whose share is full waits: ptrace holds its tracee, ftrace drops pages over its budget,
//! perf's rings overflow, each reported as a loss).
//!
//! ```no_run
//! use ktrace::session::{Session, TimelineEvent};
//! let mut cmd = std::process::Command::new("sleep");
//! cmd.arg("0.1");
//! let mut s = Session::builder().events("sched:sched_switch").syscalls().samples(999).command(cmd).start()?;
//! for ev in &mut s {
//!     match ev? {
//!         TimelineEvent::Syscall(sc) if sc.ret.is_some() => println!("{} {}", sc.ts, sc.text),
//!         TimelineEvent::Lost(l) => println!("lost {:?} on cpu {}", l.count, l.cpu),
//!         ev => println!("{ev}"),
//!     }
//! }
//! println!("exit {:?}", s.exit_code());
//! # Ok::<(), ktrace::session::SessionError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ktrace_core::{Clock, Endian, EventFormat, Lost, LostSource, ParseError, RawData, Timestamp, Timestamped, Value};
use ktrace_ftrace::stream::{Budget, StopHandle};
use ktrace_ftrace::{Instance, Item, Recorder, Tracefs};
use ktrace_ptrace::{Event as PtraceEvent, Tracer};
use ktrace_sample::profile::{Options, Profiler, Rate, Scope, Source};

use crate::command::{CommandError, HeldCommand};
use crate::sys;
use crate::timeline::{Feed, Timeline};

/// What the session's heartbeat writes to `trace_marker` (never shown).
const HEARTBEAT: &[u8] = b"ktrace-timeline-watermark";
/// How far behind its last drain a perf source's watermark stays (samples being written).
const PERF_SLACK_NS: u64 = 2_000_000;

/// Why a session could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// An ftrace source failed.
    #[error("ftrace: {0}")]
    Ftrace(#[from] ktrace_ftrace::Error),
    /// The ptrace source failed.
    #[error("ptrace: {0}")]
    Ptrace(#[from] ktrace_ptrace::Error),
    /// The perf sample source failed.
    #[error("perf: {0}")]
    Sample(#[from] ktrace_sample::Error),
    /// The command could not be started.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A source needs a command and none was given.
    #[error("{what} needs a command (SessionBuilder::command)")]
    NoCommand {
        /// The source.
        what: &'static str,
    },
    /// A source thread could not be started or ended without a word.
    #[error("the {what} source thread failed")]
    Thread {
        /// The source.
        what: &'static str,
    },
}

/// An ftrace event, owned: its format and record bytes, with fields looked up by name.
#[derive(Debug, Clone)]
pub struct FtraceEvent {
    /// When, on `CLOCK_MONOTONIC`.
    pub ts: Timestamp,
    /// The CPU that recorded it.
    pub cpu: u32,
    /// `common_pid`: the thread that was running.
    pub pid: i32,
    format: Arc<EventFormat>,
    data: Box<[u8]>,
}

impl FtraceEvent {
    /// The event name (`sched_switch`).
    pub fn name(&self) -> &str {
        &self.format.name
    }
    /// The system (`sched`).
    pub fn system(&self) -> &str {
        &self.format.system
    }
    /// The record bytes (starting with `common_type`).
    pub fn data(&self) -> &[u8] {
        &self.data
    }
    /// A field by name (common fields included).
    pub fn field(&self, name: &str) -> Result<Value<'_>, ParseError> {
        self.format.require(name)?.value(RawData::Single(&self.data), Endian::NATIVE)
    }
    /// An integer field by name (sign-extended when the format says signed).
    pub fn int(&self, name: &str) -> Result<i64, ParseError> {
        let f = self.format.require(name)?;
        let rec = RawData::Single(&self.data);
        if f.signed { f.i64(rec, Endian::NATIVE) } else { f.u64(rec, Endian::NATIVE).map(|v| v as i64) }
    }
    /// The event's own fields (not the `common_` ones) with their values, in format order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Result<Value<'_>, ParseError>)> + '_ {
        let rec = RawData::Single(&self.data);
        self.format
            .fields
            .iter()
            .filter(|f| !f.name.starts_with("common_"))
            .map(move |f| (f.name.as_str(), f.value(rec, Endian::NATIVE)))
    }
}

/// A syscall entry or exit seen by ptrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// When the tracer's `waitpid` returned with the stop, on `CLOCK_MONOTONIC`.
    pub ts: Timestamp,
    /// The thread.
    pub pid: i32,
    /// The syscall number (of the tracee's architecture).
    pub nr: u64,
    /// The arguments.
    pub args: [u64; 6],
    /// `None` at entry; the return value (negative errno) at exit.
    pub ret: Option<i64>,
    /// At exit, the call as strace prints it (`openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3`);
    /// at entry, the name.
    pub text: String,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandExit {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signaled(i32),
}

impl CommandExit {
    /// The status as a shell reports it (128 + the signal when killed).
    pub fn code(self) -> i32 {
        match self {
            CommandExit::Exited(c) => c,
            CommandExit::Signaled(s) => 128 + s,
        }
    }
}

/// A perf `cpu-clock` sample of the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When, on `CLOCK_MONOTONIC`.
    pub ts: Timestamp,
    /// Process.
    pub pid: i32,
    /// Thread.
    pub tid: i32,
    /// CPU.
    pub cpu: u32,
    /// The sampled instruction pointer.
    pub ip: u64,
}

/// One item of a session's stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TimelineEvent {
    /// An ftrace event (sched, syscalls, block, any tracepoint the session enabled).
    Ftrace(FtraceEvent),
    /// A syscall entry or exit (ptrace).
    Syscall(Syscall),
    /// Another ptrace event of the command's tasks: fork, exec, signal, exit.
    Task {
        /// When `waitpid` returned with it.
        ts: Timestamp,
        /// The event.
        event: PtraceEvent,
    },
    /// A perf sample.
    Sample(Sample),
    /// Events a source dropped before this point (its [`LostSource`] says which).
    Lost(Lost),
}

/// A ptrace task event as strace prints it (`+++ exited with 0 +++`, `--- SIGCHLD ---`).
fn task_text(f: &mut std::fmt::Formatter<'_>, event: &PtraceEvent) -> std::fmt::Result {
    use ktrace_ptrace::decode::signal_name;
    match event {
        PtraceEvent::Exited { code, .. } => write!(f, "+++ exited with {code} +++"),
        PtraceEvent::Killed { signo, core_dumped, .. } => {
            let core = if *core_dumped { " (core dumped)" } else { "" };
            write!(f, "+++ killed by {}{core} +++", signal_name(*signo))
        }
        PtraceEvent::Signal { info, .. } => {
            write!(
                f,
                "--- {} {{si_signo={}, si_code={}, si_pid={}, si_uid={}}} ---",
                signal_name(info.signo),
                signal_name(info.signo),
                info.code,
                info.sender_pid,
                info.sender_uid
            )
        }
        PtraceEvent::GroupStop { signo, .. } => write!(f, "--- stopped by {} ---", signal_name(*signo)),
        PtraceEvent::Fork { child, kind, .. } => write!(f, "{kind:?} -> child {child}"),
        PtraceEvent::Exec { old_pid, .. } => write!(f, "execve done (was pid {old_pid})"),
        PtraceEvent::Attached { .. } => write!(f, "attached"),
        PtraceEvent::Detached { .. } => write!(f, "detached"),
        other => write!(f, "{other:?}"),
    }
}

impl TimelineEvent {
    /// When it happened, on `CLOCK_MONOTONIC`.
    pub fn timestamp(&self) -> Timestamp {
        match self {
            TimelineEvent::Ftrace(e) => e.ts,
            TimelineEvent::Syscall(s) => s.ts,
            TimelineEvent::Task { ts, .. } => *ts,
            TimelineEvent::Sample(s) => s.ts,
            TimelineEvent::Lost(l) => Timestamp::new(l.timestamp_ns, Clock::Mono),
        }
    }

    /// The source's short name: `ftrace` (`block` for block tracepoints), `ptrace`, `perf`, or the
    /// loss's source.
    pub fn source(&self) -> &'static str {
        match self {
            TimelineEvent::Ftrace(e) if e.system() == "block" => "block",
            TimelineEvent::Ftrace(_) => "ftrace",
            TimelineEvent::Syscall(_) | TimelineEvent::Task { .. } => "ptrace",
            TimelineEvent::Sample(_) => "perf",
            TimelineEvent::Lost(l) => l.source.name(),
        }
    }

    /// The thread it is about (`-1` for a loss).
    pub fn pid(&self) -> i32 {
        match self {
            TimelineEvent::Ftrace(e) => e.pid,
            TimelineEvent::Syscall(s) => s.pid,
            TimelineEvent::Task { event, .. } => ptrace_pid(event),
            TimelineEvent::Sample(s) => s.tid,
            TimelineEvent::Lost(_) => -1,
        }
    }

    /// Bytes it holds (the merge's budget counts these).
    fn weight(&self) -> usize {
        size_of::<TimelineEvent>()
            + match self {
                TimelineEvent::Ftrace(e) => e.data.len(),
                TimelineEvent::Syscall(s) => s.text.len(),
                _ => 0,
            }
    }
}

fn ptrace_pid(e: &PtraceEvent) -> i32 {
    match *e {
        PtraceEvent::Attached { pid }
        | PtraceEvent::SyscallEnter { pid, .. }
        | PtraceEvent::SyscallExit { pid, .. }
        | PtraceEvent::Signal { pid, .. }
        | PtraceEvent::GroupStop { pid, .. }
        | PtraceEvent::Fork { pid, .. }
        | PtraceEvent::Exec { pid, .. }
        | PtraceEvent::Exited { pid, .. }
        | PtraceEvent::Killed { pid, .. }
        | PtraceEvent::Detached { pid } => pid,
        _ => -1,
    }
}

impl Timestamped for TimelineEvent {
    fn timestamp_ns(&self) -> u64 {
        self.timestamp().ns
    }
}

/// One line: `<seconds.micros> <source> <pid> <what>`.
impl fmt::Display for TimelineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:<6} {:>7} ", self.timestamp(), self.source(), self.pid())?;
        match self {
            TimelineEvent::Ftrace(e) => {
                write!(f, "{}:{}", e.system(), e.name())?;
                for (name, v) in e.fields() {
                    match v {
                        Ok(Value::Unsigned(u)) => write!(f, " {name}={u}")?,
                        Ok(Value::Signed(i)) => write!(f, " {name}={i}")?,
                        Ok(Value::Str(s)) => write!(f, " {name}={}", String::from_utf8_lossy(s))?,
                        Ok(Value::Array(_)) => write!(f, " {name}=[..]")?,
                        Err(_) => write!(f, " {name}=?")?,
                    }
                }
                if e.system() == "raw_syscalls"
                    && let Some(n) = e.int("id").ok().and_then(ktrace_ftrace::syscall_name)
                {
                    write!(f, " ({n})")?;
                }
                Ok(())
            }
            TimelineEvent::Syscall(s) if s.ret.is_none() => write!(f, "enter {}", s.text),
            TimelineEvent::Syscall(s) => write!(f, "{}", s.text),
            TimelineEvent::Task { event, .. } => task_text(f, event),
            TimelineEvent::Sample(s) => write!(f, "sample cpu={} ip={:#x}", s.cpu, s.ip),
            TimelineEvent::Lost(l) => match l.count {
                Some(n) => write!(f, "LOST {n} events on cpu {}", l.cpu),
                None => write!(f, "LOST events on cpu {}", l.cpu),
            },
        }
    }
}

/// What a session records: add sources, then [`SessionBuilder::start`].
#[derive(Debug, Default)]
#[must_use]
pub struct SessionBuilder {
    events: Vec<String>,
    block: bool,
    syscalls: bool,
    sample_hz: Option<u64>,
    budget: Option<Budget>,
    buffer_kb: Option<u64>,
    command: Option<Command>,
}

/// A running session: iterate it for [`TimelineEvent`]s in time order. It ends when the command
/// exits (or, without one, after [`Session::stop`]) and everything is delivered; the first error
/// ends it too. Dropping it stops every source, kills a command still running, and removes what
/// it made in the kernel.
pub struct Session {
    timeline: Timeline<TimelineEvent>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    pid: Option<i32>,
    failed: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("pid", &self.pid).field("timeline", &self.timeline).finish()
    }
}

/// Stops a [`Session`] from another thread, as [`Session::stop`] does.
#[derive(Clone)]
pub struct SessionStop(Arc<Shared>);

impl fmt::Debug for SessionStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStop").finish_non_exhaustive()
    }
}

impl SessionStop {
    /// Asks every source to stop.
    pub fn stop(&self) {
        self.0.stop_all();
    }
}

/// What the source threads share with the session.
#[derive(Default)]
struct Shared {
    error: Mutex<Option<SessionError>>,
    exit: Mutex<Option<CommandExit>>,
    stop: AtomicBool,
    /// The ftrace instances' own loss counters at their end, summed.
    ftrace_counted: AtomicU64,
    ftrace_stops: Mutex<Vec<StopHandle>>,
}

impl Shared {
    fn fail(&self, e: SessionError) {
        self.error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e);
        self.stop_all();
    }
    fn stop_all(&self) {
        self.stop.store(true, Ordering::Release);
        for h in self.ftrace_stops.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            h.stop();
        }
    }
}

impl Session {
    /// A builder with no sources yet.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// The command's pid.
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }

    /// How the command ended, once it did.
    pub fn exit(&self) -> Option<CommandExit> {
        *self.shared.exit.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The command's exit status as a shell reports it (128 + signal when killed), once it ended.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit().map(CommandExit::code)
    }

    /// Stops every source: the stream then delivers what remains and ends (the command, if any,
    /// keeps running until it exits; with ptrace, its syscalls keep coming until then).
    pub fn stop(&self) {
        self.shared.stop_all();
    }

    /// What the kernel's counters of the ftrace instances say was lost (the sum over CPUs of
    /// `per_cpu/cpuN/stats` overrun, commit overrun and dropped events), read when each stream
    /// ended: once the session has ended, the [`LostSource::FtraceRing`] items of the stream sum
    /// to this (the stream reports what its pages did not as a last loss item per CPU).
    pub fn ftrace_kernel_lost(&self) -> u64 {
        self.shared.ftrace_counted.load(Ordering::Acquire)
    }

    /// A handle that stops the session from another thread (a timer, a signal flag's watcher)
    /// while this one iterates.
    pub fn stop_handle(&self) -> SessionStop {
        SessionStop(self.shared.clone())
    }

    fn take_error(&self) -> Option<SessionError> {
        self.shared.error.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
}

impl Iterator for Session {
    type Item = Result<TimelineEvent, SessionError>;

    /// The next event in time order, waiting for it.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if let Some(e) = self.take_error() {
            self.failed = true;
            return Some(Err(e));
        }
        match self.timeline.next() {
            Some(ev) => Some(Ok(ev)),
            None => {
                self.failed = true;
                self.take_error().map(Err)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.stop_all();
        if let Some(pid) = self.pid
            && self.exit_code().is_none()
        {
            sys::kill(pid, libc::SIGKILL);
        }
        // The timeline goes first: feeds waiting for room see it closed.
        let timeline =
            std::mem::replace(&mut self.timeline, Timeline::new(0, TimelineEvent::weight, sys::monotonic_ns));
        drop(timeline);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl SessionBuilder {
    /// Records the ftrace events matching a `system:event` glob (`sched:sched_switch`,
    /// `raw_syscalls:*`); with a command, only of its tasks (`set_event_pid`, following forks).
    pub fn events(mut self, glob: &str) -> Self {
        self.events.push(glob.to_owned());
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
    /// `cpu-clock`).
    pub fn samples(mut self, hz: u64) -> Self {
        self.sample_hz = Some(hz);
        self
    }

    /// The memory budget (default 32 MiB): half for the ftrace page queues, half for the merge.
    pub fn budget(mut self, b: Budget) -> Self {
        self.budget = Some(b);
        self
    }

    /// The size of each ftrace CPU ring (`buffer_size_kb`; default: the kernel's).
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
        if self.command.is_none() {
            if self.syscalls {
                return Err(SessionError::NoCommand { what: "ptrace" });
            }
            if self.sample_hz.is_some() {
                return Err(SessionError::NoCommand { what: "perf sampling" });
            }
        }
        let held = self.command.map(HeldCommand::spawn).transpose()?;
        let pid = held.as_ref().map(HeldCommand::pid);
        let mut timeline = Timeline::new(budget / 2, TimelineEvent::weight, sys::monotonic_ns);
        let shared = Arc::new(Shared::default());
        let mut threads = Vec::new();
        let mut ready = Vec::new();

        let mut instances = Vec::new();
        if !self.events.is_empty() || self.block {
            let fs = Tracefs::find()?;
            if !self.events.is_empty() {
                let inst = fs.new_instance()?;
                for g in &self.events {
                    inst.enable_glob(g)?;
                }
                if let Some(pid) = pid {
                    inst.set_event_pids(&[pid])?;
                    inst.follow_forks(true)?;
                }
                instances.push(("ftrace", inst));
            }
            if self.block {
                let inst = fs.new_instance()?;
                inst.enable_event("block", "block_rq_issue")?;
                inst.enable_event("block", "block_rq_complete")?;
                instances.push(("blk", inst));
            }
        }
        let ftrace_budget = Budget { bytes: budget / 2 / instances.len().max(1) };
        for (name, inst) in instances {
            inst.set_clock(Clock::Mono)?;
            if let Some(kb) = self.buffer_kb {
                inst.set_buffer_size_kb(kb)?;
            }
            let feed = timeline.feed(name);
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            threads.push(spawn(name, move || ftrace_source(inst, ftrace_budget, feed, &sh, &tx))?);
            ready.push(rx);
        }
        if let (Some(hz), Some(pid)) = (self.sample_hz, pid) {
            let feed = timeline.feed("perf");
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            threads.push(spawn("perf", move || perf_source(pid, hz, feed, &sh, &tx))?);
            ready.push(rx);
        }
        // Every source records before the command runs.
        for rx in ready {
            match rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    shared.stop_all();
                    return Err(e);
                }
                Err(_) => return Err(SessionError::Thread { what: "a" }),
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
        Ok(Session { timeline, threads, shared, pid, failed: false })
    }
}

fn spawn(what: &'static str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SessionError> {
    std::thread::Builder::new().name(format!("ktrace-{what}")).spawn(f).map_err(|_| SessionError::Thread { what })
}

type Ready = mpsc::Sender<Result<(), SessionError>>;

/// Streams one instance into `feed`, with a heartbeat marker as its watermark.
fn ftrace_source(inst: Instance, budget: Budget, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
    let mut stream = match Recorder::stream(&inst, budget) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    sh.ftrace_stops.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(stream.stop_handle());
    if sh.stop.load(Ordering::Acquire) {
        stream.stop_handle().stop();
    }
    let beat_stop = Arc::new(AtomicBool::new(false));
    let beat = inst.marker().map(|mut m| {
        let stop = beat_stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                // Fails once tracing is off at the end: nothing is left to order then.
                let _ = m.write(HEARTBEAT);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    });
    let _ = ready.send(Ok(()));
    let mut formats: HashMap<u16, Arc<EventFormat>> = HashMap::new();
    let mut last = 0;
    while let Some(item) = stream.next() {
        match item {
            Ok(Item::Event(e)) => {
                let ts = e.timestamp().ns;
                last = last.max(ts);
                if e.system() == "ftrace"
                    && e.name() == "print"
                    && matches!(e.field("buf"), Ok(Value::Str(b)) if b.starts_with(HEARTBEAT))
                {
                    feed.advance(ts);
                    continue;
                }
                let format = formats.entry(e.id()).or_insert_with(|| Arc::new(e.format.clone())).clone();
                feed.push(TimelineEvent::Ftrace(FtraceEvent {
                    ts: Timestamp::new(ts, Clock::Mono),
                    cpu: e.cpu(),
                    pid: e.pid(),
                    format,
                    data: e.data().into(),
                }));
            }
            // A loss is placed where the stream reported it: a page dropped over the budget is
            // reported with its first event's time, which can be older than events the stream
            // already gave of other CPUs.
            Ok(Item::Lost(l)) => {
                last = last.max(l.timestamp_ns);
                feed.push(TimelineEvent::Lost(Lost { timestamp_ns: last, ..l }));
            }
            Err(e) => {
                sh.fail(e.into());
                break;
            }
        }
        if feed.is_closed() {
            break;
        }
    }
    beat_stop.store(true, Ordering::Release);
    if let Ok(b) = beat {
        let _ = b.join();
    }
    drop(stream);
    drop(feed);
    let counted = (0..inst.nr_cpus() as u32).filter_map(|c| inst.cpu_stats(c).ok()).map(|s| s.lost()).sum::<u64>();
    sh.ftrace_counted.fetch_add(counted, Ordering::AcqRel);
    if let Err(e) = inst.close() {
        sh.fail(e.into());
    }
}

/// Samples the command's tasks on `CLOCK_MONOTONIC`; drains every 10 ms.
fn perf_source(pid: i32, hz: u64, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
    let mut o = Options::new(Source::CpuClock, Scope::Task(pid), Rate::Frequency(hz));
    o.callchain = false;
    o.monotonic = true;
    let mut p = match Profiler::open(&o) {
        Ok(p) => Some(p),
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let mut pending: Vec<Sample> = Vec::new();
    loop {
        let last = sh.stop.load(Ordering::Acquire) || feed.is_closed();
        let t0 = sys::monotonic_ns();
        let (prof, upto) = match (last, p.as_mut()) {
            (false, Some(p)) => (p.take(), t0.saturating_sub(PERF_SLACK_NS)),
            _ => (p.take().map(Profiler::finish).unwrap_or_default(), u64::MAX),
        };
        pending.extend(prof.samples.iter().map(|s| Sample {
            ts: Timestamp::new(s.time, Clock::Mono),
            pid: s.pid,
            tid: s.tid,
            cpu: s.cpu,
            ip: s.ip,
        }));
        pending.sort_by_key(|s| s.ts.ns);
        let n = pending.partition_point(|s| s.ts.ns <= upto);
        for s in pending.drain(..n) {
            feed.push(TimelineEvent::Sample(s));
        }
        if prof.lost > 0 {
            let at = if last { t0 } else { upto };
            let source = LostSource::PerfRing;
            feed.push(TimelineEvent::Lost(Lost { source, cpu: u32::MAX, count: Some(prof.lost), timestamp_ns: at }));
        }
        if last {
            return;
        }
        feed.advance(upto);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How `pid` ended, from a ptrace event.
fn exit_of(ev: &PtraceEvent, pid: i32) -> Option<CommandExit> {
    match *ev {
        PtraceEvent::Exited { pid: p, code } if p == pid => Some(CommandExit::Exited(code)),
        PtraceEvent::Killed { pid: p, signo, .. } if p == pid => Some(CommandExit::Signaled(signo)),
        _ => None,
    }
}

/// Traces the held command from its exec, stamping each stop when `waitpid` returns.
fn ptrace_source(held: HeldCommand, mut feed: Feed<TimelineEvent>, sh: &Shared) {
    let pid = held.pid();
    let mut t = match Tracer::seize_held(pid, true) {
        Ok(t) => t,
        Err(e) => return sh.fail(e.into()),
    };
    // Released on this thread (the tracer's): the tracee waits at its exec.
    if let Err(e) = held.release() {
        return sh.fail(e.into());
    }
    let mut names: HashMap<u64, &'static str> = HashMap::new();
    loop {
        feed.idle();
        let ev = t.next_event();
        let ts = Timestamp::new(feed.stamp(), Clock::Mono);
        let ev = match ev {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                sh.fail(e.into());
                break;
            }
        };
        if let Some(code) = exit_of(&ev, pid) {
            *sh.exit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(code);
        }
        let item = match ev {
            PtraceEvent::SyscallEnter { pid, nr, args, .. } => {
                let name = *names.entry(nr).or_insert_with(|| {
                    i64::try_from(nr).ok().and_then(ktrace_ftrace::syscall_name).unwrap_or("syscall")
                });
                TimelineEvent::Syscall(Syscall { ts, pid, nr, args, ret: None, text: name.to_owned() })
            }
            PtraceEvent::SyscallExit { pid, nr, args, ret, .. } => {
                let text = t.describe(&ev);
                TimelineEvent::Syscall(Syscall { ts, pid, nr, args, ret: Some(ret), text })
            }
            event => TimelineEvent::Task { ts, event },
        };
        feed.push(item);
    }
    drop(feed);
    sh.stop_all();
}

/// Runs the held command without ptrace and waits for it.
fn wait_command(held: HeldCommand, sh: &Shared) {
    let r = held.release().map_err(SessionError::from).and_then(|mut c| {
        c.wait().map_err(|source| SessionError::Command(CommandError::Io { call: "waitpid", source }))
    });
    match r {
        Ok(st) => {
            use std::os::unix::process::ExitStatusExt;
            let exit = st.code().map(CommandExit::Exited).or(st.signal().map(CommandExit::Signaled));
            *sh.exit.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = exit;
            sh.stop_all();
        }
        Err(e) => sh.fail(e),
    }
}
