//! Unit tests of the Perfetto writer: its bytes decoded with the prost types of Perfetto's protos.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use super::protos::{Trace, ftrace_event::Event as Fe, generic_ftrace_event::field::Value as Fv};
use super::*;
use crate::testing;
use std::collections::HashMap;

/// What the writer encodes by hand decodes with the prost types of Perfetto's own protos:
/// each event's typed message with every field, a generic event with its fields by name
/// (also one longer than 127 bytes), the thread names and the loss.
#[test]
fn every_message_decodes_with_perfettos_schema() {
    let mut out = Vec::new();
    let mut w = Perfetto::new(&mut out);
    testing::write(&mut w);
    drop(w);
    let trace = Trace::decode(out.as_slice()).unwrap();
    let mut events = Vec::new();
    let mut threads = Vec::new();
    let mut losses = Vec::new();
    let mut lost_bundles = Vec::new();
    for p in trace.packet {
        match p.data {
            Some(trace_packet::Data::FtraceEvents(b)) => {
                if b.lost_events == Some(true) {
                    lost_bundles.push(b.cpu.unwrap());
                }
                events.extend(b.event.into_iter().map(|e| (b.cpu.unwrap(), e)));
            }
            Some(trace_packet::Data::ProcessTree(t)) => threads = t.threads,
            Some(trace_packet::Data::TrackEvent(e)) => losses.push((p.timestamp, e.debug_annotations)),
            _ => {}
        }
    }
    let ts: Vec<(u32, u64, u32)> = events.iter().map(|(c, e)| (*c, e.timestamp.unwrap(), e.pid.unwrap())).collect();
    assert_eq!(
        ts,
        [(0, 1000, 100), (0, 2000, 200), (0, 3500, 200), (0, 4000, 200), (0, 5000, 200), (1, 2500, 300)],
        "cpu 0's bundle, then cpu 1's"
    );
    let ev = |i: usize| events[i].1.event.clone().unwrap();
    let Fe::SchedSwitch(s) = ev(0) else { panic!("{:?}", ev(0)) };
    assert_eq!(
        (s.prev_comm.as_deref(), s.prev_pid, s.prev_prio, s.prev_state),
        (Some("sh"), Some(100), Some(120), Some(1))
    );
    assert_eq!((s.next_comm.as_deref(), s.next_pid, s.next_prio), (Some("app"), Some(200), Some(120)));
    let Fe::SysEnter(e) = ev(1) else { panic!() };
    assert_eq!((e.id, e.args), (Some(110), vec![1, 2, 3, 4, 5, 6]));
    let Fe::SysExit(e) = ev(2) else { panic!() };
    assert_eq!((e.id, e.ret), (Some(110), Some(42)));
    let Fe::TaskRename(r) = ev(3) else { panic!() };
    assert_eq!((r.pid, r.oldcomm.as_deref(), r.newcomm.as_deref()), (Some(200), Some("app"), Some("worker")));
    for i in [4, 5] {
        let Fe::Generic(g) = ev(i) else { panic!() };
        assert_eq!(g.event_name.as_deref(), Some("sample"));
        let fields: Vec<(String, Option<Fv>)> = g.field.into_iter().map(|f| (f.name.unwrap(), f.value)).collect();
        assert_eq!(
            fields,
            [
                ("value".into(), Some(Fv::IntValue(-5))),
                ("name".into(), Some(Fv::StrValue("hello".into()))),
                ("words".into(), Some(Fv::StrValue("0x0100000002000000".into()))),
                ("msg".into(), Some(Fv::StrValue(testing::long_msg()))),
            ]
        );
    }
    let names: Vec<(i32, String)> = threads.into_iter().map(|t| (t.tid.unwrap(), t.name.unwrap())).collect();
    assert_eq!(names, [(100, "sh".to_owned()), (200, "worker".to_owned())], "the rename wins");
    assert_eq!(lost_bundles, [1], "cpu 1's bundle after the loss says events were lost");
    assert_eq!(losses.len(), 1);
    assert_eq!(losses[0].0, Some(2400));
    let count = losses[0].1.iter().find(|d| d.name_field == Some(debug_annotation::NameField::Name("count".into())));
    assert_eq!(count.unwrap().value, Some(debug_annotation::Value::UintValue(7)));
}

/// The trace `records` make.
fn written(records: &[(u64, u32, Vec<u8>)]) -> Trace {
    let dec = testing::decoder();
    let mut out = Vec::new();
    let mut w = Perfetto::new(&mut out);
    for r in records {
        w.event(&testing::event(&dec, r)).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    Trace::decode(out.as_slice()).unwrap()
}

/// Overlapping block requests are slices on separate lanes of their device's track, from
/// issue to completion; a request never completed ends at the trace's end, unfinished.
#[test]
fn block_requests_are_slices_on_device_lanes() {
    let trace = written(&[
        testing::block(1000, 100, None),
        testing::block(1500, 200, None),
        testing::block(2000, 100, Some(0)),
        testing::block(3000, 200, Some(-5)),
        testing::block(3500, 300, None),
    ]);
    let mut tracks = Vec::new();
    let mut slices = Vec::new();
    for p in trace.packet {
        match p.data {
            Some(trace_packet::Data::TrackDescriptor(d)) => {
                let Some(track_descriptor::StaticOrDynamicName::Name(n)) = d.static_or_dynamic_name else { panic!() };
                tracks.push((d.uuid.unwrap(), d.parent_uuid, n));
            }
            Some(trace_packet::Data::TrackEvent(e)) => {
                let name = e.name_field.map(|track_event::NameField::Name(n)| n);
                let notes: Vec<(String, String)> = e
                    .debug_annotations
                    .iter()
                    .map(|d| {
                        let Some(debug_annotation::NameField::Name(n)) = &d.name_field else { panic!() };
                        (n.clone(), format!("{:?}", d.value.as_ref().unwrap()))
                    })
                    .collect();
                slices.push((p.timestamp.unwrap(), e.r#type.unwrap(), e.track_uuid.unwrap(), name, notes));
            }
            _ => {}
        }
    }
    let dev = BLOCK_TRACKS | (8u64 << 20) << 16;
    assert_eq!(
        tracks,
        [
            (dev, None, "block 8:0".to_owned()),
            (dev | 1, Some(dev), "lane 0".into()),
            (dev | 2, Some(dev), "lane 1".into())
        ]
    );
    let (b, e) = (track_event::Type::SliceBegin as i32, track_event::Type::SliceEnd as i32);
    let notes = |sector: u64, last: (&str, &str)| {
        vec![
            ("sector".to_owned(), format!("UintValue({sector})")),
            ("nr_sector".into(), "UintValue(8)".into()),
            (last.0.into(), last.1.into()),
        ]
    };
    let r = Some("R".to_owned());
    assert_eq!(
        slices,
        [
            (1000, b, dev | 1, r.clone(), notes(100, ("error", "IntValue(0)"))),
            (2000, e, dev | 1, None, vec![]),
            (1500, b, dev | 2, r.clone(), notes(200, ("error", "IntValue(-5)"))),
            (3000, e, dev | 2, None, vec![]),
            (3500, b, dev | 1, r, notes(300, ("unfinished", "UintValue(1)"))),
            (3500, e, dev | 1, None, vec![]),
        ]
    );
}

/// Tasks created during the trace get their thread group: a fork leads its own, a thread
/// (`CLONE_THREAD`) joins its creator's; a thread of an unknown group has none.
#[test]
fn new_tasks_get_their_tgid() {
    let trace = written(&[
        testing::newtask(1, 10, 500, "app", 0x11),        // fork (SIGCHLD): a process
        testing::newtask(2, 500, 501, "app", 0x3d_0f00),  // pthread_create's flags
        testing::newtask(3, 501, 502, "app", 0x3d_0f00),  // a thread of a thread
        testing::newtask(4, 77, 700, "other", 0x3d_0f00), // creator's group unknown
    ]);
    let Some(trace_packet::Data::ProcessTree(t)) = trace.packet.into_iter().filter_map(|p| p.data).next_back() else {
        panic!("no process tree")
    };
    let threads: Vec<(i32, Option<i32>)> = t.threads.iter().map(|t| (t.tid.unwrap(), t.tgid)).collect();
    assert_eq!(threads, [(500, Some(500)), (501, Some(500)), (502, Some(500)), (700, None)]);
    let procs: Vec<(i32, Vec<String>)> = t.processes.into_iter().map(|p| (p.pid.unwrap(), p.cmdline)).collect();
    assert_eq!(procs, [(500, vec!["app".to_owned()])]);
}

/// Samples' callstacks resolve, root first, to their frames' names through the interned
/// tables; each name and stack is interned once, on the first packet that uses it, and the
/// sequence's first packet clears the incremental state.
#[test]
fn samples_resolve_to_their_frames() {
    let mut out = Vec::new();
    let mut w = Perfetto::new(&mut out);
    let stacks: [&[&str]; 4] =
        [&["inner", "outer", "main"], &["inner", "outer", "main"], &["outer", "main"], &["leaf", "inner", "main"]];
    for (i, s) in stacks.iter().enumerate() {
        w.sample(1000 * i as u64, i as u32 % 2, 7, 8 + i as i32, s.iter().copied()).unwrap();
    }
    w.finish().unwrap();
    drop(w);
    let trace = Trace::decode(out.as_slice()).unwrap();
    let (mut names, mut frames, mut stacks_of) = (HashMap::new(), HashMap::new(), HashMap::new());
    let (mut got, mut interned, mut flags) = (Vec::new(), Vec::new(), Vec::new());
    for p in trace.packet {
        let Some(trace_packet::Data::PerfSample(s)) = p.data else { continue };
        assert_eq!(
            p.optional_trusted_packet_sequence_id,
            Some(trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(SAMPLE_SEQUENCE))
        );
        flags.push(p.sequence_flags.unwrap());
        let d = p.interned_data.unwrap_or_default();
        interned.push((d.function_names.len(), d.callstacks.len(), d.mappings.len()));
        for n in d.function_names {
            names.insert(n.iid.unwrap(), String::from_utf8(n.str.unwrap()).unwrap());
        }
        for f in d.frames {
            assert_eq!(f.mapping_id, Some(1));
            frames.insert(f.iid.unwrap(), f.function_name_id.unwrap());
        }
        for c in d.callstacks {
            stacks_of.insert(c.iid.unwrap(), c.frame_ids);
        }
        let stack: Vec<&str> =
            stacks_of[&s.callstack_iid.unwrap()].iter().map(|f| names[&frames[f]].as_str()).collect();
        got.push((p.timestamp.unwrap(), s.cpu.unwrap(), s.pid.unwrap(), s.tid.unwrap(), stack.join(";")));
    }
    assert_eq!(
        got,
        [
            (0, 0, 7, 8, "main;outer;inner".to_owned()),
            (1000, 1, 7, 9, "main;outer;inner".into()),
            (2000, 0, 7, 10, "main;outer".into()),
            (3000, 1, 7, 11, "main;inner;leaf".into()),
        ],
        "root first"
    );
    assert_eq!(interned, [(3, 1, 1), (0, 0, 0), (0, 1, 0), (1, 1, 0)], "(names, stacks, mappings) interned once");
    assert_eq!(flags, [3, 2, 2, 2], "cleared on the first packet; each needs the interned state");
}
