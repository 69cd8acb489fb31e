//! SIGINT and SIGTERM stop a session gracefully: every example that changes kernel state, started
//! for ten minutes and signalled after 0.5 s, exits 0 within a second (`profile`: 15 s, as it
//! symbolizes what it sampled) (as `perf stat` does after
//! Ctrl-C: it prints, then exits 0), having printed its output, and leaves no `ktrace_<pid>_*`
//! instance, no probe of its group, no non-nop tracer, no blk enable and no changed
//! `kernel.task_delayacct` behind; a second run then succeeds.
//!
//! Uses global kernel state (the blk tracer, a loop device, the delay-accounting sysctl): run it
//! under `flock /tmp/ktrace-live.lock`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::root;
use ktrace_testing::{Skip, skip};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const TRACING: &str = "/sys/kernel/tracing";
const DELAYACCT: &str = "/proc/sys/kernel/task_delayacct";

/// One test at a time: they check global kernel state (the tracer, a sysctl) another would change.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ktrace-signals-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn spawn(exe: &str, args: &[String]) -> Child {
    Command::new(exe).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Kernel state a run of `pid` could leave: its instances and probes, the global tracer, blk
/// enables, the delay-accounting sysctl.
fn leftovers(pid: u32, delayacct_before: &str) -> Vec<String> {
    let mut left = Vec::new();
    for e in std::fs::read_dir(Path::new(TRACING).join("instances")).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!("ktrace_{pid}_")) {
            left.push(format!("instance {n}"));
        }
    }
    for f in ["uprobe_events", "kprobe_events", "dynamic_events"] {
        let text = std::fs::read_to_string(Path::new(TRACING).join(f)).unwrap_or_default();
        // Its probe groups: `ktrace_<pid>` or `ktrace_<pid>_<n>`.
        let mine = |l: &&str| l.contains(&format!("ktrace_{pid}/")) || l.contains(&format!("ktrace_{pid}_"));
        left.extend(text.lines().filter(mine).map(|l| format!("{f}: {l}")));
    }
    let tracer = std::fs::read_to_string(Path::new(TRACING).join("current_tracer")).unwrap_or_default();
    if tracer.trim() != "nop" {
        left.push(format!("current_tracer {}", tracer.trim()));
    }
    for e in std::fs::read_dir("/sys/block").unwrap().flatten() {
        let p = e.path().join("trace/enable");
        if std::fs::read_to_string(&p).is_ok_and(|v| v.trim() == "1") {
            left.push(format!("{} = 1", p.display()));
        }
    }
    let now = std::fs::read_to_string(DELAYACCT).unwrap_or_default();
    if now.trim() != delayacct_before.trim() {
        left.push(format!("kernel.task_delayacct {} (was {})", now.trim(), delayacct_before.trim()));
    }
    left
}

/// Starts `exe ARGS` (with a long duration), sends `sig` after 0.5 s, and checks that it exits 0
/// within 1 s, printed what `printed` finds in its stdout + stderr, and left nothing behind; then
/// that a second (short) run succeeds. Returns false when the tool said the kernel lacks what
/// it needs (exit 1 before the signal: functrace under lockdown).
fn stop_by(sig: Signal, exe: &str, long: &[String], short: &[String], printed: &str, budget: Duration) -> bool {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let before = std::fs::read_to_string(DELAYACCT).unwrap_or_default();
    let mut child = spawn(exe, long);
    std::thread::sleep(Duration::from_millis(500));
    if let Some(s) = child.try_wait().unwrap() {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(s.code(), Some(1), "{exe} {long:?} ended before the signal: {s}: {err}");
        return false;
    }
    let pid = child.id();
    kill(Pid::from_raw(pid as i32), sig).unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if sent.elapsed() > budget {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{exe} {long:?} still ran {budget:?} after {sig}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(status.success(), "{exe} {long:?} after {sig}: {status}\n{text}");
    assert!(text.contains(printed), "{exe} {long:?} after {sig} did not print {printed:?}:\n{text}");
    let left = leftovers(pid, &before);
    assert!(left.is_empty(), "{exe} {long:?} after {sig} left {left:?}");
    let again = Command::new(exe).args(short).output().unwrap();
    assert!(again.status.success(), "{exe} {short:?} after a {sig}: {}", String::from_utf8_lossy(&again.stderr));
    true
}

/// The C library the probe tests put uprobes in.
fn libc_path() -> &'static str {
    ["/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("/lib/libc.so.6")
}

/// Each tool, by SIGINT and by SIGTERM, given 1 s to print and exit; `V` in `a` is the duration
/// (600 s, then 0.2 s for the second run).
fn both(exe: &str, a: &[&str], printed: &str) -> bool {
    both_within(exe, a, printed, Duration::from_secs(1))
}

fn both_within(exe: &str, a: &[&str], printed: &str, budget: Duration) -> bool {
    let with = |v: &str| -> Vec<String> { a.iter().map(|w| if *w == "V" { v } else { w }.to_owned()).collect() };
    let (long, short) = (with("600"), with("0.2"));
    stop_by(Signal::SIGINT, exe, &long, &short, printed, budget)
        && stop_by(Signal::SIGTERM, exe, &long, &short, printed, budget)
}

/// [`both`] for a tool that needs only root and tracefs.
fn as_root_both(test: &str, exe: &str, a: &[&str], printed: &str) {
    if root(test) {
        both(exe, a, printed);
    }
}

#[test]
fn syscount_stops_on_signals() {
    as_root_both("syscount_stops_on_signals", env!("CARGO_BIN_EXE_syscount"), &["-d", "V"], "(total)");
}

#[test]
fn record_stops_on_signals() {
    if !root("record_stops_on_signals") {
        return;
    }
    let out = scratch("record").join("trace.dat");
    let o = out.to_str().unwrap();
    both(env!("CARGO_BIN_EXE_record"), &["-e", "sched:sched_switch", "-o", o, "-d", "V"], "written to");
    assert!(out.metadata().unwrap().len() > 0);
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn runqlat_stops_on_signals() {
    as_root_both("runqlat_stops_on_signals", env!("CARGO_BIN_EXE_runqlat"), &["-d", "V"], "run queue latency");
}

#[test]
fn biolatency_stops_on_signals() {
    as_root_both("biolatency_stops_on_signals", env!("CARGO_BIN_EXE_biolatency"), &["-d", "V"], "IO");
}

#[test]
fn biolatency_blk_stops_on_signals() {
    let Some(dev) = common::loop_device("biolatency_blk_stops_on_signals", 16 << 20) else { return };
    let name = dev.name();
    both(env!("CARGO_BIN_EXE_biolatency"), &["--blk", &name, "-d", "V"], "merge ratio");
    dev.close().unwrap();
}

#[test]
fn probe_stops_on_signals() {
    if !root("probe_stops_on_signals") {
        return;
    }
    if !Path::new(TRACING).join("uprobe_events").exists() {
        skip("probe_stops_on_signals", Skip::KernelLacks { feature: "uprobes", why: "no uprobe_events" });
        return;
    }
    // A uprobe on a libc function seldom called: few hits, but a probe, its group and an instance.
    let bin = format!("u:{}:getppid", libc_path());
    both(env!("CARGO_BIN_EXE_probe"), &["-d", "V", &bin], "probe: tracing 1 probe(s)");
}

#[test]
fn getdelays_monitor_stops_on_signals() {
    if root("getdelays_monitor_stops_on_signals") && Path::new(DELAYACCT).exists() {
        both(env!("CARGO_BIN_EXE_getdelays"), &["-m", "V"], "blkio ns");
    }
}

#[test]
fn profile_stops_on_signals() {
    if !root("profile_stops_on_signals") {
        return;
    }
    let out = scratch("profile").join("p.svg");
    let o = out.to_str().unwrap();
    // Sampling stops at once; symbolizing every sampled binary for the flame graph takes longer
    // than a second in a debug build (rustc's, when cargo builds in parallel).
    both_within(env!("CARGO_BIN_EXE_profile"), &["-a", "-o", o, "-d", "V"], "profile:", Duration::from_secs(15));
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn top_stops_on_signals() {
    if !root("top_stops_on_signals") {
        return;
    }
    both(env!("CARGO_BIN_EXE_top"), &["-n", "2", "-d", "V"], "");
}

/// With a traced command (`syscount -- CMD`, `timeline -- CMD`): Ctrl-C (SIGINT to the whole foreground group) ends the command, and the
/// tool prints and ends as the command did (killed by SIGINT); a SIGTERM to the tool alone is
/// passed on to the command, with the same ending. Nothing is left behind either way.
#[test]
fn a_traced_command_ends_with_the_session() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    if !root("a_traced_command_ends_with_the_session") {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tools = [(env!("CARGO_BIN_EXE_syscount"), "(total)"), (env!("CARGO_BIN_EXE_timeline"), "+++ killed by")];
    for (exe, printed) in tools {
        for (sig, group) in [(Signal::SIGINT, true), (Signal::SIGTERM, false)] {
            let before = std::fs::read_to_string(DELAYACCT).unwrap_or_default();
            let child = Command::new(exe)
                .args(["--", "sleep", "600"])
                .process_group(0)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pid = child.id() as i32;
            std::thread::sleep(Duration::from_millis(500));
            kill(Pid::from_raw(if group { -pid } else { pid }), sig).unwrap();
            let sent = Instant::now();
            let out = child.wait_with_output().unwrap();
            assert!(sent.elapsed() < Duration::from_secs(2), "{exe} took {:?} after {sig}", sent.elapsed());
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.signal(), Some(sig as i32), "{exe} {sig}: {:?} {text}", out.status);
            assert!(text.contains(printed), "{exe} printed no {printed:?} after {sig}: {text}");
            let left = leftovers(pid as u32, &before);
            assert!(left.is_empty(), "{exe} -- sleep after {sig} left {left:?}");
        }
    }
}
