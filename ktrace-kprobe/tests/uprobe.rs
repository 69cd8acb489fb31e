//! Live (this kernel has uprobes): uprobes and uretprobes on this test binary's own function and on
//! a libc function, with fetched integer and string args checked against what was passed; probes
//! gone afterwards, also after a panic.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]
#![allow(unsafe_code, reason = "a no_mangle probe target and a direct libc call are what is probed")]

use ktrace_core::format::Value;
use ktrace_core::testing::{Skip, skip};
use ktrace_ftrace::{Recorder, Tracefs};
use ktrace_kprobe::{ArgType, FetchArg, Probes};

/// The probed function: its arguments arrive in %rdi and %rsi (SysV x86_64 ABI).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_uprobe_target(n: u64, s: *const u8) -> u64 {
    std::hint::black_box(s);
    std::hint::black_box(n) * 3
}

fn fs(test: &str) -> Option<Tracefs> {
    if !nix::unistd::geteuid().is_root() {
        skip(test, Skip::Environment("needs root"));
        return None;
    }
    let fs = Tracefs::find_or_mount().ok()?;
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
