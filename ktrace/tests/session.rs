//! Sessions, live: one time-ordered stream of ftrace, ptrace and perf on CLOCK_MONOTONIC; the same
//! syscall seen by ptrace and by ftrace lands in the same place relative to its sched events, with
//! timestamps a few microseconds apart; losses come as items, in order.
#![cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample", feature = "taskstats"))]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::process::Command;

use ktrace::core::LostSource;
use ktrace::ftrace::stream::Budget;
use ktrace::session::{Session, TimelineEvent};

mod support;
use support::{our_instances, serial};

fn assert_in_time_order(evs: &[TimelineEvent]) {
    for w in evs.windows(2) {
        assert!(w[0].timestamp() <= w[1].timestamp(), "out of order:\n{}\n{}", w[0], w[1]);
    }
}

/// The user's program: a command's syscalls, sched events and samples, merged, in ten lines.
#[test]
fn a_command_timeline_in_ten_lines() {
    let _g = serial();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 0.02"]);
    let mut s = Session::builder().events("sched:sched_switch").syscalls().samples(999).command(cmd).start().unwrap();
    let mut evs = Vec::new();
    for ev in &mut s {
        let ev = ev.unwrap();
        println!("{ev}");
        evs.push(ev);
    }
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let count = |f: fn(&TimelineEvent) -> bool| evs.iter().filter(|e| f(e)).count();
    assert!(count(|e| matches!(e, TimelineEvent::Syscall(s) if s.text.starts_with("execve("))) >= 1);
    assert!(count(|e| matches!(e, TimelineEvent::Ftrace(f) if f.name() == "sched_switch")) > 0);
    assert!(count(|e| matches!(e, TimelineEvent::Sample(_))) > 0, "no samples of a busy loop");
    assert_eq!(count(|e| matches!(e, TimelineEvent::Lost(_))), 0);
    drop(s);
    let left = our_instances();
    assert!(left.is_empty(), "instances left: {left:?}");
}

/// `sleep`'s clock_nanosleep: ptrace's entry and exit stops and ftrace's sys_enter and sys_exit
/// bracket the sched_switch that puts it to sleep, in the merged stream, and each pair of
/// timestamps differs by less than 5 ms (ptrace stamps when waitpid returns, the tracepoint fires
/// once the tracer resumes the task: entry ptrace < ftrace, exit ftrace < ptrace).
#[test]
fn ptrace_and_ftrace_see_one_syscall_in_the_same_place() {
    let _g = serial();
    let mut cmd = Command::new("sleep");
    cmd.arg("0.05");
    let s = Session::builder().events("sched:sched_switch").events("raw_syscalls:*").syscalls().command(cmd);
    let mut s = s.start().unwrap();
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let is_sleep = |nr: i64| matches!(ktrace::ftrace::syscall_name(nr), Some("clock_nanosleep" | "nanosleep"));
    let pos = |f: &dyn Fn(&TimelineEvent) -> bool| evs.iter().position(f).unwrap_or_else(|| panic!("not found"));
    let pt_enter =
        pos(&|e| matches!(e, TimelineEvent::Syscall(c) if c.pid == pid && c.ret.is_none() && is_sleep(c.nr as i64)));
    let pt_exit =
        pos(&|e| matches!(e, TimelineEvent::Syscall(c) if c.pid == pid && c.ret.is_some() && is_sleep(c.nr as i64)));
    let ft = |name: &'static str| move |e: &TimelineEvent| matches!(e, TimelineEvent::Ftrace(f) if f.name() == name && f.pid == pid && is_sleep(f.int("id").unwrap()));
    let ft_enter = pos(&ft("sys_enter"));
    let ft_exit = pos(&ft("sys_exit"));
    // The switch that puts it to sleep: out of `pid`, between the tracepoints.
    let switch = (ft_enter..ft_exit)
        .find(|&i| matches!(&evs[i], TimelineEvent::Ftrace(f) if f.name() == "sched_switch" && f.int("prev_pid").unwrap() == pid as i64))
        .unwrap_or_else(|| panic!("no sched_switch out of {pid} while it slept"));
    for (what, enter, exit) in [("ptrace", pt_enter, pt_exit), ("ftrace", ft_enter, ft_exit)] {
        assert!(enter < switch && switch < exit, "{what}: enter {enter}, switch {switch}, exit {exit}");
    }
    let ns = |i: usize| evs[i].timestamp().ns;
    let (d_enter, d_exit) = (ns(pt_enter).abs_diff(ns(ft_enter)), ns(pt_exit).abs_diff(ns(ft_exit)));
    println!("ptrace-ftrace: entry {d_enter} ns, exit {d_exit} ns");
    assert!(d_enter < 5_000_000 && d_exit < 5_000_000, "entry {d_enter} ns, exit {d_exit} ns apart");
    // Which comes first is the kernel's order: ptrace's report precedes sys_enter, follows sys_exit.
    assert!(pt_enter < ft_enter && ft_exit < pt_exit, "{pt_enter} {ft_enter} {ft_exit} {pt_exit}");
}

/// A consumer that falls behind a syscall storm: tiny rings and budget overflow, and the drops
/// come as `Lost` items in time order among the events, the stream going on after them.
#[test]
fn losses_come_as_items_in_order() {
    let _g = serial();
    let mut cmd = Command::new("dd");
    cmd.args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=400000", "status=none"]);
    let s = Session::builder().events("raw_syscalls:*").buffer_size_kb(64).budget(Budget::mib(1)).command(cmd);
    let mut s = s.start().unwrap();
    // Fall behind at once.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let lost: u64 = evs.iter().filter_map(|e| if let TimelineEvent::Lost(l) = e { l.count } else { None }).sum();
    let events = evs.iter().filter(|e| matches!(e, TimelineEvent::Ftrace(_))).count() as u64;
    let ring: u64 = evs
        .iter()
        .filter_map(|e| match e {
            TimelineEvent::Lost(l) if l.source == LostSource::FtraceRing => l.count,
            _ => None,
        })
        .sum();
    println!("{events} events, {lost} lost, {ring} by the rings, whose counters say {}", s.ftrace_kernel_lost());
    assert_eq!(ring, s.ftrace_kernel_lost(), "ring losses reported vs the kernel's counters");
    // dd's 400k reads and 400k writes are 1.6M raw_syscalls events: each is delivered or counted.
    assert!(events + lost >= 1_600_000, "{events} delivered + {lost} lost < 1.6M");
    assert!(lost > 0, "no loss reported ({events} events of ~1.6M)");
    let first_loss = evs.iter().position(|e| matches!(e, TimelineEvent::Lost(_))).unwrap();
    let after = evs[first_loss..].iter().filter(|e| matches!(e, TimelineEvent::Ftrace(_))).count();
    assert!(after > 0, "the stream did not go on after its first loss");
}

/// Without a command, a session records the system until stopped from another thread.
#[test]
fn a_session_without_a_command_ends_when_stopped() {
    let _g = serial();
    let mut s = Session::builder().events("sched:sched_switch").start().unwrap();
    let stop = s.stop_handle();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        stop.stop();
    });
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_in_time_order(&evs);
    assert!(evs.len() > 10, "{} switches in 200 ms", evs.len());
    assert_eq!(s.exit_code(), None);
}

/// The user's program: a session of the calling thread, as a test records its own code. It sees
/// this thread and the thread it spawns, not a bystander thread made before; the filtered
/// instance's events carry their label and only the path its filter names.
#[test]
fn a_session_of_this_thread_sees_it_and_what_it_spawns_only() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let _g = serial();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let bystander = {
        let done = done.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let _ = std::os::unix::process::parent_id(); // getppid(2)
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let watched = "/tmp/ktrace-session-this-thread";
    let filter = format!("filename.ustring == \"{watched}\"");
    let s = Session::builder()
        .this_thread()
        .events("syscalls:sys_enter_getppid")
        .events_where("watched", "syscalls:sys_enter_openat", &filter)
        .start()
        .unwrap();
    let me = ktrace::capture::gettid();
    for _ in 0..10 {
        let _ = std::os::unix::process::parent_id();
    }
    let child =
        std::thread::spawn(|| (ktrace::capture::gettid(), std::os::unix::process::parent_id()).0).join().unwrap();
    std::fs::write(watched, "x").unwrap();
    let _ = std::fs::read("/etc/hostname");
    s.stop();
    let evs: Vec<TimelineEvent> = s.map(Result::unwrap).collect();
    done.store(true, Ordering::Relaxed);
    bystander.join().unwrap();
    std::fs::remove_file(watched).unwrap();
    let ftrace: Vec<_> =
        evs.iter().filter_map(|e| if let TimelineEvent::Ftrace(f) = e { Some(f) } else { None }).collect();
    let pids = |name: &str| ftrace.iter().filter(|f| f.name() == name).map(|f| f.pid).collect::<Vec<_>>();
    let mut expected = vec![me; 10];
    expected.push(child);
    assert_eq!(pids("sys_enter_getppid"), expected, "getppid of this thread and its child only");
    assert_eq!(pids("sys_enter_openat"), [me], "the watched path's open only");
    assert!(ftrace.iter().all(|f| (f.name() == "sys_enter_openat") == (f.label() == Some("watched"))));
    let mut cmd = Command::new("true");
    cmd.arg("x");
    let e = Session::builder().this_thread().command(cmd).start().unwrap_err();
    assert!(e.to_string().contains("cannot also have a command"), "{e}");
    // A filter the kernel rejects fails the start, naming the event, and leaves nothing.
    let bad = Session::builder().this_thread().events("sched:sched_switch").events_where(
        "x",
        "sched:sched_switch",
        "nope == 1",
    );
    let e = bad.start().unwrap_err();
    assert!(e.to_string().contains("sched/sched_switch"), "{e}");
    let left = our_instances();
    assert!(left.is_empty(), "instances left: {left:?}");
}

/// perf samples and ftrace sched events are on one clock: the samples of the command fall while
/// it is on a CPU, that is after a sched_switch to it and before the next one away from it (all
/// but a few: see below).
#[test]
fn samples_fall_while_the_task_runs() {
    let _g = serial();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"]);
    let mut s = Session::builder().events("sched:sched_switch").samples(999).command(cmd).start().unwrap();
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    // Each CPU's switches as the ring recorded them: (when, prev_pid, next_pid).
    let pid = pid as i64;
    let mut switches: std::collections::BTreeMap<u32, Vec<(u64, i64, i64)>> = Default::default();
    for e in &evs {
        if let TimelineEvent::Ftrace(f) = e
            && f.name() == "sched_switch"
        {
            let sw = (f.ts.ns, f.int("prev_pid").unwrap(), f.int("next_pid").unwrap());
            switches.entry(f.cpu).or_default().push(sw);
        }
    }
    // A sample of the task on CPU c is contradicted when the ring says another task ran on c
    // from the switch before it to the switch after it (that one's prev is not the task). About
    // one switch to the task in 500 is missing from the ftrace stream with no loss reported (also
    // without the pid filter and with Recorder::start; seen from other processes' tasks, e.g.
    // `tokio-rt-worker -> sh`): the switch after the sample then has the task as prev, which
    // says the switch-in went missing, not that the clocks disagree; such samples are unknown.
    let (mut samples, mut unknown, mut off_cpu) = (0, 0, Vec::new());
    for e in &evs {
        let TimelineEvent::Sample(x) = e else { continue };
        if i64::from(x.tid) != pid {
            continue;
        }
        samples += 1;
        let cpu = switches.get(&x.cpu).map_or(&[][..], Vec::as_slice);
        let k = cpu.partition_point(|&(ts, _, _)| ts <= x.ts.ns);
        match (k.checked_sub(1).and_then(|b| cpu.get(b)), cpu.get(k)) {
            (Some(&(_, _, next)), _) if next == pid => {}
            (Some(_), Some(&(_, prev, _))) if prev != pid => {
                off_cpu.push(e.to_string());
                if off_cpu.len() == 1 {
                    let i = evs.iter().position(|y| std::ptr::eq(y, e)).unwrap();
                    for y in &evs[i.saturating_sub(8)..(i + 3).min(evs.len())] {
                        eprintln!("CTX {y}");
                    }
                }
            }
            _ => unknown += 1,
        }
    }
    let lost = evs.iter().filter(|e| matches!(e, TimelineEvent::Lost(_))).count();
    eprintln!("{samples} samples, {} contradicted by the switches, {unknown} unknown, {lost} losses", off_cpu.len());
    assert!(samples > 20, "{samples} samples of a busy loop");
    // A clock mismatch would contradict most samples.
    assert!(off_cpu.len() * 10 <= samples, "samples while {pid} was off CPU: {off_cpu:?}");
}

/// A direct write: ptrace's and ftrace's view of the `write` both bracket the block request it
/// issued and waited for (block_rq_issue, block_rq_complete of 8 sectors), in the merged stream.
#[test]
fn a_direct_write_brackets_its_block_request_in_both_views() {
    let _g = serial();
    let path = std::env::temp_dir().join(format!("ktrace-session-dio-{}", std::process::id()));
    let mut cmd = Command::new("dd");
    cmd.args(["if=/dev/zero", &format!("of={}", path.display()), "bs=4096", "count=1", "oflag=direct", "status=none"]);
    let s = Session::builder().events("raw_syscalls:*").block().syscalls().command(cmd);
    let mut s = s.start().unwrap();
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    let _ = std::fs::remove_file(&path);
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let write = |nr: i64| ktrace::ftrace::syscall_name(nr) == Some("write");
    let pos =
        |what: &str, f: &dyn Fn(&TimelineEvent) -> bool| evs.iter().position(f).unwrap_or_else(|| panic!("no {what}"));
    // The 4096-byte write (dd's others, if any, are to stderr and short).
    let pt_exit = pos(
        "ptrace write exit",
        &|e| matches!(e, TimelineEvent::Syscall(c) if c.pid == pid && write(c.nr as i64) && c.ret == Some(4096)),
    );
    let pt_enter = (0..pt_exit)
        .rev()
        .find(
            |&i| matches!(&evs[i], TimelineEvent::Syscall(c) if c.pid == pid && c.ret.is_none() && write(c.nr as i64)),
        )
        .unwrap();
    let ft = |name: &str, i: usize| matches!(&evs[i], TimelineEvent::Ftrace(f) if f.name() == name && f.pid == pid && f.int("id").is_ok_and(write));
    let ft_enter = (pt_enter..pt_exit).find(|&i| ft("sys_enter", i)).expect("ftrace sys_enter of the write");
    let ft_exit = (ft_enter..pt_exit).find(|&i| ft("sys_exit", i)).expect("ftrace sys_exit of the write");
    let rq = |name: &str| {
        (ft_enter..ft_exit).find(
            |&i| matches!(&evs[i], TimelineEvent::Ftrace(f) if f.name() == name && f.int("nr_sector").ok() == Some(8)),
        )
    };
    let (issue, complete) = (rq("block_rq_issue"), rq("block_rq_complete"));
    let (Some(issue), Some(complete)) = (issue, complete) else {
        panic!("no 8-sector request between the write's sys_enter and sys_exit: {issue:?} {complete:?}")
    };
    assert!(
        pt_enter < ft_enter && issue < complete && ft_exit < pt_exit,
        "{pt_enter} {ft_enter} {issue} {complete} {ft_exit} {pt_exit}"
    );
}

/// Dropping a session mid-command kills the command, stops every source (ftrace, ptrace, perf
/// samples and counters, taskstats, inotify) and removes its instances, at once.
#[test]
fn dropping_a_session_early_cleans_up() {
    let _g = serial();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "while :; do :; done"]);
    let b = Session::builder().events("sched:sched_switch").block().syscalls().samples(99).exits();
    let b = b.counters(&[ktrace::sample::counters::Ev::TaskClock], std::time::Duration::from_millis(10));
    let b = b.watch(std::env::temp_dir(), ktrace::sample::inotify::Mask::IN_CREATE);
    let mut s = b.command(cmd).start().unwrap();
    let pid = s.pid().unwrap();
    let first: Vec<_> = s.by_ref().take(3).map(Result::unwrap).collect();
    assert_eq!(first.len(), 3);
    let t = std::time::Instant::now();
    drop(s);
    assert!(t.elapsed() < std::time::Duration::from_secs(2), "drop took {:?}", t.elapsed());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the command still runs");
    let left = our_instances();
    assert!(left.is_empty(), "instances left: {left:?}");
}

/// The session `b` starts, or `None` with the skip of `test` recorded when the kernel lacks
/// `feature`.
#[cfg(any(feature = "kprobe", feature = "blk"))]
fn start_or_skip(test: &str, feature: &str, b: ktrace::session::SessionBuilder) -> Option<Session> {
    match b.start() {
        Err(e) if e.is_unsupported() => {
            let why = e.to_string();
            ktrace_testing::skip(test, ktrace_testing::Skip::KernelLacks { feature, why: &why });
            None
        }
        r => Some(r.unwrap()),
    }
}

/// The index of the first event matching `f`, or a panic naming `what`.
fn find(evs: &[TimelineEvent], what: &str, f: impl Fn(&TimelineEvent) -> bool) -> usize {
    evs.iter().position(f).unwrap_or_else(|| panic!("no {what}"))
}

/// ftrace's view of one syscall of `pid`: the indexes of its `sys_enter` and the `sys_exit`
/// after it, the first whose number `is` accepts (and whose exit `ret` accepts).
#[cfg(any(feature = "kprobe", feature = "blk"))]
fn ftrace_syscall(
    evs: &[TimelineEvent],
    pid: i32,
    is: impl Fn(&str) -> bool,
    ret: impl Fn(i64) -> bool,
) -> Option<(usize, usize)> {
    let named = |f: &ktrace::session::FtraceEvent| {
        f.pid == pid && f.int("id").ok().and_then(ktrace::ftrace::syscall_name).is_some_and(&is)
    };
    let mut enter = None;
    for (i, e) in evs.iter().enumerate() {
        let TimelineEvent::Ftrace(f) = e else { continue };
        if f.name() == "sys_enter" && named(f) {
            enter = Some(i);
        } else if f.name() == "sys_exit"
            && named(f)
            && f.int("ret").is_ok_and(&ret)
            && let Some(en) = enter
        {
            return Some((en, i));
        }
    }
    None
}

/// A uprobe on libc's `clock_nanosleep` and a uretprobe on its return bracket the syscall that
/// ftrace sees: hit < sys_enter < sys_exit < return, in the merged stream and by their stamps
/// (the probe hits are ftrace events of the session's own instance, on the same clock).
#[cfg(feature = "kprobe")]
#[test]
fn a_probe_hit_brackets_the_syscall_it_makes() {
    use ktrace::kprobe::{ProbeDef, Target};
    let _g = serial();
    let test = "a_probe_hit_brackets_the_syscall_it_makes";
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libc = maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| p.contains("libc.so")).unwrap();
    let off = ktrace::kprobe::elf::Binary::open(libc).unwrap().symbol_offset("clock_nanosleep").unwrap();
    let entry = ProbeDef::new("x", "nap", Target::Uprobe { path: libc.into(), offset: off, ref_ctr: None });
    let ret = ProbeDef::new("x", "nap_ret", Target::Uretprobe { path: libc.into(), offset: off });
    let mut cmd = Command::new("sleep");
    cmd.arg("0.05");
    let b = Session::builder().events("raw_syscalls:*").probe(entry).probe(ret).command(cmd);
    let Some(mut s) = start_or_skip(test, "uprobes", b) else { return };
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let hit = |name: &'static str| move |e: &TimelineEvent| matches!(e, TimelineEvent::Ftrace(f) if f.name() == name && f.pid == pid);
    let h = find(&evs, "uprobe hit", hit("nap"));
    let r = find(&evs, "uretprobe hit", hit("nap_ret"));
    let (enter, exit) =
        ftrace_syscall(&evs, pid, |n| n == "clock_nanosleep", |_| true).expect("ftrace clock_nanosleep");
    let ns = |i: usize| evs[i].timestamp().ns;
    println!("hit {h} enter {enter} exit {exit} return {r}: {} {} {} {}", ns(h), ns(enter), ns(exit), ns(r));
    assert!(h < enter && enter < exit && exit < r, "{h} {enter} {exit} {r}");
    assert!(ns(exit) - ns(enter) >= 45_000_000, "slept {} ns", ns(exit) - ns(enter));
    drop(s);
    assert!(our_instances().is_empty());
    let left = std::fs::read_to_string("/sys/kernel/tracing/uprobe_events").unwrap();
    assert!(!left.contains(&format!("ktrace_{}_", std::process::id())) || left.is_empty(), "probes left: {left}");
}

/// The blk tracer's records of a direct 4 KiB write to a loop device: its issue (`D`) and
/// completion (`C`) fall between the write's sys_enter and sys_exit seen by ftrace, and within a
/// millisecond of the `block_rq_issue`/`block_rq_complete` tracepoints of the same request: the
/// blk records' own time is CLOCK_MONOTONIC. Run under `flock /tmp/ktrace-live.lock` (the blk
/// tracer and loop devices are global).
#[cfg(feature = "blk")]
#[test]
fn the_blk_tracer_sees_a_direct_write_inside_its_syscall() {
    let _g = serial();
    let test = "the_blk_tracer_sees_a_direct_write_inside_its_syscall";
    if !ktrace_testing::root(test) {
        return;
    }
    let lo = ktrace::blk::LoopDevice::create_temp(16 << 20).unwrap();
    let mut cmd = Command::new("dd");
    let of = format!("of={}", lo.path().display());
    cmd.args(["if=/dev/zero", &of, "bs=4096", "count=1", "seek=7", "oflag=direct", "status=none"]);
    let b = Session::builder().events("raw_syscalls:*").block().blk_device(&lo.name()).command(cmd);
    let Some(mut s) = start_or_skip(test, "the blk tracer", b) else { return };
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    drop(s);
    assert_in_time_order(&evs);
    let (enter, exit) =
        ftrace_syscall(&evs, pid, |n| n == "write" || n == "pwrite64", |r| r == 4096).expect("the write");
    // Sector 56 (4096 * 7 / 512) of the loop device.
    let blk = |letter: &'static str| move |e: &TimelineEvent| matches!(e, TimelineEvent::Block(b) if b.action.letter() == letter && b.sector == 56);
    let (d, c) = (find(&evs, "blk issue", blk("D")), find(&evs, "blk complete", blk("C")));
    let tp = |name: &'static str| move |e: &TimelineEvent| matches!(e, TimelineEvent::Ftrace(f) if f.name() == name && f.int("sector").ok() == Some(56));
    let (tp_d, tp_c) =
        (find(&evs, "block_rq_issue", tp("block_rq_issue")), find(&evs, "block_rq_complete", tp("block_rq_complete")));
    let ns = |i: usize| evs[i].timestamp().ns;
    println!(
        "enter {enter} D {d} C {c} exit {exit}; D-issue {} ns, C-complete {} ns",
        ns(d).abs_diff(ns(tp_d)),
        ns(c).abs_diff(ns(tp_c))
    );
    for e in &evs[enter..=exit] {
        println!("{e}");
    }
    assert!(enter < d && d < c && c < exit, "{enter} {d} {c} {exit}");
    assert!(ns(d).abs_diff(ns(tp_d)) < 1_000_000 && ns(c).abs_diff(ns(tp_c)) < 1_000_000);
    assert_eq!(std::fs::read_to_string("/sys/kernel/tracing/current_tracer").unwrap().trim(), "nop");
    let clock = std::fs::read_to_string("/sys/kernel/tracing/trace_clock").unwrap();
    assert!(clock.contains("[local]"), "trace_clock not restored: {clock}");
    assert_eq!(std::fs::read_to_string(format!("/sys/block/{}/trace/enable", lo.name())).unwrap().trim(), "0");
    lo.close().unwrap();
}

/// taskstats exits: the command's exit record comes after its `exit_group` entry seen by ftrace
/// (the record is sent while the task exits, stamped when received) and within 100 ms of it.
/// Run under `flock /tmp/ktrace-live.lock` (taskstats listeners are global).
#[test]
fn a_task_exit_record_follows_its_exit_group() {
    let _g = serial();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exit 3"]);
    let mut s = Session::builder().events("raw_syscalls:sys_enter").exits().command(cmd).start().unwrap();
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(3));
    assert_in_time_order(&evs);
    let exit_group = find(
        &evs,
        "exit_group",
        |e| matches!(e, TimelineEvent::Ftrace(f) if f.pid == pid && f.int("id").ok().and_then(ktrace::ftrace::syscall_name) == Some("exit_group")),
    );
    let rec = find(
        &evs,
        "the command's exit record",
        |e| matches!(e, TimelineEvent::Exit(x) if !x.group && x.stats.pid == pid as u32),
    );
    let TimelineEvent::Exit(x) = &evs[rec] else { unreachable!() };
    println!("{}", evs[rec]);
    assert_eq!(x.stats.exit_code >> 8, 3, "exit code in the record");
    let gap = evs[rec].timestamp().ns - evs[exit_group].timestamp().ns;
    assert!(exit_group < rec && gap < 100_000_000, "exit_group {exit_group}, record {rec}, {gap} ns apart");
}

/// perf counters read every 10 ms: task-clock of a one-thread busy loop grows by at most the
/// time between two readings' stamps (it cannot run longer than the wall clock), and its last
/// value matches the time the task spent on a CPU by ftrace's sched_switch events.
#[test]
fn counters_grow_no_faster_than_their_stamps() {
    use ktrace::sample::counters::Ev;
    let _g = serial();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"]);
    let b = Session::builder().events("sched:sched_switch");
    let b = b.counters(&[Ev::TaskClock, Ev::ContextSwitches], std::time::Duration::from_millis(10));
    let mut s = b.command(cmd).start().unwrap();
    let pid = s.pid().unwrap() as i64;
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let (mut on_cpu, mut since) = (0, None);
    let mut clock = Vec::new();
    for e in &evs {
        match e {
            TimelineEvent::Ftrace(f) if f.int("next_pid").unwrap() == pid => since = Some(f.ts.ns),
            TimelineEvent::Ftrace(f) if f.int("prev_pid").unwrap() == pid => {
                on_cpu += since.take().map_or(0, |t| f.ts.ns - t);
            }
            TimelineEvent::Counter(c) if c.event == Ev::TaskClock => clock.push(*c),
            _ => {}
        }
    }
    assert!(clock.len() > 5, "{} readings", clock.len());
    // A reading is stamped when the read returns, so a reader preempted between the two (load 11
    // here) moves one stamp by up to a scheduler slice: compare growth since the first reading,
    // where one such delay cannot accumulate.
    let first = clock[0];
    for c in &clock[1..] {
        let (wall, grew) = (c.ts.ns - first.ts.ns, c.value - first.value);
        assert!(grew <= wall + 30_000_000, "task-clock +{grew} ns in {wall} ns of stamps");
    }
    let total = clock.last().unwrap().value;
    println!("{} readings, task-clock {total} ns, on CPU by sched_switch {on_cpu} ns", clock.len());
    assert!(total.abs_diff(on_cpu) < 10_000_000 + on_cpu / 10, "task-clock {total} ns, sched_switch {on_cpu} ns");
}

/// inotify: the create of a file by the command comes after the `openat` that creates it (its
/// sys_enter seen by ftrace) and within 100 ms of it.
#[test]
fn an_inotify_event_follows_the_syscall_that_made_it() {
    use ktrace::sample::inotify::Mask;
    let _g = serial();
    let dir = std::env::temp_dir().join(format!("ktrace-session-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("sleep 0.02; : > {}/a; sleep 0.02", dir.display())]);
    let b = Session::builder().events("raw_syscalls:*").watch(&dir, Mask::IN_CREATE | Mask::IN_CLOSE_WRITE);
    let mut s = b.command(cmd).start().unwrap();
    let pid = s.pid().unwrap();
    let evs: Vec<TimelineEvent> = s.by_ref().map(Result::unwrap).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(s.exit_code(), Some(0));
    assert_in_time_order(&evs);
    let create = find(
        &evs,
        "IN_CREATE of a",
        |e| matches!(e, TimelineEvent::Fs(c) if c.mask.contains(Mask::IN_CREATE) && c.name.as_deref() == Some(std::ffi::OsStr::new("a"))),
    );
    // The last openat of the shell before the create (the shell opens other files first).
    let open = (0..create)
        .rev()
        .find(|&i| matches!(&evs[i], TimelineEvent::Ftrace(f) if f.pid == pid && f.name() == "sys_enter" && f.int("id").ok().and_then(ktrace::ftrace::syscall_name) == Some("openat")))
        .unwrap_or_else(|| panic!("no openat before the create at {create}"));
    let gap = evs[create].timestamp().ns - evs[open].timestamp().ns;
    println!("{}\n{} ({gap} ns later)", evs[open], evs[create]);
    assert!(gap < 100_000_000);
}

/// A consumer stopped for 5 s while perf samples a busy command at 10 kHz into 64 KiB rings and
/// a small budget:
/// the perf rings overflow, and the `Lost` items of the perf source sum to the counts of the
/// kernel's `PERF_RECORD_LOST` records; samples delivered plus lost are about what the command's
/// CPU time (its task-clock counter) at 10 kHz makes.
#[test]
fn perf_losses_come_as_items_equal_to_the_kernels_count() {
    use ktrace::sample::counters::Ev;
    let _g = serial();
    let mut cmd = Command::new("timeout");
    cmd.args(["6", "sh", "-c", "while :; do :; done"]);
    let b = Session::builder().samples(10_000).counters(&[Ev::TaskClock], std::time::Duration::from_millis(100));
    let mut s = b.budget(Budget::mib(1)).buffer_size_kb(64).command(cmd).start().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(5));
    let (mut samples, mut lost, mut cpu_ns, mut notices) = (0u64, 0u64, 0u64, 0);
    for e in s.by_ref() {
        match e.unwrap() {
            TimelineEvent::Sample(_) => samples += 1,
            TimelineEvent::Lost(l) if l.source == LostSource::PerfRing => {
                lost += l.count.unwrap();
                notices += 1;
            }
            TimelineEvent::Counter(c) => cpu_ns = c.value,
            _ => {}
        }
    }
    assert_eq!(s.exit_code(), Some(124));
    let expected = cpu_ns / 100_000;
    println!(
        "{samples} samples, {lost} lost in {notices} items, the kernel's LOST records say {}; {cpu_ns} ns on CPU: ~{expected} samples",
        s.perf_kernel_lost()
    );
    assert!(lost > 0, "no perf loss with the consumer stopped 5 s");
    assert_eq!(lost, s.perf_kernel_lost());
    let seen = samples + lost;
    // A sanity bound only: on a loaded VM the sampling hrtimer falls behind the task's clock
    // (31,184 of ~54,373 seen at load 11; 59,991 of 59,992 on a quiet machine).
    assert!(seen * 3 >= expected && seen * 5 <= expected * 6, "{seen} samples seen or lost, ~{expected} expected");
}
