//! A test harness: record what the kernel did for one closure, then query and assert on it.
//!
//! [`capture`] runs a workload with tracing scoped to **the calling thread and every task it
//! spawns** (threads, children, their children), in tracefs instances of its own that are removed
//! afterwards, also when the workload panics (the panic is then resumed). Tests running in
//! parallel under `cargo test` never see each other's events.
//!
//! ```
//! use ktrace::capture::{capture, Spec};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # if unsafe { libc::geteuid() } != 0 { return Ok(()) } // tracing needs root
//! let path = "/tmp/ktrace-capture-doctest";
//! let (cap, status) = capture(Spec::default().watch_path(path), || {
//!     std::fs::write(path, "hi")?;
//!     std::process::Command::new("sh").args(["-c", "exit 3"]).status()
//! })?;
//! assert_eq!(status?.code(), Some(3));
//! cap.assert_opened(path);
//! cap.assert_exited(3);
//! # std::fs::remove_file(path)?;
//! # Ok(()) }
//! ```
//!
//! The queries: [`Capture::syscalls`] (decoded arguments, results, latencies; [`Capture::opens`],
//! [`Capture::syscalls_named`]), [`Capture::execs`], [`Capture::exits`] and [`Capture::exit_of`]
//! (exit codes), [`Capture::tasks_of`] (a task's tree), [`Capture::signals`],
//! [`Capture::switches`], [`Capture::block_ios`], [`Capture::probe_hits`], [`Capture::samples`]
//! and [`Capture::records`] for anything else; each `assert_*` returns what it found
//! ([`Capture::assert_exit_of`] names the task, [`Capture::assert_exited`] takes any). Thread ids
//! are the kernel's ([`gettid`], not `std::thread::ThreadId`).
//!
//! To skip, rather than fail, where the kernel lacks what a spec asks for:
//!
//! ```no_run
//! # use ktrace::capture::{capture, Spec};
//! let (cap, ()) = match capture(Spec::default().sched(), || std::thread::sleep(std::time::Duration::from_millis(5))) {
//!     Err(e) if e.is_unsupported() => return eprintln!("skipped: {e}"),
//!     r => r.unwrap(),
//! };
//! assert!(!cap.switches().is_empty());
//! ```
//!
//! A failing assertion panics with an strace-like excerpt of the capture, for example
//! `0.000412 [4711] openat(AT_FDCWD, "/tmp/x", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 3`
//! (seconds since the workload started, the thread id, the call, its result).
//!
//! # How it scopes
//! A capture is a [`Session`] with
//! [`SessionBuilder::this_thread`](crate::session::SessionBuilder::this_thread): its instances'
//! `set_event_pid` holds the calling thread's id (gettid(2)) and the `event-fork` option adds each
//! task a listed task creates. The session's threads, and the thread reading its stream, are made
//! before the pid list is set, so they are never listed. The instances use the `mono` trace clock
//! (the session's one clock), their buffers are cleared before recording starts, and only events
//! stamped while the workload ran are kept. What the rings lost is [`Capture::lost`].
//!
//! # Paths of syscalls
//! Before Linux 6.19, `syscalls:sys_enter_openat` records `filename` as a user pointer only. Paths are
//! known exactly two ways: (a) on kernels whose syscall events carry the string (a `__data_loc
//! char[] __<arg>_val` field, Linux 6.19+; the kernel truncates it at `syscall_user_buf_size`,
//! at most 165 bytes), it is read from the record ([`Arg::string`]); (b) paths the test names in
//! [`Spec::watch_path`] are matched **by the kernel** at the moment of the call: a second instance
//! records the open-family `sys_enter` events with the filter `filename.ustring == "<path>"`
//! (Linux 6.1+), and each hit is joined to the syscall of the same thread at the nearest time.
//! The path compared is the string passed to the syscall, byte for byte (a relative path stays
//! relative). Other paths print as pointers.
//!
//! # Exit codes
//! `sched_process_exit` carries no exit code; a capture with [`Spec::processes`] also records
//! `sys_enter_exit_group`/`sys_enter_exit`, whose argument is the exact code. A task killed by a
//! signal has no code ([`Exit::code`] is `None`).
//!
//! # Cost
//! Each instance of a capture costs about 0.1-0.2 s, nearly all in the kernel: setting its
//! `trace_clock` and clearing it (each empties the buffers), and removing it (`rmdir`). A capture
//! has one instance, one more per [`Spec::watch_path`], one more for [`Spec::block`] devices; the
//! workload itself runs at full speed between the tracepoints it hits. Captures in parallel
//! threads overlap these costs.
//!
//! Minimum kernel: 6.1 (`.ustring` filters for [`Spec::watch_path`]); otherwise 4.7 (an
//! instance's `event-fork` option).
#![allow(clippy::panic, reason = "assertion helpers fail a test by panicking, with the capture excerpt")]

mod query;
mod record;
mod strace;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use ktrace_ftrace::Tracefs;

use ktrace_ftrace::stream::Budget;

use crate::session::{Session, SessionBuilder, SessionError, TimelineEvent};

pub use query::{BlockIo, Capture, Exec, Exit, Signal, Switch, Syscall};
pub use record::{Arg, FieldValue, Record, What};

/// Errors setting up or reading a capture.
///
/// Its `Debug` form is its message, so a test that returns `Result<(), Box<dyn Error>>` or calls
/// `unwrap()` prints what to do (`tracefs is root's: run as root …`), not the variant's fields.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// tracefs refused something (instance, event, filter) or is missing.
    #[error(transparent)]
    Ftrace(#[from] ktrace_ftrace::Error),
    /// A recorded event did not parse.
    #[error(transparent)]
    Parse(#[from] ktrace_core::ParseError),
    /// perf_event_open(2) refused the sampler ([`Spec::samples`]).
    #[error(transparent)]
    Sample(#[from] ktrace_sample::Error),
    /// The session recording the capture failed otherwise.
    #[error(transparent)]
    Session(SessionError),
    /// The capture's reader thread (the one iterating its session) panicked.
    #[error("the capture's reader thread panicked")]
    Recorder,
}

impl From<SessionError> for Error {
    /// The facades' errors stay themselves (so [`Error::is_unsupported`] and
    /// [`Error::is_permission`] see them).
    fn from(e: SessionError) -> Error {
        match e {
            SessionError::Ftrace(e) => Error::Ftrace(e),
            SessionError::Sample(e) => Error::Sample(e),
            e => Error::Session(e),
        }
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// The calling thread's kernel id (gettid(2)): the `tid` of its records and syscalls in a capture.
pub fn gettid() -> i32 {
    crate::sys::gettid()
}

impl Error {
    /// Whether this kernel lacks what the capture asked for (skip the test). A panicked recorder
    /// thread is a bug, never unsupported.
    pub fn is_unsupported(&self) -> bool {
        match self {
            Error::Ftrace(e) => e.is_unsupported(),
            Error::Session(e) => e.is_unsupported(),
            Error::Sample(e) => e.is_unsupported(),
            _ => false,
        }
    }

    /// Whether the kernel refused for lack of privilege (tracefs or perf_event_open(2) need root or
    /// a capability).
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Ftrace(e) => e.is_permission(),
            Error::Sample(e) => e.is_permission(),
            _ => false,
        }
    }
}

/// Which kernel sources a [`capture`] records. [`Spec::default`] is syscalls and process events;
/// [`Spec::new`] is nothing (add sources with the builder methods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    syscalls: bool,
    opens: bool,
    processes: bool,
    sched: bool,
    block: Vec<(u32, u32)>,
    events: Vec<(String, String)>,
    paths: Vec<String>,
    samples: Option<u64>,
}

impl Spec {
    /// A spec recording nothing yet.
    pub fn new() -> Spec {
        Spec {
            syscalls: false,
            opens: false,
            processes: false,
            sched: false,
            block: Vec::new(),
            events: Vec::new(),
            paths: Vec::new(),
            samples: None,
        }
    }

    /// Every syscall with its decoded arguments (`syscalls:sys_enter_*`/`sys_exit_*`).
    #[doc(alias = "sys_enter")]
    pub fn syscalls(mut self) -> Spec {
        self.syscalls = true;
        self
    }

    /// Only the open family (`open`, `openat`, `openat2`, `creat`: entries and results), a lighter
    /// source than [`Spec::syscalls`] when opens are all a test or tool needs.
    #[doc(alias = "sys_enter_openat")]
    pub fn opens(mut self) -> Spec {
        self.opens = true;
        self
    }

    /// Forks, execs, exits (with codes from `exit_group`), signals generated and delivered
    /// (`sched:sched_process_{fork,exec,exit}`, `signal:*`).
    #[doc(alias = "sched_process_exec")]
    pub fn processes(mut self) -> Spec {
        self.processes = true;
        self
    }

    /// Context switches of the captured tasks (`sched:sched_switch`).
    #[doc(alias = "sched_switch")]
    pub fn sched(mut self) -> Spec {
        self.sched = true;
        self
    }

    /// Block requests issued and completed on device `(major, minor)`, by any task (completions
    /// run in interrupts), from `block:block_rq_issue`/`block_rq_complete` filtered by `dev`.
    #[doc(alias = "block_rq_issue")]
    pub fn block(mut self, dev: (u32, u32)) -> Spec {
        self.block.push(dev);
        self
    }

    /// Any other event by system and name: a probe made with `ktrace::kprobe::Probes` is
    /// `(probes.group(), "name")`. Its hits are [`Capture::probe_hits`].
    pub fn event(mut self, system: &str, name: &str) -> Spec {
        self.events.push((system.to_owned(), name.to_owned()));
        self
    }

    /// CPU samples of the captured tasks at `hz` per second of CPU time (perf `cpu-clock`, with
    /// `inherit` so children are sampled too; no PMU needed), as [`Capture::samples`]. Sample
    /// times are on the perf clock, not the capture's.
    #[doc(alias = "perf_event_open")]
    pub fn samples(mut self, hz: u64) -> Spec {
        self.samples = Some(hz);
        self
    }

    /// Opens of exactly this path (as passed to the syscall) are identified by the kernel: see the
    /// module docs. Implies the open-family syscalls.
    pub fn watch_path(mut self, path: &str) -> Spec {
        self.paths.push(path.to_owned());
        self
    }
}

impl Default for Spec {
    fn default() -> Spec {
        Spec::new().syscalls().processes()
    }
}

/// The syscalls that open a path, with the name of their path argument.
const OPENS: [(&str, &str); 4] =
    [("openat", "filename"), ("open", "filename"), ("openat2", "filename"), ("creat", "pathname")];

/// The memory a capture's session may queue (half for its instances' pages, half for the merge).
const CAPTURE_BUDGET_MIB: usize = 128;

/// The label of the instance recording the opens of a watched path: this, then the path.
const PATH_LABEL: &str = "path:";

/// Whether this kernel has the syscall event `name` (`openat2` is 5.6+, and some architectures
/// lack `open` and `creat`).
fn has_syscall_event(fs: &Tracefs, name: &str) -> bool {
    fs.root().join("events/syscalls").join(name).is_dir()
}

/// Runs `workload` and records what the kernel did for it and the tasks it spawned, per `spec`.
/// Returns the capture and the workload's value. A panic in the workload is resumed after the
/// tracefs state is removed.
///
/// The recording is a [`Session`] scoped to the calling thread
/// ([`SessionBuilder::this_thread`](crate::session::SessionBuilder::this_thread)), read by a
/// helper thread made before the scope is set; of its stream, the events stamped while
/// `workload` ran are kept, and its losses are counted ([`Capture::lost`]).
///
/// Errors: tracefs missing or refused (not root, an event this kernel lacks, a filter it
/// rejects); [`Error::is_unsupported`] says when to skip.
pub fn capture<T>(spec: Spec, workload: impl FnOnce() -> T) -> Result<(Capture, T), Error> {
    let fs = Tracefs::find()?;
    let builder = session_of(&spec, &fs);
    let (session_tx, session_rx) = mpsc::channel::<Session>();
    let from = AtomicU64::new(0);
    std::thread::scope(|s| {
        // Made before the session scopes the calling thread, so it is never in the scope.
        let from = &from;
        let reader = s.spawn(move || read_session(&session_rx, from));
        let session = match builder.start() {
            Ok(session) => session,
            Err(e) => {
                drop(session_tx);
                let _ = reader.join();
                return Err(e.into());
            }
        };
        let stop = session.stop_handle();
        let _ = session_tx.send(session);
        drop(session_tx);
        let profiler = match spec.samples.map(|hz| ktrace_sample::profile::Profiler::task(crate::sys::gettid(), hz)) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                stop.stop();
                let _ = reader.join();
                return Err(e.into());
            }
            None => None,
        };
        let t0 = crate::sys::monotonic_ns();
        from.store(t0, Ordering::Release);
        let out = catch_unwind(AssertUnwindSafe(workload));
        let t1 = crate::sys::monotonic_ns();
        let profile = profiler.map(|p| p.finish());
        stop.stop();
        let read = reader.join().unwrap_or(Err(Error::Recorder));
        let value = match out {
            Ok(v) => v,
            Err(panic) => resume_unwind(panic),
        };
        let (records, lost) = read?;
        let mut main = Vec::new();
        let mut paths = Vec::new();
        for (label, mut rec) in records.into_iter().filter(|(_, r)| (t0..=t1).contains(&r.ts_ns)) {
            rec.ts_ns -= t0;
            match label.as_deref().and_then(|l| l.strip_prefix(PATH_LABEL)) {
                Some(path) => paths.push((path.to_owned(), rec)),
                None => main.push(rec),
            }
        }
        main.sort_by_key(|r| r.ts_ns);
        let mut cap = Capture::build(main, &paths, spec.paths.clone(), lost);
        cap.profile = profile;
        Ok((cap, value))
    })
}

/// The session a spec asks for: the calling thread's events in one instance, each watched
/// path's filtered opens in one of its own, the block devices' requests in one unscoped.
fn session_of(spec: &Spec, fs: &Tracefs) -> SessionBuilder {
    // Queued pages are read as they come; the budget only bounds a reader falling behind.
    let mut b = Session::builder().this_thread().budget(Budget::mib(CAPTURE_BUDGET_MIB));
    for ev in main_events(spec, fs) {
        b = b.events(&ev);
    }
    for path in &spec.paths {
        let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
        for (sys, arg) in OPENS {
            let name = format!("sys_enter_{sys}");
            if has_syscall_event(fs, &name) {
                b = b.events_where(
                    &format!("{PATH_LABEL}{path}"),
                    &format!("syscalls:{name}"),
                    &format!("{arg}.ustring == \"{quoted}\""),
                );
            }
        }
    }
    for &dev in &spec.block {
        b = b.block_of(dev);
    }
    b
}

/// Everything the capture's own tasks' instance records, as exact `system:event` names.
fn main_events(spec: &Spec, fs: &Tracefs) -> Vec<String> {
    let mut evs = Vec::new();
    if spec.syscalls {
        evs.push("syscalls:*".to_owned());
    } else if spec.opens || !spec.paths.is_empty() {
        for (sys, _) in OPENS {
            for dir in ["enter", "exit"] {
                let name = format!("sys_{dir}_{sys}");
                if has_syscall_event(fs, &name) {
                    evs.push(format!("syscalls:{name}"));
                }
            }
        }
    }
    if spec.processes {
        for name in ["sched_process_fork", "sched_process_exec", "sched_process_exit"] {
            evs.push(format!("sched:{name}"));
        }
        evs.push("signal:signal_generate".to_owned());
        evs.push("signal:signal_deliver".to_owned());
        if !spec.syscalls {
            evs.push("syscalls:sys_enter_exit_group".to_owned());
            evs.push("syscalls:sys_enter_exit".to_owned());
        }
    }
    if spec.sched {
        evs.push("sched:sched_switch".to_owned());
    }
    for (sys, name) in &spec.events {
        evs.push(format!("{sys}:{name}"));
    }
    evs
}

/// What the reader thread returns: the session's ftrace events as records stamped with their
/// `CLOCK_MONOTONIC` time, with their instance's label, and the losses the session reported.
type Read = (Vec<(Option<Arc<str>>, Record)>, u64);

/// The reader thread: iterates the session it is sent until the session ends, converting each
/// event not older than `from` (0 until the workload starts).
fn read_session(session: &mpsc::Receiver<Session>, from: &AtomicU64) -> Result<Read, Error> {
    let Ok(session) = session.recv() else { return Ok((Vec::new(), 0)) };
    let mut records = Vec::new();
    let mut lost = 0u64;
    let mut converter = record::Converter::default();
    for item in session {
        match item? {
            TimelineEvent::Ftrace(ev) if ev.ts.ns >= from.load(Ordering::Acquire) => {
                records.push((ev.label.clone(), converter.convert(&ev, ev.ts.ns)?));
            }
            TimelineEvent::Lost(l) => lost = lost.saturating_add(l.count.unwrap_or(1)),
            _ => {}
        }
    }
    Ok((records, lost))
}
