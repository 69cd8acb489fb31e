//! Live: streaming 2M events with a 4 MiB budget keeps the process's peak RSS (VmHWM) within
//! 32 MiB of where it started (a process of its own: no other test's memory in the peak).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use ktrace_ftrace::stream::Budget;
use ktrace_ftrace::{Item, Recorder};

fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn streaming_two_million_events_stays_within_budget() {
    let Some(inst) = common::syscall_instance("streaming_two_million_events_stays_within_budget", 4096) else {
        return;
    };
    const N: u64 = 2_000_000;
    let before = vm_hwm_kib();
    std::thread::scope(|s| {
        let (tid, go_tx, h) = common::storm(s, N);
        inst.set_event_pids(&[tid]).unwrap();
        inst.set_filter("raw_syscalls", "sys_enter", "id == 110").unwrap();
        let mut stream = Recorder::stream(&inst, Budget::mib(4)).unwrap();
        let stop = stream.stop_handle();
        go_tx.send(()).unwrap();
        s.spawn(move || {
            h.join().unwrap();
            stop.stop();
        });
        let (mut seen, mut lost) = (0u64, 0u64);
        while let Some(item) = stream.next() {
            match item.unwrap() {
                Item::Event(_) => seen += 1,
                Item::Lost(l) => lost += l.count.unwrap_or(0),
            }
        }
        let grew = vm_hwm_kib().saturating_sub(before);
        eprintln!("seen {seen} lost {lost} VmHWM grew {grew} KiB {:?}", stream.stats());
        assert_eq!(seen + lost, N);
        assert!(grew < 32 << 10, "VmHWM grew {grew} KiB");
    });
    inst.close().unwrap();
}
