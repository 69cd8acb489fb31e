//! A session: ftrace events, ptrace of a command, perf samples and block I/O on one clock, merged
//! live into one time-ordered stream of [`TimelineEvent`]s.
//!
//! Every source stamps on `CLOCK_MONOTONIC`: the ftrace instances (events and probe hits) record
//! with `trace_clock=mono`, perf samples and counters are opened with `use_clockid` on
//! `CLOCK_MONOTONIC`, ptrace stamps each stop when `waitpid` returns
//! ([`Tracer::next_stamped`](ktrace_ptrace::Tracer::next_stamped)), blk tracer records carry
//! the top-level ring's time (its `trace_clock` set to `mono` for the session), taskstats exits and inotify events are
//! stamped when read, counters when read. Each source runs on its own thread and
//! feeds a [`Timeline`] with a watermark, so a slow or quiet source
//! holds the merge back but never breaks its order:
//! - ftrace: the last event delivered, and a marker the session writes to the instance's
//!   `trace_marker` every 10 ms (when it comes out of the ring, every older event has);
//! - ptrace: "now" while the tracer waits in `waitpid` (a stop is stamped after it returns);
//! - perf and blk: the time of the last drain of the rings, less 2 ms for records being written;
//! - taskstats, inotify, counters: "now" while the source waits for its next read.
//!
//! Losses are items in the stream, in order: the ftrace rings' (`RB_MISSED_EVENTS` and the
//! overrun counters), pages dropped over the ftrace budget, perf `LOST` records, the blk tracer
//! ring's `[LOST EVENTS]`, taskstats `ENOBUFS` and inotify `IN_Q_OVERFLOW` (these two without a
//! count). Memory is bounded
//! by the [`Budget`](ktrace_ftrace::stream::Budget): half for the ftrace streams' page queues, half for the merge's queues (a
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

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ktrace_ftrace::stream::StopHandle;

use crate::command::CommandError;
use crate::sys;
use crate::timeline::Timeline;

mod builder;
mod event;
#[cfg(feature = "export")]
mod export;
mod sources;

pub use builder::SessionBuilder;
#[cfg(feature = "blk")]
pub use event::BlockIo;
pub use event::{CommandExit, CounterReading, FsChange, FtraceEvent, Sample, Syscall, TaskExit, TimelineEvent};
#[cfg(feature = "export")]
pub use export::Exporter;

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
    /// A ktrace-sample source failed (perf samples or counters, taskstats exits, inotify).
    #[error("sample: {0}")]
    Sample(#[from] ktrace_sample::Error),
    /// The blk tracer source failed.
    #[cfg(feature = "blk")]
    #[error("blk: {0}")]
    Blk(#[from] ktrace_blk::Error),
    /// A probe could not be created.
    #[cfg(feature = "kprobe")]
    #[error("probe: {0}")]
    Probe(#[from] ktrace_kprobe::Error),
    /// The command could not be started.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A source needs a command and none was given.
    #[error("{what} needs a command (SessionBuilder::command)")]
    NoCommand {
        /// The source.
        what: &'static str,
    },
    /// Writing the session's trace failed ([`Exporter`]).
    #[cfg(feature = "export")]
    #[error("export: {0}")]
    Export(#[from] ktrace_export::Error),
    /// [`SessionBuilder::this_thread`] was asked with a source that follows a command.
    #[error("a session scoped to the calling thread (this_thread) cannot also have {what}")]
    ThisThread {
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

impl SessionError {
    /// Whether the kernel lacks (or refuses, as under lockdown) what a source needs: the
    /// facade's own `Unsupported` kind, so a caller can go on without that source.
    pub fn is_unsupported(&self) -> bool {
        match self {
            SessionError::Ftrace(e) => e.is_unsupported(),
            SessionError::Ptrace(e) => e.is_unsupported(),
            SessionError::Sample(e) => e.is_unsupported(),
            #[cfg(feature = "blk")]
            SessionError::Blk(e) => e.is_unsupported(),
            #[cfg(feature = "kprobe")]
            SessionError::Probe(e) => e.is_unsupported(),
            _ => false,
        }
    }
}

/// A running session: iterate it for [`TimelineEvent`]s in time order. It ends when the command
/// exits (or, without one, after [`Session::stop`]) and everything is delivered; the first error
/// ends it too. Dropping it stops every source, kills a command still running, and removes what
/// it made in the kernel.
///
/// Kernel interfaces and the oldest kernel each source needs: tracefs instances with
/// `trace_clock=mono` (4.0), `set_event_pid` to follow the command (4.4) and its `event-fork`
/// option for its children (4.7); perf_event_open(2) with `use_clockid` (4.1) for samples and
/// counters; ptrace(2) with `PTRACE_SEIZE` (3.4) and `PTRACE_GET_SYSCALL_INFO` (5.3, older
/// kernels read registers); the ftrace `blk` tracer (2.6.30); `uprobe_events` (3.5) and
/// `kprobe_events` (2.6.33) for probes; taskstats exit notices (2.6.18); inotify(7) (2.6.13).
#[doc(alias = "trace_clock")]
#[doc(alias = "set_event_pid")]
#[doc(alias = "event-fork")]
#[doc(alias = "use_clockid")]
#[doc(alias = "perf_event_open")]
#[doc(alias = "ptrace")]
#[doc(alias = "timeline")]
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
    /// The counts of the perf rings' `PERF_RECORD_LOST`/`LOST_SAMPLES` records, summed.
    perf_counted: AtomicU64,
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
    /// ended: once the session has ended, the [`LostSource::FtraceRing`](ktrace_core::LostSource::FtraceRing) items of the stream sum
    /// to this (the stream reports what its pages did not as a last loss item per CPU).
    pub fn ftrace_kernel_lost(&self) -> u64 {
        self.shared.ftrace_counted.load(Ordering::Acquire)
    }

    /// What the kernel said the perf rings lost so far: the sum of the counts of the
    /// `PERF_RECORD_LOST` (and `PERF_RECORD_LOST_SAMPLES`) records it wrote into them. Once the
    /// session has ended, the [`LostSource::PerfRing`](ktrace_core::LostSource::PerfRing) items of
    /// the stream sum to this.
    pub fn perf_kernel_lost(&self) -> u64 {
        self.shared.perf_counted.load(Ordering::Acquire)
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
