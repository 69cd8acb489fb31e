//! Live: counters against `perf stat`, user and kernel space, children included, two ways.
//!
//! Same run: `perf stat -p PID` and our `Counters::task` attached to one process held before its
//! exec, then released: both see the very same run, so every count must be equal, context
//! switches and migrations included, and task-clock equal to perf's printed 10 us.
//!
//! Separate runs: `perf stat COMMAND` against `Counters::task_from_exec` on a held child (both
//! count from the execve), each workload seven times under each tool, alternating. Page faults
//! are the same run to run: medians within 2% (forced migrations: medians within 10%, i.e. 2 of
//! 20). Task-clock, context switches and spontaneous migrations differ run to run (the scheduler,
//! and other load on this shared machine), so there the two tools' ranges must overlap.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use ktrace_sample::counters::{Counters, Ev};
use ktrace_testing::{Skip, held, skip};

const EVENTS: [Ev; 4] = [Ev::TaskClock, Ev::ContextSwitches, Ev::CpuMigrations, Ev::PageFaults];
const NAMES: [&str; 4] = ["task-clock", "context-switches", "cpu-migrations", "page-faults"];

/// The workloads compete for the CPUs (migrations, switches): one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Waits until a [`held`] shell has started and blocks reading its stdin, so that counters
/// attached from now on all see the same (nothing) until the release.
fn wait_held(child: &Child) {
    let path = format!("/proc/{}/syscall", child.id());
    let want = format!("{} 0x0 ", libc::SYS_read);
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(&want)) {
        assert!(t0.elapsed().as_secs() < 10, "the held shell never blocked in read(0)");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Lets a [`held`] command exec and run to completion.
fn release(mut child: Child, cmd: &[&str]) {
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success(), "{cmd:?}");
}

/// Task-clock in ms, then the three counts.
fn values(c: &mut Counters) -> [f64; 4] {
    let r = c.read().unwrap();
    assert!(r.iter().all(|r| !r.user_only), "root counts the kernel side");
    [r[0].scaled() as f64 / 1e6, r[1].scaled() as f64, r[2].scaled() as f64, r[3].scaled() as f64]
}

/// Our counts of `cmd` from its exec.
fn ours(cmd: &[&str]) -> [f64; 4] {
    let child = held(cmd).unwrap();
    let mut c = Counters::task_from_exec(child.id() as i32, &EVENTS, true).unwrap();
    release(child, cmd);
    values(&mut c)
}

/// Parses `perf stat -x, -o FILE` output into our units.
fn parse_perf(text: &str) -> [f64; 4] {
    let mut v = [f64::NAN; 4];
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let i = NAMES.iter().position(|n| *n == f[2]).unwrap_or_else(|| panic!("perf stat line {line}"));
        v[i] = f[0].parse().unwrap_or_else(|_| panic!("perf stat value in {line}"));
    }
    assert!(v.iter().all(|x| x.is_finite()), "perf stat output {text}");
    v
}

fn perf_out() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ktrace-perf-stat-{}.csv", std::process::id()))
}

fn read_perf_out() -> [f64; 4] {
    let text = std::fs::read_to_string(perf_out()).unwrap();
    std::fs::remove_file(perf_out()).unwrap();
    parse_perf(&text)
}

/// `perf stat -p` and our counters on one run of `cmd`: (ours, perf).
fn same_run(cmd: &[&str]) -> ([f64; 4], [f64; 4]) {
    let child = held(cmd).unwrap();
    wait_held(&child);
    let pid = child.id() as i32;
    let mut c = Counters::task(pid, &EVENTS, true).unwrap();
    c.enable().unwrap();
    // perf starts disabled (-D -1) and enables on our command, acknowledging it: then both
    // count, from before the release.
    let dir = std::env::temp_dir();
    let (ctl, ack) = (dir.join(format!("ktrace-perf-ctl-{pid}")), dir.join(format!("ktrace-perf-ack-{pid}")));
    for f in [&ctl, &ack] {
        nix::unistd::mkfifo(f, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR).unwrap();
    }
    let control = format!("fifo:{},{}", ctl.display(), ack.display());
    let mut perf = Command::new("perf")
        .args(["stat", "-x,", "-e", &NAMES.join(","), "-D", "-1", "--control", &control, "-p", &pid.to_string()])
        .arg("-o")
        .arg(perf_out())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::fs::OpenOptions::new().write(true).open(&ctl).unwrap().write_all(b"enable\n").unwrap();
    let mut reply = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&ack).unwrap(), &mut reply).unwrap();
    assert_eq!(&reply, b"ack\n");
    std::fs::remove_file(&ctl).unwrap();
    std::fs::remove_file(&ack).unwrap();
    release(child, cmd);
    // The command has exited and been reaped: every count (its children's folded in) is final.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(perf.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    perf.wait().unwrap();
    (values(&mut c), read_perf_out())
}

/// `perf stat -x,`'s counts of `cmd`, in the same units.
fn perf(cmd: &[&str]) -> [f64; 4] {
    let st = Command::new("perf")
        .args(["stat", "-x,", "-e", &NAMES.join(","), "-o"])
        .arg(perf_out())
        .arg("--")
        .args(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "perf stat {cmd:?}: {st}");
    read_perf_out()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn perf_installed(test: &str) -> bool {
    let ok = Command::new("perf").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        skip(test, Skip::Environment("perf is not installed (apt-get install linux-perf)"));
    }
    ok
}

fn print(cmd: &[&str], how: &str, ours: &[f64], perf: &[f64], i: usize) {
    eprintln!("{} {how} {:>16}: ours {ours:?}\n{:>40}perf {perf:?}", cmd.join(" "), NAMES[i], "");
}

/// Same-run comparison of `cmd`, `runs` times: one kernel counter seen by two readers, so every
/// count is equal and task-clock equal to perf's printed precision (ms with two decimals).
fn assert_same_run(test: &str, cmd: &[&str], runs: usize) {
    if !perf_installed(test) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..runs {
        let (a, b) = same_run(cmd);
        for i in 0..4 {
            print(cmd, "same run", &[a[i]], &[b[i]], i);
        }
        assert!((a[0] - b[0]).abs() <= 0.0051, "{cmd:?} task-clock: ours {} ms, perf {} ms", a[0], b[0]);
        for i in 1..4 {
            assert_eq!(a[i], b[i], "{cmd:?} {}", NAMES[i]);
        }
    }
}

/// Runs `cmd` `n` times under each tool, alternating, and returns per-metric (ours, perf) samples.
fn separate_runs(test: &str, cmd: &[&str], n: usize) -> Option<Vec<(Vec<f64>, Vec<f64>)>> {
    if !perf_installed(test) {
        return None;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Warm the page cache and the binaries' pages once for both.
    ours(cmd);
    perf(cmd);
    let mut m: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); 4];
    for _ in 0..n {
        let (a, b) = (ours(cmd), perf(cmd));
        for i in 0..4 {
            m[i].0.push(a[i]);
            m[i].1.push(b[i]);
        }
    }
    for (i, (a, b)) in m.iter().enumerate() {
        print(cmd, "separate runs", a, b, i);
    }
    Some(m)
}

/// The two tools' ranges over the runs overlap (the machine is shared: one run in seven may take
/// several times as long under either tool, so medians are not compared).
fn assert_ranges_overlap(cmd: &[&str], m: &[(Vec<f64>, Vec<f64>)], which: &[usize]) {
    let range = |v: &[f64]| (v.iter().copied().fold(f64::INFINITY, f64::min), v.iter().copied().fold(0.0, f64::max));
    for &i in which {
        let ((alo, ahi), (blo, bhi)) = (range(&m[i].0), range(&m[i].1));
        assert!(alo <= bhi && blo <= ahi, "{cmd:?} {}: ours [{alo}, {ahi}], perf [{blo}, {bhi}]", NAMES[i]);
    }
}

/// |median(ours) - median(perf)| / median(perf).
fn rel(s: &(Vec<f64>, Vec<f64>)) -> f64 {
    let (a, b) = (median(s.0.clone()), median(s.1.clone()));
    (a - b).abs() / b.max(1.0)
}

const SLEEPS: &[&str] = &["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.01; done"];
const DD: &[&str] = &["dd", "if=/dev/zero", "of=/dev/null", "bs=32M", "count=4"];
/// Each taskset moves the shell off the CPU it runs on half the time: forced migrations.
const TASKSET: &[&str] =
    &["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do taskset -pc 0 $$ >/dev/null; taskset -pc 1 $$ >/dev/null; done"];
/// Four threads spinning 0.2 s on the machine's CPUs: the scheduler migrates them.
const SPIN: &[&str] = &[
    "/usr/bin/python3",
    "-c",
    "import threading, time\ndef spin():\n    t = time.time()\n    while time.time() - t < 0.2: pass\nts = [threading.Thread(target=spin) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]",
];

#[test]
fn same_run_sleeps() {
    assert_same_run("same_run_sleeps", SLEEPS, 3);
}

#[test]
fn same_run_page_faults() {
    assert_same_run("same_run_page_faults", DD, 3);
}

#[test]
fn same_run_forced_migrations() {
    assert_same_run("same_run_forced_migrations", TASKSET, 3);
}

#[test]
fn same_run_spinning_threads() {
    assert_same_run("same_run_spinning_threads", SPIN, 3);
}

#[test]
fn separate_runs_sleeps() {
    let Some(m) = separate_runs("separate_runs_sleeps", SLEEPS, 7) else { return };
    assert!(rel(&m[3]) < 0.02, "page-faults");
    assert_ranges_overlap(SLEEPS, &m, &[0, 1, 2]);
}

#[test]
fn separate_runs_page_faults() {
    let Some(m) = separate_runs("separate_runs_page_faults", DD, 7) else { return };
    assert!(rel(&m[3]) < 0.02, "page-faults");
    assert_ranges_overlap(DD, &m, &[0, 1, 2]);
}

#[test]
fn separate_runs_forced_migrations() {
    let Some(m) = separate_runs("separate_runs_forced_migrations", TASKSET, 7) else { return };
    assert!(rel(&m[3]) < 0.02, "page-faults");
    // Separate processes migrate differently by a count or two (where the child starts relative
    // to its parent): the same-run test proves the counting exact; here the medians must agree
    // within 10% or 2 migrations (seen on an idle CI run: ours 21 every run, perf 19-20).
    let (ours, perf) = (median(m[2].0.clone()), median(m[2].1.clone()));
    assert!(rel(&m[2]) < 0.1 || (ours - perf).abs() <= 2.0, "cpu-migrations: ours {ours}, perf {perf}");
    // Migrations depend on the CPU the shell starts on (the first `taskset -pc 0` moves it only
    // from CPU 1), so their ranges need not overlap: seen in CI, ours 20-21 and perf 19 in every run.
    assert_ranges_overlap(TASKSET, &m, &[0, 1]);
}

#[test]
fn separate_runs_spinning_threads() {
    let Some(m) = separate_runs("separate_runs_spinning_threads", SPIN, 7) else { return };
    assert!(rel(&m[3]) < 0.02, "page-faults");
    assert_ranges_overlap(SPIN, &m, &[0, 1, 2]);
}

/// Without privileges and with perf_event_paranoid > 1 (2 here), perf stat falls back to user space and names the events `task-clock:u`: our counters
/// opened by the same unprivileged user fall back the same way and say so with `user_only`.
/// The test binary re-runs this test as `nobody`, which opens the counters on itself.
#[test]
fn unprivileged_falls_back_like_perf() {
    const HELPER: &str = "KTRACE_PERF_UNPRIVILEGED";
    if std::env::var_os(HELPER).is_some() {
        let mut c = Counters::task(std::process::id() as i32, &EVENTS, false).unwrap();
        let r = c.read().unwrap();
        println!("user_only={}", r.iter().all(|r| r.user_only));
        return;
    }
    if !perf_installed("unprivileged_falls_back_like_perf") || !nix::unistd::Uid::effective().is_root() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let nobody = |c: &mut Command| {
        c.uid(65534).gid(65534).env_remove("HOME").stdout(Stdio::piped()).stderr(Stdio::piped());
    };
    let mut ours = Command::new(std::env::current_exe().unwrap());
    ours.args(["--exact", "unprivileged_falls_back_like_perf", "--nocapture"]).env(HELPER, "1");
    nobody(&mut ours);
    let ours = ours.output().unwrap();
    let text = String::from_utf8_lossy(&ours.stdout);
    assert!(ours.status.success(), "{text}{}", String::from_utf8_lossy(&ours.stderr));
    let user_only = text.contains("user_only=true");
    assert!(user_only || text.contains("user_only=false"), "{text}");
    let mut perf = Command::new("perf");
    perf.args(["stat", "-x,", "-e", &NAMES.join(","), "true"]);
    nobody(&mut perf);
    let perf = perf.output().unwrap();
    let names: Vec<String> =
        String::from_utf8_lossy(&perf.stderr).lines().filter_map(|l| Some(l.split(',').nth(2)?.to_owned())).collect();
    assert_eq!(names.len(), 4, "perf stat as nobody: {names:?}");
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").unwrap_or_default();
    eprintln!("perf_event_paranoid {}: perf names {names:?}, ours user_only={user_only}", paranoid.trim());
    assert!(names.iter().all(|n| n.ends_with(":u") == user_only), "perf {names:?}, ours user_only={user_only}");
}
