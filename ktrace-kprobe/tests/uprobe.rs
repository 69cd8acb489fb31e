//! Live (this kernel has uprobes): uprobes and uretprobes on this test binary's own function and on
//! a libc function, with fetched integer and string args checked against what was passed; probes
//! gone afterwards, also after a panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]
#![allow(unsafe_code, reason = "a no_mangle probe target and a direct libc call are what is probed")]

mod common;

use ktrace_core::format::Value;
use ktrace_ftrace::{Recorder, Tracefs};
use ktrace_kprobe::{ArgType, FetchArg, Probes};
use ktrace_testing::{Skip, skip};

/// The probed function: its arguments arrive in %rdi and %rsi (SysV x86_64 ABI).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_uprobe_target(n: u64, s: *const u8) -> u64 {
    std::hint::black_box(s);
    std::hint::black_box(n) * 3
}

/// A probed function with two integer arguments (SysV x86_64: %rdi, %rsi; aarch64: x0, x1).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_uprobe_two_ints(a: i64, b: u32) -> i64 {
    std::hint::black_box(a) + i64::from(std::hint::black_box(b))
}

fn fs(test: &str) -> Option<Tracefs> {
    let fs = common::tracefs(test)?;
    if !fs.root().join("uprobe_events").exists() {
        skip(test, Skip::KernelLacks { feature: "uprobes", why: "no uprobe_events" });
        return None;
    }
    Some(fs)
}

/// This test's own probes (other tests of this process use `ktrace_<pid>_<suffix>` groups).
fn ours(fs: &Tracefs) -> Vec<String> {
    let me = format!(":ktrace_{}/", std::process::id());
    std::fs::read_to_string(fs.root().join("uprobe_events"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(&me))
        .map(str::to_owned)
        .collect()
}

#[test]
fn uprobe_and_uretprobe_on_own_function() {
    let Some(fs) = fs("uprobe_and_uretprobe_on_own_function") else { return };
    let exe = std::fs::read_link("/proc/self/exe").unwrap().display().to_string();
    let mut probes = Probes::with_group(&fs, &format!("ktrace_{}", std::process::id()));
    let args = [FetchArg::new("n", "%di", Some(ArgType::U(64))), FetchArg::new("s", "+0(%si)", Some(ArgType::UString))];
    probes.uprobe("target", &exe, "ktrace_uprobe_target", &args, false).unwrap();
    probes
        .uprobe(
            "target_ret",
            &exe,
            "ktrace_uprobe_target",
            &[FetchArg::new("rv", "$retval", Some(ArgType::U(64)))],
            true,
        )
        .unwrap();
    let inst = fs.new_instance().unwrap();
    // set_event_pid filters by task (thread) id: this test thread makes the calls.
    inst.set_event_pids(&[nix::unistd::gettid().as_raw()]).unwrap();
    inst.enable_event(probes.group(), "target").unwrap();
    inst.enable_event(probes.group(), "target_ret").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    for i in 0..10u64 {
        let s = format!("hello {i}\0");
        ktrace_uprobe_target(i, s.as_ptr());
    }
    let recording = rec.stop().unwrap();
    let (mut hits, mut rets) = (Vec::new(), Vec::new());
    for ev in recording.events() {
        let ev = ev.unwrap();
        match ev.name() {
            "target" => {
                let Value::Str(s) = ev.field("s").unwrap() else { panic!() };
                hits.push((ev.int("n").unwrap() as u64, String::from_utf8_lossy(s).into_owned()));
            }
            "target_ret" => rets.push(ev.int("rv").unwrap() as u64),
            _ => {}
        }
    }
    let want: Vec<_> = (0..10u64).map(|i| (i, format!("hello {i}"))).collect();
    assert_eq!(hits, want);
    assert_eq!(rets, (0..10u64).map(|i| i * 3).collect::<Vec<_>>());
    drop(inst);
    probes.close().unwrap();
    assert!(ours(&fs).is_empty(), "probes left: {:?}", ours(&fs));
}

#[test]
fn uprobe_on_libc_function_with_pid_filter() {
    let Some(fs) = fs("uprobe_on_libc_function_with_pid_filter") else { return };
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libc =
        maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| p.contains("libc.so")).unwrap().to_owned();
    let mut probes = Probes::with_group(&fs, &format!("ktrace_{}_libc", std::process::id()));
    probes
        .uprobe("getenv", &libc, "getenv", &[FetchArg::new("name", "+0(%di)", Some(ArgType::UString))], false)
        .unwrap();
    let inst = fs.new_instance().unwrap();
    // set_event_pid filters by task (thread) id: this test thread makes the calls.
    inst.set_event_pids(&[nix::unistd::gettid().as_raw()]).unwrap();
    inst.enable_event(probes.group(), "getenv").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    // SAFETY-free: std::env::var calls libc getenv? It reads environ itself; call libc directly.
    let key = std::ffi::CString::new("KTRACE_UPROBE_PROBE_VAR").unwrap();
    #[allow(unsafe_code, reason = "calling the probed libc function directly")]
    // SAFETY: getenv with a valid NUL-terminated string.
    unsafe {
        libc_getenv(key.as_ptr());
    }
    let recording = rec.stop().unwrap();
    // The probe is removed before decoding: the recording loaded its format at stop.
    drop(inst);
    probes.close().unwrap();
    let names: Vec<String> = recording
        .events()
        .filter_map(|e| match e.unwrap().field("name").unwrap() {
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        })
        .collect();
    assert!(names.contains(&"KTRACE_UPROBE_PROBE_VAR".to_owned()), "{names:?}");
}

unsafe extern "C" {
    #[link_name = "getenv"]
    fn libc_getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
}

#[test]
fn probes_are_removed_after_a_panic_and_bad_definitions_explain() {
    let Some(fs) = fs("probes_are_removed_after_a_panic_and_bad_definitions_explain") else { return };
    let exe = std::fs::read_link("/proc/self/exe").unwrap().display().to_string();
    let fs2 = fs.clone();
    let group = format!("ktrace_{}_panic", std::process::id());
    let g2 = group.clone();
    let r = std::panic::catch_unwind(move || {
        let mut p = Probes::with_group(&fs2, &g2);
        p.uprobe("t", &exe, "ktrace_uprobe_target", &[], false).unwrap();
        panic!("mid-test");
    });
    assert!(r.is_err());
    let text = std::fs::read_to_string(fs.root().join("uprobe_events")).unwrap();
    assert!(!text.contains(&group), "left behind: {text}");
    let mut p = Probes::with_group(&fs, &format!("ktrace_{}_bad", std::process::id()));
    let exe = std::fs::read_link("/proc/self/exe").unwrap().display().to_string();
    let err =
        p.uprobe("t", &exe, "ktrace_uprobe_target", &[FetchArg::new("x", "%nosuchreg", None)], false).unwrap_err();
    assert!(matches!(err, ktrace_kprobe::Error::Rejected { .. }), "{err}");
    let err = p.uprobe("t", &exe, "no_such_symbol_anywhere", &[], false).unwrap_err();
    assert!(matches!(err, ktrace_kprobe::Error::NoSymbol { .. }), "{err}");
    let err = p.uprobe("t", "/etc/hostname", "main", &[], false).unwrap_err();
    assert!(matches!(err, ktrace_kprobe::Error::NotElf { .. }), "{err}");
}

#[test]
fn perf_pmu_uprobes_count_every_call() {
    let Some(_fs) = fs("perf_pmu_uprobes_count_every_call") else { return };
    let exe = std::fs::read_link("/proc/self/exe").unwrap().display().to_string();
    let tid = nix::unistd::gettid().as_raw();
    let mut entry = ktrace_kprobe::pmu::PmuProbe::uprobe(&exe, "ktrace_uprobe_target", false, tid).unwrap();
    let mut ret = ktrace_kprobe::pmu::PmuProbe::uprobe(&exe, "ktrace_uprobe_target", true, tid).unwrap();
    entry.enable().unwrap();
    ret.enable().unwrap();
    for i in 0..1000u64 {
        ktrace_uprobe_target(i, c"x".as_ptr().cast());
    }
    entry.disable().unwrap();
    ret.disable().unwrap();
    assert_eq!(entry.hits().unwrap(), 1000);
    assert_eq!(ret.hits().unwrap(), 1000);
}

#[test]
fn stripped_static_binary_is_reported_as_stripped() {
    let dir = std::env::temp_dir().join(format!("ktrace-strip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.c"), "int main(void) { return 0; }\n").unwrap();
    let bin = dir.join("s");
    let built = std::process::Command::new("gcc").args(["-static", "-s", "-o"]).arg(&bin).arg(dir.join("s.c")).status();
    if !built.is_ok_and(|s| s.success()) {
        return skip(
            "stripped_static_binary_is_reported_as_stripped",
            Skip::Environment("gcc -static (libc6-dev) is needed"),
        );
    }
    let err = ktrace_kprobe::elf::Binary::open(bin.to_str().unwrap()).unwrap().symbol_offset("main").unwrap_err();
    assert!(matches!(err, ktrace_kprobe::Error::Stripped { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `group/event`s of these groups in uprobe_events.
fn listed(fs: &Tracefs, groups: &[&str]) -> Vec<String> {
    std::fs::read_to_string(fs.root().join("uprobe_events"))
        .unwrap()
        .lines()
        .filter(|l| groups.iter().any(|g| l.contains(&format!(":{g}/"))))
        .map(str::to_owned)
        .collect()
}

fn exe() -> String {
    std::fs::read_link("/proc/self/exe").unwrap().display().to_string()
}

#[test]
fn guards_made_at_once_probe_the_same_function() {
    let Some(fs) = fs("guards_made_at_once_probe_the_same_function") else { return };
    let barrier = std::sync::Barrier::new(2);
    let groups: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut p = Probes::new(&fs);
                    barrier.wait();
                    p.uprobe("target", &exe(), "ktrace_uprobe_target", &[], false).unwrap();
                    barrier.wait();
                    let g = p.group().to_owned();
                    assert_eq!(listed(&fs, &[&g]).len(), 1, "{g}");
                    p.close().unwrap();
                    g
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_ne!(groups[0], groups[1]);
    let me = format!("ktrace_{}_", std::process::id());
    assert!(groups.iter().all(|g| g.starts_with(&me)), "{groups:?}");
    assert!(listed(&fs, &[&groups[0], &groups[1]]).is_empty());
}

#[test]
fn probes_are_removed_whatever_the_drop_order() {
    let Some(fs) = fs("probes_are_removed_whatever_the_drop_order") else { return };
    for probes_first in [true, false] {
        let mut probes = Probes::new(&fs);
        probes.uprobe("target", &exe(), "ktrace_uprobe_target", &[], false).unwrap();
        let group = probes.group().to_owned();
        // Enabled in an instance and at the top, as a user might.
        let inst = fs.new_instance().unwrap();
        inst.enable_event(&group, "target").unwrap();
        let global = ktrace_ftrace::Instance::global(&fs);
        global.enable_event(&group, "target").unwrap();
        if probes_first {
            probes.close().unwrap();
            drop(inst);
        } else {
            drop(inst);
            drop(probes);
        }
        assert!(listed(&fs, &[&group]).is_empty(), "probes_first={probes_first}: {:?}", listed(&fs, &[&group]));
        assert!(!fs.root().join("events").join(&group).exists());
        // The global guard's restore of the removed event's `enable` has nothing left to restore.
        let _ = global.close();
    }
}

#[test]
fn fetch_arg_by_position_reads_integer_arguments() {
    let Some(fs) = fs("fetch_arg_by_position_reads_integer_arguments") else { return };
    let mut probes = Probes::new(&fs);
    let args = [FetchArg::arg(1, Some(ArgType::S(64))), FetchArg::arg(2, Some(ArgType::U(32)))];
    probes.uprobe("two", &exe(), "ktrace_uprobe_two_ints", &args, false).unwrap();
    // The kernel holds the register the argument arrives in, not $arg1.
    let line = listed(&fs, &[probes.group()]).pop().unwrap();
    assert!(!line.contains("$arg"), "{line}");
    let inst = fs.new_instance().unwrap();
    inst.filter_current_thread().unwrap();
    inst.enable_event(probes.group(), "two").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    let want: Vec<(i64, i64)> = (0..10i64).map(|i| (-1000 * i - 7, 3 * i + 1)).collect();
    for &(a, b) in &want {
        ktrace_uprobe_two_ints(a, b as u32);
    }
    let recording = rec.stop().unwrap();
    let got: Vec<(i64, i64)> = recording
        .events()
        .map(|e| e.unwrap())
        .filter(|e| e.name() == "two")
        .map(|e| (e.int("arg1").unwrap(), e.int("arg2").unwrap()))
        .collect();
    assert_eq!(got, want);
    drop(probes);
    drop(inst);
}

#[test]
fn reaper_removes_dead_owners_groups_only() {
    let Some(fs) = fs("reaper_removes_dead_owners_groups_only") else { return };
    // pid 0x3ffffff is above pid_max: never alive. Its guard is leaked, as a killed owner's would be.
    let inst = fs.new_instance().unwrap();
    // A guard made by a test in parallel reaps the dead group at once, now and then between its
    // creation and its enable here (NoSuchEvent): made again then, a few times at most.
    for attempt in 1.. {
        let mut dead = Probes::with_group(&fs, "ktrace_67108863_0");
        dead.uprobe("target", &exe(), "ktrace_uprobe_target", &[], false).unwrap();
        let enabled = inst.enable_event(dead.group(), "target");
        std::mem::forget(dead);
        match enabled {
            Ok(()) => break,
            Err(ktrace_ftrace::Error::NoSuchEvent { .. }) if attempt < 5 => continue,
            Err(e) => panic!("enabling the dead owner's probe: {e}"),
        }
    }
    let mut live = Probes::new(&fs);
    live.uprobe("target", &exe(), "ktrace_uprobe_target", &[], false).unwrap();
    let mut named = Probes::with_group(&fs, "reaper_named");
    let g = named.group();
    assert!(g.starts_with(&format!("ktrace_{}_", std::process::id())) && g.ends_with("_reaper_named"), "{g}");
    named.uprobe("target", &exe(), "ktrace_uprobe_target", &[], false).unwrap();
    let reaped = ktrace_kprobe::reap_stale(&fs).unwrap();
    // (Or by the reaper of a guard made at the same time by a test in parallel.)
    assert!(reaped.contains(&"ktrace_67108863_0/target".to_owned()) || reaped.is_empty(), "{reaped:?}");
    assert!(listed(&fs, &["ktrace_67108863_0"]).is_empty());
    assert_eq!(listed(&fs, &[live.group(), named.group()]).len(), 2, "a live owner's probes were reaped");
    assert!(!reaped.iter().any(|r| r.starts_with(live.group()) || r.starts_with(named.group())), "{reaped:?}");
    live.close().unwrap();
    named.close().unwrap();
    inst.close().unwrap();
}
