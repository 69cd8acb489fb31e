//! OProfile's job on perf_event: sample a task (and its children) or the whole system (every CPU)
//! on the CPU clock, task clock, page faults, context switches or a tracepoint, with kernel and
//! user callchains; keep COMM/MMAP2/FORK/EXIT records for attribution; surface
//! LOST/LOST_SAMPLES/THROTTLE; decode tracepoint payloads (`PERF_SAMPLE_RAW`) by field name with
//! ktrace-core's formats; symbolize; fold stacks; render a flame graph (inferno).
//!
//! Events are opened with perf-event2 (one per CPU: the kernel does not mmap inherited per-task
//! events without a CPU); their rings are mapped by [`MappedRing`] and framed in place by
//! ktrace-core's [`PerfRing`](ktrace_core::PerfRing), each record parsed into ktrace-core's typed
//! [`PerfRecord`] stream (losses as [`Lost`] items) before it is added to the [`Profile`]. That is
//! the faster of the two readers: `benches/compare/sample.sh` (`ring_report`) drains two identical
//! rings of 200k tracepoint samples, ktrace-core's framing at 42–54M records/s against
//! perf-event2's `Sampler::next_record` at 33–38M records/s on one 2-CPU x86-64 host.
//!
//! Kernel: perf_event_open(2) 2.6.31+, `sample_id_all` 2.6.38+, MMAP2 3.16+, LOST_SAMPLES 4.2+.

#[cfg(feature = "symbolize")]
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ktrace_core::perf::{PerfRecord, RecordLayout, SampleType};
use ktrace_core::{Lost, PerfRecordType, RawData, RawPerfRecord};
use perf_event::events::{Software, Tracepoint};
use perf_event::{Builder, Counter, SampleFlag};

use crate::error::{Error, Result};
use crate::perf::ring::MappedRing;
use crate::perf::symbolize::Mapping;
#[cfg(feature = "symbolize")]
use crate::perf::symbolize::Symbolizer;
#[cfg(feature = "symbolize")]
use ktrace_core::agg::Counts;

/// What to sample on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `cpu-clock` (a software timer; works without a PMU).
    CpuClock,
    /// `task-clock`.
    TaskClock,
    /// Page faults.
    PageFaults,
    /// Context switches.
    ContextSwitches,
    /// A tracepoint by its id (`events/<system>/<name>/id`); samples carry its raw payload.
    Tracepoint(u64),
}

/// Whose events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One task and the children it creates from now on (`inherit`).
    Task(i32),
    /// Every task on every online CPU (OProfile's system-wide mode; root or perf_event_paranoid < 1).
    System,
}

/// How often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// Samples per second (the kernel adjusts the period; throttling is reported).
    Frequency(u64),
    /// One sample every N events (1: every tracepoint hit).
    Period(u64),
}

/// A profiler's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Event.
    pub source: Source,
    /// Task or system.
    pub scope: Scope,
    /// Frequency or period.
    pub rate: Rate,
    /// Record kernel and user callchains.
    pub callchain: bool,
    /// Ring size per CPU in bytes (a power-of-two number of pages).
    pub ring_bytes: usize,
    /// Stamp samples on `CLOCK_MONOTONIC` (`use_clockid`, kernel 4.1+) instead of perf's own
    /// clock, so they merge with ftrace (`trace_clock=mono`) and ptrace stamps on one timeline.
    pub monotonic: bool,
    /// Ask the kernel for task records (`comm`, `mmap2`, `task`: COMM, MMAP2, FORK and EXIT) to
    /// name and symbolize samples afterwards (on by default). The profiler keeps them for the
    /// whole run, one mapping list per process, so a long run of a command that forks a lot grows
    /// with them; turn them off when only the samples themselves are wanted (a live session).
    pub task_records: bool,
}

impl Options {
    /// `source` on `scope` at `rate`, with callchains and 1 MiB rings.
    pub fn new(source: Source, scope: Scope, rate: Rate) -> Options {
        Options { source, scope, rate, callchain: true, ring_bytes: 1 << 20, monotonic: false, task_records: true }
    }
}

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Process.
    pub pid: i32,
    /// Thread.
    pub tid: i32,
    /// perf clock ns (`CLOCK_MONOTONIC` ns with [`Options::monotonic`]).
    pub time: u64,
    /// CPU.
    pub cpu: u32,
    /// Sampled instruction pointer.
    pub ip: u64,
    /// Events this sample stands for.
    pub period: u64,
    /// Range of this sample's callchain (leaf first) in [`Profile::frames`].
    pub frames: (usize, usize),
    /// Range of this sample's raw tracepoint payload in [`Profile::raw`] (empty for other sources).
    pub raw: (usize, usize),
}

/// A finished profile.
#[derive(Debug, Default)]
pub struct Profile {
    /// Samples of all CPUs merged in time order (after [`Profiler::finish`]).
    pub samples: Vec<Sample>,
    /// All callchain frames, samples index into it.
    pub frames: Vec<u64>,
    /// All raw tracepoint payloads, samples index into it.
    pub raw: Vec<u8>,
    /// pid -> comm (from COMM records).
    pub comms: HashMap<i32, String>,
    /// Mappings seen (MMAP/MMAP2 records).
    pub mappings: Vec<(i32, Mapping)>,
    /// Samples the kernel dropped (LOST + LOST_SAMPLES): the total of [`Profile::losses`].
    pub lost: u64,
    /// Each loss the kernel reported (`PERF_RECORD_LOST` / `LOST_SAMPLES`), in ring order per
    /// CPU, with its CPU, exact count and time (on the samples' clock).
    pub losses: Vec<Lost>,
    /// Throttle records (the kernel lowered the rate).
    pub throttled: u64,
    /// Records too short for the layout that was asked for (skipped, counted here).
    pub malformed: u64,
    /// New processes (FORK records where pid == tid): (pid, parent pid, time).
    pub forks: Vec<(i32, i32, u64)>,
    /// Ended processes (EXIT records where pid == tid): (pid, time).
    pub exits: Vec<(i32, u64)>,
    /// Whether samples carry callchains.
    pub callchain: bool,
    /// Whether kernel code is sampled (false when perf_event_paranoid allowed only user space).
    pub kernel: bool,
}

/// A running profiler of one task tree or of the whole system.
#[doc(alias = "perf_event_open")]
#[doc(alias = "perf_event_mmap_page")]
#[doc(alias = "PERF_RECORD_SAMPLE")]
pub struct Profiler {
    samplers: Vec<(Counter, MappedRing)>,
    profile: Profile,
    layout: RecordLayout,
    system: bool,
}

impl std::fmt::Debug for Profiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiler").field("cpus", &self.samplers.len()).finish()
    }
}

impl Profiler {
    /// Samples task `pid` and the children it creates from now on at `freq` Hz of CPU time
    /// (`cpu-clock`), with callchains. Counting starts at once.
    pub fn task(pid: i32, freq: u64) -> Result<Profiler> {
        Profiler::open(&Options::new(Source::CpuClock, Scope::Task(pid), Rate::Frequency(freq)))
    }

    /// Samples every task on every CPU at `freq` Hz (`cpu-clock`), with callchains.
    pub fn system(freq: u64) -> Result<Profiler> {
        Profiler::open(&Options::new(Source::CpuClock, Scope::System, Rate::Frequency(freq)))
    }

    /// Opens one sampler per online CPU as `o` says and starts them.
    ///
    /// ```no_run
    /// use ktrace_sample::profile::{Options, Profiler, Rate, Scope, Source};
    /// // Every sched_switch on the system, with its payload, for 100 ms.
    /// let id: u64 = std::fs::read_to_string("/sys/kernel/tracing/events/sched/sched_switch/id")?.trim().parse()?;
    /// let mut p = Profiler::open(&Options::new(Source::Tracepoint(id), Scope::System, Rate::Period(1)))?;
    /// p.run_for(std::time::Duration::from_millis(100));
    /// let prof = p.finish();
    /// println!("{} switches, {} lost", prof.samples.len(), prof.lost);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(o: &Options) -> Result<Profiler> {
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
        let raw = matches!(o.source, Source::Tracepoint(_));
        let name = match o.source {
            Source::CpuClock => "cpu-clock",
            Source::TaskClock => "task-clock",
            Source::PageFaults => "page-faults",
            Source::ContextSwitches => "context-switches",
            Source::Tracepoint(_) => "tracepoint",
        };
        let mut flags = SampleFlag::IP | SampleFlag::TID | SampleFlag::TIME | SampleFlag::CPU | SampleFlag::PERIOD;
        if o.callchain {
            flags |= SampleFlag::CALLCHAIN;
        }
        if raw {
            flags |= SampleFlag::RAW;
        }
        // What kernel.perf_event_paranoid must be when the kernel refuses (see perf_event_open(2)).
        let need = match (o.scope, raw) {
            (Scope::System, _) => "≤ 0 for system-wide sampling",
            (_, true) => "≤ -1 for tracepoint samples",
            _ => "≤ 2 to sample your own processes (another user's also need CAP_SYS_PTRACE)",
        };
        let mut samplers = Vec::new();
        let mut kernel = true;
        for cpu in 0..ncpu {
            let mut b = match o.source {
                Source::CpuClock => Builder::new(Software::CPU_CLOCK),
                Source::TaskClock => Builder::new(Software::TASK_CLOCK),
                Source::PageFaults => Builder::new(Software::PAGE_FAULTS),
                Source::ContextSwitches => Builder::new(Software::CONTEXT_SWITCHES),
                Source::Tracepoint(id) => Builder::new(Tracepoint::with_id(id)),
            };
            match o.scope {
                Scope::Task(pid) => b.observe_pid(pid).inherit(true),
                Scope::System => b.any_pid(),
            };
            b.one_cpu(cpu)
                .exclude_kernel(!kernel)
                .sample(flags)
                .sample_id_all(true)
                .comm(o.task_records)
                .mmap(o.task_records)
                .task(o.task_records)
                .enabled(false);
            match o.rate {
                Rate::Frequency(f) => b.sample_frequency(f),
                Rate::Period(p) => b.sample_period(p.max(1)),
            };
            if o.monotonic {
                b.clockid(perf_event::Clock::MONOTONIC);
            }
            if o.task_records {
                b.attrs_mut().set_mmap2(1);
            }
            let c = match b.build() {
                Ok(c) => c,
                // perf_event_paranoid > 1 without CAP_PERFMON: user space only, as perf falls back.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) && kernel => {
                    kernel = false;
                    b.exclude_kernel(true);
                    b.build().map_err(|e| Error::perf_open(name, need, e))?
                }
                Err(e) => return Err(Error::perf_open(name, need, e)),
            };
            let r = MappedRing::new(&c, o.ring_bytes).map_err(|e| Error::io("mmap", name, e))?;
            samplers.push((c, r));
        }
        let profile = Profile { callchain: o.callchain, kernel, ..Profile::default() };
        let layout = profile.layout(raw);
        let mut p = Profiler { samplers, profile, layout, system: o.scope == Scope::System };
        // Enable first, then read /proc: a task that execs in between is seen either in /proc or
        // by its COMM/MMAP2 record, which is parsed later and so overrides (perf does the same).
        for (c, _) in &mut p.samplers {
            c.enable().map_err(|e| Error::io("ioctl(ENABLE)", name, e))?;
        }
        // COMM and MMAP records come only for later execs and mmaps: take the current names and
        // file mappings now (as perf synthesizes them for running tasks).
        match o.scope {
            Scope::Task(pid) => p.profile.synthesize(pid, true),
            Scope::System => crate::proc::stats::pids().for_each(|pid| p.profile.synthesize(pid, true)),
        }
        Ok(p)
    }

    /// Drains the rings now (call periodically for long runs so they do not overflow).
    pub fn poll(&mut self) {
        let profile = &mut self.profile;
        for (_, ring) in &mut self.samplers {
            let res = ring.drain_parsed(&self.layout, |r| match r {
                Ok(r) => profile.add(&r),
                Err(_) => profile.malformed += 1,
            });
            if res.is_err() {
                profile.malformed += 1;
            }
        }
    }

    /// Drains the rings and hands over what they held so far, for live consumption: the samples
    /// (each CPU's in time order, CPUs one after another: sort by `time` to merge), their frames
    /// and raw payloads (the samples' ranges index these), and [`Profile::losses`] (with their
    /// total [`Profile::lost`]) and [`Profile::throttled`] since the last call. Names and mappings stay in the profiler for
    /// [`Profiler::finish`].
    pub fn take(&mut self) -> Profile {
        self.poll();
        let p = &mut self.profile;
        Profile {
            samples: std::mem::take(&mut p.samples),
            frames: std::mem::take(&mut p.frames),
            raw: std::mem::take(&mut p.raw),
            lost: std::mem::take(&mut p.lost),
            losses: std::mem::take(&mut p.losses),
            throttled: std::mem::take(&mut p.throttled),
            callchain: p.callchain,
            kernel: p.kernel,
            ..Profile::default()
        }
    }

    /// Runs `poll` every 10 ms for `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.poll();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops sampling and returns the profile.
    pub fn finish(mut self) -> Profile {
        for (c, _) in &mut self.samplers {
            let _ = c.disable();
        }
        self.poll();
        // One stream in time order: the per-CPU rings were drained one after the other.
        self.profile.samples.sort_by_key(|s| s.time);
        if self.system {
            // Processes that started during the run and mapped files before their first MMAP2
            // could be seen (the exec'd binary is reported; the loader's early maps may not be).
            let mapped: std::collections::HashSet<i32> = self.profile.mappings.iter().map(|(p, _)| *p).collect();
            let sampled: std::collections::BTreeSet<i32> = self.profile.samples.iter().map(|s| s.pid).collect();
            for pid in sampled.into_iter().filter(|p| *p > 0 && !mapped.contains(p)) {
                self.profile.synthesize(pid, false);
            }
        }
        self.profile
    }
}

impl Profile {
    /// Takes a running process's file mappings (and with `comm`, its name) from /proc, as perf
    /// synthesizes them for tasks that existed before sampling started.
    fn synthesize(&mut self, pid: i32, comm: bool) {
        if comm && let Ok(c) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            self.comms.insert(pid, c.trim_end().to_owned());
        }
        self.mappings.extend(Mapping::of_process(pid).into_iter().map(|m| (pid, m)));
    }

    /// The layout of this profile's sampler records: IP, TID, TIME, CPU, PERIOD, then a callchain
    /// when [`Profile::callchain`] is set and a raw payload when `raw`, with `sample_id_all`.
    fn layout(&self, raw: bool) -> RecordLayout {
        let mut t = SampleType::IP | SampleType::TID | SampleType::TIME | SampleType::CPU | SampleType::PERIOD;
        t.set(SampleType::CALLCHAIN, self.callchain);
        t.set(SampleType::RAW, raw);
        RecordLayout::new(t, true)
    }

    /// Adds one perf record (`ty` = `perf_event_header.type`, `d` = the body after the 8-byte
    /// header) laid out as this profile's sampler lays it out: IP, TID, TIME, CPU, PERIOD, then a
    /// callchain when [`Profile::callchain`] is set and a raw payload when `raw`, and every other
    /// record ending in its `sample_id` (TID, TIME, CPU). Parsed by ktrace-core
    /// ([`RawPerfRecord::parse`]), then [`Profile::add`]ed; a record that does not parse is
    /// counted in [`Profile::malformed`] and skipped. Nothing panics on any bytes.
    #[doc(alias = "PERF_RECORD_SAMPLE")]
    #[doc(alias = "PERF_RECORD_MMAP2")]
    #[doc(alias = "PERF_RECORD_COMM")]
    pub fn add_record(&mut self, ty: u32, d: RawData<'_>, raw: bool) {
        let layout = self.layout(raw);
        let mut scratch = Vec::new();
        match RawPerfRecord::new(PerfRecordType(ty), 0, d).contiguous(&mut scratch).parse(&layout) {
            Ok(r) => self.add(&r),
            Err(_) => self.malformed += 1,
        }
    }

    /// Adds one typed record: a sample with its callchain (context markers dropped) and raw
    /// payload, a task's name (COMM), a file mapping (MMAP/MMAP2 of a path), a process's fork or
    /// exit, a loss (kept in [`Profile::losses`] and added to [`Profile::lost`]) or a throttle.
    /// A sample without IP, TID, TIME, CPU or PERIOD, or a mapping whose end overflows, is
    /// counted in [`Profile::malformed`]; other kinds are ignored.
    pub fn add(&mut self, rec: &PerfRecord<'_>) {
        match rec {
            PerfRecord::Sample(s) => {
                let id = s.sample_id;
                let (Some(ip), Some(pid), Some(tid), Some(time), Some(cpu), Some(period)) =
                    (s.ip, id.pid, id.tid, id.time, id.cpu, s.period)
                else {
                    self.malformed += 1;
                    return;
                };
                let start = self.frames.len();
                if let Some(cc) = s.callchain {
                    self.frames.extend(cc.ips());
                }
                let raw_start = self.raw.len();
                match s.raw {
                    Some(RawData::Single(a)) => self.raw.extend_from_slice(a),
                    Some(RawData::Split(a, b)) => {
                        self.raw.extend_from_slice(a);
                        self.raw.extend_from_slice(b);
                    }
                    None => {}
                }
                self.samples.push(Sample {
                    pid: pid as i32,
                    tid: tid as i32,
                    time,
                    cpu,
                    ip,
                    period,
                    frames: (start, self.frames.len()),
                    raw: (raw_start, self.raw.len()),
                });
            }
            PerfRecord::Comm(c) => {
                self.comms.insert(c.pid as i32, String::from_utf8_lossy(c.name).into_owned());
            }
            PerfRecord::Mmap(m) if m.filename.first() == Some(&b'/') => {
                let Some(end) = m.addr.checked_add(m.len) else {
                    self.malformed += 1;
                    return;
                };
                let path = String::from_utf8_lossy(m.filename).into_owned();
                self.mappings.push((m.pid as i32, Mapping { start: m.addr, end, pgoff: m.pgoff, path }));
            }
            // Only whole processes matter for attribution.
            PerfRecord::Exit(t) if t.pid == t.tid => self.exits.push((t.pid as i32, t.time)),
            PerfRecord::Fork(t) if t.pid == t.tid => {
                let (pid, ppid) = (t.pid as i32, t.ppid as i32);
                self.forks.push((pid, ppid, t.time));
                // A forked child runs its parent's image until it execs (then COMM/MMAP2 follow).
                if let Some(c) = self.comms.get(&ppid).cloned() {
                    self.comms.entry(pid).or_insert(c);
                }
                let inherited: Vec<Mapping> =
                    self.mappings.iter().filter(|(q, _)| *q == ppid).map(|(_, m)| m.clone()).collect();
                self.mappings.extend(inherited.into_iter().map(|m| (pid, m)));
            }
            PerfRecord::Lost(l) | PerfRecord::LostSamples(l) => {
                self.lost = self.lost.saturating_add(l.count.unwrap_or(0));
                self.losses.push(*l);
            }
            PerfRecord::Throttle(_) => self.throttled += 1,
            _ => {}
        }
    }
}

impl Profile {
    /// A sample's raw tracepoint payload: the same bytes as the event's ftrace record (common
    /// fields first), so a ktrace-core [`EventFormat`](ktrace_core::EventFormat) decodes it.
    ///
    /// ```
    /// use ktrace_core::{Endian, EventFormat, RawData};
    /// # let prof = ktrace_sample::profile::Profile::default();
    /// # let text = "name: x\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\nprint fmt: \"\"\n";
    /// let fmt = EventFormat::parse("raw_syscalls", text)?;
    /// let id = fmt.require("id")?;
    /// for s in &prof.samples {
    ///     println!("syscall {}", id.i64(RawData::Single(prof.raw_of(s)), Endian::NATIVE)?);
    /// }
    /// # Ok::<(), ktrace_core::ParseError>(())
    /// ```
    pub fn raw_of(&self, s: &Sample) -> &[u8] {
        self.raw.get(s.raw.0..s.raw.1).unwrap_or_default()
    }

    /// A symbolizer primed with this profile's mappings and the given kallsyms text.
    #[cfg(feature = "symbolize")]
    pub fn symbolizer(&self, kallsyms_text: &str) -> Symbolizer {
        let mut s = Symbolizer::new(kallsyms_text);
        for (pid, m) in &self.mappings {
            s.add_mapping(*pid, m.clone());
        }
        s
    }

    /// The callchain of sample `s`, leaf first, or its instruction pointer alone when it has
    /// none (sampled without callchains, or the kernel could not walk the stack).
    pub fn chain<'p>(&'p self, s: &'p Sample) -> &'p [u64] {
        let frames = self.frames.get(s.frames.0..s.frames.1).unwrap_or_default();
        if frames.is_empty() { std::slice::from_ref(&s.ip) } else { frames }
    }

    /// Folded stacks (`comm;root;…;leaf count`), as flamegraph.pl and inferno read them.
    ///
    /// Frames are named by [`Symbolizer::name`] (unresolved ones `file+0xoffset`); each distinct
    /// (pid, address) is symbolized once, and a sample whose stack was seen before costs a lookup
    /// and no allocation.
    #[cfg(feature = "symbolize")]
    pub fn folded(&self, sym: &mut Symbolizer) -> BTreeMap<String, u64> {
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        let mut names: HashMap<(i32, u64), String> = HashMap::new();
        let mut line = String::new();
        for s in &self.samples {
            line.clear();
            line.push_str(self.comms.get(&s.pid).map_or("?", String::as_str));
            for &a in self.chain(s).iter().rev() {
                line.push(';');
                // Kernel addresses are the same in every process.
                let key = (if a >= 0xffff_8000_0000_0000 { 0 } else { s.pid }, a);
                let name = names.entry(key).or_insert_with(|| sym.name(s.pid, a));
                line.push_str(name);
            }
            match out.get_mut(line.as_str()) {
                Some(n) => *n += 1,
                None => {
                    out.insert(line.clone(), 1);
                }
            }
        }
        out
    }

    /// Samples per leaf function, largest first (what `perf report --no-children --sort sym` shows
    /// at the top), named by [`Symbolizer::name`]: an unresolved leaf is `file+0xoffset`, one row per
    /// address as perf gives each its own row.
    #[cfg(feature = "symbolize")]
    pub fn top_symbols(&self, sym: &mut Symbolizer) -> Vec<(String, u64)> {
        self.samples.iter().map(|s| sym.name(s.pid, s.ip)).collect::<Counts<String>>().sorted()
    }
}

#[cfg(feature = "flamegraph")]
pub use super::flamegraph::flamegraph;
