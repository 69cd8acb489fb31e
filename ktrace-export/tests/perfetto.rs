//! Perfetto protobuf: the `perfetto` package's own schema (`perfetto_trace_pb2`, from PyPI) decodes
//! the file, and every sched_switch of the recording is there once with its cpu, timestamp and
//! pids; thread names are there; a loss marker carries its count; block requests are slices on
//! their device's track.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::path::PathBuf;
use std::process::Command;

use ktrace_export::{Perfetto, Writer};
use ktrace_ftrace::{Item, Typed};
use ktrace_testing::{Skip, skip};
use serde_json::Value;

/// The venv .ci/run makes (`target/pyenv`, `pip install perfetto`), or `KTRACE_PYTHON`.
fn python(test: &str) -> Option<PathBuf> {
    let py = std::env::var_os("KTRACE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python3"));
    let ok = Command::new(&py)
        .args(["-c", "from perfetto.protos.perfetto.trace import perfetto_trace_pb2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            test,
            Skip::Environment(&format!(
                "{} cannot import perfetto_trace_pb2 (python3 -m venv target/pyenv && target/pyenv/bin/pip install perfetto)",
                py.display()
            )),
        );
        return None;
    }
    Some(py)
}

const DECODE: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
t = pb.Trace()
t.ParseFromString(open(sys.argv[1], 'rb').read())
out = {"switches": [], "threads": {}, "kinds": {}, "losses": [], "lost_bundles": []}
for p in t.packet:
    if p.HasField("ftrace_events"):
        b = p.ftrace_events
        if b.lost_events:
            out["lost_bundles"].append(b.cpu)
        for e in b.event:
            k = e.WhichOneof("event")
            out["kinds"][k] = out["kinds"].get(k, 0) + 1
            if k == "sched_switch":
                s = e.sched_switch
                out["switches"].append([b.cpu, e.timestamp, e.pid, s.prev_pid, s.next_pid, s.prev_comm, s.next_comm])
    if p.HasField("process_tree"):
        for th in p.process_tree.threads:
            out["threads"][str(th.tid)] = th.name
    if p.HasField("track_event"):
        a = {d.name: d.uint_value for d in p.track_event.debug_annotations}
        out["losses"].append([p.timestamp, p.track_event.name, a.get("cpu"), a.get("count")])
json.dump(out, sys.stdout)
"#;

#[test]
fn perfetto_schema_decodes_every_sched_switch() {
    const T: &str = "perfetto_schema_decodes_every_sched_switch";
    let Some(py) = python(T) else { return };
    let Some((dat, _)) = common::recorded(T) else { return };
    let rec = dat.recording().unwrap();
    let path = common::tmp("trace.perfetto-trace");
    let mut w = Perfetto::new(std::fs::File::create(&path).unwrap()).with_names(&dat.comms());
    let mut switches = Vec::new();
    let mut total = 0u64;
    let mut lost = None;
    for (i, item) in rec.items().enumerate() {
        let item = item.unwrap();
        w.item(&item).unwrap();
        let Item::Event(ev) = item else { continue };
        total += 1;
        if let Typed::SchedSwitch { prev_pid, next_pid, prev_comm, next_comm, .. } = ev.typed().unwrap() {
            switches.push(serde_json::json!([
                ev.cpu(),
                ev.timestamp().ns,
                ev.pid(),
                prev_pid,
                next_pid,
                String::from_utf8_lossy(prev_comm),
                String::from_utf8_lossy(next_comm)
            ]));
        }
        if i == 20 {
            let l = common::injected_loss(&ev);
            w.lost(&l).unwrap();
            lost = Some(l);
        }
    }
    w.finish().unwrap();
    let out = Command::new(&py).arg("-c").arg(DECODE).arg(&path).output().unwrap();
    assert!(out.status.success(), "perfetto_trace_pb2 could not decode: {}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert!(switches.len() > 10);
    // Bundles are per CPU: compare each CPU's sequence (stable sort by cpu keeps time order).
    let mut theirs = got["switches"].as_array().unwrap().clone();
    theirs.sort_by_key(|s| s[0].as_u64());
    switches.sort_by_key(|s| s[0].as_u64());
    assert_eq!(theirs.len(), switches.len(), "every sched_switch once");
    for (i, (a, b)) in theirs.iter().zip(&switches).enumerate() {
        assert_eq!(a, b, "sched_switch {i} (per cpu, in order): cpu, ts, pid, prev_pid, next_pid, comms");
    }
    let kinds: u64 = got["kinds"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(kinds, total, "every event is an FtraceEvent");
    for k in ["sched_switch", "sched_waking", "sys_enter", "sys_exit", "task_newtask", "sched_process_exec"] {
        assert!(got["kinds"][k].as_u64().unwrap_or(0) > 0, "{k} events decoded as their typed message");
    }
    assert!(got["kinds"]["task_rename"].as_u64().unwrap_or(0) > 0, "the prctl rename");
    let threads = got["threads"].as_object().unwrap();
    for s in &switches {
        let pid = s[4].as_i64().unwrap();
        assert!(!threads[&pid.to_string()].as_str().unwrap().is_empty(), "thread {pid} named");
    }
    assert!(threads.values().any(|n| n == "ktrace-spin"), "the renamed thread's name");
    let l = lost.unwrap();
    assert_eq!(
        got["losses"],
        serde_json::json!([[l.timestamp_ns, "lost events", l.cpu, 4321]]),
        "one loss marker with its cpu and count"
    );
    assert!(got["lost_bundles"].as_array().unwrap().contains(&l.cpu.into()), "the cpu's next bundle says lost_events");
    eprintln!("{T}: {total} events, {} sched_switch, {} threads named", switches.len(), threads.len());
}

const BLOCK_DECODE: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
t = pb.Trace()
t.ParseFromString(open(sys.argv[1], 'rb').read())
tracks, open_, slices = {}, {}, []
for p in t.packet:
    if p.trusted_packet_sequence_id != 3:
        continue
    if p.HasField("track_descriptor"):
        tracks[p.track_descriptor.uuid] = [p.track_descriptor.name, p.track_descriptor.parent_uuid]
    if p.HasField("track_event"):
        e = p.track_event
        if e.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
            a = {d.name: d.uint_value or d.int_value for d in e.debug_annotations}
            open_[e.track_uuid] = [p.timestamp, a["sector"], a["nr_sector"], e.name]
        elif e.type == pb.TrackEvent.TYPE_SLICE_END:
            s = open_.pop(e.track_uuid)
            slices.append(s + [p.timestamp, tracks[tracks[e.track_uuid][1]][0]])
json.dump({"slices": slices, "open": len(open_)}, sys.stdout)
"#;

/// Block requests of a direct-I/O write: each issue → complete pair of the recording is one
/// slice on its device's track, with the same times, sector and count.
#[test]
fn perfetto_block_requests_are_device_slices() {
    const T: &str = "perfetto_block_requests_are_device_slices";
    let Some(py) = python(T) else { return };
    if !ktrace_testing::root(T) {
        return;
    }
    let fs = ktrace_ftrace::Tracefs::find_or_mount().unwrap();
    let inst = fs.new_instance().unwrap();
    inst.enable_event("block", "block_rq_issue").unwrap();
    inst.enable_event("block", "block_rq_complete").unwrap();
    let file = common::tmp("block-io.bin");
    let rec = ktrace_ftrace::Recorder::start(&inst).unwrap();
    let st = Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", file.display()), "bs=64k", "count=32", "oflag=direct", "conv=fsync"])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let recording = rec.stop().unwrap();
    let _ = std::fs::remove_file(&file);
    let path = common::tmp("block.perfetto-trace");
    let mut w = Perfetto::new(std::fs::File::create(&path).unwrap());
    let mut issued = std::collections::HashMap::new();
    let mut want = Vec::new();
    for item in recording.items() {
        let item = item.unwrap();
        w.item(&item).unwrap();
        let Item::Event(ev) = item else { continue };
        if let Typed::BlockRq { phase, dev, sector, nr_sector, rwbs, .. } = ev.typed().unwrap() {
            let rwbs = String::from_utf8_lossy(rwbs).into_owned();
            match phase {
                ktrace_ftrace::BlockPhase::Issue => {
                    issued.insert((dev, sector), (ev.timestamp().ns, nr_sector, rwbs));
                }
                ktrace_ftrace::BlockPhase::Complete => {
                    if let Some((t0, n, r)) = issued.remove(&(dev, sector)) {
                        let name = format!("block {}:{}", dev >> 20, dev & 0xfffff);
                        want.push(serde_json::json!([t0, sector, n, r, ev.timestamp().ns, name]));
                    }
                }
                _ => {}
            }
        }
    }
    w.finish().unwrap();
    drop(inst);
    let out = Command::new(&py).arg("-c").arg(BLOCK_DECODE).arg(&path).output().unwrap();
    assert!(out.status.success(), "perfetto_trace_pb2 could not decode: {}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(want.len() >= 8, "the direct-I/O write issued requests: {}", want.len());
    let mut theirs = got["slices"].as_array().unwrap().clone();
    theirs.sort_by_key(|s| (s[0].as_u64(), s[1].as_u64()));
    want.sort_by_key(|s| (s[0].as_u64(), s[1].as_u64()));
    // Requests in flight at the end (issued, never completed in the window) are extra slices.
    let finished: Vec<&Value> = theirs.iter().filter(|s| want.iter().any(|w| w[0] == s[0] && w[1] == s[1])).collect();
    assert_eq!(finished.len(), want.len(), "every issue → complete pair is one slice");
    for (a, b) in finished.iter().zip(&want) {
        assert_eq!(*a, b, "start, sector, count, rwbs, end, device");
    }
    assert_eq!(got["open"], 0, "every slice ends");
    eprintln!("{T}: {} block requests as slices", want.len());
}
