//! Losses are items in every stream, and the tools print them: a tool stopped (SIGSTOP) for 5 s
//! under load reports, in its loss line, exactly as many dropped events as the kernel's counters of
//! its instance (`per_cpu/cpuN/stats`: overrun + commit overrun + dropped events), which the tool
//! prints beside its own sum (`TOOL: the kernel dropped N events (…); its counters say K`); and K is
//! at least what the test read from the instance's stats while the tool was stopped.
//!
//! Covered: `syscount` (raw_syscalls, a `dd bs=1` load), `probe` (a uprobe on libc's `getppid`
//! called in a loop), `biolatency` (block tracepoints, direct writes to a loop device). Uses a loop
//! device: run it under `flock /tmp/ktrace-live.lock`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::root;
use ktrace_testing::{Skip, skip};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const INSTANCES: &str = "/sys/kernel/tracing/instances";

/// One test at a time: they check global kernel state (the tracer, a sysctl) another would change.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The instances of tool `pid` (`ktrace_<pid>_*`).
fn instances(pid: u32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(INSTANCES)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("ktrace_{pid}_")))
        .map(|e| e.path())
        .collect()
}

/// What the kernel's counters of tool `pid`'s instances say was lost so far.
fn kernel_lost(pid: u32) -> u64 {
    let mut n = 0;
    for inst in instances(pid) {
        for cpu in std::fs::read_dir(inst.join("per_cpu")).unwrap().flatten() {
            let stats = std::fs::read_to_string(cpu.path().join("stats")).unwrap_or_default();
            n += ktrace_ftrace::CpuStats::parse(&stats).lost();
        }
    }
    n
}

/// The two numbers of the tool's loss line: (the stream's sum, the kernel's counters).
fn loss_line(tool: &str, stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(&format!("{tool}: the kernel dropped ")))
        .unwrap_or_else(|| panic!("{tool} printed no loss line:\n{stderr}"));
    let num = |after: &str| -> u64 {
        let rest = &line[line.find(after).unwrap_or_else(|| panic!("{line}")) + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    (num("the kernel dropped "), num("its counters say "))
}

/// Runs `exe ARGS` (a short trace) with `load` running, stops it for 5 s once its instance traces,
/// and checks its loss line against the kernel's counters.
/// `load` (a shell script) starts first, alone (one test at a time, so no other test's load takes
/// the CPUs), and runs for 0.3 s before the tool.
fn stopped_under_load(tool: &str, exe: &str, args: &[&str], load: &str) {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let load = sh(load);
    std::thread::sleep(Duration::from_millis(300));
    let child = Command::new(exe).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let t0 = Instant::now();
    while !instances(pid).iter().any(|i| std::fs::read_to_string(i.join("tracing_on")).is_ok_and(|v| v.trim() == "1")) {
        assert!(t0.elapsed() < Duration::from_secs(10), "{tool} never started tracing");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let p = Pid::from_raw(pid as i32);
    kill(p, Signal::SIGSTOP).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let while_stopped = kernel_lost(pid);
    kill(p, Signal::SIGCONT).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(load);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool}: {}\n{stderr}", out.status);
    assert!(while_stopped > 0, "the load made no overruns in 5 s:\n{stderr}");
    let (stream, kernel) = loss_line(tool, &stderr);
    eprintln!("{tool}: {while_stopped} lost while stopped; the stream says {stream}, the counters {kernel}");
    assert_eq!(stream, kernel, "{tool}: the stream's losses differ from the kernel's counters:\n{stderr}");
    assert!(kernel >= while_stopped, "{tool}: fewer losses than the kernel had counted while it was stopped");
}

/// A load running in its own process group, all of it killed when dropped (a failing test too).
struct Load(Child);

impl Drop for Load {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(-(self.0.id() as i32)), Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// `script` run by sh as a [`Load`].
fn sh(script: &str) -> Load {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new("sh");
    c.args(["-c", script]).process_group(0).stdout(Stdio::null()).stderr(Stdio::null());
    Load(c.spawn().unwrap())
}

#[test]
fn syscount_reports_every_loss() {
    if root("syscount_reports_every_loss") {
        let load = "exec dd if=/dev/zero of=/dev/null bs=1 count=1000000000";
        stopped_under_load("syscount", env!("CARGO_BIN_EXE_syscount"), &["-d", "1"], load);
    }
}

#[test]
fn probe_reports_every_loss() {
    if !root("probe_reports_every_loss") {
        return;
    }
    if !Path::new("/sys/kernel/tracing/uprobe_events").exists() {
        skip("probe_reports_every_loss", Skip::KernelLacks { feature: "uprobes", why: "no uprobe_events" });
        return;
    }
    let Some(libc) = ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        skip("probe_reports_every_loss", Skip::Environment("no libc.so.6 found"));
        return;
    };
    // perl's getppid calls libc's: a hot function of a small program.
    let load = "exec perl -e 'getppid() while 1'";
    let spec = format!("u:{libc}:getppid");
    stopped_under_load("probe", env!("CARGO_BIN_EXE_probe"), &["-d", "1", &spec], load);
}

#[test]
fn biolatency_reports_every_loss() {
    let Some(dev) = common::loop_device("biolatency_reports_every_loss", 16 << 20) else { return };
    let path = dev.path().display().to_string();
    // Two writers of 512-byte direct IOs: many requests for few bytes.
    let dd = format!("while :; do dd if=/dev/zero of={path} bs=512 count=32768 oflag=direct 2>/dev/null; done");
    stopped_under_load("biolatency", env!("CARGO_BIN_EXE_biolatency"), &["-d", "1"], &format!("{dd} & {dd}"));
    dev.close().unwrap();
}
