//! Perfetto protobuf: the `perfetto` package's own schema (`perfetto_trace_pb2`, from PyPI) decodes
//! the file, and every sched_switch of the recording is there once with its cpu, timestamp and
//! pids; thread names are there; a loss marker carries its count; block requests are slices on
//! their device's track.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ktrace_export::{Perfetto, Writer};
use ktrace_ftrace::{Item, Typed};
use serde_json::Value;

/// [`ktrace_testing::perfetto_python`].
fn python(test: &str) -> Option<PathBuf> {
    ktrace_testing::perfetto_python(test)
}

/// [`python`], when running as root (else the skip of `test`).
fn python_as_root(test: &str) -> Option<PathBuf> {
    if !ktrace_testing::root(test) {
        return None;
    }
    python(test)
}

/// What `script` (python, the trace's path as its argument) prints as JSON about the trace at `path`.
fn decode(py: &std::path::Path, script: &str, path: &std::path::Path) -> Value {
    let out = Command::new(py).arg("-c").arg(script).arg(path).output().unwrap();
    assert!(out.status.success(), "perfetto_trace_pb2 could not decode: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
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
    let got = decode(&py, DECODE, &path);

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
    let Some(py) = python_as_root(T) else { return };
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
    let mut chrome = Vec::new();
    let mut j = ktrace_export::ChromeJson::new(&mut chrome);
    let mut issued = std::collections::HashMap::new();
    let mut want = Vec::new();
    for item in recording.items() {
        let item = item.unwrap();
        w.item(&item).unwrap();
        j.item(&item).unwrap();
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
    let got = decode(&py, BLOCK_DECODE, &path);
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

    // The same requests in Chrome JSON: slices on lanes of the device's process.
    j.finish().unwrap();
    drop(j);
    let doc: Value = serde_json::from_slice(&chrome).unwrap();
    let evs = doc["traceEvents"].as_array().unwrap();
    let ns = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() as u64;
    let device = |pid: &Value| {
        let named = evs.iter().find(|e| e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == *pid).unwrap();
        named["args"]["name"].clone()
    };
    let mut json_slices: Vec<Value> = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["pid"].as_i64().unwrap() >= ktrace_export::json::BLOCK_PID)
        .filter(|e| e["args"].get("error").is_some())
        .map(|e| {
            let a = &e["args"];
            let end = ns(&e["ts"]) + ns(&e["dur"]);
            serde_json::json!([ns(&e["ts"]), a["sector"], a["nr_sector"], e["name"], end, device(&e["pid"])])
        })
        .collect();
    json_slices.sort_by_key(|s| (s[0].as_u64(), s[1].as_u64()));
    assert_eq!(json_slices.len(), want.len(), "every issue → complete pair is one JSON slice");
    for (a, b) in json_slices.iter().zip(&want) {
        // ts and dur are each rounded to the ns: the end may be 1 ns off.
        assert_eq!((&a[0], &a[1], &a[2], &a[3], &a[5]), (&b[0], &b[1], &b[2], &b[3], &b[5]), "JSON block slice");
        assert!(a[4].as_u64().unwrap().abs_diff(b[4].as_u64().unwrap()) <= 1);
    }
    eprintln!("{T}: {} block requests as slices (Perfetto and JSON)", want.len());
}

/// A program whose hot loop runs under a known call chain: main → ktrace_pf_outer → ktrace_pf_inner,
/// built with frame pointers (`-O0`: nothing inlined, every function its own frame) so perf's
/// callchains walk it; it spins once a line arrives on stdin.
const CHAIN_SRC: &str = r#"
#include <stdio.h>
__attribute__((noinline)) unsigned long ktrace_pf_inner(unsigned long n) {
    volatile unsigned long x = 1;
    for (unsigned long i = 0; i < n; i++) x = ((x << 5) ^ (x >> 3)) ^ i;
    return x;
}
__attribute__((noinline)) unsigned long ktrace_pf_outer(unsigned long n) { return ktrace_pf_inner(n) + 1; }
int main(void) {
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    printf("%lu\n", ktrace_pf_outer(150000000UL));
    return 0;
}
"#;

const SAMPLE_DECODE: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
t = pb.Trace()
t.ParseFromString(open(sys.argv[1], 'rb').read())
names, frames, stacks, mappings, paths, counts, first = {}, {}, {}, {}, {}, {}, None
for p in t.packet:
    if not p.HasField("perf_sample"):
        continue
    if first is None:
        first = p.sequence_flags
    d = p.interned_data
    for s in d.function_names: names[s.iid] = s.str.decode()
    for s in d.mapping_paths: paths[s.iid] = s.str.decode()
    for m in d.mappings: mappings[m.iid] = [paths[i] for i in m.path_string_ids]
    for f in d.frames: frames[f.iid] = (names[f.function_name_id], mappings[f.mapping_id])
    for c in d.callstacks: stacks[c.iid] = [frames[i][0] for i in c.frame_ids]
    s = p.perf_sample
    k = ";".join(stacks[s.callstack_iid])
    counts[k] = counts.get(k, 0) + 1
json.dump({"stacks": counts, "first_flags": first, "seq_ids": sorted({p.trusted_packet_sequence_id for p in t.packet if p.HasField("perf_sample")})}, sys.stdout)
"#;

/// Perf samples of a program with a known call chain, exported with their callstacks: Perfetto's
/// schema resolves each sample's callstack (interned frames, names, mapping) to the same stacks,
/// with the same counts, as the profile symbolized directly, and the hottest one is
/// main → ktrace_pf_outer → ktrace_pf_inner (root first, the leaf last).
#[test]
fn perfetto_sample_callstacks_resolve_to_their_frames() {
    const T: &str = "perfetto_sample_callstacks_resolve_to_their_frames";
    let Some(py) = python_as_root(T) else { return };
    if !common::have(T, "gcc", &["--version"], "apt-get install gcc") {
        return;
    }
    let src = common::tmp("chain.c");
    let bin = common::tmp("chain");
    std::fs::write(&src, CHAIN_SRC).unwrap();
    let st = Command::new("gcc").args(["-O0", "-g", "-fno-omit-frame-pointer", "-o"]).arg(&bin).arg(&src).status();
    assert!(st.unwrap().success(), "gcc built the program");
    let mut child = Command::new(&bin).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id() as i32;
    let mut prof = ktrace_sample::profile::Profiler::task(pid, 997).unwrap();
    // It is blocked in fgets, its mappings made: read them before it can exit.
    let mut sym =
        ktrace_sample::symbolize::Symbolizer::new(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default());
    sym.add_proc_maps(pid);
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    while child.try_wait().unwrap().is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let profile = prof.finish();

    let path = common::tmp("samples.perfetto-trace");
    let mut w = Perfetto::new(std::fs::File::create(&path).unwrap());
    let mut want: std::collections::BTreeMap<String, u64> = Default::default();
    let mut names: Vec<String> = Vec::new();
    for s in &profile.samples {
        names.clear();
        names.extend(profile.chain(s).iter().map(|&a| sym.name(s.pid, a)));
        w.sample(s.time, s.cpu, s.pid, s.tid, names.iter().map(String::as_str)).unwrap();
        let root_first: Vec<&str> = names.iter().rev().map(String::as_str).collect();
        *want.entry(root_first.join(";")).or_default() += 1;
    }
    w.finish().unwrap();

    let got = decode(&py, SAMPLE_DECODE, &path);
    assert!(profile.samples.len() > 50, "{} samples", profile.samples.len());
    let theirs: std::collections::BTreeMap<String, u64> = serde_json::from_value(got["stacks"].clone()).unwrap();
    assert_eq!(theirs, want, "every sample's callstack resolves to its frames, root first");
    assert_eq!(got["first_flags"], 3, "the first packet clears the incremental state (and needs it)");
    assert_eq!(got["seq_ids"], serde_json::json!([ktrace_export::perfetto::SAMPLE_SEQUENCE]));
    let (hottest, n) = theirs.iter().max_by_key(|(_, n)| **n).unwrap();
    let frames: Vec<&str> = hottest.split(';').collect();
    assert!(
        frames.ends_with(&["main", "ktrace_pf_outer", "ktrace_pf_inner"]),
        "the hottest callstack, root first: {hottest} ({n} of {})",
        profile.samples.len()
    );
    assert!(*n as f64 > profile.samples.len() as f64 * 0.5, "the hot loop holds most samples: {n}");
    eprintln!("{T}: {} samples, {} distinct callstacks; hottest {hottest} ({n})", profile.samples.len(), theirs.len());
}
