//! A session's source threads: each drains one source into its [`Feed`] of the timeline.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ktrace_core::{Clock, EventFormat, Lost, LostSource, Timestamp, Value};
use ktrace_ftrace::stream::Budget;
use ktrace_ftrace::{Instance, Item, Recorder};
use ktrace_ptrace::{Event as PtraceEvent, Tracer};
use ktrace_sample::profile::{Options, Profiler, Rate, Scope, Source};

use crate::command::{CommandError, HeldCommand};
use crate::sys;
use crate::timeline::Feed;

use super::{CommandExit, FtraceEvent, Sample, SessionError, Shared, Syscall, TimelineEvent};

/// What the session's heartbeat writes to `trace_marker` (never shown).
const HEARTBEAT: &[u8] = b"ktrace-timeline-watermark";
/// How far behind its last drain a perf source's watermark stays (samples being written).
const PERF_SLACK_NS: u64 = 2_000_000;

pub(super) fn spawn(what: &'static str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, SessionError> {
    std::thread::Builder::new().name(format!("ktrace-{what}")).spawn(f).map_err(|_| SessionError::Thread { what })
}

pub(super) type Ready = mpsc::Sender<Result<(), SessionError>>;

/// Streams one instance into `feed`, with a heartbeat marker as its watermark.
pub(super) fn ftrace_source(inst: Instance, budget: Budget, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
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
                } else {
                    let format = formats.entry(e.id()).or_insert_with(|| Arc::new(e.format.clone())).clone();
                    feed.push(TimelineEvent::Ftrace(FtraceEvent {
                        ts: Timestamp::new(ts, Clock::Mono),
                        cpu: e.cpu(),
                        pid: e.pid(),
                        format,
                        data: e.data().into(),
                    }));
                }
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
pub(super) fn perf_source(pid: i32, hz: u64, mut feed: Feed<TimelineEvent>, sh: &Shared, ready: &Ready) {
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
