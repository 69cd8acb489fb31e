//! Live: `Instance::enable_glob` expands system and event globs over `events/` (the kernel's
//! `set_event` refuses partial globs), enables exactly the matches, and names a pattern that
//! matches nothing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use ktrace_ftrace::{Error, Recorder, Typed};

fn dir_names(p: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn enable_glob_expands_system_and_event_globs() {
    let Some(inst) = common::instance("enable_glob_expands_system_and_event_globs") else { return };
    let events = inst.path().join("events");
    let pairs = |sys: &str, names: Vec<String>| names.into_iter().map(|n| (sys.to_owned(), n)).collect::<Vec<_>>();

    // A partial event glob: every syscalls/sys_enter_open* and nothing else.
    let want = pairs(
        "syscalls",
        dir_names(&events.join("syscalls")).into_iter().filter(|n| n.starts_with("sys_enter_open")).collect(),
    );
    assert!(want.iter().any(|(_, n)| n == "sys_enter_openat"), "{want:?}");
    assert_eq!(inst.matching_events("syscalls:sys_enter_open*").unwrap(), want);
    inst.enable_glob("syscalls:sys_enter_open*").unwrap();
    let mut on = inst.enabled_events().unwrap();
    on.sort();
    assert_eq!(on, want);

    // A whole system; an event of any system; ? and [...].
    let sched = pairs("sched", dir_names(&events.join("sched")));
    assert_eq!(inst.matching_events("sched:*").unwrap(), sched);
    let switch = vec![("sched".to_owned(), "sched_switch".to_owned())];
    assert_eq!(inst.matching_events("*:sched_switch").unwrap(), switch);
    assert_eq!(inst.matching_events("sched_switch").unwrap(), switch);
    assert_eq!(inst.matching_events("s?he[cd]:sched_swi[!x]ch").unwrap(), switch);
    inst.enable_glob("sched:*").unwrap();
    assert_eq!(inst.enabled_events().unwrap().len(), want.len() + sched.len());

    // Nothing matched, or not a glob: an error naming the pattern.
    for bad in ["syscalls:no_such_event*", "no_such_system:*", "sched:sched_[switch"] {
        let e = inst.enable_glob(bad).unwrap_err();
        assert!(matches!(&e, Error::NoMatch { pattern, .. } if pattern == bad), "{e:?}");
        assert!(e.to_string().contains(bad), "{e}");
    }
    inst.close().unwrap();
}

#[test]
fn events_enabled_by_a_glob_are_recorded() {
    let Some(inst) = common::instance("events_enabled_by_a_glob_are_recorded") else { return };
    inst.filter_current_thread().unwrap();
    inst.enable_glob("syscalls:sys_enter_open*").unwrap();
    let rec = Recorder::start(&inst).unwrap();
    let _ = std::fs::read("/etc/hostname");
    let recording = rec.stop().unwrap();
    let mut opens = 0;
    for ev in recording.events() {
        let ev = ev.unwrap();
        assert!(ev.name().starts_with("sys_enter_open"), "{}", ev.name());
        if ev.name() == "sys_enter_openat" && matches!(ev.typed().unwrap(), Typed::SysEnter { .. }) {
            opens += 1;
        }
    }
    assert!(opens >= 1, "no sys_enter_openat from std::fs::read");
    inst.close().unwrap();
}
