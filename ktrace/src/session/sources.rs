//! A session's source threads: each drains one source into its [`Feed`] of the timeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ktrace_core::{Clock, Lost, LostSource, Timestamp, Value};
use ktrace_ftrace::stream::Budget;
use ktrace_ftrace::{Instance, Item, Recorder};
use ktrace_ptrace::{Event as PtraceEvent, Tracer};
use ktrace_sample::profile::{Options, Profiler, Rate, Scope, Source};

use crate::command::{CommandError, HeldCommand};
use crate::sys;
use crate::timeline::Feed;

#[cfg(feature = "blk")]
use super::event::BlockIo;
#[cfg(feature = "taskstats")]
use super::event::TaskExit;
use super::event::{CounterReading, FsChange};
use super::{CommandExit, FtraceEvent, Sample, SessionError, Shared, Syscall, TimelineEvent};

/// What the session's heartbeat writes to `trace_marker` (never shown).
const HEARTBEAT: &[u8] = b"ktrace-timeline-watermark";
/// How far behind its last drain a perf source's watermark stays (samples being written).
const PERF_SLACK_NS: u64 = 2_000_000;

pub(super) fn spawn(what: &'static str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SessionError> {
    std::thread::Builder::new().name(format!("ktrace-{what}")).spawn(f).map_err(|_| SessionError::Thread { what })
}

pub(super) type Ready = mpsc::Sender<Result<(), SessionError>>;

/// Streams one instance into `feed`, with a heartbeat marker as its watermark. `keep` (the
/// session's probes) is dropped after the instance is removed, on every path (a probe an
/// instance still enables cannot be removed).
pub(super) fn ftrace_source(
    inst: Instance,
    opts: FtraceOpts,
    feed: Feed<TimelineEvent>,
    sh: &Arc<Shared>,
    ready: &Ready,
    keep: Option<Box<dyn Send>>,
) {
    stream_instance(inst, opts, feed, sh, ready);
    drop(keep);
}

/// How an ftrace source streams its instance.
pub(super) struct FtraceOpts {
    /// Its share of the session's memory budget.
    pub budget: Budget,
    /// What its events carry as [`FtraceEvent::label`].
    pub label: Option<Arc<str>>,
    /// A thread to scope the instance to (`set_event_pid` and `event-fork`), once `go` says
    /// every thread of the session exists (none of them is then followed as that thread's child).
    pub scope: Option<(i32, mpsc::Receiver<()>)>,
}

/// [`ftrace_source`]'s work: the instance is gone when it returns.
fn stream_instance(inst: Instance, opts: FtraceOpts, mut feed: Feed<TimelineEvent>, sh: &Arc<Shared>, ready: &Ready) {
    let FtraceOpts { budget, label, scope } = opts;
    if let Some((tid, go)) = scope {
        if go.recv().is_err() {
            return;
        }
        if let Err(e) = inst.set_event_pids(&[tid]).and_then(|()| inst.follow_forks(true)) {
            let _ = ready.send(Err(e.into()));
            return;
        }
    }
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
    // Without the heartbeat a quiet instance would hold the merge back until its end: a marker
    // that cannot be opened fails the start, one that cannot be written while tracing fails the
    // session (at the end, once tracing is off, a failed write orders nothing and is ignored).
    let mut marker = match inst.marker() {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let beat_stop = Arc::new(AtomicBool::new(false));
    let beat = {
        let stop = beat_stop.clone();
        let sh = sh.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                // The session's stop turns tracing off first (writes then fail with EBADF).
                if let Err(e) = marker.write(HEARTBEAT)
                    && !stop.load(Ordering::Acquire)
                    && !sh.stop.load(Ordering::Acquire)
                {
                    return Some(e);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            None
        })
    };
    let _ = ready.send(Ok(()));
    let mut last = 0;
    loop {
        // The heartbeat failed while tracing: the merge could stall on this source; end it.
        if beat.is_finished() && !sh.stop.load(Ordering::Acquire) {
            break;
        }
        let Some(item) = stream.next() else { break };
        let owned = match item {
            Ok(Item::Event(e)) => {
                let ts = e.timestamp().ns;
                last = last.max(ts);
                if e.system() == "ftrace"
                    && e.name() == "print"
                    && matches!(e.field("buf"), Ok(Value::Str(b)) if b.starts_with(HEARTBEAT))
                {
                    feed.advance(ts);
                    None
                } else {
                    Some((e.id(), ts, e.cpu(), e.pid(), Box::<[u8]>::from(e.data())))
                }
            }
            // A loss is placed where the stream reported it: a page dropped over the budget is
            // reported with its first event's time, which can be older than events the stream
            // already gave of other CPUs.
            Ok(Item::Lost(l)) => {
                last = last.max(l.timestamp_ns);
                feed.push(TimelineEvent::Lost(Lost { timestamp_ns: last, ..l }));
                None
            }
            Err(e) => {
                sh.fail(e.into());
                break;
            }
        };
        // The decoder's own format, shared (the event's borrow of the stream has ended).
        if let Some((id, ts, cpu, pid, data)) = owned
            && let Some(format) = stream.decoder().format(id)
        {
            let ts = Timestamp::new(ts, Clock::Mono);
            feed.push(TimelineEvent::Ftrace(FtraceEvent {
                ts,
                cpu,
                pid,
                format: format.clone(),
                data,
                label: label.clone(),
            }));
        }
        if feed.is_closed() {
            break;
        }
    }
    beat_stop.store(true, Ordering::Release);
    if let Ok(Some(e)) = beat.join() {
        sh.fail(e.into());
    }
    drop(stream);
    drop(feed);
    let counted = (0..inst.nr_cpus() as u32).filter_map(|c| inst.cpu_stats(c).ok()).map(|s| s.lost()).sum::<u64>();
    sh.ftrace_counted.fetch_add(counted, Ordering::AcqRel);
    if let Err(e) = inst.close() {
        sh.fail(e.into());
    }
}

/// Distinct callchains a perf source keeps interned; past it the table starts over (the
/// samples in flight keep theirs).
const MAX_STACKS: usize = 4096;

/// The callchains of a perf source, each distinct one allocated once and shared by its samples.
#[derive(Default)]
struct Stacks(std::collections::HashSet<Arc<[u64]>>);

impl Stacks {
    /// `chain` (leaf first) cut to [`Sample::MAX_FRAMES`], shared.
    fn intern(&mut self, chain: &[u64]) -> Arc<[u64]> {
        let chain = chain.get(..Sample::MAX_FRAMES).unwrap_or(chain);
        if let Some(known) = self.0.get(chain) {
            return known.clone();
        }
        if self.0.len() >= MAX_STACKS {
            self.0.clear();
        }
        let new = Arc::<[u64]>::from(chain);
        self.0.insert(new.clone());
        new
    }
}

/// Samples the command's tasks, with their callchains, on `CLOCK_MONOTONIC`; drains every 10 ms.
/// `ring_bytes`: each ring's size (default: the profiler's).
pub(super) fn perf_source(
    pid: i32,
    hz: u64,
    ring_bytes: Option<usize>,
    mut feed: Feed<TimelineEvent>,
    sh: &Shared,
    ready: &Ready,
) {
    let mut o = Options::new(Source::CpuClock, Scope::Task(pid), Rate::Frequency(hz));
    if let Some(b) = ring_bytes {
        o.ring_bytes = b;
    }
    o.callchain = true;
    o.monotonic = true;
    // Samples only: no COMM/MMAP/FORK/EXIT tables growing for the whole session.
    o.task_records = false;
    let mut p = match Profiler::open(&o) {
        Ok(p) => Some(p),
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let mut pending: Vec<TimelineEvent> = Vec::new();
    let mut stacks = Stacks::default();
    loop {
        let last = sh.stop.load(Ordering::Acquire) || feed.is_closed();
        let t0 = sys::monotonic_ns();
        let (prof, upto) = match (last, p.as_mut()) {
            (false, Some(p)) => (p.take(), t0.saturating_sub(PERF_SLACK_NS)),
            _ => (p.take().map(Profiler::finish).unwrap_or_default(), u64::MAX),
        };
        pending.extend(prof.samples.iter().map(|s| {
            let ts = Timestamp::new(s.time, Clock::Mono);
            let chain = stacks.intern(prof.frames.get(s.frames.0..s.frames.1).unwrap_or_default());
            TimelineEvent::Sample(Sample { ts, pid: s.pid, tid: s.tid, cpu: s.cpu, ip: s.ip, chain })
        }));
        release_upto(&mut pending, upto, &mut feed);
        if prof.lost > 0 {
            sh.perf_counted.fetch_add(prof.lost, Ordering::AcqRel);
            let at = if last { t0 } else { upto };
            // One item per PERF_RECORD_LOST, with its CPU, stamped by the record (sample_id_all,
            // CLOCK_MONOTONIC) or, without a stamp, when its drain released.
            for l in &prof.losses {
                let ts = if l.timestamp_ns > 0 { l.timestamp_ns } else { at };
                feed.push(TimelineEvent::Lost(Lost { source: LostSource::PerfRing, timestamp_ns: ts.max(at), ..*l }));
            }
        }
        if last {
            return;
        }
        feed.advance(upto);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Pushes the items of `pending` stamped at or before `upto`, in time order (a source whose
/// records come out of per-CPU rings slightly out of order sorts them here); keeps the rest.
fn release_upto(pending: &mut Vec<TimelineEvent>, upto: u64, feed: &mut Feed<TimelineEvent>) {
    pending.sort_by_key(|e| e.timestamp().ns);
    let n = pending.partition_point(|e| e.timestamp().ns <= upto);
    for e in pending.drain(..n) {
        feed.push(e);
    }
}

/// The ftrace `blk` tracer on `dev`, read from `trace_pipe` every 10 ms. A record's time is the
/// top-level ring's timestamp, put on `CLOCK_MONOTONIC` by its `trace_clock` (set to `mono`
/// while the session runs); records of different CPUs come out slightly out of order, so the
/// watermark trails the read by [`PERF_SLACK_NS`] as perf's does.
#[cfg(feature = "blk")]
pub(super) fn blk_source(dev: String, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
    use ktrace_blk::{BlkFilter, BlkItem, BlkTracer, FtraceBinRecords};
    let started = ktrace_ftrace::Tracefs::find().map_err(SessionError::from).and_then(|fs| {
        BlkTracer::start_streaming(&fs, &dev, &BlkFilter { clock: Some(Clock::Mono), ..BlkFilter::default() })
            .map_err(SessionError::from)
    });
    let mut tracer = match started {
        Ok(t) => Some(t),
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let mut buf = Vec::with_capacity(1 << 20);
    let mut pending = Vec::new();
    let mut newest = 0;
    let mut take = |items: FtraceBinRecords<'_>, pending: &mut Vec<TimelineEvent>| -> Result<(), SessionError> {
        for item in items {
            match item.map_err(ktrace_blk::Error::from)? {
                BlkItem::Record(r) if !r.is_notify() => {
                    newest = newest.max(r.time());
                    pending.push(TimelineEvent::Block(BlockIo {
                        ts: Timestamp::new(r.time(), Clock::Mono),
                        cpu: r.cpu(),
                        pid: r.pid(),
                        dev: r.dev_major_minor(),
                        action: r.action(),
                        rwbs: r.rwbs(),
                        sector: r.sector(),
                        bytes: r.bytes(),
                        error: r.error(),
                    }));
                }
                BlkItem::Record(_) => {}
                // Its time is the ftrace ring's clock, not the records': place it after the
                // newest record read.
                BlkItem::Lost(l) => pending.push(TimelineEvent::Lost(Lost { timestamp_ns: newest, ..l })),
            }
        }
        Ok(())
    };
    loop {
        let last = sh.stop.load(Ordering::Acquire) || feed.is_closed();
        let t0 = sys::monotonic_ns();
        let r = match (last, tracer.as_mut()) {
            (false, Some(t)) => t
                .read(&mut buf, Duration::from_millis(10))
                .map_err(SessionError::from)
                .and_then(|items| take(items, &mut pending)),
            // The end: stop (restoring the tracer and the device's files) and take the rest.
            _ => match tracer.take().map(BlkTracer::stop) {
                Some(Ok(rest)) => take(FtraceBinRecords::new(&rest), &mut pending),
                Some(Err(e)) => Err(e.into()),
                None => Ok(()),
            },
        };
        if let Err(e) = r {
            sh.fail(e);
        }
        let upto = if last { u64::MAX } else { t0.saturating_sub(PERF_SLACK_NS) };
        release_upto(&mut pending, upto, &mut feed);
        if last || tracer.is_none() {
            return;
        }
        feed.advance(upto);
    }
}

#[cfg(feature = "taskstats")]
/// How deep [`Tree::holds`] follows a task's parents in `/proc` before giving up.
const MAX_ANCESTORS: usize = 64;

#[cfg(feature = "taskstats")]
/// The tasks of a process tree: its root and the pids found under it so far.
pub(super) struct Tree {
    /// Pids (tasks and groups) known to be in the tree, kept after they exit so their children's
    /// records are recognized after them (a tree's size, not the system's).
    known: std::collections::HashSet<u32>,
}

#[cfg(feature = "taskstats")]
impl Tree {
    /// The tree under `root` (`root` included).
    pub(super) fn new(root: i32) -> Tree {
        Tree { known: std::collections::HashSet::from([root as u32]) }
    }

    /// Whether the task of an exit record is in the tree: it, its group or its parent is known,
    /// or its parent's chain of parents in `/proc` reaches a known pid (each pid of the chain is
    /// then known). A task whose parent exited before it is reparented (to init or a subreaper)
    /// and is not found unless its group or parent was seen before.
    pub(super) fn holds(&mut self, pid: u32, tgid: u32, ppid: u32) -> bool {
        // 0 and 1 (init, a record's missing field) belong to no tree.
        let chain = [pid, tgid, ppid].map(|p| if p > 1 { p } else { 0 });
        if !chain.iter().any(|p| self.known.contains(p)) {
            let mut up = ppid;
            let mut path = Vec::new();
            for _ in 0..MAX_ANCESTORS {
                if up <= 1 || self.known.contains(&up) {
                    break;
                }
                path.push(up);
                up = std::fs::read_to_string(format!("/proc/{up}/stat"))
                    .ok()
                    .and_then(|t| ktrace_sample::procfs::PidStat::parse(&t))
                    .map_or(0, |s| s.ppid as u32);
            }
            if up <= 1 || !self.known.contains(&up) {
                return false;
            }
            self.known.extend(path);
        }
        // Not its parent: the root's own parent is no part of the tree.
        self.known.extend([pid, tgid].into_iter().filter(|&p| p > 1));
        true
    }
}

#[cfg(feature = "taskstats")]
/// Exit records (taskstats, all CPUs), stamped when received: of `tree`'s tasks, or of every
/// task without one.
pub(super) fn exits_source(mut tree: Option<Tree>, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
    use ktrace_sample::taskstats::{Exit, ExitListener};
    let mut l = match ExitListener::register(None) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    // After the stop, what is still on its way (the command's own exit) for a little while.
    let mut drain_until = None;
    loop {
        if drain_until.is_none() && (sh.stop.load(Ordering::Acquire) || feed.is_closed()) {
            drain_until = Some(std::time::Instant::now() + Duration::from_millis(50));
        }
        if drain_until.is_some_and(|t| std::time::Instant::now() >= t) || feed.is_closed() {
            return;
        }
        feed.idle();
        let got = match l.recv_stamped(Duration::from_millis(10)) {
            Ok(g) => g,
            Err(e) => return sh.fail(e.into()),
        };
        let Some(first) = got.first() else { continue };
        let ts = Timestamp::new(feed.received(first.ts.ns), Clock::Mono);
        for e in got {
            if let (Exit::Task(st) | Exit::Group(st), Some(t)) = (&e.event, tree.as_mut())
                && !t.holds(st.pid, st.tgid, st.ppid)
            {
                continue;
            }
            let item = match e.event {
                Exit::Task(stats) => TimelineEvent::Exit(TaskExit { ts, group: false, stats: Box::new(stats) }),
                Exit::Group(stats) => TimelineEvent::Exit(TaskExit { ts, group: true, stats: Box::new(stats) }),
                _ => {
                    let source = LostSource::Taskstats;
                    TimelineEvent::Lost(Lost { source, cpu: u32::MAX, count: None, timestamp_ns: ts.ns })
                }
            };
            feed.push(item);
        }
    }
}

/// The command's perf counters (counting from its exec, children included), read every `period`.
pub(super) fn counters_source(
    pid: i32,
    events: Vec<ktrace_sample::counters::Ev>,
    period: Duration,
    mut feed: Feed<TimelineEvent>,
    sh: &Shared,
    ready: &Ready,
) {
    use ktrace_sample::counters::Counters;
    let mut c = match Counters::task_from_exec(pid, &events, true) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    let mut prev: Vec<u64> = vec![0; events.len()];
    loop {
        let last = sh.stop.load(Ordering::Acquire) || feed.is_closed();
        if !last {
            feed.idle();
            std::thread::sleep(period);
        }
        let read = c.read();
        let ts = Timestamp::new(feed.stamp(), Clock::Mono);
        match read {
            Ok(rs) => {
                for (r, p) in rs.iter().zip(prev.iter_mut()) {
                    let value = r.scaled();
                    let delta = value.saturating_sub(*p);
                    *p = value;
                    feed.push(TimelineEvent::Counter(CounterReading { ts, event: r.ev, value, delta }));
                }
            }
            Err(e) => return sh.fail(e.into()),
        }
        if last {
            return;
        }
    }
}

/// inotify watches, read every 5 ms, each event stamped when read.
pub(super) fn watch_source(
    watches: Vec<(std::path::PathBuf, ktrace_sample::inotify::Mask)>,
    mut feed: Feed<TimelineEvent>,
    sh: &Shared,
    ready: &Ready,
) {
    use ktrace_sample::inotify::{FsEvent, Watcher};
    let opened = Watcher::new().and_then(|w| {
        let mut paths = HashMap::new();
        for (p, mask) in watches {
            paths.insert(w.watch(&p, mask)?, Arc::<std::path::Path>::from(p));
        }
        Ok((w, paths))
    });
    let (w, paths) = match opened {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    loop {
        // The last read after the stop takes what was queued by then.
        let last = sh.stop.load(Ordering::Acquire) || feed.is_closed();
        feed.idle();
        let got = match w.read_stamped() {
            Ok(g) => g,
            Err(e) => return sh.fail(e.into()),
        };
        if let Some(first) = got.first() {
            let ts = Timestamp::new(feed.received(first.ts.ns), Clock::Mono);
            for e in got {
                let item = match e.event {
                    FsEvent::Event { wd, mask, cookie, name } => {
                        let Some(path) = paths.get(&wd) else { continue };
                        TimelineEvent::Fs(FsChange { ts, path: path.clone(), mask, cookie, name })
                    }
                    _ => {
                        let source = LostSource::Inotify;
                        TimelineEvent::Lost(Lost { source, cpu: u32::MAX, count: None, timestamp_ns: ts.ns })
                    }
                };
                feed.push(item);
            }
        }
        if last {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
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

/// Traces the held command from its exec; ptrace stamps each stop when `waitpid` returns.
pub(super) fn ptrace_source(held: HeldCommand, mut feed: Feed<TimelineEvent>, sh: &Shared) {
    let pid = held.pid();
    let mut t = match Tracer::seize_held(pid, true) {
        Ok(t) => t,
        Err(e) => return sh.fail(e.into()),
    };
    // Released on this thread (the tracer's): the tracee waits at its exec.
    if let Err(e) = held.release() {
        return sh.fail(e.into());
    }
    loop {
        feed.idle();
        let (ts, ev) = match t.next_stamped() {
            Ok(Some(ev)) => (Timestamp::new(feed.received(ev.ts.ns), Clock::Mono), ev.event),
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
                TimelineEvent::Syscall(Syscall { ts, pid, nr, args, ret: None, text: String::new() })
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
pub(super) fn wait_command(held: HeldCommand, sh: &Shared) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
    use super::*;

    /// A chain seen before is the same allocation; a long one is cut to its leaf side.
    #[test]
    fn stacks_share_each_chain_and_cut_long_ones() {
        let mut s = Stacks::default();
        let (a, b) = (s.intern(&[3, 2, 1]), s.intern(&[3, 2, 1]));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &s.intern(&[3, 2])));
        let long: Vec<u64> = (0..200).collect();
        assert_eq!(&*s.intern(&long), &long[..Sample::MAX_FRAMES]);
        for i in 0..MAX_STACKS as u64 + 10 {
            s.intern(&[i]);
        }
        assert!(s.0.len() <= MAX_STACKS, "bounded: {}", s.0.len());
    }

    /// A tree holds its root, a child of it (by the record's parent) and a child's child found
    /// through `/proc`; not this process (the root's parent) nor init's other children.
    #[test]
    #[cfg(feature = "taskstats")]
    fn a_tree_holds_the_roots_descendants_only() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let mut t = Tree::new(me as i32);
        assert!(t.holds(me, me, 1));
        // A grandchild of ours: its parent, `child`, is found under us in /proc.
        assert!(t.holds(999_999, 999_999, child.id()));
        let mut other = Tree::new(child.id() as i32);
        assert!(!other.holds(me, me, std::os::unix::process::parent_id()), "the root's parent");
        assert!(other.holds(child.id(), child.id(), me));
        assert!(!other.holds(me, me, 1), "the parent is not added with its child");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
