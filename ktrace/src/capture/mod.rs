//! A test harness: record what the kernel did for one closure, then query and assert on it.
//!
//! [`capture`] runs a workload with tracing scoped to **the calling thread and every task it
//! spawns** (threads, children, their children), in a tracefs instance of its own that is removed
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
//! (exit codes), [`Capture::signals`], [`Capture::switches`], [`Capture::block_ios`],
//! [`Capture::probe_hits`], `Capture::samples` (feature `sample`) and [`Capture::records`] for
//! anything else; each `assert_*` returns what it found. Thread ids are the kernel's
//! ([`gettid`], not `std::thread::ThreadId`).
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
//! The instance's `set_event_pid` holds the calling thread's id (gettid(2)) and the `event-fork`
//! option adds each task a listed task creates; the recorder's drain threads are started from a
//! helper thread made before the pid list is set, so they are never listed. The instance uses the
//! `mono` trace clock, and only events stamped while the workload ran are kept (buffers are also
//! cleared before recording starts).
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
//! Minimum kernel: 6.1 (`.ustring` filters, `set_event_notrace_pid`, instance `event-fork`).
#![allow(clippy::panic, reason = "assertion helpers fail a test by panicking, with the capture excerpt")]

mod query;
mod record;
mod strace;

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc;

use ktrace_core::Clock;
use ktrace_ftrace::{Instance, Recorder, Tracefs};

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
    #[cfg(feature = "sample")]
    #[error(transparent)]
    Sample(#[from] ktrace_sample::Error),
    /// The recorder's helper thread died.
    #[error("the capture's recorder thread panicked")]
    Recorder,
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
            #[cfg(feature = "sample")]
            Error::Sample(e) => e.is_unsupported(),
            _ => false,
        }
    }

    /// Whether the kernel refused for lack of privilege (tracefs or perf_event_open(2) need root or
    /// a capability).
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Ftrace(e) => e.is_permission(),
            #[cfg(feature = "sample")]
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
    #[cfg(feature = "sample")]
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
            #[cfg(feature = "sample")]
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
    #[cfg(feature = "sample")]
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

/// What each instance of a capture is for.
enum Role {
    Main,
    Path(String),
    Block,
}

/// Runs `workload` and records what the kernel did for it and the tasks it spawned, per `spec`.
/// Returns the capture and the workload's value. A panic in the workload is resumed after the
/// tracefs state is removed.
///
/// Errors: tracefs missing or refused (not root, an event this kernel lacks, a filter it
/// rejects); [`Error::is_unsupported`] says when to skip.
pub fn capture<T>(spec: Spec, workload: impl FnOnce() -> T) -> Result<(Capture, T), Error> {
    let fs = Tracefs::find()?;
    let mut insts: Vec<(Role, Instance)> = Vec::new();
    let main = fs.new_instance()?;
    main.set_tracing_on(false)?;
    enable_main(&main, &spec)?;
    insts.push((Role::Main, main));
    for path in &spec.paths {
        let inst = fs.new_instance()?;
        inst.set_tracing_on(false)?;
        let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
        for (sys, arg) in OPENS {
            let name = format!("sys_enter_{sys}");
            if fs.root().join("events/syscalls").join(&name).is_dir() {
                inst.set_filter("syscalls", &name, &format!("{arg}.ustring == \"{quoted}\""))?;
                inst.enable_event("syscalls", &name)?;
            }
        }
        insts.push((Role::Path(path.clone()), inst));
    }
    for &(major, minor) in &spec.block {
        let inst = fs.new_instance()?;
        inst.set_tracing_on(false)?;
        for name in ["block_rq_issue", "block_rq_complete"] {
            inst.set_filter("block", name, &format!("dev == {}", (major << 20) | minor))?;
            inst.enable_event("block", name)?;
        }
        insts.push((Role::Block, inst));
    }
    for (_, inst) in &insts {
        inst.set_clock(Clock::Mono)?;
    }

    let (go_tx, go_rx) = mpsc::channel::<Option<(u64, u64)>>();
    let (ack_tx, ack_rx) = mpsc::channel::<Result<(), Error>>();
    std::thread::scope(|s| {
        // Made before the pid list exists, so neither it nor the drain threads it starts are traced.
        let insts = &insts;
        let helper = s.spawn(move || record(insts, &go_rx, &ack_tx));
        let scoped = scope_to_caller(insts);
        let started = match scoped {
            Ok(()) => {
                let _ = go_tx.send(None);
                ack_rx.recv().unwrap_or(Err(Error::Recorder))
            }
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            drop(go_tx);
            let _ = helper.join();
            return Err(e);
        }
        #[cfg(feature = "sample")]
        let profiler = match spec.samples.map(|hz| ktrace_sample::profile::Profiler::task(crate::sys::gettid(), hz)) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                drop(go_tx);
                let _ = helper.join();
                return Err(e.into());
            }
            None => None,
        };
        let t0 = crate::sys::monotonic_ns();
        let out = catch_unwind(AssertUnwindSafe(workload));
        let t1 = crate::sys::monotonic_ns();
        #[cfg(feature = "sample")]
        let profile = profiler.map(|p| p.finish());
        let _ = go_tx.send(Some((t0, t1)));
        let recorded = helper.join().unwrap_or(Err(Error::Recorder));
        let value = match out {
            Ok(v) => v,
            Err(panic) => resume_unwind(panic),
        };
        let (per_inst, lost) = recorded?;
        let mut main = Vec::new();
        let mut side = Vec::new();
        let mut paths = Vec::new();
        for ((role, _), recs) in insts.iter().zip(per_inst) {
            match role {
                Role::Main => main = recs,
                Role::Block => side.extend(recs),
                Role::Path(p) => paths.extend(recs.into_iter().map(|r| (p.clone(), r))),
            }
        }
        main.extend(side);
        main.sort_by_key(|r| r.ts_ns);
        #[allow(unused_mut, reason = "set only with feature sample")]
        let mut cap = Capture::build(main, &paths, lost);
        #[cfg(feature = "sample")]
        {
            cap.profile = profile;
        }
        Ok((cap, value))
    })
}

fn enable_main(inst: &Instance, spec: &Spec) -> Result<(), Error> {
    if spec.syscalls {
        inst.enable_system("syscalls")?;
    } else if spec.opens || !spec.paths.is_empty() {
        for (sys, _) in OPENS {
            for dir in ["enter", "exit"] {
                match inst.enable_event("syscalls", &format!("sys_{dir}_{sys}")) {
                    Err(ktrace_ftrace::Error::NoSuchEvent { .. }) => {}
                    other => other?,
                }
            }
        }
    }
    if spec.processes {
        for name in ["sched_process_fork", "sched_process_exec", "sched_process_exit"] {
            inst.enable_event("sched", name)?;
        }
        inst.enable_event("signal", "signal_generate")?;
        inst.enable_event("signal", "signal_deliver")?;
        if !spec.syscalls {
            inst.enable_event("syscalls", "sys_enter_exit_group")?;
            inst.enable_event("syscalls", "sys_enter_exit")?;
        }
    }
    if spec.sched {
        inst.enable_event("sched", "sched_switch")?;
    }
    for (sys, name) in &spec.events {
        inst.enable_event(sys, name)?;
    }
    Ok(())
}

/// Limits the pid-filtered instances to the calling thread and what it spawns, and empties
/// buffers that recorded anything before.
fn scope_to_caller(insts: &[(Role, Instance)]) -> Result<(), Error> {
    let tid = crate::sys::gettid();
    for (role, inst) in insts {
        if !matches!(role, Role::Block) {
            inst.set_event_pids(&[tid])?;
            inst.set_option("event-fork", true)?;
        }
        inst.clear()?;
    }
    Ok(())
}

type Recorded = (Vec<Vec<Record>>, u64);

/// The helper thread: starts a recorder per instance on `None`, reports, and on `Some((t0, t1))`
/// stops them and converts the events stamped in `[t0, t1]`.
fn record(
    insts: &[(Role, Instance)],
    go: &mpsc::Receiver<Option<(u64, u64)>>,
    ack: &mpsc::Sender<Result<(), Error>>,
) -> Result<Recorded, Error> {
    if go.recv() != Ok(None) {
        return Err(Error::Recorder);
    }
    let recorders = match insts.iter().map(|(_, i)| Recorder::start(i)).collect::<Result<Vec<_>, _>>() {
        Ok(r) => r,
        Err(e) => {
            let _ = ack.send(Err(e.into()));
            return Err(Error::Recorder);
        }
    };
    let _ = ack.send(Ok(()));
    let (t0, t1) = match go.recv() {
        Ok(Some(w)) => w,
        _ => (0, 0),
    };
    let mut out = Vec::new();
    let mut lost = 0;
    for rec in recorders {
        let recording = rec.stop()?;
        lost += recording.lost_total();
        let mut recs = Vec::new();
        for ev in recording.events() {
            let ev = ev?;
            let ts = ev.timestamp().ns;
            if ts >= t0 && ts <= t1 {
                recs.push(record::convert(&ev, ts - t0)?);
            }
        }
        out.push(recs);
    }
    Ok((out, lost))
}
