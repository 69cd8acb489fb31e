//! Live: a CPU-bound child profiled at a known frequency gives the expected sample count (±10% of
//! frequency × its CPU time) and its hot function on top after symbolization; `perf record` +
//! `perf report` on the same program agree on the top symbol; the flame graph SVG names it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::io::Write;
use std::process::{Command, Stdio};

use ktrace_sample::counters::{Counters, Ev};
use ktrace_sample::profile::{Profiler, flamegraph};
use ktrace_testing::{Skip, installed, root, skip};

const SRC: &str = r#"
#include <stdio.h>
__attribute__((noinline)) unsigned long ktrace_hot(unsigned long n) {
    unsigned long x = 0;
    for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + i;
    return x;
}
int main(void) {
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    unsigned long r = 0;
    for (unsigned long k = 0; k < 600; k++) r += ktrace_hot(1000000 + k);
    printf("%lu\n", r);
    return 0;
}
"#;

/// As root, the program built (`hot`) and started, waiting for a line on stdin to spin; or the skip
/// of `test` recorded.
fn start_hot(test: &str) -> Option<(std::path::PathBuf, std::process::Child)> {
    if !root(test) {
        return None;
    }
    let bin = build(test)?;
    let child = Command::new(&bin).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    Some((bin, child))
}

fn build(test: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ktrace-profile-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hot.c"), SRC).unwrap();
    let bin = dir.join("hot");
    match Command::new("gcc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&bin)
        .arg(dir.join("hot.c"))
        .status()
    {
        Ok(s) if s.success() => Some(bin),
        _ => {
            skip(test, Skip::Environment("gcc is needed to build the profiled program"));
            None
        }
    }
}

#[test]
fn profile_counts_samples_and_finds_the_hot_function() {
    const T: &str = "profile_counts_samples_and_finds_the_hot_function";
    let Some((bin, mut child)) = start_hot(T) else { return };
    const FREQ: u64 = 997;
    let pid = child.id() as i32;
    let mut prof = Profiler::task(pid, FREQ).unwrap();
    let mut clock = Counters::task(pid, &[Ev::TaskClock], true).unwrap();
    clock.enable().unwrap();
    // Its mappings exist already (it is blocked in fgets): read them before it can exit.
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    while child.try_wait().unwrap().is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cpu_ns = clock.read().unwrap()[0].scaled();
    let profile = prof.finish();
    let expected = FREQ as f64 * cpu_ns as f64 / 1e9;
    let got = profile.samples.len() as f64;
    assert!((got - expected).abs() <= expected * 0.10, "{got} samples, expected {expected:.0} (±10%)");
    assert_eq!(profile.lost, 0);

    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut sym = profile.symbolizer(&kallsyms);
    for l in maps.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let (Some(r), Some(off), Some(p)) = (w.first(), w.get(2), w.get(5))
            && p.starts_with('/')
            && let Some((a, b)) = r.split_once('-')
        {
            sym.add_mapping(
                pid,
                ktrace_sample::symbolize::Mapping {
                    start: u64::from_str_radix(a, 16).unwrap(),
                    end: u64::from_str_radix(b, 16).unwrap(),
                    pgoff: u64::from_str_radix(off, 16).unwrap(),
                    path: (*p).to_owned(),
                },
            );
        }
    }
    let top = profile.top_symbols(&mut sym);
    assert_eq!(top[0].0, "ktrace_hot", "top: {:?}", &top[..top.len().min(5)]);
    assert!(top[0].1 as f64 > got * 0.8);

    let folded = profile.folded(&mut sym);
    // Leaf frames need no frame pointer, so the caller above the leaf may be missing: check the
    // comm and the leaf.
    assert!(folded.keys().any(|k| k.starts_with("hot;") && k.ends_with(";ktrace_hot")), "{folded:?}");
    let mut svg = Vec::new();
    flamegraph(&folded, "hot", &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("<svg") && svg.contains("ktrace_hot"));

    // perf agrees on the top symbol.
    if !installed(T, &["perf", "--version"], "linux-perf") {
        return;
    }
    let data = bin.with_extension("perf.data");
    let rec = Command::new("sh")
        .arg("-c")
        .arg(format!("echo go | perf record -q -F {FREQ} -g -o {} {} >/dev/null 2>&1", data.display(), bin.display()))
        .status()
        .unwrap();
    assert!(rec.success());
    let rep = Command::new("perf")
        .args(["report", "--stdio", "--no-children", "--sort", "sym", "-q", "-i"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rep.stdout);
    let first = text.lines().find(|l| l.contains('%')).unwrap_or("");
    assert!(first.contains("ktrace_hot"), "perf report's top: {first}");
}

#[test]
fn system_wide_profile_sees_the_spinning_child_and_other_tasks() {
    const T: &str = "system_wide_profile_sees_the_spinning_child_and_other_tasks";
    let Some((_, mut child)) = start_hot(T) else { return };
    let pid = child.id() as i32;
    let mut prof = Profiler::system(499).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    while child.try_wait().unwrap().is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let profile = prof.finish();
    let pids: std::collections::BTreeSet<i32> = profile.samples.iter().map(|s| s.pid).collect();
    let cpus: std::collections::BTreeSet<u32> = profile.samples.iter().map(|s| s.cpu).collect();
    // One ring per CPU; an idle CPU in NOHZ may give no cpu-clock samples, so only ask for some.
    let ncpu = std::thread::available_parallelism().unwrap().get();
    assert!(!cpus.is_empty() && cpus.iter().all(|&c| (c as usize) < ncpu), "samples from CPUs {cpus:?}");
    // System-wide: tasks that are not the child (nor its descendants) are sampled too.
    assert!(pids.contains(&pid) && pids.len() >= 2, "pids {pids:?}");
    // Kernel frames are recorded too (idle and syscalls land in the kernel half).
    assert!(profile.frames.iter().any(|&a| a >= 0xffff_8000_0000_0000), "no kernel addresses");
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut sym = profile.symbolizer(&kallsyms);
    let mut hot = 0;
    let mut mine = 0;
    for s in profile.samples.iter().filter(|s| s.pid == pid) {
        mine += 1;
        hot += usize::from(sym.resolve(pid, s.ip).as_deref() == Some("ktrace_hot"));
    }
    assert!(mine > 100 && hot as f64 > mine as f64 * 0.7, "{hot} of the child's {mine} samples in ktrace_hot");
    assert_eq!(profile.comms.get(&pid).map(String::as_str), Some("hot"));
}

#[test]
fn tracepoint_samples_decode_by_field_name_and_match_perf_stat() {
    const T: &str = "tracepoint_samples_decode_by_field_name_and_match_perf_stat";
    use ktrace_core::{Endian, EventFormat};
    use ktrace_sample::profile::{Options, Rate, Scope, Source};
    if !root(T) {
        return;
    }
    let tfs = ktrace_ftrace::Tracefs::find_or_mount().unwrap();
    let id: u64 = tfs.read("events/raw_syscalls/sys_enter/id").unwrap().trim().parse().unwrap();
    let fmt = EventFormat::parse("raw_syscalls", &tfs.event_format_text("raw_syscalls", "sys_enter").unwrap()).unwrap();
    let nr = fmt.require("id").unwrap();
    let args = fmt.require("args").unwrap();
    const SCRIPT: &str = "import os,sys\nsys.stdin.readline()\nfor _ in range(777): os.getppid()\nos.umask(0o22)";
    let mut child = Command::new("/usr/bin/python3").args(["-c", SCRIPT]).stdin(Stdio::piped()).spawn().unwrap();
    let pid = child.id() as i32;
    let mut o = Options::new(Source::Tracepoint(id), Scope::Task(pid), Rate::Period(1));
    o.callchain = false;
    let prof = Profiler::open(&o).unwrap();
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    child.wait().unwrap();
    let profile = prof.finish();
    assert_eq!((profile.lost, profile.malformed), (0, 0));
    let (mut getppid, mut umask_arg) = (0, None);
    for s in &profile.samples {
        let raw = ktrace_core::RawData::Single(profile.raw_of(s));
        let c = fmt.common();
        assert_eq!(raw.u16(c.type_offset, Endian::NATIVE).unwrap(), id as u16, "common_type");
        assert_eq!(raw.u32(c.pid_offset, Endian::NATIVE).unwrap() as i32, s.tid, "common_pid");
        match nr.i64(raw, Endian::NATIVE).unwrap() {
            110 => getppid += 1,
            95 => umask_arg = Some(args.bytes(raw, Endian::NATIVE).unwrap().u64(0, Endian::NATIVE).unwrap()),
            _ => {}
        }
    }
    assert_eq!(getppid, 777, "{} samples, throttled {}", profile.samples.len(), profile.throttled);
    assert_eq!(umask_arg, Some(0o22), "umask's first argument");
    // perf counts the same workload's getppid calls.
    if !installed(T, &["perf", "--version"], "linux-perf") {
        return;
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo | perf stat -x, -e syscalls:sys_enter_getppid /usr/bin/python3 -c '{SCRIPT}' 2>&1 >/dev/null"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let count: u64 = text.lines().find_map(|l| l.split(',').next()?.trim().parse().ok()).unwrap_or(0);
    assert_eq!(count, getppid, "perf stat said: {text}");
}

#[test]
fn fork_and_exit_records_attribute_children() {
    const T: &str = "fork_and_exit_records_attribute_children";
    if !root(T) {
        return;
    }
    let mut child = Command::new("/bin/sh")
        .args(["-c", "read _; (i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done); /bin/sleep 0.05"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let prof = Profiler::task(pid, 997).unwrap();
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    child.wait().unwrap();
    let p = prof.finish();
    let kids: Vec<i32> = p.forks.iter().filter(|f| f.1 == pid).map(|f| f.0).collect();
    assert!(kids.len() >= 2, "forks {:?}", p.forks);
    for k in &kids {
        assert!(p.exits.iter().any(|e| e.0 == *k), "no exit for {k}");
    }
    // The subshell never execs: it is named and mapped as its parent; the other execs sleep.
    let names: Vec<&str> = kids.iter().filter_map(|k| p.comms.get(k).map(String::as_str)).collect();
    assert!(names.contains(&"sh") && names.contains(&"sleep"), "{names:?}");
    let sub = kids.iter().find(|k| p.comms.get(k).map(String::as_str) == Some("sh")).unwrap();
    assert!(p.mappings.iter().any(|(q, m)| q == sub && m.path.ends_with("sh")), "subshell has no mappings");
    assert!(p.samples.windows(2).all(|w| w[0].time <= w[1].time), "samples not in time order");
    assert!(p.samples.iter().any(|s| s.pid == *sub), "no samples of the subshell's loop");
}
