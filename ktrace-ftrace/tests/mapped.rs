//! Live (6.10+): the memory-mapped ring reader sees every event of a known workload exactly once,
//! while the workload runs (the reader sub-buffer is often the one being written).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::io::Write;

use ktrace_core::{Clock, Endian, PageItem, PageLayout};
use ktrace_ftrace::{Decoder, Item, Recorder, Typed};
use ktrace_testing::{Skip, skip};

const GETPPID: i64 = 110; // x86_64
/// Not called by python's start-up (getppid is), which may still run when a recording starts.
const GETSID: i64 = 124;
const N: usize = 20_000;

#[test]
fn mapped_reader_sees_every_event_once() {
    const T: &str = "mapped_reader_sees_every_event_once";
    let Some(inst) = common::instance(T) else { return };
    let mut readers = Vec::new();
    for cpu in 0..inst.nr_cpus() as u32 {
        match inst.mapped_reader(cpu) {
            Ok(r) => readers.push(r),
            Err(e) if e.is_unsupported() => {
                return skip(T, Skip::KernelLacks { feature: "ring_buffer_mmap", why: &e.to_string() });
            }
            Err(e) => panic!("{e}"),
        }
    }
    let mut child = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &format!("import os, sys\nsys.stdin.readline()\nfor _ in range({N}): os.getppid()")])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    inst.set_event_pids(&[child.id() as i32]).unwrap();
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    // Instances are made with tracing off (a Recorder turns it on; this test reads by itself).
    inst.set_tracing_on(true).unwrap();
    let dec = Decoder::new(inst.formats(), Endian::NATIVE, Clock::Local);
    let (mut seen, mut lost, mut pages) = (0usize, 0usize, 0usize);
    let mut drain = |readers: &mut Vec<ktrace_ftrace::MappedCpuReader>| {
        for r in readers.iter_mut() {
            while let Some(p) = r.next_page().unwrap() {
                pages += 1;
                for it in p.items(&PageLayout::LE64).unwrap() {
                    match it.unwrap() {
                        PageItem::Lost(_) => lost += 1,
                        PageItem::Event(raw) => {
                            let id = raw.id(Endian::NATIVE).unwrap();
                            assert!(dec.prepare(id));
                            if let Typed::SysEnter { nr: GETPPID, .. } = dec.decode(raw).unwrap().typed().unwrap() {
                                seen += 1;
                            }
                        }
                    }
                }
            }
        }
    };
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    while child.try_wait().unwrap().is_none() {
        drain(&mut readers);
        // poll(2) works on a mapped ring too.
        let _ = readers[0].wait(std::time::Duration::from_millis(1)).unwrap();
    }
    inst.disable_event("raw_syscalls", "sys_enter").unwrap();
    for _ in 0..3 {
        drain(&mut readers);
    }
    assert_eq!(lost, 0, "events were lost");
    assert_eq!(seen, N, "getppid events seen through the mapping ({pages} reader swaps)");
    drop(readers);
    inst.close().unwrap();
}

/// The recorder drains through the mapping where the kernel offers it ([`Recorder::start_mapped`])
/// and by splice/read(2) otherwise ([`Recorder::start`], the only path before 6.10): both keep
/// every event of a workload once, in time order, with nothing lost, while the reader keeps
/// catching up with the sub-buffer being written (which the mapped drain copies again as it grows).
#[test]
fn recorder_keeps_every_event_mapped_and_unmapped() {
    let Some(inst) = common::instance("recorder_keeps_every_event_mapped_and_unmapped") else { return };
    inst.enable_event("raw_syscalls", "sys_enter").unwrap();
    inst.enable_event("raw_syscalls", "sys_exit").unwrap();
    let can_map = inst.mapped_reader(0).is_ok();
    for mapped in [true, false] {
        let child = common::traced_python(&inst, &format!("for _ in range({N}): os.getsid(0)"));
        let rec = if mapped { Recorder::start_mapped(&inst) } else { Recorder::start(&inst) }.unwrap();
        assert_eq!(rec.mapped(), mapped && can_map);
        common::release(child);
        let recording = rec.stop().unwrap();
        let (mut enters, mut exits, mut lost, mut last) = (0, 0, 0, 0);
        for item in recording.items() {
            match item.unwrap() {
                Item::Lost(_) => lost += 1,
                Item::Event(ev) => {
                    assert!(ev.timestamp().ns >= last, "not in time order (mapped: {mapped})");
                    last = ev.timestamp().ns;
                    match ev.typed().unwrap() {
                        Typed::SysEnter { nr: GETSID, .. } => enters += 1,
                        Typed::SysExit { nr: GETSID, .. } => exits += 1,
                        _ => {}
                    }
                }
            }
        }
        assert_eq!((enters, exits, lost), (N, N, 0), "mapped: {mapped}");
    }
    inst.close().unwrap();
}
