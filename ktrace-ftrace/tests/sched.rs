//! Live: a pinned ping-pong between two threads shows up as sched_switch pairs and wakeups;
//! wakeup latency is measured from the same trace.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use ktrace_ftrace::latency::WakeupLatency;
use ktrace_ftrace::{Recorder, Typed};

fn pin_to_cpu0() {
    let mut set = nix::sched::CpuSet::new();
    set.set(0).unwrap();
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).unwrap();
}

#[test]
fn pinned_ping_pong_switches_and_wakeups() {
    let Some(inst) = common::instance("pinned_ping_pong_switches_and_wakeups") else {
        return;
    };
    inst.enable_event("sched", "sched_switch").unwrap();
    inst.enable_event("sched", "sched_waking").unwrap();
    const ROUNDS: usize = 200;
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let pong = std::thread::spawn(move || {
        pin_to_cpu0();
        tx.send(nix::unistd::gettid().as_raw()).unwrap();
        let mut buf = [0u8; 1];
        for _ in 0..ROUNDS {
            b.read_exact(&mut buf).unwrap();
            b.write_all(&buf).unwrap();
        }
    });
    let pong_tid = rx.recv().unwrap();
    let rec = Recorder::start(&inst).unwrap();
    let ping_tid = std::thread::spawn(move || {
        pin_to_cpu0();
        let mut buf = [7u8; 1];
        for _ in 0..ROUNDS {
            a.write_all(&buf).unwrap();
            a.read_exact(&mut buf).unwrap();
        }
        nix::unistd::gettid().as_raw()
    })
    .join()
    .unwrap();
    pong.join().unwrap();
    let recording = rec.stop().unwrap();
    let (mut to_pong, mut to_ping, mut wakes) = (0, 0, 0);
    let mut lat = WakeupLatency::new();
    for ev in recording.events() {
        let ev = ev.unwrap();
        let t = ev.typed().unwrap();
        lat.feed(ev.timestamp().ns, &t);
        match t {
            Typed::SchedSwitch { next_pid, .. } if next_pid == pong_tid => to_pong += 1,
            Typed::SchedSwitch { next_pid, .. } if next_pid == ping_tid => to_ping += 1,
            Typed::Wakeup { pid, .. } if pid == pong_tid || pid == ping_tid => wakes += 1,
            _ => {}
        }
    }
    assert!(to_pong >= ROUNDS && to_ping >= ROUNDS - 1, "switches: to pong {to_pong}, to ping {to_ping}");
    assert!(wakes >= 2 * ROUNDS - 2, "wakeups {wakes}");
    let h = &lat.per_task[&pong_tid];
    assert!(h.count() >= ROUNDS as u64 - 1, "latencies for pong: {}", h.count());
    assert!(h.max() < 1_000_000_000);
}

/// VM tier (this kernel has neither hist triggers nor synthetic events): the kernel pairs this
/// thread's wakeups with its switches and histograms the latency itself.
#[test]
fn wakeup_latency_measured_in_the_kernel() {
    use ktrace_testing::{Skip, skip};
    const T: &str = "wakeup_latency_measured_in_the_kernel";
    let Some(inst) = common::instance(T) else { return };
    let tid = nix::unistd::gettid().as_raw();
    let r = ktrace_ftrace::synth::wakeup_latency_in_kernel(&inst, tid, || {
        for _ in 0..40 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    let h = match r {
        Err(e) if e.is_unsupported() => {
            return skip(T, Skip::KernelLacks { feature: "hist_triggers", why: &e.to_string() });
        }
        r => r.unwrap(),
    };
    assert_eq!(h.dropped, 0);
    assert!(h.hits >= 40, "{} latencies for 40 sleeps: {h:?}", h.hits);
    assert!(h.rows.iter().all(|r| r.key("lat").is_some()), "{h:?}");
    // Nothing of ours is left: the synthetic event is gone.
    let left = std::fs::read_to_string(inst.tracefs().root().join("synthetic_events")).unwrap();
    assert!(!left.contains("ktrace_"), "left: {left}");
    inst.close().unwrap();
}
