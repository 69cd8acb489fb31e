//! What a session delivers: [`TimelineEvent`] and its parts, and how they print.

use std::fmt;
use std::sync::Arc;

use ktrace_core::{Clock, Endian, EventFormat, Lost, ParseError, RawData, Timestamp, Timestamped, Value};
use ktrace_ptrace::Event as PtraceEvent;

/// An ftrace event, owned: its format and record bytes, with fields looked up by name.
///
/// A syscall's name: from `raw_syscalls:sys_enter`'s `id` field,
/// [`ktrace::ftrace::syscall_name`](ktrace_ftrace::syscall_name)`(ev.int("id")?)`; from
/// `syscalls:sys_enter_<name>`, the event name after its prefix (its `ret` field on
/// `sys_exit_<name>`).
#[derive(Debug, Clone)]
pub struct FtraceEvent {
    /// When, on `CLOCK_MONOTONIC`.
    pub ts: Timestamp,
    /// The CPU that recorded it.
    pub cpu: u32,
    /// `common_pid`: the thread that was running.
    pub pid: i32,
    pub(crate) format: Arc<EventFormat>,
    pub(crate) data: Box<[u8]>,
    /// The label of the [`SessionBuilder::events_where`](super::SessionBuilder::events_where)
    /// instance that recorded it; `None` for the other instances.
    pub(crate) label: Option<Arc<str>>,
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
    /// The label given to [`SessionBuilder::events_where`](super::SessionBuilder::events_where)
    /// when this event came from such a filtered instance.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
    /// The typed view (`Typed::SchedSwitch`, `Typed::Exec`…; `Typed::Other` for events without one),
    /// resolved from the format on each call.
    pub fn typed(&self) -> Result<ktrace_ftrace::Typed<'_>, ParseError> {
        ktrace_ftrace::event::Kind::of(&self.format).decode(&self.format, &self.data, Endian::NATIVE)
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
    /// at entry, empty (nothing is allocated per entry: see [`Syscall::name`]).
    pub text: String,
}

impl Syscall {
    /// The syscall's name (`openat`), `syscall` for a number the table lacks.
    pub fn name(&self) -> &'static str {
        i64::try_from(self.nr).ok().and_then(ktrace_ftrace::syscall_name).unwrap_or("syscall")
    }
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The callchain, leaf first (kernel frames then user frames, perf's context markers
    /// dropped), at most [`Sample::MAX_FRAMES`]; empty when the kernel could not walk the stack. Shared:
    /// the session's perf source interns each distinct chain once, so samples of one stack hold
    /// the same allocation and moving a sample moves a pointer.
    pub chain: Arc<[u64]>,
}

impl Sample {
    /// The most frames a session keeps of a sample's callchain (the leaf's side: deeper frames
    /// are dropped).
    pub const MAX_FRAMES: usize = 64;

    /// The frames to draw, leaf first: the callchain, or the instruction pointer alone when
    /// there is none.
    pub fn frames(&self) -> &[u64] {
        if self.chain.is_empty() { std::slice::from_ref(&self.ip) } else { &self.chain }
    }
}

/// A blktrace record of the ftrace `blk` tracer: one block I/O action on the traced device.
#[cfg(feature = "blk")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIo {
    /// When, on `CLOCK_MONOTONIC` (the top-level ftrace ring's timestamp, which the kernel's
    /// `bin` output makes the record's time: the session sets its `trace_clock` to `mono`).
    pub ts: Timestamp,
    /// The CPU.
    pub cpu: u32,
    /// The thread that was running (for completions, often another one's or none).
    pub pid: u32,
    /// The device, as (major, minor).
    pub dev: (u32, u32),
    /// The action (`Q`, `D` issue, `C` complete…: [`Action::letter`](ktrace_blk::Action::letter)).
    pub action: ktrace_blk::Action,
    /// blkparse's RWBS text (`WS`, `R`…).
    pub rwbs: String,
    /// First sector.
    pub sector: u64,
    /// Bytes.
    pub bytes: u32,
    /// The error (completions).
    pub error: i16,
}

/// A task's exit record from taskstats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExit {
    /// When the exit listener received it, on `CLOCK_MONOTONIC` (the task exited shortly before).
    pub ts: Timestamp,
    /// True for the record of a whole thread group (its last task exited): summed delays and
    /// times, the group's id in `stats.tgid`.
    pub group: bool,
    /// The statistics.
    pub stats: Box<ktrace_sample::taskstats::TaskStats>,
}

/// A perf counter read by a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterReading {
    /// When it was read, on `CLOCK_MONOTONIC`.
    pub ts: Timestamp,
    /// Which counter (`task-clock`, `context-switches`…).
    pub event: ktrace_sample::counters::Ev,
    /// Its value, scaled for multiplexing (`count * enabled / running`).
    pub value: u64,
    /// The increase since the previous reading of this counter.
    pub delta: u64,
}

/// An inotify event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsChange {
    /// When the session read it, on `CLOCK_MONOTONIC` (it happened before).
    pub ts: Timestamp,
    /// The watched path.
    pub path: Arc<std::path::Path>,
    /// What happened (`IN_CREATE`, `IN_MODIFY`…).
    pub mask: ktrace_sample::inotify::Mask,
    /// Links a rename's two halves.
    pub cookie: u32,
    /// The entry's name, for a watched directory.
    pub name: Option<std::ffi::OsString>,
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
    /// A block I/O record of the blk tracer ([`SessionBuilder::blk_device`](super::SessionBuilder::blk_device)).
    #[cfg(feature = "blk")]
    Block(BlockIo),
    /// A task's final statistics, sent by taskstats when it exited ([`SessionBuilder::exits`](super::SessionBuilder::exits)).
    Exit(TaskExit),
    /// A reading of a perf counter ([`SessionBuilder::counters`](super::SessionBuilder::counters)).
    Counter(CounterReading),
    /// An inotify event ([`SessionBuilder::watch`](super::SessionBuilder::watch)).
    Fs(FsChange),
    /// Events a source dropped before this point (its [`LostSource`](ktrace_core::LostSource) says which).
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
        PtraceEvent::Fork { child, kind, .. } => {
            let call = match kind {
                ktrace_ptrace::ForkKind::Fork => "fork",
                ktrace_ptrace::ForkKind::Vfork => "vfork",
                ktrace_ptrace::ForkKind::Clone => "clone",
            };
            write!(f, "{call} -> child {child}")
        }
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
            #[cfg(feature = "blk")]
            TimelineEvent::Block(b) => b.ts,
            TimelineEvent::Exit(e) => e.ts,
            TimelineEvent::Counter(c) => c.ts,
            TimelineEvent::Fs(c) => c.ts,
            TimelineEvent::Lost(l) => Timestamp::new(l.timestamp_ns, Clock::Mono),
        }
    }

    /// The source's short name: `ftrace` (`block` for block tracepoints), `ptrace`, `perf`, `blk`,
    /// `exit` (taskstats), `count` (perf counters), `fs` (inotify), or the loss's source.
    pub fn source(&self) -> &'static str {
        match self {
            TimelineEvent::Ftrace(e) if e.system() == "block" => "block",
            TimelineEvent::Ftrace(_) => "ftrace",
            TimelineEvent::Syscall(_) | TimelineEvent::Task { .. } => "ptrace",
            TimelineEvent::Sample(_) => "perf",
            #[cfg(feature = "blk")]
            TimelineEvent::Block(_) => "blk",
            TimelineEvent::Exit(_) => "exit",
            TimelineEvent::Counter(_) => "count",
            TimelineEvent::Fs(_) => "fs",
            TimelineEvent::Lost(l) => l.source.name(),
        }
    }

    /// The thread it is about (`-1` for a loss, a counter reading or an inotify event).
    pub fn pid(&self) -> i32 {
        match self {
            TimelineEvent::Ftrace(e) => e.pid,
            TimelineEvent::Syscall(s) => s.pid,
            TimelineEvent::Task { event, .. } => ptrace_pid(event),
            TimelineEvent::Sample(s) => s.tid,
            #[cfg(feature = "blk")]
            TimelineEvent::Block(b) => b.pid as i32,
            TimelineEvent::Exit(e) if e.group => e.stats.tgid as i32,
            TimelineEvent::Exit(e) => e.stats.pid as i32,
            TimelineEvent::Counter(_) | TimelineEvent::Fs(_) | TimelineEvent::Lost(_) => -1,
        }
    }

    /// Bytes it holds (the merge's budget counts these).
    pub(super) fn weight(&self) -> usize {
        size_of::<TimelineEvent>()
            + match self {
                TimelineEvent::Ftrace(e) => e.data.len(),
                TimelineEvent::Syscall(s) => s.text.len(),
                TimelineEvent::Exit(_) => size_of::<ktrace_sample::taskstats::TaskStats>(),
                // Shared with the samples of the same stack: counted for each (an upper bound).
                TimelineEvent::Sample(s) => size_of_val(&*s.chain),
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
            TimelineEvent::Syscall(s) if s.ret.is_none() => write!(f, "enter {}", s.name()),
            TimelineEvent::Syscall(s) => write!(f, "{}", s.text),
            TimelineEvent::Task { event, .. } => task_text(f, event),
            TimelineEvent::Sample(s) => write!(f, "sample cpu={} ip={:#x} frames={}", s.cpu, s.ip, s.frames().len()),
            #[cfg(feature = "blk")]
            TimelineEvent::Block(b) => write!(
                f,
                "{},{} {} {} {} + {} cpu={} err={}",
                b.dev.0,
                b.dev.1,
                b.action.letter(),
                b.rwbs,
                b.sector,
                b.bytes / 512,
                b.cpu,
                b.error
            ),
            TimelineEvent::Exit(e) => write!(
                f,
                "{} {} ({}) exited {}, cpu {} ns, delays cpu {} blkio {} ns",
                if e.group { "group" } else { "task" },
                if e.group { e.stats.tgid } else { e.stats.pid },
                e.stats.comm,
                e.stats.exit_code,
                e.stats.cpu_run_real_ns,
                e.stats.cpu.total_ns,
                e.stats.blkio.total_ns
            ),
            TimelineEvent::Counter(c) => write!(f, "{} {} (+{})", c.event.name(), c.value, c.delta),
            TimelineEvent::Fs(c) => {
                write!(f, "{}", c.path.display())?;
                if let Some(n) = &c.name {
                    write!(f, "/{}", n.to_string_lossy())?;
                }
                write!(f, " {:?} cookie={}", c.mask, c.cookie)
            }
            TimelineEvent::Lost(l) => {
                match l.count {
                    Some(n) => write!(f, "LOST {n} events")?,
                    None => f.write_str("LOST events")?,
                }
                // A perf ring's loss belongs to no one CPU (`cpu` is u32::MAX).
                if l.cpu != u32::MAX { write!(f, " on cpu {}", l.cpu) } else { Ok(()) }
            }
        }
    }
}
