//! Runs the same raw_syscalls storm (a child doing N getppid) untraced, under our recorder and under
//! `trace-cmd record` with the same per-CPU buffer size, first on the machine as it is, then again
//! with two spinning processes competing for both CPUs (the busy variant), and prints
//! `RESULT ftrace-record untraced_ns=N ktrace_ns=N tracecmd_ns=N ktrace_lost=N tracecmd_lost=N
//! ktrace_busy_ns=N tracecmd_busy_ns=N ktrace_busy_lost=N tracecmd_busy_lost=N
//! ktrace_cpu_ns_per_event=N ktrace_busy_cpu_ns_per_event=N`, where `*_lost` is the worse of the two
//! runs and `*_cpu_ns_per_event` is the recorder's own CPU time (getrusage) per recorded event;
//! `ktrace_mapped_*` is the quiet run again through `Recorder::start_mapped` (the 6.10+ mapped
//! ring; the same as `Recorder::start` on older kernels). Each figure is the median of interleaved
//! rounds (`ROUNDS`, 5 by default; `*_lost` the worst run).
//! Usage: `ftrace_record_report GETPPID_LOOP SHADOW_SCRIPT [N] [BUFFER_KB] [ROUNDS]`; with
//! `FTRACE_RECORD_ONLY=splice|mapped` set, only that recorder, ROUNDS times (to profile it).
use std::process::{Child, Command, Stdio};

use ktrace_ftrace::{Item, Recorder, TraceDat, Tracefs};

fn child_ns(out: &[u8]) -> f64 {
    String::from_utf8_lossy(out)
        .lines()
        .find_map(|l| l.strip_prefix("ns_per_syscall=").and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn lost_in(rec: &ktrace_ftrace::Recording) -> u64 {
    rec.items().filter_map(|i| if let Ok(Item::Lost(l)) = i { Some(l.count.unwrap_or(1)) } else { None }).sum()
}

/// One run of each tracer: (ns/syscall, events, lost).
type Run = (f64, usize, u64);

/// How our recorder is started.
#[derive(Clone, Copy, PartialEq)]
enum How {
    /// `Recorder::start`.
    Default,
    /// `Recorder::start_mapped`.
    Mapped,
}

/// Our run, and the recorder's CPU time per event in ns (start to stop, drain threads included).
fn ours(looper: &str, n: &str, kb: u64, how: How) -> Result<(Run, f64), Box<dyn std::error::Error>> {
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(kb)?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    inst.enable_event("raw_syscalls", "sys_exit")?;
    // This process's CPU: the recorder's threads (the main thread only waits for the child).
    let cpu0 = ktrace_benches::process_cpu();
    let rec = match how {
        How::Default => Recorder::start(&inst)?,
        How::Mapped => Recorder::start_mapped(&inst)?,
    };
    let ns = child_ns(&Command::new(looper).arg(n).output()?.stdout);
    if std::env::var_os("FTRACE_RECORD_ONLY").is_some() {
        // Each of our threads' CPU time so far (schedstat: ns on CPU), by name.
        for tid in rec.drain_tids() {
            let task = format!("/proc/self/task/{tid}");
            let comm = std::fs::read_to_string(format!("{task}/comm")).unwrap_or_default();
            let run = std::fs::read_to_string(format!("{task}/schedstat")).unwrap_or_default();
            let run_ms = run.split(' ').next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) as f64 / 1e6;
            print!("{}={run_ms:.1}ms ", comm.trim());
        }
    }
    let recording = rec.stop()?;
    let cpu = (ktrace_benches::process_cpu() - cpu0) * 1e9;
    let run = (ns, recording.events().count(), lost_in(&recording));
    drop(recording);
    inst.close()?;
    Ok((run, cpu / run.1.max(1) as f64))
}

fn tracecmd(looper: &str, shadow: &str, n: &str, kb: u64) -> Result<Run, Box<dyn std::error::Error>> {
    let dat = std::env::temp_dir().join(format!("ktrace-bench-{}.dat", std::process::id()));
    let out = Command::new("sh")
        .arg(shadow)
        .args(["record", "-q", "-e", "raw_syscalls", "-b", &kb.to_string(), "-o"])
        .arg(&dat)
        .arg(looper)
        .arg(n)
        .output()?;
    let ns = child_ns(&out.stdout);
    let t = TraceDat::from_bytes(std::fs::read(&dat)?.into())?;
    let trec = t.recording()?;
    let mut lost = lost_in(&trec);
    // trace-cmd stores each CPU's stats; overruns there are losses too.
    for st in &t.cpu_stats {
        lost = lost.max(ktrace_ftrace::CpuStats::parse(st).lost());
    }
    let _ = std::fs::remove_file(&dat);
    Ok((ns, trec.events().count(), lost))
}

/// Two busy loops with no syscalls (a shell's `while :`), one per CPU's worth of competition.
struct Spinners(Vec<Child>);

impl Spinners {
    fn start() -> std::io::Result<Spinners> {
        let spin = || Command::new("sh").args(["-c", "while :; do :; done"]).stdin(Stdio::null()).spawn();
        Ok(Spinners(vec![spin()?, spin()?]))
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The runs of one mode over the rounds: ns/syscall, events, lost and recorder CPU per event.
#[derive(Default)]
struct Runs {
    ns: Vec<f64>,
    events: Vec<usize>,
    lost: u64,
    cpu: Vec<f64>,
}

impl Runs {
    fn add(&mut self, (ns, events, lost): Run, cpu: f64) {
        self.ns.push(ns);
        self.events.push(events);
        self.lost = self.lost.max(lost);
        self.cpu.push(cpu);
    }

    fn ns(&self) -> f64 {
        median(&self.ns)
    }

    fn cpu(&self) -> f64 {
        median(&self.cpu)
    }

    fn spread(&self) -> String {
        self.ns.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join(" ")
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let (looper, shadow) = (a.get(1).ok_or("GETPPID_LOOP")?, a.get(2).ok_or("SHADOW_SCRIPT")?);
    let n = a.get(3).cloned().unwrap_or_else(|| "2000000".into());
    let kb: u64 = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(1408);
    let rounds: usize = a.get(5).and_then(|s| s.parse().ok()).unwrap_or(5);

    // One recorder alone, e.g. under `perf record -a`: FTRACE_RECORD_ONLY=splice|mapped.
    if let Ok(only) = std::env::var("FTRACE_RECORD_ONLY") {
        let how = if only == "mapped" { How::Mapped } else { How::Default };
        for _ in 0..rounds {
            let ((ns, events, lost), cpu) = ours(looper, &n, kb, how)?;
            println!("{only}: {ns:.1} ns/syscall, {events} events, {lost} lost, {cpu:.1} ns recorder CPU per event");
        }
        return Ok(());
    }
    // Interleaved rounds (the order turning each round), medians: the host's noise moves a
    // single run by ±20%, more than the differences measured.
    let (mut untraced, mut k, mut m, mut t, mut kb_, mut tb) =
        (Runs::default(), Runs::default(), Runs::default(), Runs::default(), Runs::default(), Runs::default());
    for round in 0..rounds {
        untraced.add((child_ns(&Command::new(looper).arg(&n).output()?.stdout), 0, 0), 0.0);
        // None: trace-cmd; Some(how): ours.
        let mut order = [None, Some(How::Default), Some(How::Mapped)];
        order.rotate_left(round % 3);
        for mode in order {
            match mode {
                None => t.add(tracecmd(looper, shadow, &n, kb)?, 0.0),
                Some(how) => {
                    let (r, c) = ours(looper, &n, kb, how)?;
                    if how == How::Default { k.add(r, c) } else { m.add(r, c) }
                }
            }
        }
        let spinners = Spinners::start()?;
        if round % 2 == 0 {
            let (r, c) = ours(looper, &n, kb, How::Default)?;
            kb_.add(r, c);
            tb.add(tracecmd(looper, shadow, &n, kb)?, 0.0);
        } else {
            tb.add(tracecmd(looper, shadow, &n, kb)?, 0.0);
            let (r, c) = ours(looper, &n, kb, How::Default)?;
            kb_.add(r, c);
        }
        drop(spinners);
    }
    println!(
        "{rounds} interleaved rounds, medians; buffer {kb} KiB per CPU; {n} getppid; events per run: ktrace {:?}, trace-cmd {:?}",
        k.events, t.events
    );
    println!(
        "ns per run: ktrace {}; trace-cmd {}; busy: ktrace {}; trace-cmd {}",
        k.spread(),
        t.spread(),
        kb_.spread(),
        tb.spread()
    );
    println!("ktrace recorder CPU per event: {:.1} ns, busy {:.1} ns", k.cpu(), kb_.cpu());
    println!(
        "ktrace through the mapped ring (Recorder::start_mapped): {:.1} ns, {} lost, {:.1} ns CPU per event",
        m.ns(),
        m.lost,
        m.cpu()
    );
    println!(
        "RESULT ftrace-record untraced_ns={:.1} ktrace_ns={:.1} tracecmd_ns={:.1} ktrace_lost={} tracecmd_lost={} ktrace_busy_ns={:.1} tracecmd_busy_ns={:.1} ktrace_busy_lost={} tracecmd_busy_lost={} ktrace_cpu_ns_per_event={:.1} ktrace_busy_cpu_ns_per_event={:.1} ktrace_mapped_ns={:.1} ktrace_mapped_lost={} ktrace_mapped_cpu_ns_per_event={:.1}",
        untraced.ns(),
        k.ns(),
        t.ns(),
        k.lost.max(kb_.lost),
        t.lost.max(tb.lost),
        kb_.ns(),
        tb.ns(),
        kb_.lost,
        tb.lost,
        k.cpu(),
        kb_.cpu(),
        m.ns(),
        m.lost,
        m.cpu(),
    );
    Ok(())
}
