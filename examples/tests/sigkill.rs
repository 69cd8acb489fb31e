//! Kernel state is removed when its owner dies by SIGKILL: `syscount`, `record`, `probe`,
//! `biolatency --blk` and `getdelays -m` killed ~0.5 s into a long run leave, within 1 s, no
//! instance or probe of theirs, no `blk` tracer, option or device enable, and `task_delayacct` as it
//! was; a second run succeeds. Two `getdelays -m` at once leave `task_delayacct` as before in either
//! exit order, and a tracer in a pid namespace of its own and tracers on the host do not disturb
//! each other. (Uses the global tracer and sysctl: run under `flock /tmp/ktrace-live.lock`.)
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::root;
use ktrace_testing::{Skip, skip};

const TRACING: &str = "/sys/kernel/tracing";
const DELAYACCT: &str = "/proc/sys/kernel/task_delayacct";

fn exe(tool: &str) -> &'static str {
    match tool {
        "syscount" => env!("CARGO_BIN_EXE_syscount"),
        "record" => env!("CARGO_BIN_EXE_record"),
        "probe" => env!("CARGO_BIN_EXE_probe"),
        "biolatency" => env!("CARGO_BIN_EXE_biolatency"),
        "getdelays" => env!("CARGO_BIN_EXE_getdelays"),
        "timeline" => env!("CARGO_BIN_EXE_timeline"),
        _ => panic!("{tool}"),
    }
}

fn spawn(tool: &str, args: &[&str]) -> Child {
    let dir = std::env::temp_dir();
    Command::new(exe(tool)).args(args).current_dir(dir).stdout(Stdio::null()).spawn().unwrap()
}

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default().trim().to_owned()
}

/// Instances and probe groups named after `pid` (`ktrace_<pid>_…`).
fn state_of(pid: u32) -> Vec<String> {
    let me = format!("ktrace_{pid}_");
    let mut v: Vec<String> = std::fs::read_dir(Path::new(TRACING).join("instances"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&me))
        .collect();
    for f in ["uprobe_events", "kprobe_events", "dynamic_events"] {
        let text = read(&format!("{TRACING}/{f}"));
        v.extend(text.lines().filter(|l| l.contains(&format!(":{me}"))).map(str::to_owned));
    }
    v
}

fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `tool`, waits until `ready`, kills it with SIGKILL ~0.5 s in, then asserts its
/// instances and probes, and whatever `clean` checks, are gone within 1 s.
fn kill_and_check(tool: &str, args: &[&str], ready: impl Fn(u32) -> bool, clean: impl Fn() -> bool) {
    let mut child = spawn(tool, args);
    let pid = child.id();
    wait_for(&format!("{tool} set up"), Duration::from_secs(10), || ready(pid));
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let t0 = Instant::now();
    wait_for(&format!("{tool} cleaned after SIGKILL: {:?}", state_of(pid)), Duration::from_secs(1), || {
        state_of(pid).is_empty() && clean()
    });
    eprintln!("{tool}: cleaned {:?} after SIGKILL", t0.elapsed());
}

fn rerun(tool: &str, args: &[&str]) {
    let out = Command::new(exe(tool)).args(args).current_dir(std::env::temp_dir()).output().unwrap();
    assert!(out.status.success(), "{tool} {args:?} after a SIGKILL: {}", String::from_utf8_lossy(&out.stderr));
}

fn has_state(pid: u32) -> bool {
    !state_of(pid).is_empty()
}

#[test]
fn syscount_and_record_killed_leave_no_instance() {
    if !root("syscount_and_record_killed_leave_no_instance") {
        return;
    }
    kill_and_check("syscount", &["-d", "60"], has_state, || true);
    rerun("syscount", &["-d", "0.2"]);
    // Ctrl-C reaches the whole foreground process group: not the guardian (a group of its own).
    let mut child =
        Command::new(exe("syscount")).args(["-d", "60"]).stdout(Stdio::null()).process_group(0).spawn().unwrap();
    let pid = child.id();
    wait_for("syscount set up", Duration::from_secs(10), || has_state(pid));
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _ = child.kill();
    child.wait().unwrap();
    wait_for("syscount cleaned after SIGINT to its group", Duration::from_secs(1), || !has_state(pid));
    let out = std::env::temp_dir().join(format!("ktrace-sigkill-{}.dat", std::process::id()));
    let out = out.to_str().unwrap();
    kill_and_check("record", &["-e", "sched:sched_switch", "-o", out, "-d", "60"], has_state, || true);
    rerun("record", &["-e", "sched:sched_switch", "-o", out, "-d", "0.2"]);
    let _ = std::fs::remove_file(out);
}

/// A session (`timeline -- CMD`: ftrace instance, ptrace, perf) killed leaves no instance, and
/// its traced command dies with it (PTRACE_O_EXITKILL).
#[test]
fn timeline_killed_leaves_no_instance_and_no_command() {
    if !root("timeline_killed_leaves_no_instance_and_no_command") {
        return;
    }
    kill_and_check("timeline", &["--", "sleep", "612"], has_state, || {
        !std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == b"sleep\x00612\x00"))
    });
    rerun("timeline", &["--", "true"]);
}

#[test]
fn probe_killed_leaves_no_probe() {
    if !root("probe_killed_leaves_no_probe") {
        return;
    }
    if !Path::new(TRACING).join("uprobe_events").exists() {
        return skip("probe_killed_leaves_no_probe", Skip::KernelLacks { feature: "uprobes", why: "no uprobe_events" });
    }
    let spec = "u:/bin/bash:readline";
    let probed = |pid: u32| state_of(pid).iter().any(|l| l.contains("/bin/bash:"));
    kill_and_check("probe", &["-d", "60", spec], probed, || true);
    rerun("probe", &["-d", "0.2", spec]);
}

#[test]
fn biolatency_blk_killed_puts_the_tracer_back() {
    blk_killed_puts_back(
        "biolatency_blk_killed_puts_the_tracer_back",
        "biolatency",
        &["-d", "60", "--blk", "DEV"],
        &["-d", "0.2", "--blk", "DEV"],
    );
}

/// A session with the blk tracer (`timeline --blk DEV`) killed: its guardian puts back the
/// tracer, the top-level `trace_clock` it set to `mono`, the `bin` option and the device enable.
#[test]
fn timeline_blk_killed_puts_the_tracer_and_clock_back() {
    let test = "timeline_blk_killed_puts_the_tracer_and_clock_back";
    blk_killed_puts_back(
        test,
        "timeline",
        &["--blk", "DEV", "--exits", "--", "sleep", "613"],
        &["--blk", "DEV", "--", "true"],
    );
}

/// `tool args` (`DEV` standing for a loop device's name) killed ~0.5 s after it set the blk tracer
/// up leaves the global tracer, `trace_clock`, the `bin` option, `tracing_on`,
/// `set_event_notrace_pid` and the device's enable as they were; then `tool rerun_args` succeeds (one such test at a time).
fn blk_killed_puts_back(test: &str, tool: &str, args: &[&str], rerun_args: &[&str]) {
    // The blk tracer is global: one test of it at a time.
    static BLK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = BLK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(dev) = common::loop_device(test, 8 << 20) else { return };
    let name = dev.name();
    let with_dev =
        |a: &[&str]| a.iter().map(|s| if *s == "DEV" { name.clone() } else { (*s).to_owned() }).collect::<Vec<_>>();
    let enable = format!("/sys/block/{name}/trace/enable");
    let (bin, clock) = (read(&format!("{TRACING}/options/bin")), read(&format!("{TRACING}/trace_clock")));
    // The recorder's global instance turns tracing_on off and back on: put back too (and
    // set_event_notrace_pid, which nothing should change).
    let (on, notrace) = (read(&format!("{TRACING}/tracing_on")), read(&format!("{TRACING}/set_event_notrace_pid")));
    assert_eq!(read(&format!("{TRACING}/current_tracer")), "nop", "the global tracer is busy");
    let ready = |_| read(&format!("{TRACING}/current_tracer")) == "blk" && read(&enable) == "1";
    let clean = || {
        read(&format!("{TRACING}/current_tracer")) == "nop"
            && read(&enable) == "0"
            && read(&format!("{TRACING}/options/bin")) == bin
            && read(&format!("{TRACING}/trace_clock")) == clock
            && read(&format!("{TRACING}/tracing_on")) == on
            && read(&format!("{TRACING}/set_event_notrace_pid")) == notrace
    };
    let (args, rerun_args) = (with_dev(args), with_dev(rerun_args));
    kill_and_check(tool, &args.iter().map(String::as_str).collect::<Vec<_>>(), ready, clean);
    rerun(tool, &rerun_args.iter().map(String::as_str).collect::<Vec<_>>());
    dev.close().unwrap();
}

/// Runs `f` with `task_delayacct` at 0, then puts it back.
fn with_delayacct_off(f: impl FnOnce()) {
    let before = read(DELAYACCT);
    std::fs::write(DELAYACCT, "0").unwrap();
    f();
    std::fs::write(DELAYACCT, before).unwrap();
}

#[test]
fn getdelays_killed_puts_task_delayacct_back() {
    if !root("getdelays_killed_puts_task_delayacct_back") {
        return;
    }
    if !Path::new(DELAYACCT).exists() {
        return skip(
            "getdelays_killed_puts_task_delayacct_back",
            Skip::KernelLacks { feature: "task_delayacct sysctl", why: "before 5.14" },
        );
    }
    with_delayacct_off(|| {
        kill_and_check("getdelays", &["-m", "60"], |_| read(DELAYACCT) == "1", || read(DELAYACCT) == "0");
        rerun("getdelays", &["-m", "0.2"]);
        assert_eq!(read(DELAYACCT), "0");
        // Two at once, killed first-started first and last-started first: on while either lives.
        for first_dies_first in [true, false] {
            let mut a = spawn("getdelays", &["-m", "60"]);
            wait_for("getdelays a on", Duration::from_secs(10), || read(DELAYACCT) == "1");
            let mut b = spawn("getdelays", &["-m", "60"]);
            std::thread::sleep(Duration::from_millis(500));
            let (x, y) = if first_dies_first { (&mut a, &mut b) } else { (&mut b, &mut a) };
            x.kill().unwrap();
            x.wait().unwrap();
            std::thread::sleep(Duration::from_millis(500));
            assert_eq!(read(DELAYACCT), "1", "turned off under a live holder (first_dies_first={first_dies_first})");
            y.kill().unwrap();
            y.wait().unwrap();
            wait_for("task_delayacct back to 0", Duration::from_secs(1), || read(DELAYACCT) == "0");
        }
        // One ends normally while the other lives, then the other is killed.
        let mut a = spawn("getdelays", &["-m", "60"]);
        wait_for("getdelays on", Duration::from_secs(10), || read(DELAYACCT) == "1");
        rerun("getdelays", &["-m", "0.3"]);
        assert_eq!(read(DELAYACCT), "1", "a finished getdelays turned it off under a live one");
        a.kill().unwrap();
        a.wait().unwrap();
        wait_for("task_delayacct back to 0", Duration::from_secs(1), || read(DELAYACCT) == "0");
    });
}

/// syscount's `total,N` line (`--csv`).
fn total(out: &std::process::Output) -> u64 {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("total,")).unwrap().trim().parse().unwrap()
}

/// The pid namespace `unshare` (`pid`) made, as instance names render it (hex inode).
fn ns_of(pid: u32) -> String {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata("/proc/self/ns/pid").unwrap().ino();
    let p = format!("/proc/{pid}/ns/pid_for_children");
    let ino = || std::fs::metadata(&p).map_or(ours, |m| m.ino());
    // Ours until `unshare` has called unshare(CLONE_NEWPID).
    wait_for("unshare's namespace", Duration::from_secs(5), || ino() != ours);
    format!("{:x}", ino())
}

/// Instances whose owner is in pid namespace `ns` (`ktrace_<pid>_<start>_<ns>_<n>`).
fn instances_in(ns: &str) -> Vec<String> {
    std::fs::read_dir(Path::new(TRACING).join("instances"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ktrace_") && n.split('_').nth(3) == Some(ns))
        .collect()
}

#[test]
fn a_tracer_in_a_pid_namespace_and_one_on_the_host_leave_each_other_alone() {
    if !root("a_tracer_in_a_pid_namespace_and_one_on_the_host_leave_each_other_alone") {
        return;
    }
    let sc = exe("syscount");
    // In the namespace, syscount is not pid 1 (the shell is, and a few processes run first): its
    // bare pid means nothing on the host, where the reapers run.
    let script = format!("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true; done; {sc} --csv -d 3");
    let ns = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "/bin/sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ns_id = ns_of(ns.id());
    wait_for("the namespaced syscount's instance", Duration::from_secs(10), || !instances_in(&ns_id).is_empty());
    let theirs = instances_in(&ns_id);
    // Host tracers start (each runs the reapers) and finish while the namespaced one runs.
    for _ in 0..3 {
        let host = total(&Command::new(sc).args(["--csv", "-d", "0.2"]).output().unwrap());
        assert!(host > 0);
        let now = instances_in(&ns_id);
        assert!(theirs.iter().all(|t| now.contains(t)), "a host reaper removed {theirs:?} (left {now:?})");
    }
    let out = ns.wait_with_output().unwrap();
    assert!(total(&out) > 1000, "the namespaced syscount was cut short: {}", String::from_utf8_lossy(&out.stdout));
    wait_for("the namespaced instance removed", Duration::from_secs(1), || instances_in(&ns_id).is_empty());
}

#[test]
fn a_killed_pid_namespace_is_reaped_from_the_host() {
    if !root("a_killed_pid_namespace_is_reaped_from_the_host") {
        return;
    }
    // SIGKILL to `unshare` kills the namespace's init, so every process in it dies at once,
    // the tracer's guardian too: the next session's reaper on the host removes what it left.
    let sc = exe("syscount");
    let mut ns = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "/bin/sh", "-c", &format!("{sc} -d 60")])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let ns_id = ns_of(ns.id());
    wait_for("the namespaced syscount's instance", Duration::from_secs(10), || !instances_in(&ns_id).is_empty());
    std::thread::sleep(Duration::from_millis(500));
    ns.kill().unwrap();
    ns.wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    rerun("syscount", &["-d", "0.1"]);
    wait_for("the dead namespace's instance reaped", Duration::from_secs(1), || instances_in(&ns_id).is_empty());
}
