//! Live: a stream with a tiny budget accounts for every event (seen or counted lost), and a
//! trace.dat streamed to a file holds what an in-memory recording of the same events holds and
//! reads back with `trace-cmd report`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::process::Command;

use ktrace_ftrace::stream::{Budget, write_trace_dat};
use ktrace_ftrace::{Item, Recorder, TraceDat, Typed};

const GETPPID: i64 = 110; // x86_64

#[test]
fn tiny_budget_reports_every_dropped_event() {
    let Some(inst) = common::syscall_instance("tiny_budget_reports_every_dropped_event", 8192) else {
        return;
    };
    const N: u64 = 400_000;
    std::thread::scope(|s| {
        let (tid, go, h) = common::storm(s, N);
        inst.set_event_pids(&[tid]).unwrap();
        inst.set_filter("raw_syscalls", "sys_enter", &format!("id == {GETPPID}")).unwrap();
        let mut stream = Recorder::stream(&inst, Budget { bytes: 64 << 10 }).unwrap();
        let stop = stream.stop_handle();
        go.send(()).unwrap();
        let waiter = s.spawn(move || {
            h.join().unwrap();
            stop.stop();
        });
        let (mut seen, mut lost, mut last) = (0u64, 0u64, 0u64);
        while let Some(item) = stream.next() {
            match item.unwrap() {
                Item::Event(ev) => {
                    assert!(ev.timestamp().ns >= last, "not in time order");
                    last = ev.timestamp().ns;
                    assert!(matches!(ev.typed().unwrap(), Typed::SysEnter { nr: GETPPID, .. }));
                    assert_eq!(ev.pid(), tid);
                    seen += 1;
                    // A slow consumer: the budget fills and pages are dropped.
                    if seen % 2000 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
                Item::Lost(l) => lost += l.count.expect("a loss of unknown size"),
            }
        }
        waiter.join().unwrap();
        let st = stream.stats();
        eprintln!("seen {seen} lost {lost} {st:?}");
        assert_eq!(seen + lost, N, "every getppid is seen or counted lost");
        assert!(st.dropped_events > 0, "a 64 KiB budget dropped nothing: {st:?}");
        assert_eq!(st.dropped_events + st.kernel_lost, lost);
        assert!(st.peak_bytes <= 64 << 10, "{st:?}");
    });
    inst.close().unwrap();
}

/// (pid, name, fields) of every event, in order.
fn events(rec: &ktrace_ftrace::Recording) -> Vec<(i32, String, String)> {
    rec.events()
        .map(|e| {
            let e = e.unwrap();
            let fields: Vec<String> = e.fields().map(|(n, v)| format!("{n}={:?}", v.unwrap())).collect();
            (e.pid(), e.name().to_owned(), fields.join(" "))
        })
        .collect()
}

#[test]
fn streamed_trace_dat_equals_the_in_memory_recording() {
    let Some(fs) = common::tracefs("streamed_trace_dat_equals_the_in_memory_recording") else {
        return;
    };
    // Two instances see the same child: one recorded in memory, one streamed to a file.
    let (mem, file) = (fs.new_instance().unwrap(), fs.new_instance().unwrap());
    let child = common::gated_python("for _ in range(3000): os.getsid(0)");
    let pid = child.id() as i32;
    for inst in [&mem, &file] {
        inst.set_event_pids(&[pid]).unwrap();
        inst.enable_event("raw_syscalls", "sys_enter").unwrap();
        inst.enable_event("raw_syscalls", "sys_exit").unwrap();
    }
    // Both start once the child waits in read(0, …), so neither sees its startup.
    let blocked = || std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("0 0x0 "));
    let t0 = std::time::Instant::now();
    while !blocked() {
        assert!(t0.elapsed().as_secs() < 10, "python3 never read its stdin");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let path = std::env::temp_dir().join(format!("ktrace-stream-{}.dat", std::process::id()));
    let rec = Recorder::start(&mem).unwrap();
    let mut stream = Recorder::stream(&file, Budget::mib(4)).unwrap();
    let stop = stream.stop_handle();
    let (stats, written) = std::thread::scope(|s| {
        s.spawn(move || {
            common::release(child);
            stop.stop();
        });
        write_trace_dat(&mut stream, &path).unwrap()
    });
    drop(stream);
    let recording = rec.stop().unwrap();
    assert_eq!((stats.dropped_events, stats.kernel_lost), (0, 0));
    let dat = TraceDat::parse(&std::fs::read(&path).unwrap()).unwrap();
    let streamed = events(&dat.recording().unwrap());
    let in_memory = events(&recording);
    assert!(in_memory.len() >= 6000, "{} events", in_memory.len());
    assert_eq!(streamed.len() as u64, written);
    assert_eq!(streamed.len(), in_memory.len(), "streamed vs in-memory event count");
    if let Some(i) = (0..streamed.len()).find(|&i| streamed[i] != in_memory[i]) {
        panic!("event {i} differs: streamed {:?}, in memory {:?}", streamed[i], in_memory[i]);
    }
    let out = Command::new("trace-cmd").arg("report").arg(&path).output();
    match out {
        Ok(out) => {
            assert!(out.status.success(), "trace-cmd report: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8_lossy(&out.stdout);
            let n = text.lines().filter(|l| l.contains("sys_enter") || l.contains("sys_exit")).count();
            assert_eq!(n, streamed.len(), "trace-cmd report lines");
        }
        Err(e) => panic!("trace-cmd not runnable: {e}"),
    }
    let _ = std::fs::remove_file(&path);
    for i in 0..4 {
        assert!(!std::path::Path::new(&format!("{}.cpu{i}", path.display())).exists(), "temporary file left");
    }
    mem.close().unwrap();
    file.close().unwrap();
}

#[test]
fn live_stream_orders_cpus_like_the_in_memory_recording() {
    let Some(fs) = common::tracefs("live_stream_orders_cpus_like_the_in_memory_recording") else {
        return;
    };
    let (mem, live) = (fs.new_instance().unwrap(), fs.new_instance().unwrap());
    // Two threads on (likely) two CPUs, so the order across CPUs matters.
    let child = common::gated_python(
        "import threading\nts = [threading.Thread(target=lambda: [os.getsid(0) for _ in range(5000)]) for _ in range(2)]\n\
         [t.start() for t in ts]\n[t.join() for t in ts]",
    );
    let pid = child.id() as i32;
    for inst in [&mem, &live] {
        inst.set_event_pids(&[pid]).unwrap();
        inst.follow_forks(true).unwrap();
        inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    }
    let rec = Recorder::start(&mem).unwrap();
    let mut stream = Recorder::stream(&live, Budget::mib(16)).unwrap();
    let stop = stream.stop_handle();
    let (mut streamed, mut cpus) = (Vec::new(), std::collections::BTreeSet::new());
    std::thread::scope(|s| {
        s.spawn(move || {
            common::release(child);
            stop.stop();
        });
        while let Some(item) = stream.next() {
            let Item::Event(e) = item.unwrap() else { panic!("lost events") };
            cpus.insert(e.cpu());
            let fields: Vec<String> = e.fields().map(|(n, v)| format!("{n}={:?}", v.unwrap())).collect();
            streamed.push((e.pid(), e.name().to_owned(), fields.join(" ")));
        }
    });
    drop(stream);
    let in_memory = events(&rec.stop().unwrap());
    // Only the getsid calls: the threads' start-up differs in nothing but is racy to compare.
    let getsid = |v: &[(i32, String, String)]| -> Vec<(i32, String, String)> {
        v.iter().filter(|e| e.2.starts_with("id=Signed(124)")).cloned().collect()
    };
    let (a, b) = (getsid(&streamed), getsid(&in_memory));
    assert_eq!(a.len(), 10_000, "getsid calls streamed");
    assert_eq!(b.len(), 10_000, "getsid calls recorded");
    let tids: std::collections::BTreeSet<i32> = a.iter().map(|e| e.0).collect();
    eprintln!("cpus {cpus:?}, threads {tids:?}");
    let differ = (0..a.len()).filter(|&i| a[i].0 != b[i].0).count();
    assert_eq!(differ, 0, "the two threads' calls interleave differently in {differ} places");
    live.close().unwrap();
    mem.close().unwrap();
}

/// With no pid filter, the drain threads' own poll/splice/read calls are traced like any
/// thread's (no `set_event_notrace_pid`, which would cost every event), but a recording's and a
/// stream's readers never yield them, while the workload's calls all come through.
#[test]
fn drain_threads_own_syscalls_are_not_yielded() {
    let Some(inst) = common::syscall_instance("drain_threads_own_syscalls_are_not_yielded", 4096) else {
        return;
    };
    assert_eq!(inst.read("set_event_notrace_pid").unwrap().trim(), "", "no kernel pid filter");
    const N: u64 = 200_000;
    let rec = Recorder::start(&inst).unwrap();
    let own = rec.drain_tids().to_vec();
    assert_eq!(own.len(), inst.nr_cpus() + 1, "one drain thread per CPU, and the thread supplying their memory");
    assert_eq!(inst.read("set_event_notrace_pid").unwrap().trim(), "", "the recorder set no pid filter");
    std::thread::scope(|s| {
        let (tid, go, h) = common::storm(s, N);
        go.send(()).unwrap();
        h.join().unwrap();
        let recording = rec.stop().unwrap();
        let mut storm = 0;
        for ev in recording.events() {
            let ev = ev.unwrap();
            assert!(!own.contains(&ev.pid()), "an event of drain thread {} was yielded", ev.pid());
            storm += u64::from(ev.pid() == tid && matches!(ev.typed().unwrap(), Typed::SysEnter { nr: GETPPID, .. }));
        }
        assert_eq!(storm, N, "every getppid of the storm, lost {}", recording.lost_total());
    });
    std::thread::scope(|s| {
        let (tid, go, h) = common::storm(s, N);
        let mut stream = Recorder::stream(&inst, Budget::mib(64)).unwrap();
        let own = stream.drain_tids().to_vec();
        assert_eq!(own.len(), inst.nr_cpus(), "one drain thread per CPU");
        let stop = stream.stop_handle();
        go.send(()).unwrap();
        s.spawn(move || {
            h.join().unwrap();
            stop.stop();
        });
        let mut storm = 0;
        while let Some(item) = stream.next() {
            if let Item::Event(ev) = item.unwrap() {
                assert!(!own.contains(&ev.pid()), "an event of drain thread {} was yielded", ev.pid());
                storm +=
                    u64::from(ev.pid() == tid && matches!(ev.typed().unwrap(), Typed::SysEnter { nr: GETPPID, .. }));
            }
        }
        assert_eq!(storm, N, "every getppid of the storm");
    });
}
