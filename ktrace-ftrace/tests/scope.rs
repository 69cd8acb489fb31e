//! Live: a recording holds only what happened after `Recorder::start` (instances are made with
//! tracing off, and `start` clears what an earlier run left); `Instance::filter_current_thread`
//! records the calling thread and what it spawns, never another thread of the process.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::collections::BTreeMap;

use ktrace_ftrace::{Instance, Recorder, Recording, Typed};

/// `getppid` is a plain syscall in glibc (never cached): one call, one event.
fn getppids(n: usize) {
    for _ in 0..n {
        std::hint::black_box(nix::unistd::getppid());
    }
}

/// raw_syscalls:sys_enter of getppid only.
fn enable_getppid(inst: &Instance) {
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    inst.set_filter("raw_syscalls", "sys_enter", &format!("id == {}", libc::SYS_getppid)).unwrap();
}

/// getppid entries per task id.
fn getppid_by_tid(rec: &Recording) -> BTreeMap<i32, usize> {
    let mut m = BTreeMap::new();
    for ev in rec.events() {
        let ev = ev.unwrap();
        if let Typed::SysEnter { nr, .. } = ev.typed().unwrap()
            && nr == libc::SYS_getppid
        {
            *m.entry(ev.pid()).or_default() += 1;
        }
    }
    m
}

fn tid() -> i32 {
    nix::unistd::gettid().as_raw()
}

#[test]
fn recording_holds_nothing_from_before_start() {
    let Some(inst) = common::instance("recording_holds_nothing_from_before_start") else { return };
    assert!(!inst.tracing_on().unwrap(), "a new instance must start with tracing off");
    inst.set_event_pids(&[tid()]).unwrap();
    enable_getppid(&inst);
    // Off: events enabled, calls made, nothing written.
    getppids(100);
    let entries: u64 = (0..inst.nr_cpus() as u32).map(|c| inst.cpu_stats(c).unwrap().entries).sum();
    assert_eq!(entries, 0, "events were recorded while tracing was off");
    // As if an earlier run had left tracing on and its events in the buffer: start clears them.
    inst.set_tracing_on(true).unwrap();
    getppids(100);
    let entries: u64 = (0..inst.nr_cpus() as u32).map(|c| inst.cpu_stats(c).unwrap().entries).sum();
    assert!(entries >= 100, "the buffer should hold the 100 calls before start, holds {entries}");
    let rec = Recorder::start(&inst).unwrap();
    getppids(10);
    let recording = rec.stop().unwrap();
    assert_eq!(getppid_by_tid(&recording), BTreeMap::from([(tid(), 10)]), "only the 10 calls after start");
    inst.close().unwrap();
}

#[test]
fn filter_current_thread_follows_its_children_not_other_threads() {
    let Some(inst) = common::instance("filter_current_thread_follows_its_children_not_other_threads") else {
        return;
    };
    // A thread of this process started before the filter: never recorded.
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let other = std::thread::spawn(move || {
        tid_tx.send(tid()).unwrap();
        go_rx.recv().unwrap();
        getppids(20);
    });
    let other_tid = tid_rx.recv().unwrap();
    inst.filter_current_thread().unwrap();
    assert!(inst.option("event-fork").unwrap());
    enable_getppid(&inst);
    let rec = Recorder::start(&inst).unwrap();
    getppids(10);
    go_tx.send(()).unwrap();
    other.join().unwrap();
    // A thread and a process this thread starts are recorded.
    let (spawned_tx, spawned_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        spawned_tx.send(tid()).unwrap();
        getppids(5);
    })
    .join()
    .unwrap();
    let spawned = spawned_rx.recv().unwrap();
    // The interpreter itself (a `python3` on PATH may be a shell shim that calls getppid too).
    let child = std::process::Command::new("/usr/bin/python3")
        .args(["-I", "-S", "-c", "import os\nfor _ in range(7): os.getppid()"])
        .spawn()
        .unwrap();
    let child_pid = child.id() as i32;
    assert!(child.wait_with_output().unwrap().status.success());
    let recording = rec.stop().unwrap();
    let seen = getppid_by_tid(&recording);
    assert_eq!(seen.get(&tid()), Some(&10), "this thread: {seen:?}");
    assert_eq!(seen.get(&spawned), Some(&5), "a thread it spawned: {seen:?}");
    assert_eq!(seen.get(&child_pid), Some(&7), "a process it spawned: {seen:?}");
    assert_eq!(seen.get(&other_tid), None, "another thread of the process was recorded: {seen:?}");
    assert_eq!(seen.len(), 3, "unrelated tasks were recorded: {seen:?}");
    inst.close().unwrap();
}
