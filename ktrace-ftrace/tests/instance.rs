//! Live: instance guards leave tracefs exactly as they found it, even after a panic; settings
//! round-trip; stale instances are reaped; missed events surface as Lost with counts.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::collections::BTreeMap;
use std::path::Path;

use ktrace_core::Clock;
use ktrace_ftrace::{Item, Tracefs};

/// The global settings a stray instance or guard could disturb.
fn global_state(fs: &Tracefs) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    for f in ["current_tracer", "set_event", "set_event_pid", "tracing_on", "trace_clock", "buffer_size_kb"] {
        m.insert(f, fs.read(f).unwrap_or_default());
    }
    m
}

fn our_instances(fs: &Tracefs) -> Vec<String> {
    let me = format!("ktrace_{}_", std::process::id());
    std::fs::read_dir(fs.root().join("instances"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&me))
        .collect()
}

#[test]
fn guard_removes_instance_even_after_panic() {
    let Some(fs) = common::tracefs("guard_removes_instance_even_after_panic") else {
        return;
    };
    let before = global_state(&fs);
    let name = {
        let inst = fs.new_instance().unwrap();
        inst.enable_event("sched", "sched_switch").unwrap();
        inst.set_filter("sched", "sched_switch", "prev_pid != 0").unwrap();
        inst.set_buffer_size_kb(512).unwrap();
        assert!(inst.path().is_dir());
        inst.name().to_owned()
    };
    assert!(!fs.root().join("instances").join(&name).exists(), "instance left behind after drop");
    let fs2 = fs.clone();
    let r = std::panic::catch_unwind(move || {
        let inst = fs2.new_instance().unwrap();
        inst.enable_system("sched").unwrap();
        let n = inst.name().to_owned();
        std::fs::write("/tmp/ktrace_panic_instance", &n).unwrap();
        panic!("mid-test panic");
    });
    assert!(r.is_err());
    let n = std::fs::read_to_string("/tmp/ktrace_panic_instance").unwrap();
    assert!(!fs.root().join("instances").join(n.trim()).exists(), "instance left behind after panic");
    assert_eq!(global_state(&fs), before, "global tracefs state changed");
}

#[test]
fn settings_round_trip() {
    let Some(inst) = common::instance("settings_round_trip") else {
        return;
    };
    inst.set_buffer_size_kb(256).unwrap();
    let kb = inst.buffer_size_kb().unwrap();
    assert!((256..=272).contains(&kb), "buffer_size_kb {kb} (the kernel rounds up to whole sub-buffers)");
    inst.set_clock(Clock::Mono).unwrap();
    assert_eq!(inst.clock().unwrap(), Clock::Mono);
    inst.set_option("event-fork", true).unwrap();
    assert!(inst.option("event-fork").unwrap());
    inst.set_cpumask(&[0]).unwrap();
    assert_eq!(u64::from_str_radix(inst.read("tracing_cpumask").unwrap().trim(), 16).unwrap(), 1);
    if Path::new(&inst.path().join("buffer_subbuf_size_kb")).exists() {
        inst.set_subbuf_size_kb(8).unwrap();
        assert_eq!(inst.subbuf_size(), 8192);
    }
    inst.set_tracing_on(false).unwrap();
    assert!(!inst.tracing_on().unwrap());
    assert!(inst.available_tracers().unwrap().contains(&"nop".to_owned()));
    let st = inst.cpu_stats(0).unwrap();
    assert_eq!(st.entries, 0);
    assert!(matches!(inst.set_tracer("no_such_tracer"), Err(ktrace_ftrace::Error::Unsupported { .. })));
    assert!(matches!(inst.enable_event("sched", "nope"), Err(ktrace_ftrace::Error::NoSuchEvent { .. })));
}

/// Live recordings parse pages with the layout the kernel states in `events/header_page`.
#[test]
fn page_layout_comes_from_header_page() {
    let Some(inst) = common::instance("page_layout_comes_from_header_page") else {
        return;
    };
    let l = inst.page_layout().unwrap();
    // `local_t commit` is a long; the data follow the u64 timestamp and the commit word.
    assert_eq!((l.timestamp_offset, l.commit_offset), (0, 8));
    assert_eq!((l.commit_size, l.data_offset), (size_of::<usize>(), 8 + size_of::<usize>()));
    assert_eq!(l.endian, ktrace_core::Endian::NATIVE);
}

#[test]
fn reaper_removes_instances_of_dead_pids_only() {
    let Some(fs) = common::tracefs("reaper_removes_instances_of_dead_pids_only") else {
        return;
    };
    // pid 0x3ffffff is above pid_max: never alive.
    let stale = fs.root().join("instances/ktrace_67108863_0");
    // (It may be there already: made by a test of this file in another process, and not yet
    // reaped.)
    if let Err(e) = std::fs::create_dir(&stale) {
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "mkdir {}: {e}", stale.display());
    }
    let mine = fs.new_instance().unwrap();
    let reaped = fs.reap_stale().unwrap();
    // (Or by the reaper of a `Tracefs::find` in a test running in parallel.)
    assert!(reaped.contains(&"ktrace_67108863_0".to_owned()) || !reaped.iter().any(|r| r.contains("67108863")));
    assert!(!stale.exists());
    assert!(mine.path().exists());
    assert!(our_instances(&fs).contains(&mine.name().to_owned()));
}

#[test]
fn overwritten_events_surface_as_lost_with_counts() {
    let Some(inst) = common::instance("overwritten_events_surface_as_lost_with_counts") else {
        return;
    };
    inst.set_buffer_size_kb(8).unwrap();
    inst.set_cpumask(&[0]).unwrap();
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    inst.set_tracing_on(true).unwrap();
    // Flood with no reader, pinned to CPU 0.
    let st = std::process::Command::new("taskset")
        .args(["-c", "0", "python3", "-c", "import os\nfor _ in range(20000): os.getppid()"])
        .status()
        .unwrap();
    assert!(st.success());
    inst.set_tracing_on(false).unwrap();
    let overrun = inst.cpu_stats(0).unwrap().overrun;
    assert!(overrun > 1000, "overrun {overrun}");
    let mut r = inst.cpu_reader(0).unwrap();
    let mut buf = Vec::new();
    r.drain_into(&mut buf, 5).unwrap();
    drop(r);
    let dec = ktrace_ftrace::Decoder::new(inst.formats(), ktrace_core::Endian::NATIVE, Clock::Local);
    let pages = ktrace_core::Pages::new(&buf, inst.subbuf_size(), ktrace_core::PageLayout::LE64, 0);
    dec.prepare_all(pages.clone().filter_map(|i| match i {
        Ok(ktrace_core::PageItem::Event(e)) => Some(e),
        _ => None,
    }));
    let rec = ktrace_ftrace::Recording::new(
        vec![buf],
        inst.subbuf_size(),
        ktrace_core::PageLayout::LE64,
        vec![(overrun, 0)],
        dec,
    );
    let lost: u64 = rec.items().filter_map(|i| if let Ok(Item::Lost(l)) = i { l.count } else { None }).sum();
    assert_eq!(lost, overrun, "losses reported ({lost}) differ from the kernel's overrun counter ({overrun})");
}
