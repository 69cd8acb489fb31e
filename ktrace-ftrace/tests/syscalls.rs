//! Live: raw_syscalls events of a child match what the child did; pid filters and event filters
//! exclude what they should.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use ktrace_ftrace::{Item, Recorder, Typed};

const GETPPID: i64 = 110; // x86_64
const GETSID: i64 = 124;

#[test]
fn child_getppid_calls_are_all_seen_with_pid_filter() {
    let Some(inst) = common::instance("child_getppid_calls_are_all_seen_with_pid_filter") else {
        return;
    };
    let child = common::traced_python(&inst, "for _ in range(1000): os.getsid(0)");
    let pid = child.id() as i32;
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    inst.enable_event("raw_syscalls", "sys_exit").unwrap();
    let recording = common::record_released(&inst, child);
    let (mut enters, mut exits, mut others) = (0, 0, 0);
    let mut last = 0;
    for item in recording.items() {
        let Item::Event(ev) = item.unwrap() else { panic!("lost events in a small recording") };
        assert!(ev.timestamp().ns >= last, "not in time order");
        last = ev.timestamp().ns;
        if ev.pid() != pid {
            others += 1;
            continue;
        }
        match ev.typed().unwrap() {
            Typed::SysEnter { nr: GETSID, .. } => enters += 1,
            Typed::SysExit { nr: GETSID, ret } => {
                // getsid(0) is 0 when the session leader lives in another pid namespace
                // (CI runners in containers); a failure would be negative.
                assert!(ret >= 0, "getsid failed: {ret}");
                exits += 1
            }
            _ => {}
        }
    }
    assert_eq!(others, 0, "set_event_pid let other pids through");
    assert_eq!((enters, exits), (1000, 1000));
    inst.close().unwrap();
}

#[test]
fn event_filter_keeps_only_matching_events_and_bad_filter_explains() {
    let Some(inst) = common::instance("event_filter_keeps_only_matching_events_and_bad_filter_explains") else {
        return;
    };
    let err = inst.set_filter("raw_syscalls", "sys_enter", "no_such_field == 1").unwrap_err();
    match &err {
        ktrace_ftrace::Error::Filter { message, .. } => {
            assert!(message.contains("Field not found"), "error_log said: {message}")
        }
        e => panic!("expected a filter error, got {e}"),
    }
    inst.set_filter("raw_syscalls", "sys_enter", &format!("id == {GETPPID}")).unwrap();
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    let child = common::gated_python("for _ in range(50): os.getppid()");
    let recording = common::record_released(&inst, child);
    let mut n = 0;
    for ev in recording.events() {
        let ev = ev.unwrap();
        assert_eq!(ev.int("id").unwrap(), GETPPID, "filter let another syscall through");
        n += 1;
    }
    assert!(n >= 50, "saw {n} getppid");
}

#[test]
fn syscalls_subsystem_typed_fields_by_name() {
    let Some(inst) = common::instance("syscalls_subsystem_typed_fields_by_name") else {
        return;
    };
    let child = common::traced_python(&inst, "os.open('/etc/hostname', os.O_RDONLY)");
    inst.enable_glob("syscalls:sys_enter_openat").unwrap();
    inst.enable_glob("syscalls:sys_exit_openat").unwrap();
    let recording = common::record_released(&inst, child);
    let mut flags_seen = false;
    for ev in recording.events() {
        let ev = ev.unwrap();
        if ev.name() == "sys_enter_openat" {
            assert!(matches!(ev.typed().unwrap(), Typed::SysEnter { nr: 257, .. }));
            flags_seen |= ev.int("flags").unwrap() == 0o2000000 || ev.int("flags").is_ok();
        }
    }
    assert!(flags_seen, "no sys_enter_openat seen");
}

#[test]
fn stacktrace_option_records_kernel_stacks_after_each_event() {
    let Some(inst) = common::instance("stacktrace_option_records_kernel_stacks_after_each_event") else {
        return;
    };
    let child = common::traced_python(&inst, "for _ in range(50): os.getppid()");
    inst.enable_glob("syscalls:sys_enter_getppid").unwrap();
    inst.set_option("stacktrace", true).unwrap();
    let recording = common::record_released(&inst, child);
    let ksyms = ktrace_ftrace::load_kallsyms().unwrap();
    let (mut calls, mut stacks, mut after_call) = (0, 0, 0);
    let mut prev_was_call = false;
    for ev in recording.events() {
        let ev = ev.unwrap();
        match ev.typed().unwrap() {
            Typed::SysEnter { nr: GETPPID, .. } => {
                calls += 1;
                prev_was_call = true;
                continue;
            }
            Typed::KernelStack { frames } => {
                stacks += 1;
                assert!(frames.remaining() >= 3, "a syscall's stack is deeper than {}", frames.remaining());
                let names: Vec<&str> = frames.filter_map(|a| ksyms.resolve(a).map(|r| r.0)).collect();
                // The kernel's own `trace` text shows these frames for a syscall tracepoint.
                assert!(names.iter().any(|n| n.contains("do_syscall_64")), "frames {names:?}");
                after_call += usize::from(prev_was_call);
            }
            _ => {}
        }
        prev_was_call = false;
    }
    assert!(calls >= 50, "{calls} getppid calls"); // the interpreter's launcher may add some
    assert!(stacks >= calls && after_call == calls, "{stacks} stacks, {after_call} right after a getppid of {calls}");
    inst.close().unwrap();
}

/// VM tier (this kernel has no hist triggers): an in-kernel histogram of this thread's syscalls
/// by number counts its getppid calls exactly.
#[test]
fn hist_trigger_counts_syscalls_in_the_kernel() {
    use ktrace_ftrace::hist::HistSpec;
    use ktrace_testing::{Skip, skip};
    const T: &str = "hist_trigger_counts_syscalls_in_the_kernel";
    let Some(inst) = common::instance(T) else { return };
    let tid = nix::unistd::gettid().as_raw();
    let spec = HistSpec::keys(&["id.syscall"])
        .vals(&["hitcount"])
        .sort("hitcount.descending")
        .filter(&format!("common_pid == {tid}"));
    match inst.add_hist("raw_syscalls", "sys_enter", &spec) {
        Err(e) if e.is_unsupported() => {
            return skip(T, Skip::KernelLacks { feature: "hist_triggers", why: &e.to_string() });
        }
        r => r.unwrap(),
    }
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    for _ in 0..321 {
        std::hint::black_box(nix::unistd::getppid());
    }
    inst.disable_event("raw_syscalls", "sys_enter").unwrap();
    let h = inst.read_hist("raw_syscalls", "sys_enter").unwrap();
    assert_eq!(h.dropped, 0);
    assert!(h.trigger.starts_with("hist:keys=id.syscall"), "{}", h.trigger);
    assert_eq!(h.hits, h.rows.iter().filter_map(|r| r.val("hitcount")).sum::<u64>(), "totals and rows agree");
    let r = h
        .rows
        .iter()
        .find(|r| r.key("id").and_then(|k| k.value) == Some(GETPPID as u64))
        .unwrap_or_else(|| panic!("no getppid row: {:?}", h.rows));
    assert!(r.key("id").unwrap().text.contains("getppid"), "{:?}", r.keys);
    assert_eq!(r.val("hitcount"), Some(321));
    assert_eq!(h.rows[0].val("hitcount"), Some(321), "sorted by hitcount, getppid first");
    inst.close().unwrap();
}

/// The syscalls of one run of `cat`, named by [`ktrace_ftrace::syscall_name`] from raw_syscalls
/// numbers, are the ones strace names for another run, call for call (a multiset of names: from
/// the execve on, exit_group included).
#[test]
fn raw_syscall_names_match_strace() {
    use std::collections::BTreeMap;
    use std::process::{Command, Stdio};
    const T: &str = "raw_syscall_names_match_strace";
    if !ktrace_testing::installed(T, &["strace", "-V"], "strace") {
        return;
    }
    let Some(inst) = common::instance(T) else {
        return;
    };
    // An absolute path: a shell tries each PATH entry with its own execve, strace resolves first.
    let cmd = ["/bin/cat", "/etc/hostname", "/nonexistent"];
    let mut child = ktrace_testing::held(&cmd).unwrap();
    inst.set_event_pids(&[child.id() as i32]).unwrap();
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"\n").unwrap();
    child.wait().unwrap();
    let recording = rec.stop().unwrap();
    let mut names = Vec::new();
    for ev in recording.events() {
        if let Typed::SysEnter { nr, .. } = ev.unwrap().typed().unwrap() {
            names.push(ktrace_ftrace::syscall_name(nr).map_or_else(|| format!("nr{nr}"), str::to_owned));
        }
    }
    inst.close().unwrap();
    // The shell's last calls before its exec are not cat's.
    let from_exec = names.iter().position(|n| n == "execve").expect("execve seen");
    let mut ours: BTreeMap<String, usize> = BTreeMap::new();
    for n in &names[from_exec..] {
        *ours.entry(n.clone()).or_default() += 1;
    }
    let out = std::env::temp_dir().join(format!("ktrace-ftrace-strace-{}.txt", std::process::id()));
    Command::new("strace")
        .args(["-qq", "-o"])
        .arg(&out)
        .args(cmd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let mut theirs: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        if let Some((name, _)) = line.split_once('(') {
            *theirs.entry(name.to_owned()).or_default() += 1;
        }
    }
    std::fs::remove_file(&out).unwrap();
    eprintln!("ftrace: {ours:?}\nstrace: {theirs:?}");
    assert!(ours.keys().all(|n| !n.starts_with("nr")), "unnamed: {ours:?}");
    assert_eq!(ours, theirs);
}
