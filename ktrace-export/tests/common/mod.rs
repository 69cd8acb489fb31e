//! A live recording every exporter test reads, and the consumers' lookup.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::PathBuf;
use std::process::Command;

use ktrace_ftrace::{Recorder, TraceDat, Tracefs};
use ktrace_testing::{Skip, skip};

/// The events recorded: scheduling, task lifetime and names, syscalls.
pub(crate) const EVENTS: &[(&str, &str)] = &[
    ("sched", "sched_switch"),
    ("sched", "sched_waking"),
    ("sched", "sched_wakeup_new"),
    ("sched", "sched_process_fork"),
    ("sched", "sched_process_exec"),
    ("sched", "sched_process_exit"),
    ("task", "task_newtask"),
    ("task", "task_rename"),
    ("raw_syscalls", "sys_enter"),
    ("raw_syscalls", "sys_exit"),
];

/// A file under the test's target tmp dir.
pub(crate) fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ktrace-export");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Records [`EVENTS`] system-wide around a small shell workload (forks, execs, a rename,
/// syscalls, sleeps), writes it as `<test>.dat` and reads the file back: the exporters are fed
/// from a trace.dat as the CLI is.
pub(crate) fn recorded(test: &str) -> Option<(TraceDat, PathBuf)> {
    if !nix::unistd::geteuid().is_root() {
        skip(test, Skip::Environment("needs root for tracefs"));
        return None;
    }
    let fs = match Tracefs::find_or_mount() {
        Ok(fs) => fs,
        Err(e) => {
            skip(test, Skip::Environment(&format!("no tracefs: {e}")));
            return None;
        }
    };
    let inst = fs.new_instance().unwrap();
    for (s, e) in EVENTS {
        inst.enable_event(s, e).unwrap();
    }
    let rec = Recorder::start(&inst).unwrap();
    let st = Command::new("sh")
        .arg("-c")
        .arg("for i in 1 2 3; do ls / >/dev/null; sleep 0.01; done; python3 -c \"import ctypes; ctypes.CDLL(None).prctl(15, b'ktrace-spin', 0, 0, 0); sum(range(200000))\"")
        .status()
        .unwrap();
    assert!(st.success());
    let recording = rec.stop().unwrap();
    let dat = ktrace_ftrace::tracedat::capture(&inst, &recording).unwrap();
    let path = tmp(&format!("{test}.dat"));
    dat.write_v6(&mut std::fs::File::create(&path).unwrap()).unwrap();
    drop(inst);
    let dat = TraceDat::parse(&std::fs::read(&path).unwrap()).unwrap();
    Some((dat, path))
}

/// Whether `tool` is installed (`tool ARGS` starts), else a recorded skip naming the package.
pub(crate) fn have(test: &str, tool: &str, args: &[&str], package: &str) -> bool {
    match Command::new(tool).args(args).stdin(std::process::Stdio::null()).output() {
        Ok(_) => true,
        Err(_) => {
            skip(test, Skip::Environment(&format!("{tool} is not installed ({package})")));
            false
        }
    }
}

/// The loss the tests inject after an event: 4321 events of its CPU, at its time.
pub(crate) fn injected_loss(ev: &ktrace_ftrace::Event<'_>) -> ktrace_core::Lost {
    ktrace_core::Lost {
        source: ktrace_core::LostSource::FtraceRing,
        cpu: ev.cpu(),
        count: Some(4321),
        timestamp_ns: ev.timestamp().ns,
    }
}
