//! Helpers shared by the live ftrace tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use ktrace_ftrace::{Instance, Tracefs};
use ktrace_testing::{Skip, skip};

/// tracefs (mounted on demand: tests ask for it) or a recorded skip.
pub(crate) fn tracefs(test: &str) -> Option<Tracefs> {
    if !nix::unistd::geteuid().is_root() {
        skip(test, Skip::Environment("needs root for tracefs"));
        return None;
    }
    match Tracefs::find_or_mount() {
        Ok(fs) => Some(fs),
        Err(e) => {
            skip(test, Skip::Environment(&format!("no tracefs: {e}")));
            None
        }
    }
}

/// A fresh instance of our own.
pub(crate) fn instance(test: &str) -> Option<Instance> {
    let fs = tracefs(test)?;
    Some(fs.new_instance().expect("create instance"))
}

/// A child `python3` that waits for a line on stdin, then runs `code`.
pub(crate) fn gated_python(code: &str) -> std::process::Child {
    std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("import os, sys\nsys.stdin.readline()\n{code}"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn python3")
}

/// Releases a gated child and waits for it.
pub(crate) fn release(mut child: std::process::Child) {
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
}

/// A [`gated_python`] running `code`, with `inst`'s events limited to it (`set_event_pid`).
pub(crate) fn traced_python(inst: &Instance, code: &str) -> std::process::Child {
    let child = gated_python(code);
    inst.set_event_pids(&[child.id() as i32]).unwrap();
    child
}

/// What `inst` records while `child` (a [`gated_python`]) is released and runs to its end.
pub(crate) fn record_released(inst: &Instance, child: std::process::Child) -> ktrace_ftrace::Recording {
    let rec = ktrace_ftrace::Recorder::start(inst).unwrap();
    release(child);
    rec.stop().unwrap()
}

/// A thread that calls getppid `n` times once told to, after sending its tid.
pub(crate) fn storm<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    n: u64,
) -> (i32, std::sync::mpsc::Sender<()>, std::thread::ScopedJoinHandle<'s, ()>) {
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let h = s.spawn(move || {
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        go_rx.recv().unwrap();
        for _ in 0..n {
            std::hint::black_box(nix::unistd::getppid());
        }
    });
    (tid_rx.recv().unwrap(), go_tx, h)
}

/// An instance of our own recording `raw_syscalls:sys_enter` into rings of `kb` KiB per CPU
/// (for a [`storm`]).
pub(crate) fn syscall_instance(test: &str, kb: u64) -> Option<Instance> {
    let inst = instance(test)?;
    inst.set_buffer_size_kb(kb).expect("buffer_size_kb");
    inst.enable_event("raw_syscalls", "sys_enter").expect("enable raw_syscalls:sys_enter");
    Some(inst)
}

/// Records `events` (system, name) of `inst` around `workload` and writes the recording as a
/// trace.dat v6 at `path`; returns the recording and the trace.dat it wrote.
#[allow(dead_code, reason = "not every test file writes a trace.dat")]
pub(crate) fn record_dat(
    inst: &Instance,
    events: &[(&str, &str)],
    workload: impl FnOnce(),
    path: &std::path::Path,
) -> (ktrace_ftrace::Recording, ktrace_ftrace::tracedat::TraceDat) {
    for (s, e) in events {
        inst.enable_event(s, e).unwrap();
    }
    let rec = ktrace_ftrace::Recorder::start(inst).unwrap();
    workload();
    let recording = rec.stop().unwrap();
    let dat = ktrace_ftrace::tracedat::capture(inst, &recording).unwrap();
    dat.write_v6(&mut std::fs::File::create(path).unwrap()).unwrap();
    (recording, dat)
}
