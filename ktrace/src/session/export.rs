//! A session's merged timeline written to a trace viewer's format (feature `export`): ftrace
//! events (with probe hits as slices), ptrace syscalls as slices, task events and inotify
//! changes as instants, perf samples, blk tracer I/Os as slices on device tracks, perf counters
//! and taskstats delays as counter tracks, losses as markers.

use std::fmt::Write as _;
use std::sync::Arc;

use ktrace_core::{Clock, Endian, EventFormat, FormatRegistry, Lost, LostSource, RawEvent};
use ktrace_export::Tracks;
use ktrace_export::tracks::{Arg, Count, Mark, Slice, Thread};
use ktrace_ftrace::Decoder;
use ktrace_ptrace::Event as PtraceEvent;
use ktrace_sample::symbolize::Symbolizer;

use super::{Session, SessionError, TimelineEvent};

/// Highest CPU number a loss is written to a writer's per-CPU state with (perf's losses say
/// `u32::MAX`: no one CPU); others become global markers.
const MAX_CPU: u32 = 4095;

/// Writes [`TimelineEvent`]s to a [`Tracks`] writer
/// ([`Perfetto`](ktrace_export::Perfetto), [`ChromeJson`](ktrace_export::ChromeJson)):
/// - ftrace events as the writer writes them (scheduling, syscalls, block requests, probe
///   hits as slices from entry to return);
/// - ptrace syscalls as slices on their thread (cat `ptrace`, args `ret`, `text`), other
///   ptrace events as instants named by what happened (`exited`, `killed`, `signal`, `stopped`,
///   `fork`, `exec`…) with their fields as args (`code`, `signal`, `child`, `call`, `old_pid`…);
/// - perf samples with their callstacks, each frame named by ktrace-sample's
///   [`Symbolizer`](ktrace_sample::symbolize::Symbolizer) as `profile` names them (the function,
///   else `file+0xoffset`, else the address): kernel frames from `/proc/kallsyms`, user frames
///   from the process's `/proc/PID/maps`, read when its first sample is written (so export while
///   the session runs, as [`Exporter::write_all`] does: a process gone by then keeps addresses);
/// - blk tracer records: issue (`D`) → complete (`C`) as slices on the device's lanes;
/// - perf counter readings as counter tracks of the command (`task-clock`…), taskstats exit
///   records as counter tracks of their process (`cpu delay (task PID)`, and the other delays
///   and `cpu run` time when not zero, in ns) plus an `exit` instant;
/// - inotify changes as instants on the global track `fs`;
/// - losses: ftrace's as the writer's loss markers, others as instants on the global track
///   `losses` (args `source`, `count`).
///
/// Memory: the formats seen and the syscalls in progress, not the trace.
///
/// ```no_run
/// use ktrace::export::Perfetto;
/// use ktrace::session::{Exporter, Session};
/// let mut cmd = std::process::Command::new("sleep");
/// cmd.arg("0.1");
/// let mut s = Session::builder().events("sched:*").syscalls().command(cmd).start()?;
/// let mut w = Perfetto::new(std::fs::File::create("sleep.perfetto-trace")?);
/// let n = Exporter::new(s.pid()).write_all(&mut s, &mut w)?;
/// println!("{n} events");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "export")))]
#[derive(Default)]
pub struct Exporter {
    command: Option<i32>,
    formats: Vec<Arc<EventFormat>>,
    decoder: Option<Decoder>,
    /// `tid -> (ts, nr)` of ptrace syscalls entered.
    syscalls: foldhash::HashMap<i32, (u64, u64)>,
    /// `tid -> tgid` learned from samples and exit records (and told to the writer).
    tgids: foldhash::HashMap<i32, i32>,
    /// Names sample frames (made at the first sample).
    symbols: Option<Symbols>,
    last_ts: u64,
    /// Names and args written per item (counter names, paths), reused.
    text: String,
    text2: String,
}

/// The symbolizers of sample frames and the names they gave, by `(tgid, address)`.
#[derive(Default)]
struct Symbols {
    /// User frames, by the processes' maps.
    user: Symbolizer,
    /// Kernel frames, by `/proc/kallsyms` (read at the first kernel frame: parsing it takes a
    /// while, and the processes' maps are read first, while they live).
    kernel: Option<Symbolizer>,
    /// Processes whose maps were read, with how many times.
    mapped: foldhash::HashMap<i32, u8>,
    names: foldhash::HashMap<(i32, u64), String>,
}

/// Names [`Symbols`] keeps before it starts over.
const MAX_NAMES: usize = 1 << 16;
/// How many times a process's maps are read (again for an address none of them holds: after an
/// exec or a `dlopen`).
const MAP_READS: u8 = 4;
/// Addresses from here up are the kernel's (x86-64, arm64).
const KERNEL: u64 = 0xffff_8000_0000_0000;

impl Symbols {
    /// Names `frames` of process `tgid`: each is then in `names` (cached; the cache starts over
    /// when full, before a sample, never in the middle of one).
    fn resolve(&mut self, tgid: i32, frames: &[u64]) {
        if self.names.len() + frames.len() > MAX_NAMES {
            self.names.clear();
        }
        let reads = self.mapped.entry(tgid).or_default();
        let new = |a: &u64| *a < KERNEL && !self.names.contains_key(&(tgid, *a));
        let unmapped = |a: &u64| !self.user.mappings_of(tgid).iter().any(|m| (m.start..m.end).contains(a));
        if *reads < MAP_READS && frames.iter().filter(|a| new(a)).any(|a| *reads == 0 || unmapped(a)) {
            *reads += 1;
            self.user.add_proc_maps(tgid);
        }
        for &a in frames {
            if self.names.contains_key(&(tgid, a)) {
                continue;
            }
            let sym = if a < KERNEL {
                &mut self.user
            } else {
                self.kernel.get_or_insert_with(|| {
                    Symbolizer::new(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default())
                })
            };
            self.names.insert((tgid, a), sym.name(tgid, a));
        }
    }
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").field("command", &self.command).field("formats", &self.formats.len()).finish()
    }
}

impl Exporter {
    /// An exporter for a session of `command` (its pid, [`Session::pid`]: the process perf
    /// counters are drawn under).
    pub fn new(command: Option<i32>) -> Exporter {
        Exporter { command, ..Default::default() }
    }

    /// Tells the writer `tid`'s group, once.
    fn group(&mut self, w: &mut dyn Tracks, tid: i32, tgid: i32) {
        if tid > 0 && tgid > 0 && self.tgids.insert(tid, tgid).is_none() {
            w.thread_group(tid, tgid);
        }
    }

    /// `tid` with its group, when known (else its own).
    fn thread(&self, tid: i32) -> Thread {
        Thread { tgid: self.tgids.get(&tid).copied().unwrap_or(tid), tid }
    }

    /// The decoder knowing `f` (rebuilt when a new format comes: once per event id).
    fn decoder(&mut self, f: &Arc<EventFormat>) -> &Decoder {
        let known = self.formats.iter().any(|k| Arc::ptr_eq(k, f) || k.id == f.id);
        if !known || self.decoder.is_none() {
            if !known {
                self.formats.push(f.clone());
            }
            let mut reg = FormatRegistry::new();
            for k in &self.formats {
                reg.insert(k.clone());
            }
            self.decoder = Some(Decoder::new(reg, Endian::NATIVE, Clock::Mono));
        }
        self.decoder.get_or_insert_with(|| Decoder::new(FormatRegistry::new(), Endian::NATIVE, Clock::Mono))
    }

    /// Writes one item of the timeline.
    pub fn write(&mut self, ev: &TimelineEvent, w: &mut dyn Tracks) -> ktrace_export::Result<()> {
        let ts = ev.timestamp().ns;
        self.last_ts = self.last_ts.max(ts);
        match ev {
            TimelineEvent::Ftrace(f) => {
                let raw = RawEvent { timestamp: f.ts.ns, cpu: f.cpu, offset: 0, data: &f.data };
                let e = self.decoder(&f.format).decode(raw)?;
                w.event(&e)
            }
            TimelineEvent::Syscall(s) => {
                let Some(ret) = s.ret else {
                    self.syscalls.insert(s.pid, (ts, s.nr));
                    return Ok(());
                };
                let start = match self.syscalls.remove(&s.pid) {
                    Some((t, nr)) if nr == s.nr => t,
                    _ => ts,
                };
                let args = [("ret", Arg::Int(ret)), ("text", Arg::Str(&s.text))];
                let thread = self.thread(s.pid);
                w.slice(&Slice { thread, name: s.name(), cat: "ptrace", start_ns: start, end_ns: ts, args: &args })
            }
            TimelineEvent::Task { event, .. } => {
                let thread = Some(self.thread(ev.pid()));
                task_instant(event, thread, ts, w)
            }
            TimelineEvent::Sample(s) => {
                self.group(w, s.tid, s.pid);
                let sym = self.symbols.get_or_insert_with(Symbols::default);
                sym.resolve(s.pid, s.frames());
                let names = s.frames().iter().map(|&a| sym.names.get(&(s.pid, a)).map_or("?", String::as_str));
                w.sample(ts, s.cpu, Thread { tgid: s.pid, tid: s.tid }, &mut names.into_iter())
            }
            #[cfg(feature = "blk")]
            TimelineEvent::Block(b) => {
                let complete = match b.action.letter() {
                    "D" => None,
                    "C" => Some(b.error as i32),
                    _ => return Ok(()),
                };
                w.block(&ktrace_export::tracks::BlockIo {
                    ts_ns: ts,
                    dev: b.dev.0 << 20 | b.dev.1,
                    sector: b.sector,
                    nr_sector: b.bytes / 512,
                    rwbs: b.rwbs.as_bytes(),
                    complete,
                })
            }
            TimelineEvent::Exit(x) => self.exit(x, w),
            TimelineEvent::Counter(c) => w.counter(&Count {
                name: c.event.name(),
                unit: "count",
                pid: self.command,
                ts_ns: ts,
                value: c.value as f64,
            }),
            TimelineEvent::Fs(c) => {
                let (path, mask) = (&mut self.text, &mut self.text2);
                path.clear();
                mask.clear();
                // Writing to a String cannot fail.
                let _ = match &c.name {
                    Some(n) => write!(path, "{}", c.path.join(n).display()),
                    None => write!(path, "{}", c.path.display()),
                };
                let _ = write!(mask, "{:?}", c.mask);
                let args = [("path", Arg::Str(path)), ("cookie", Arg::Uint(c.cookie as u64))];
                w.instant(&Mark { thread: None, name: mask, cat: "fs", ts_ns: ts, args: &args })
            }
            TimelineEvent::Lost(l) => self.lost(l, w),
        }
    }

    /// A taskstats exit record: its delays and CPU time as counters of its process, and an
    /// `exit` instant on the task.
    fn exit(&mut self, x: &super::TaskExit, w: &mut dyn Tracks) -> ktrace_export::Result<()> {
        let st = &x.stats;
        let (pid, tgid) = (st.pid as i32, st.tgid as i32);
        let ts = x.ts.ns;
        if !x.group {
            self.group(w, pid, tgid);
        }
        let (who, id) = if x.group { ("group", tgid) } else { ("task", pid) };
        let delays = [
            ("cpu delay", st.cpu.total_ns),
            ("blkio delay", st.blkio.total_ns),
            ("swapin delay", st.swapin.total_ns),
            ("freepages delay", st.freepages.total_ns),
            ("thrashing delay", st.thrashing.total_ns),
            ("compact delay", st.compact.total_ns),
            ("wpcopy delay", st.wpcopy.total_ns),
            ("irq delay", st.irq.total_ns),
            ("cpu run", st.cpu_run_real_ns),
        ];
        // Delays that did not happen (most, for most tasks) draw no track; the CPU delay always.
        for (what, v) in delays.into_iter().filter(|(w, v)| *v > 0 || *w == "cpu delay") {
            let name = &mut self.text;
            name.clear();
            // Writing to a String cannot fail.
            let _ = write!(name, "{what} ({who} {id})");
            w.counter(&Count { name, unit: "ns", pid: Some(tgid), ts_ns: ts, value: v as f64 })?;
        }
        let args = [
            ("comm", Arg::Str(&st.comm)),
            ("exit_code", Arg::Uint(st.exit_code as u64)),
            ("cpu_delay_ns", Arg::Uint(st.cpu.total_ns)),
            ("blkio_delay_ns", Arg::Uint(st.blkio.total_ns)),
        ];
        let tid = if x.group { tgid } else { pid };
        let name = if x.group { "group exit" } else { "exit" };
        w.instant(&Mark { thread: Some(Thread { tgid, tid }), name, cat: "taskstats", ts_ns: ts, args: &args })
    }

    fn lost(&mut self, l: &Lost, w: &mut dyn Tracks) -> ktrace_export::Result<()> {
        let ftrace = matches!(l.source, LostSource::FtraceRing | LostSource::FtraceBudget);
        if ftrace && l.cpu <= MAX_CPU {
            return w.lost(l);
        }
        let source = ("source", Arg::Str(l.source.name()));
        let count = l.count.map(|c| ("count", Arg::Uint(c)));
        let cpu = (l.cpu <= MAX_CPU).then_some(("cpu", Arg::Uint(l.cpu as u64)));
        let (mut args, mut n) = ([source; 3], 1);
        for a in [count, cpu].into_iter().flatten() {
            if let Some(slot) = args.get_mut(n) {
                *slot = a;
                n += 1;
            }
        }
        let args = args.get(..n).unwrap_or_default();
        w.instant(&Mark { thread: None, name: "lost events", cat: "losses", ts_ns: l.timestamp_ns, args })
    }

    /// Ends the syscalls still in progress (at the last timestamp, arg `unfinished`) and
    /// finishes the writer.
    pub fn finish(&mut self, w: &mut dyn Tracks) -> ktrace_export::Result<()> {
        let mut open: Vec<_> = self.syscalls.drain().collect();
        open.sort_unstable();
        for (tid, (start, nr)) in open {
            let name = i64::try_from(nr).ok().and_then(ktrace_ftrace::syscall_name).unwrap_or("syscall");
            let args = [("unfinished", Arg::Uint(1))];
            let thread = self.thread(tid);
            w.slice(&Slice { thread, name, cat: "ptrace", start_ns: start, end_ns: self.last_ts, args: &args })?;
        }
        w.finish()
    }

    /// Writes every item of the session until it ends, then finishes; returns how many items
    /// were written.
    pub fn write_all(mut self, session: &mut Session, w: &mut dyn Tracks) -> Result<u64, SessionError> {
        let mut n = 0;
        for ev in session {
            self.write(&ev?, w)?;
            n += 1;
        }
        self.finish(w)?;
        Ok(n)
    }
}

/// A ptrace event as an instant on its thread, named by what happened (`exited`, `signal`,
/// `fork`…), its fields as args.
fn task_instant(e: &PtraceEvent, thread: Option<Thread>, ts: u64, w: &mut dyn Tracks) -> ktrace_export::Result<()> {
    let signo = match *e {
        PtraceEvent::Killed { signo, .. } | PtraceEvent::GroupStop { signo, .. } => Some(signo),
        PtraceEvent::Signal { info, .. } => Some(info.signo),
        _ => None,
    };
    let signal = signo.map(ktrace_ptrace::decode::signal_name);
    let sig = ("signal", Arg::Str(signal.as_deref().unwrap_or("?")));
    let int = |n: i32| Arg::Int(n as i64);
    let none = sig;
    let (name, args, n) = match *e {
        PtraceEvent::Exited { code, .. } => ("exited", [("code", int(code)), none, none, none], 1),
        PtraceEvent::Killed { core_dumped, .. } => {
            ("killed", [sig, ("core_dumped", Arg::Uint(core_dumped as u64)), none, none], 2)
        }
        PtraceEvent::Signal { info, .. } => (
            "signal",
            [
                sig,
                ("code", int(info.code)),
                ("sender_pid", int(info.sender_pid)),
                ("sender_uid", Arg::Uint(info.sender_uid as u64)),
            ],
            4,
        ),
        PtraceEvent::GroupStop { .. } => ("stopped", [sig, none, none, none], 1),
        PtraceEvent::Fork { child, kind, .. } => {
            let call = match kind {
                ktrace_ptrace::ForkKind::Fork => "fork",
                ktrace_ptrace::ForkKind::Vfork => "vfork",
                ktrace_ptrace::ForkKind::Clone => "clone",
            };
            ("fork", [("child", int(child)), ("call", Arg::Str(call)), none, none], 2)
        }
        PtraceEvent::Exec { old_pid, .. } => ("exec", [("old_pid", int(old_pid)), none, none, none], 1),
        PtraceEvent::Attached { .. } => ("attached", [none; 4], 0),
        PtraceEvent::Detached { .. } => ("detached", [none; 4], 0),
        _ => ("ptrace", [none; 4], 0),
    };
    let args = args.get(..n).unwrap_or_default();
    w.instant(&Mark { thread, name, cat: "ptrace", ts_ns: ts, args })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use ktrace_core::Timestamp;

    /// Ptrace task events are instants named by what happened with their fields as args (read
    /// from the event, not parsed back from its text); losses that are not ftrace's are global
    /// instants with their source, count and CPU.
    #[test]
    fn task_events_and_losses_are_instants_with_typed_args() {
        let mut out = Vec::new();
        let mut w = ktrace_export::ChromeJson::new(&mut out);
        let mut x = Exporter::new(None);
        let ts = Timestamp::new(5_000, Clock::Mono);
        let info = ktrace_ptrace::SigInfo { signo: 10, code: 0, errno: 0, sender_pid: 9, sender_uid: 0, fault_addr: 0 };
        for event in [
            PtraceEvent::Exited { pid: 7, code: 3 },
            PtraceEvent::Fork { pid: 7, child: 8, kind: ktrace_ptrace::ForkKind::Clone },
            PtraceEvent::Signal { pid: 7, info },
            PtraceEvent::Killed { pid: 7, signo: 9, core_dumped: false },
        ] {
            x.write(&TimelineEvent::Task { ts, event }, &mut w).unwrap();
        }
        let lost = Lost { source: LostSource::PerfRing, cpu: 1, count: Some(4), timestamp_ns: 6_000 };
        x.write(&TimelineEvent::Lost(lost), &mut w).unwrap();
        x.finish(&mut w).unwrap();
        drop(w);
        let text = String::from_utf8(out).unwrap();
        let head = |name: &str| format!(r#""name":"{name}","pid":7,"tid":7,"cat":"ptrace","ts":5.000,"s":"t","args":"#);
        for want in [
            head("exited") + r#"{"code":3}"#,
            head("fork") + r#"{"child":8,"call":"clone"}"#,
            head("signal") + r#"{"signal":"SIGUSR1","code":0,"sender_pid":9,"sender_uid":0}"#,
            head("killed") + r#"{"signal":"SIGKILL","core_dumped":0}"#,
            r#""name":"lost events","pid":1073741825,"tid":0,"cat":"losses","ts":6.000,"s":"t","args":{"source":"perf","count":4,"cpu":1}"#.into(),
        ] {
            assert!(text.contains(&want), "{want} in {text}");
        }
    }
}
