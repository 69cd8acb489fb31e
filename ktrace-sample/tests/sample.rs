//! Live: a spinning child at ~100% CPU in the process sampler; counters over a known workload
//! (task-clock of a child that spins, context switches of a ping-pong, page faults of touched
//! memory); hardware events give a clear Unsupported where there is no PMU; /proc statistics parse
//! on this kernel; inotify sees created/modified/deleted files and reports overflow.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::io::Write;
use std::time::Duration;

use ktrace_sample::counters::{CounterGroup, Counters, Ev};
use ktrace_sample::inotify::{FsEvent, Mask, Watcher};
use ktrace_sample::procfs::{self, SystemStat};
use ktrace_sample::top::ProcessSampler;

fn spinner(secs: f64) -> std::process::Child {
    std::process::Command::new("/usr/bin/python3")
        .args(["-c", &format!("import time\nt=time.time()\nwhile time.time()-t < {secs}: pass")])
        .spawn()
        .unwrap()
}

#[test]
fn process_sampler_sees_a_spinning_child_near_100_percent() {
    let mut child = spinner(2.0);
    let pid = child.id() as i32;
    // The kernel's own count of the child's time on a CPU (ns), read with each refresh: on a busy
    // machine the spinner gets less than a whole CPU, and the sampler must say how much.
    let on_cpu = || -> u64 {
        let t = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
        t.split_whitespace().next().unwrap().parse().unwrap()
    };
    let mut s = ProcessSampler::new(true);
    s.refresh();
    let (t0, c0) = (std::time::Instant::now(), on_cpu());
    std::thread::sleep(Duration::from_millis(800));
    s.refresh();
    let (t1, c1) = (std::time::Instant::now(), on_cpu());
    let row = s.get(pid).expect("child in the table").clone();
    child.wait().unwrap();
    let want = (c1 - c0) as f64 / (t1 - t0).as_nanos() as f64 * 100.0;
    assert!((row.cpu_percent - want).abs() < 15.0, "cpu% {} vs schedstat's {want:.1}", row.cpu_percent);
    assert!(row.cpu_percent > 10.0, "cpu% {} of a spinning child", row.cpu_percent);
    assert_eq!(row.stat.state, 'R');
    assert!(row.stat.rss > 0);
    assert!(s.rows.len() > 10);
}

#[test]
fn task_counters_over_a_known_workload() {
    // Gate the child so counters are attached before it runs.
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import sys, time\nsys.stdin.readline()\nt=time.process_time()\nwhile time.process_time()-t < 0.5: pass\nx = bytearray(64 << 20)\nfor i in range(0, len(x), 4096): x[i] = 1"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = Counters::task(child.id() as i32, &[Ev::TaskClock, Ev::PageFaults, Ev::ContextSwitches], true).unwrap();
    c.enable().unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    child.wait().unwrap();
    let r = c.read().unwrap();
    let task_clock = r[0].scaled();
    let faults = r[1].scaled();
    assert!(task_clock > 400_000_000, "task-clock {task_clock} ns");
    assert!(faults > 64 * 256 / 2, "page faults {faults} for 64 MiB touched");
    assert!(r[0].enabled_ns >= r[0].running_ns);
}

#[test]
fn counter_group_reads_members_together() {
    let mut g = CounterGroup::new(&[Ev::TaskClock, Ev::PageFaults]).unwrap();
    g.enable().unwrap();
    let v: Vec<u8> = vec![1; 8 << 20];
    std::hint::black_box(&v);
    g.disable().unwrap();
    let r = g.read().unwrap();
    assert!(r[0].count > 0 && r[1].count > 1000, "{r:?}");
    assert_eq!(r[0].enabled_ns, r[1].enabled_ns, "a group shares its times");
}

#[test]
fn hardware_events_without_a_pmu_are_unsupported() {
    match Counters::task(std::process::id() as i32, &[Ev::Cycles], false) {
        Ok(mut c) => {
            c.enable().unwrap();
            assert!(c.read().is_ok()); // a machine with a PMU
        }
        Err(ktrace_sample::Error::Unsupported { .. }) => {}
        Err(e) => panic!("expected Unsupported, got {e}"),
    }
}

#[test]
fn proc_statistics_parse_on_this_kernel() {
    let s = SystemStat::parse(&std::fs::read_to_string("/proc/stat").unwrap());
    assert_eq!(s.cpus.len(), std::thread::available_parallelism().unwrap().get());
    assert!(s.ctxt > 0 && s.btime > 1_600_000_000);
    let me = procfs::PidStat::parse(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
    assert_eq!(me.pid, std::process::id() as i32);
    let mem = procfs::key_values(&std::fs::read_to_string("/proc/meminfo").unwrap());
    assert!(mem["MemTotal"] > 1 << 20);
    assert!(procfs::key_values(&std::fs::read_to_string("/proc/vmstat").unwrap()).contains_key("pgfault"));
    assert!(!procfs::diskstats(&std::fs::read_to_string("/proc/diskstats").unwrap()).is_empty());
    if let Ok(t) = std::fs::read_to_string("/proc/pressure/cpu") {
        assert!(procfs::Pressure::parse(&t).some.total_us > 0);
    }
    assert!(procfs::schedstat(&std::fs::read_to_string("/proc/self/schedstat").unwrap()).unwrap().0 > 0);
}

#[test]
fn inotify_sees_create_modify_delete_and_overflow() {
    let dir = std::env::temp_dir().join(format!("ktrace-inotify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let w = Watcher::new().unwrap();
    w.watch(&dir, Mask::IN_CREATE | Mask::IN_MODIFY | Mask::IN_DELETE).unwrap();
    let f = dir.join("a.txt");
    std::fs::write(&f, b"1").unwrap();
    std::fs::write(&f, b"2").unwrap();
    std::fs::remove_file(&f).unwrap();
    let kinds: Vec<Mask> = w
        .read()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            FsEvent::Event { mask, name, .. } if name.as_deref() == Some(std::ffi::OsStr::new("a.txt")) => Some(mask),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.first(), Some(&Mask::IN_CREATE));
    assert!(kinds.contains(&Mask::IN_MODIFY));
    assert_eq!(kinds.last(), Some(&Mask::IN_DELETE));
    // Overflow the queue (max_queued_events) without reading.
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events").unwrap().trim().parse().unwrap();
    let g = dir.join("b");
    for _ in 0..max / 2 + 10 {
        std::fs::File::create(&g).unwrap();
        std::fs::remove_file(&g).unwrap();
    }
    let mut lost = false;
    loop {
        let evs = w.read().unwrap();
        if evs.is_empty() {
            break;
        }
        lost |= evs.contains(&FsEvent::Lost);
    }
    assert!(lost, "no IN_Q_OVERFLOW after {} events", max + 20);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn taskstats_shows_a_childs_cpu_and_blkio_delays() {
    use ktrace_sample::taskstats::{DelayAcctGuard, query};
    let _g = DelayAcctGuard::enable().unwrap();
    let dir = std::env::temp_dir().join(format!("ktrace-ts-{}", std::process::id()));
    // Work: spin, then synchronous writes that wait for the disk; then wait to be queried.
    let code = format!(
        "import os, sys, time\nt=time.process_time()\nwhile time.process_time()-t < 0.3: pass\nfd=os.open('{}', os.O_WRONLY|os.O_CREAT|os.O_SYNC)\nfor i in range(64): os.write(fd, b'x'*65536)\nos.close(fd)\nsys.stdout.write('done\\n'); sys.stdout.flush()\nsys.stdin.readline()",
        dir.display()
    );
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &code])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.as_mut().unwrap()), &mut line).unwrap();
    // Per task: delays and accounting (comm, IO); per thread group: delay sums only.
    let t = query(child.id(), false).unwrap();
    let g = query(child.id(), true).unwrap();
    assert!(g.cpu.count >= t.cpu.count && g.cpu.count > 0);
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(&dir);
    assert!(t.version >= 8, "version {}", t.version);
    assert!(t.cpu.count > 0 && t.cpu_run_real_ns > 250_000_000, "{t:?}");
    assert!(t.write_char >= 64 * 65536, "{t:?}");
    assert!(t.blkio.count > 0 || t.write_bytes > 0, "no block IO seen: {t:?}");
    assert_eq!(t.comm, "python3");
}

#[test]
fn taskstats_exit_listener_sees_a_child_exit_with_its_code() {
    use ktrace_sample::taskstats::{DelayAcctGuard, Exit, ExitListener};
    let _g = DelayAcctGuard::enable().unwrap();
    let mut l = ExitListener::register(None).unwrap();
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import os\nfor _ in range(200): os.getppid()\nos._exit(3)"])
        .spawn()
        .unwrap();
    let pid = child.id();
    assert_eq!(child.wait().unwrap().code(), Some(3));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut found = None;
    while found.is_none() && std::time::Instant::now() < deadline {
        for e in l.recv(Duration::from_millis(200)).unwrap() {
            match e {
                Exit::Task(t) if t.pid == pid => found = Some(t),
                _ => {}
            }
        }
    }
    let t = found.expect("no exit record for the child");
    assert_eq!(t.comm, "python3");
    assert_eq!(t.ppid, std::process::id());
    assert_eq!(t.exit_code >> 8, 3, "ac_exitcode is a wait status");
    assert!(t.utime_us + t.stime_us > 0 && t.cpu.count > 0, "{t:?}");
    assert!(t.etime_us > 0 && t.btime > 1_600_000_000, "{t:?}");
}

#[test]
fn bootchart_of_a_script_shows_each_process() {
    let script = "sleep 0.25; (sleep 0.3 | cat >/dev/null); timeout 2 sleep 0.25; exit 0";
    let cmd: Vec<String> = ["/bin/sh", "-c", script].iter().map(|s| s.to_string()).collect();
    let chart = ktrace_sample::bootchart::Chart::record(&cmd, Duration::from_millis(20)).unwrap();
    let names: std::collections::BTreeSet<&str> = chart.processes.iter().map(|p| p.comm.as_str()).collect();
    for want in ["sh", "sleep", "cat", "timeout"] {
        assert!(names.contains(want), "{want} missing from {names:?}");
    }
    assert!(chart.processes.iter().filter(|p| p.comm == "sleep").count() >= 3);
    let svg = chart.svg();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    for want in ["sleep (", "cat (", "timeout (", "CPU", "disk IO"] {
        assert!(svg.contains(want), "svg lacks {want}");
    }
    assert!(chart.duration > 0.7 && !chart.system.is_empty());
}

#[test]
fn tracepoint_counter_counts_a_childs_calls() {
    let tfs = ktrace_ftrace::Tracefs::find_or_mount().unwrap();
    let id: u64 = tfs.read("events/syscalls/sys_enter_getppid/id").unwrap().trim().parse().unwrap();
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import os,sys\nsys.stdin.readline()\nfor _ in range(555): os.getppid()"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = Counters::task(child.id() as i32, &[Ev::Tracepoint(id), Ev::TaskClock], true).unwrap();
    c.enable().unwrap();
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    child.wait().unwrap();
    let r = c.read().unwrap();
    assert_eq!((r[0].ev.name(), r[0].scaled()), ("tracepoint", 555), "{r:?}");
    assert!(r[1].scaled() > 0);
}

/// This process's own taskstats parse on whatever kernel runs the test (v16 here; the VM tier
/// runs it on 6.12's and sid's newer versions).
#[test]
fn taskstats_of_this_process_parse_on_this_kernel() {
    use ktrace_sample::taskstats::{DelayAcctGuard, query};
    let _g = DelayAcctGuard::enable().unwrap();
    let v: u64 = (0..2_000_000u64).map(std::hint::black_box).sum();
    std::hint::black_box(v);
    // This thread (a task): the main thread of a test binary hardly runs.
    let tid = nix::unistd::gettid().as_raw() as u32;
    let t = query(tid, false).unwrap();
    eprintln!("taskstats v{} ({} bytes): {} ns on CPU", t.version, t.len, t.cpu_run_real_ns);
    assert_eq!(t.pid, tid);
    assert!(t.version >= 8 && t.len >= 328, "v{} {} bytes", t.version, t.len);
    assert!(!t.comm.is_empty() && t.cpu_run_real_ns > 0, "{t:?}");
    if t.version >= 16 {
        assert!(t.len >= 560, "v{} carries max/min delays: {} bytes", t.version, t.len);
    }
    if t.version >= 17 && t.cpu.max_ns > 0 {
        // When the longest CPU wait happened: during this test binary's life.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        assert!(t.cpu.max_at_ns <= now && now - t.cpu.max_at_ns < 3_600_000_000_000, "{t:?}");
    }
}
