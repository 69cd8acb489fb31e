//! VM tier (this machine's kernel has no kprobes): kprobe and kretprobe on `do_sys_openat2` (path
//! string, returned fd) and an entry->return latency histogram.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use ktrace_core::format::Value;
use ktrace_ftrace::{Recorder, Tracefs};
use ktrace_kprobe::agg::EntryReturn;
use ktrace_kprobe::{ArgType, FetchArg, Probes};
use ktrace_testing::{Skip, root, skip};

/// This thread opens a file while the entry probe `names[0]` and the return probe `names[1]` of
/// `probes` are enabled: the entry saw its path in field `path_field`, the return its fd, and at
/// least one entry->return latency pairs up. Then no probe of ours is left in `events_file`.
fn assert_open_traced(fs: &Tracefs, probes: Probes, names: [&str; 2], path_field: &str, events_file: &str) {
    let inst = fs.new_instance().unwrap();
    // set_event_pid filters by task (thread) id: this test thread makes the calls.
    inst.set_event_pids(&[nix::unistd::gettid().as_raw()]).unwrap();
    for name in names {
        inst.enable_event(probes.group(), name).unwrap();
    }
    let path = format!("/tmp/ktrace-{}-{}", names[0], std::process::id());
    std::fs::write(&path, b"x").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f) as i64;
    let recording = rec.stop().unwrap();
    drop(f);
    let mut lat = EntryReturn::default();
    let (mut saw_path, mut saw_fd) = (false, false);
    for ev in recording.events() {
        let ev = ev.unwrap();
        if ev.name() == names[0] {
            lat.entry(ev.pid(), ev.timestamp().ns);
            if let Value::Str(p) = ev.field(path_field).unwrap() {
                saw_path |= p == path.as_bytes();
            }
        } else if ev.name() == names[1] {
            lat.ret(ev.pid(), ev.timestamp().ns);
            saw_fd |= ev.int("fd").unwrap() == fd;
        }
    }
    assert!(saw_path && saw_fd, "path seen {saw_path}, fd {fd} seen {saw_fd}");
    assert!(lat.hist.count() >= 1, "entry->return latency pairs");
    drop(inst);
    probes.close().unwrap();
    let left = std::fs::read_to_string(fs.root().join(events_file)).unwrap();
    assert!(!left.contains(&format!("ktrace_{}", std::process::id())), "left: {left}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn kprobe_and_kretprobe_on_do_sys_openat2() {
    const T: &str = "kprobe_and_kretprobe_on_do_sys_openat2";
    let Some((fs, mut probes)) = common::probes(T) else { return };
    let args = [FetchArg::new("path", "+0(%si)", Some(ArgType::String))];
    let Some(()) = common::supported(T, "kprobes", probes.kprobe("open", "do_sys_openat2", &args, false)) else {
        return;
    };
    probes.kprobe("open_ret", "do_sys_openat2", &[FetchArg::new("fd", "$retval", Some(ArgType::S(64)))], true).unwrap();
    assert_open_traced(&fs, probes, ["open", "open_ret"], "path", "kprobe_events");
}

#[test]
fn perf_pmu_kprobe_counts_opens() {
    const T: &str = "perf_pmu_kprobe_counts_opens";
    if !root(T) {
        return;
    }
    let tid = nix::unistd::gettid().as_raw();
    let probe = ktrace_kprobe::pmu::PmuProbe::kprobe("do_sys_openat2", false, tid);
    let Some(mut p) = common::supported(T, "kprobes", probe) else { return };
    p.enable().unwrap();
    for _ in 0..5 {
        drop(std::fs::File::open("/etc/hostname"));
    }
    p.disable().unwrap();
    let hits = p.hits().unwrap();
    assert!(hits >= 5, "{hits} hits for 5 opens");
}

/// VM tier on a 6.6+ kernel (`vm --kernel 6.12`): arguments fetched by their BTF names, read back
/// from `kprobe_events` as the same definition.
#[test]
fn kprobe_with_btf_argument_names() {
    const T: &str = "kprobe_with_btf_argument_names";
    let Some(fs) = common::tracefs(T) else { return };
    if !fs.root().join("kprobe_events").exists() || !ktrace_kprobe::btf_args_supported(&fs) {
        let why = "no kprobes with BTF argument names (Linux 6.6+, CONFIG_PROBE_EVENTS_BTF_ARGS)";
        return skip(T, Skip::KernelLacks { feature: "kprobe_btf_args", why });
    }
    let mut probes = Probes::new(&fs);
    let args = [FetchArg::btf("dfd", None), FetchArg::btf("filename", Some(ArgType::UString))];
    probes.kprobe("btf_open", "do_sys_openat2", &args, false).unwrap();
    let listed = std::fs::read_to_string(fs.root().join("kprobe_events")).unwrap();
    let line = listed.lines().find(|l| l.contains("/btf_open ")).unwrap_or_else(|| panic!("not listed: {listed}"));
    let back = ktrace_kprobe::ProbeDef::parse(line).unwrap();
    let names: Vec<&str> = back.args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["dfd", "filename"], "read back as {line}");
    let inst = fs.new_instance().unwrap();
    inst.set_event_pids(&[nix::unistd::gettid().as_raw()]).unwrap();
    inst.enable_event(probes.group(), "btf_open").unwrap();
    let path = format!("/tmp/ktrace-kprobe-btf-{}", std::process::id());
    std::fs::write(&path, b"x").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    drop(std::fs::File::open(&path).unwrap());
    let recording = rec.stop().unwrap();
    let mut hit = false;
    for ev in recording.events() {
        let ev = ev.unwrap();
        if ev.name() == "btf_open"
            && let Value::Str(p) = ev.field("filename").unwrap()
            && p == path.as_bytes()
        {
            assert_eq!(ev.int("dfd").unwrap(), i64::from(libc::AT_FDCWD), "dfd by BTF name");
            hit = true;
        }
    }
    assert!(hit, "no btf_open hit for {path}");
    drop(inst);
    probes.close().unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// VM tier on a 6.4+ kernel with fprobe events (`vm --kernel 6.12`): function entry and exit
/// through `dynamic_events`, the path by BTF name at entry and the returned fd at exit.
#[test]
fn fprobe_entry_and_exit_on_do_sys_openat2() {
    const T: &str = "fprobe_entry_and_exit_on_do_sys_openat2";
    let Some((fs, mut probes)) = common::probes(T) else { return };
    let args = [FetchArg::btf("filename", Some(ArgType::UString))];
    let Some(()) = common::supported(T, "fprobe", probes.fprobe("f_open", "do_sys_openat2", &args, false)) else {
        return;
    };
    probes
        .fprobe("f_open_ret", "do_sys_openat2", &[FetchArg::new("fd", "$retval", Some(ArgType::S(64)))], true)
        .unwrap();
    let listed = std::fs::read_to_string(fs.root().join("dynamic_events")).unwrap();
    let ours: Vec<_> = listed.lines().filter(|l| l.contains(probes.group())).collect();
    assert_eq!(ours.len(), 2, "entry and exit fprobes listed: {listed}");
    for l in ours {
        let d = ktrace_kprobe::ProbeDef::parse(l).unwrap();
        assert!(d.is_dynamic_only(), "{l}");
    }
    assert_open_traced(&fs, probes, ["f_open", "f_open_ret"], "filename", "dynamic_events");
}

/// VM tier (this machine's kernel has no kprobes, which eprobes are built on): an event probe on
/// `raw_syscalls/sys_enter` reads the path that `access(2)`'s first argument only points to.
///
/// (Not `+0($filename)` on `syscalls/sys_enter_*`: the kernel reads a `const char *` field of the
/// base event as its first byte (trace_eprobe.c `get_event_field`, FILTER_PTR_STRING), so the
/// dereference finds nothing; a non-string field of 8 bytes or more reads as its first 8 bytes.)
#[test]
fn eprobe_on_sys_enter_reads_the_path() {
    const T: &str = "eprobe_on_sys_enter_reads_the_path";
    let Some((fs, mut probes)) = common::probes(T) else { return };
    // `args` is `unsigned long args[6]`: `$args` is args[0].
    let args =
        [FetchArg::new("nr", "$id", Some(ArgType::S(64))), FetchArg::new("path", "+0($args)", Some(ArgType::UString))];
    let Some(()) = common::supported(T, "eprobe", probes.eprobe("enter_path", "raw_syscalls", "sys_enter", &args))
    else {
        return;
    };
    let listed = std::fs::read_to_string(fs.root().join("dynamic_events")).unwrap();
    assert!(listed.lines().any(|l| l.starts_with(&format!("e:{}/enter_path ", probes.group()))), "{listed}");
    let inst = fs.new_instance().unwrap();
    inst.filter_current_thread().unwrap();
    inst.enable_event(probes.group(), "enter_path").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    let path = format!("/ktrace-eprobe-{}-no-such-file", std::process::id());
    for _ in 0..3 {
        assert!(nix::unistd::access(path.as_str(), nix::unistd::AccessFlags::F_OK).is_err());
    }
    let recording = rec.stop().unwrap();
    let seen: Vec<(i64, String)> = recording
        .events()
        .map(|e| e.unwrap())
        .filter(|e| e.name() == "enter_path")
        .map(|e| {
            let Value::Str(s) = e.field("path").unwrap() else { panic!("path is not a string") };
            (e.int("nr").unwrap(), String::from_utf8_lossy(s).into_owned())
        })
        .collect();
    let access: Vec<_> = seen.iter().filter(|(nr, _)| *nr == libc::SYS_access).collect();
    assert_eq!(access.len(), 3, "three access(2) calls: {seen:?}");
    assert!(access.iter().all(|(_, p)| p == &path), "{seen:?}");
    let group = probes.group().to_owned();
    // Removed although the instance still has it enabled.
    probes.close().unwrap();
    let listed = std::fs::read_to_string(fs.root().join("dynamic_events")).unwrap();
    assert!(!listed.contains(&group), "{listed}");
    inst.close().unwrap();
}
