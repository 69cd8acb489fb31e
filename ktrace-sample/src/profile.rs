//! OProfile's job on perf_event: sample a task (and its children) at a frequency on the CPU clock,
//! with kernel and user callchains; keep COMM/MMAP2/FORK/EXIT records for attribution; surface
//! LOST/LOST_SAMPLES/THROTTLE; symbolize; fold stacks; render a flame graph (inferno).
//!
//! Rings are read with perf-event2's `Sampler` (one per CPU: the kernel does not mmap inherited
//! per-task events without a CPU) and records parsed with ktrace-core's `RawData` readers.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ktrace_core::{Endian, RawData};
use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};

use crate::error::{Error, Result};
use crate::symbolize::{Mapping, Symbolizer};

const PERF_RECORD_MMAP: u32 = 1;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_COMM: u32 = 3;
const PERF_RECORD_THROTTLE: u32 = 5;
const PERF_RECORD_SAMPLE: u32 = 9;
const PERF_RECORD_MMAP2: u32 = 10;
const PERF_RECORD_LOST_SAMPLES: u32 = 13;
/// Callchain context markers (`PERF_CONTEXT_*`) are at the top of the address space.
const PERF_CONTEXT_MAX: u64 = (-4095i64) as u64;

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Process.
    pub pid: i32,
    /// Thread.
    pub tid: i32,
    /// perf clock ns.
    pub time: u64,
    /// CPU.
    pub cpu: u32,
    /// Sampled instruction pointer.
    pub ip: u64,
    /// Range of this sample's callchain (leaf first) in [`Profile::frames`].
    pub frames: (usize, usize),
}

/// A finished profile.
#[derive(Debug, Default)]
pub struct Profile {
    /// Samples in arrival order per CPU.
    pub samples: Vec<Sample>,
    /// All callchain frames, samples index into it.
    pub frames: Vec<u64>,
    /// pid -> comm (from COMM records).
    pub comms: HashMap<i32, String>,
    /// Mappings seen (MMAP/MMAP2 records).
    pub mappings: Vec<(i32, Mapping)>,
    /// Samples the kernel dropped (LOST + LOST_SAMPLES).
    pub lost: u64,
    /// Throttle records (the kernel lowered the rate).
    pub throttled: u64,
}

/// A running profiler of one task tree.
pub struct Profiler {
    samplers: Vec<Sampler>,
    profile: Profile,
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
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut samplers = Vec::new();
        for cpu in 0..ncpu {
            let mut b = Builder::new(Software::CPU_CLOCK);
            b.observe_pid(pid)
                .one_cpu(cpu)
                .inherit(true)
                .sample_frequency(freq)
                .sample(
                    SampleFlag::IP
                        | SampleFlag::TID
                        | SampleFlag::TIME
                        | SampleFlag::CPU
                        | SampleFlag::PERIOD
                        | SampleFlag::CALLCHAIN,
                )
                .sample_id_all(true)
                .comm(true)
                .mmap(true)
                .task(true)
                .enabled(false);
            b.attrs_mut().set_mmap2(1);
            let s =
                b.build().and_then(|c| c.sampled(1 << 20)).map_err(|e| Error::io("perf_event_open", "cpu-clock", e))?;
            samplers.push(s);
        }
        let mut p = Profiler { samplers, profile: Profile::default() };
        // COMM and MMAP records come only for later execs and mmaps: take the current name and
        // file mappings now (as perf synthesizes them for running tasks).
        if let Ok(c) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            p.profile.comms.insert(pid, c.trim_end().to_owned());
        }
        let mut sym = Symbolizer::new("");
        sym.add_proc_maps(pid);
        p.profile.mappings.extend(sym.mappings_of(pid).iter().map(|m| (pid, m.clone())));
        for s in &mut p.samplers {
            s.enable().map_err(|e| Error::io("ioctl(ENABLE)", "cpu-clock", e))?;
        }
        Ok(p)
    }

    /// Drains the rings now (call periodically for long runs so they do not overflow).
    pub fn poll(&mut self) {
        for s in &mut self.samplers {
            while let Some(r) = s.next_record() {
                let parts = r.data();
                let data = match parts {
                    [a] => RawData::Single(a),
                    [a, b, ..] => RawData::Split(a, b),
                    [] => RawData::Single(&[]),
                };
                record(&mut self.profile, r.ty(), data);
            }
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
        for s in &mut self.samplers {
            let _ = s.disable();
        }
        self.poll();
        self.profile
    }
}

/// Parses one record body (after the 8-byte header) into the profile. Malformed records are skipped.
fn record(p: &mut Profile, ty: u32, d: RawData<'_>) {
    let e = Endian::NATIVE;
    match ty {
        PERF_RECORD_SAMPLE => {
            // IP, TID, TIME, CPU, PERIOD, CALLCHAIN in perf_event.h order.
            let (Ok(ip), Ok(pid), Ok(tid), Ok(time), Ok(cpu), Ok(nr)) =
                (d.u64(0, e), d.u32(8, e), d.u32(12, e), d.u64(16, e), d.u32(24, e), d.u64(40, e))
            else {
                return;
            };
            let start = p.frames.len();
            for i in 0..nr.min(512) as usize {
                match d.u64(48 + 8 * i, e) {
                    Ok(a) if a >= PERF_CONTEXT_MAX => {}
                    Ok(a) => p.frames.push(a),
                    Err(_) => break,
                }
            }
            p.samples.push(Sample { pid: pid as i32, tid: tid as i32, time, cpu, ip, frames: (start, p.frames.len()) });
        }
        PERF_RECORD_COMM => {
            if let (Ok(pid), Ok(name)) = (d.u32(0, e), d.c_str(8, 16)) {
                p.comms.insert(pid as i32, String::from_utf8_lossy(name).into_owned());
            }
        }
        PERF_RECORD_MMAP | PERF_RECORD_MMAP2 => {
            let name_off = if ty == PERF_RECORD_MMAP { 32 } else { 64 };
            if let (Ok(pid), Ok(addr), Ok(len), Ok(pgoff), Ok(name)) =
                (d.u32(0, e), d.u64(8, e), d.u64(16, e), d.u64(24, e), d.c_str(name_off, 4096))
                && name.first() == Some(&b'/')
            {
                let path = String::from_utf8_lossy(name).into_owned();
                p.mappings.push((pid as i32, Mapping { start: addr, end: addr + len, pgoff, path }));
            }
        }
        PERF_RECORD_LOST => p.lost += d.u64(8, e).unwrap_or(0),
        PERF_RECORD_LOST_SAMPLES => p.lost += d.u64(0, e).unwrap_or(0),
        PERF_RECORD_THROTTLE => p.throttled += 1,
        _ => {}
    }
}

impl Profile {
    /// A symbolizer primed with this profile's mappings and the given kallsyms text.
    pub fn symbolizer(&self, kallsyms_text: &str) -> Symbolizer {
        let mut s = Symbolizer::new(kallsyms_text);
        for (pid, m) in &self.mappings {
            s.add_mapping(*pid, m.clone());
        }
        s
    }

    /// Folded stacks (`comm;root;…;leaf count`), as flamegraph.pl and inferno read them.
    pub fn folded(&self, sym: &mut Symbolizer) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut line = String::new();
        for s in &self.samples {
            line.clear();
            line.push_str(self.comms.get(&s.pid).map_or("?", String::as_str));
            let frames = self.frames.get(s.frames.0..s.frames.1).unwrap_or_default();
            let frames: &[u64] = if frames.is_empty() { std::slice::from_ref(&s.ip) } else { frames };
            for &a in frames.iter().rev() {
                line.push(';');
                match sym.resolve(s.pid, a) {
                    Some(n) => line.push_str(&n),
                    None => line.push_str(&format!("{a:#x}")),
                }
            }
            *out.entry(line.clone()).or_insert(0) += 1;
        }
        out
    }

    /// Samples per leaf function, largest first (what `perf report --sort sym` shows at the top).
    pub fn top_symbols(&self, sym: &mut Symbolizer) -> Vec<(String, u64)> {
        let mut m: HashMap<String, u64> = HashMap::new();
        for s in &self.samples {
            let name = sym.resolve(s.pid, s.ip).unwrap_or_else(|| format!("{:#x}", s.ip));
            *m.entry(name).or_default() += 1;
        }
        let mut v: Vec<_> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Renders folded stacks as a flame graph SVG (inferno).
pub fn flamegraph(folded: &BTreeMap<String, u64>, title: &str, out: impl std::io::Write) -> Result<()> {
    let lines: Vec<String> = folded.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_owned();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
        .map_err(|e| Error::io("flamegraph", title, std::io::Error::other(e.to_string())))
}
