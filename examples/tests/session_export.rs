//! A session exported to Perfetto and Chrome JSON, checked by the consumers: uprobe entry →
//! return pairs of a test program's function are slices on its thread, perf counters and
//! taskstats delays are counter tracks with the readings' values, and the blk tracer's issue →
//! complete pairs on a loop device are slices on the device's track. Perfetto's file is decoded
//! with the `perfetto` package's schema (`perfetto_trace_pb2`); the JSON with serde_json. Run
//! under `flock /tmp/ktrace-live.lock` (the blk tracer, loop devices and delay accounting are
//! global).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use ktrace::export::{ChromeJson, Perfetto, json::BLOCK_PID};
use ktrace::kprobe::{ProbeDef, Target, elf::Binary};
use ktrace::sample::counters::Ev;
use ktrace::session::{Exporter, Session, TimelineEvent};
use serde_json::{Value, json};

/// A program that calls `ktrace_x_work` five times, each longer, sleeping between.
const APP: &str = r#"
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) unsigned long ktrace_x_work(unsigned long n) {
    volatile unsigned long x = 1;
    for (unsigned long i = 0; i < n; i++) x = (x * 31) ^ i;
    return x;
}
int main(void) {
    unsigned long s = 0;
    for (int i = 0; i < 5; i++) { s += ktrace_x_work(3000000UL * (i + 1)); usleep(5000); }
    printf("%lu\n", s);
    return 0;
}
"#;

/// The test's directory and the program `name` built there from C `src` with gcc `-O1 flags`.
fn gcc(name: &str, src: &str, flags: &[&str]) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("session-export");
    std::fs::create_dir_all(&dir).unwrap();
    let (c, bin) = (dir.join(format!("{name}.c")), dir.join(name));
    std::fs::write(&c, src).unwrap();
    let st = Command::new("gcc").arg("-O1").args(flags).arg("-o").arg(&bin).arg(&c).status().unwrap();
    assert!(st.success(), "gcc {name}.c");
    (dir, bin)
}

const DECODE: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
t = pb.Trace()
t.ParseFromString(open(sys.argv[1], 'rb').read())
tracks, open_, out = {}, {}, {"slices": [], "counters": {}, "threads": {}, "units": {}}
for p in t.packet:
    if p.HasField("track_descriptor"):
        d = p.track_descriptor
        tracks[d.uuid] = d
        if d.HasField("thread"):
            out["threads"][str(d.thread.tid)] = d.thread.pid
        if d.HasField("counter"):
            out["units"][d.name] = d.counter.unit_name
    if p.HasField("track_event"):
        e = p.track_event
        d = tracks[e.track_uuid]
        if e.type == pb.TrackEvent.TYPE_SLICE_BEGIN:
            open_.setdefault(e.track_uuid, []).append([e.name, list(e.categories), p.timestamp])
        elif e.type == pb.TrackEvent.TYPE_SLICE_END:
            s = open_[e.track_uuid].pop()
            owner = d.thread.tid if d.HasField("thread") else tracks[d.parent_uuid].name
            out["slices"].append(s + [p.timestamp, owner])
        elif e.type == pb.TrackEvent.TYPE_COUNTER:
            out["counters"].setdefault(d.name, []).append([p.timestamp, e.double_counter_value])
json.dump(out, sys.stdout)
"#;

#[test]
fn a_session_exports_probe_slices_counters_delays_and_block_ios() {
    const T: &str = "a_session_exports_probe_slices_counters_delays_and_block_ios";
    let Some(py) = ktrace_testing::perfetto_python(T) else { return };
    if !ktrace_testing::installed(T, &["gcc", "--version"], "gcc") {
        return;
    }
    let Some(lo) = common::loop_device(T, 16 << 20) else { return };
    let (dir, app) = gcc("app", APP, &[]);
    let app_s = app.to_str().unwrap();
    let off = Binary::open(app_s).unwrap().symbol_offset("ktrace_x_work").unwrap();
    let entry = ProbeDef::new("x", "work", Target::Uprobe { path: app_s.into(), offset: off, ref_ctr: None });
    let ret = ProbeDef::new("x", "work_ret", Target::Uretprobe { path: app_s.into(), offset: off });
    // The program, then a direct 16 KiB write to the loop device.
    let mut cmd = Command::new("sh");
    let of = format!("of={}", lo.path().display());
    cmd.args(["-c", &format!("{app_s} >/dev/null && dd if=/dev/zero {of} bs=4096 count=4 oflag=direct status=none")]);
    let _delayacct = ktrace::sample::taskstats::DelayAcctGuard::enable().unwrap();
    let b = Session::builder()
        .events("sched:sched_switch")
        .probe(entry)
        .probe(ret)
        .counters(&[Ev::TaskClock], Duration::from_millis(5))
        .exits()
        .blk_device(&lo.name())
        .command(cmd);
    let mut s = match b.start() {
        Err(e) if e.is_unsupported() => {
            let why = e.to_string();
            ktrace_testing::skip(
                T,
                ktrace_testing::Skip::KernelLacks { feature: "uprobes or the blk tracer", why: &why },
            );
            return;
        }
        r => r.unwrap(),
    };
    let (pf, js) = (dir.join("session.perfetto-trace"), dir.join("session.json"));
    let mut perfetto = Perfetto::new(std::fs::File::create(&pf).unwrap());
    let mut chrome = ChromeJson::new(std::fs::File::create(&js).unwrap());
    let (mut xp, mut xj) = (Exporter::new(s.pid()), Exporter::new(s.pid()));
    let mut evs = Vec::new();
    for ev in s.by_ref() {
        let ev = ev.unwrap();
        xp.write(&ev, &mut perfetto).unwrap();
        xj.write(&ev, &mut chrome).unwrap();
        evs.push(ev);
    }
    assert_eq!(s.exit_code(), Some(0));
    drop(s);
    xp.finish(&mut perfetto).unwrap();
    xj.finish(&mut chrome).unwrap();

    // The source's view: probe pairs, task-clock readings, the program's delays, blk pairs.
    let (mut calls, mut open, mut clock, mut blk, mut issued) = (Vec::new(), None, Vec::new(), Vec::new(), None);
    let mut delay = None;
    for e in &evs {
        match e {
            TimelineEvent::Ftrace(f) if f.name() == "work" => open = Some((f.pid, f.ts.ns, f.system().to_owned())),
            TimelineEvent::Ftrace(f) if f.name() == "work_ret" => {
                let (tid, start, group) = open.take().unwrap();
                calls.push(json!(["work", [group], start, f.ts.ns, tid]));
            }
            TimelineEvent::Counter(c) => clock.push(json!([c.ts.ns, c.value as f64])),
            TimelineEvent::Exit(x) if !x.group && x.stats.comm == "app" => {
                delay = Some((x.stats.pid, x.stats.tgid, x.ts.ns, x.stats.cpu.total_ns));
            }
            TimelineEvent::Block(b) if b.action.letter() == "D" => issued = Some((b.ts.ns, b.sector, b.rwbs.clone())),
            TimelineEvent::Block(b) if b.action.letter() == "C" => {
                let (t0, sector, rwbs) = issued.take().unwrap();
                assert_eq!(sector, b.sector, "one request in flight at a time (direct, sequential)");
                blk.push(json!([rwbs, t0, b.ts.ns, format!("block {}:{}", b.dev.0, b.dev.1)]));
            }
            _ => {}
        }
    }
    assert_eq!(calls.len(), 5, "five calls, each an entry and a return");
    assert!(clock.len() > 3, "{} task-clock readings", clock.len());
    let (app_pid, app_tgid, exit_ts, cpu_delay) = delay.expect("the program's exit record");
    assert!(blk.len() >= 4, "the direct write's requests: {blk:?}");

    // Perfetto, as its own schema reads the file.
    let out = Command::new(&py).arg("-c").arg(DECODE).arg(&pf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    let slices = got["slices"].as_array().unwrap();
    let probe: Vec<&Value> = slices.iter().filter(|s| s[0] == "work").collect();
    assert_eq!(probe, calls.iter().collect::<Vec<_>>(), "probe slices: name, group, start, end, thread");
    assert_eq!(got["threads"][app_pid.to_string()], app_tgid, "the thread track is in its process");
    assert_eq!(got["counters"]["task-clock"], Value::Array(clock.clone()), "task-clock readings, in order");
    let track = format!("cpu delay (task {app_pid})");
    assert_eq!(got["counters"][&track], json!([[exit_ts, cpu_delay as f64]]), "the exit record's cpu delay");
    assert_eq!(got["units"][&track], "ns");
    let block: Vec<Value> =
        slices.iter().filter(|s| s[1] == json!([])).map(|s| json!([s[0], s[2], s[3], s[4]])).collect();
    assert_eq!(block, blk, "blk issue → complete pairs as slices on the device's track");

    // Chrome JSON, as a viewer parses it.
    let doc: Value = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    let evs = doc["traceEvents"].as_array().unwrap();
    let ns = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() as u64;
    let probe: Vec<Value> = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"] == "work")
        .map(|e| json!(["work", [e["cat"]], ns(&e["ts"]), ns(&e["ts"]) + ns(&e["dur"]), e["tid"]]))
        .collect();
    // ts and dur are each rounded to the ns: the end may be 1 ns off.
    assert_eq!(probe.len(), calls.len());
    for (j, c) in probe.iter().zip(&calls) {
        assert_eq!((&j[0], &j[1], &j[2], &j[4]), (&c[0], &c[1], &c[2], &c[4]), "probe slice");
        assert!(j[3].as_u64().unwrap().abs_diff(c[3].as_u64().unwrap()) <= 1);
    }
    let pids: Vec<&Value> = evs.iter().filter(|e| e["ph"] == "X" && e["name"] == "work").map(|e| &e["pid"]).collect();
    assert!(pids.iter().all(|p| **p == app_tgid), "pid is the thread group: {pids:?}");
    let counts: Vec<Value> = evs
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == "task-clock")
        .map(|e| json!([ns(&e["ts"]), e["args"]["count"]]))
        .collect();
    assert_eq!(counts, clock, "task-clock as \"C\" events");
    let delays: Vec<&Value> = evs.iter().filter(|e| e["ph"] == "C" && e["name"] == track.as_str()).collect();
    assert_eq!(delays.len(), 1);
    assert_eq!((&delays[0]["pid"], delays[0]["args"]["ns"].as_f64()), (&json!(app_tgid), Some(cpu_delay as f64)));
    let names: BTreeMap<i64, &str> = evs
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .map(|e| (e["pid"].as_i64().unwrap(), e["args"]["name"].as_str().unwrap()))
        .collect();
    let block: Vec<Value> = evs
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "block" && e["pid"].as_i64().unwrap() >= BLOCK_PID)
        .map(|e| json!([e["name"], ns(&e["ts"]), ns(&e["ts"]) + ns(&e["dur"]), names[&e["pid"].as_i64().unwrap()]]))
        .collect();
    assert_eq!(block.len(), blk.len());
    for (j, b) in block.iter().zip(&blk) {
        assert_eq!((&j[0], &j[1], &j[3]), (&b[0], &b[1], &b[3]), "block slice");
        assert!(j[2].as_u64().unwrap().abs_diff(b[2].as_u64().unwrap()) <= 1);
    }
    eprintln!("{T}: {} probe slices, {} task-clock readings, {} block slices", calls.len(), clock.len(), blk.len());
    lo.close().unwrap();
}

/// The `export` CLI runs a command in a session and writes Chrome JSON with its perf counters
/// and /proc RSS as counter events (`"ph": "C"`) of the command's process, growing.
#[test]
fn export_cli_writes_a_sessions_counters() {
    const T: &str = "export_cli_writes_a_sessions_counters";
    if !common::root(T) {
        return;
    }
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("session-export");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("cli.json");
    let st = Command::new(env!("CARGO_BIN_EXE_export"))
        .args(["-f", "json", "-o", out.to_str().unwrap(), "--counters", "5", "--"])
        .args(["sh", "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; sleep 0.3"])
        .status()
        .unwrap();
    assert!(st.success());
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let evs = doc["traceEvents"].as_array().unwrap();
    let series = |name: &str, unit: &str| -> Vec<(i64, f64)> {
        evs.iter()
            .filter(|e| e["ph"] == "C" && e["name"] == name)
            .map(|e| (e["pid"].as_i64().unwrap(), e["args"][unit].as_f64().unwrap()))
            .collect()
    };
    let clock = series("task-clock", "count");
    assert!(clock.len() > 3, "{clock:?}");
    assert!(clock.windows(2).all(|w| w[0].0 == w[1].0 && w[0].1 <= w[1].1), "one process, growing: {clock:?}");
    assert!(clock.last().unwrap().1 > 1e6, "the loop ran over a millisecond: {clock:?}");
    let rss = series("rss", "bytes");
    assert!(!rss.is_empty() && rss.iter().all(|(p, v)| *p == clock[0].0 && *v > 0.0), "{rss:?}");
}

/// A CPU-bound program: `main` → `ktrace_hot_outer` → `ktrace_hot_spin` for about 0.8 s.
const HOT: &str = r#"
#include <stdio.h>
#include <time.h>
__attribute__((noinline)) unsigned long ktrace_hot_spin(unsigned long n) {
    volatile unsigned long x = 1;
    for (unsigned long i = 0; i < n; i++) x = (x * 31) ^ i;
    return x;
}
__attribute__((noinline)) unsigned long ktrace_hot_outer(void) {
    unsigned long s = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        s += ktrace_hot_spin(1000000UL);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 800000000L);
    return s;
}
int main(void) {
    printf("%lu\n", ktrace_hot_outer());
    return 0;
}
"#;

/// Each perf sample's callstack, root first, as Perfetto resolves it from the interned tables.
const STACKS: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
t = pb.Trace()
t.ParseFromString(open(sys.argv[1], 'rb').read())
names, frames, stacks, out = {}, {}, {}, []
for p in t.packet:
    if p.HasField("interned_data"):
        d = p.interned_data
        names.update({s.iid: s.str.decode() for s in d.function_names})
        frames.update({f.iid: f.function_name_id for f in d.frames})
        stacks.update({c.iid: list(c.frame_ids) for c in d.callstacks})
    if p.HasField("perf_sample"):
        s = p.perf_sample
        out.append([s.pid, s.tid, [names[frames[f]] for f in stacks[s.callstack_iid]]])
json.dump(out, sys.stdout)
"#;

/// A session sampling a CPU-bound program carries each sample's callchain, and the Perfetto file
/// resolves the samples' callstacks to the program's functions, root first: `main` →
/// `ktrace_hot_outer` → `ktrace_hot_spin`.
#[test]
fn session_samples_export_as_named_callstacks() {
    const T: &str = "session_samples_export_as_named_callstacks";
    let Some(py) = ktrace_testing::perfetto_python(T) else { return };
    if !common::root(T) || !ktrace_testing::installed(T, &["gcc", "--version"], "gcc") {
        return;
    }
    // Frame pointers: perf walks user stacks by them.
    let (dir, app) = gcc("hot", HOT, &["-fno-omit-frame-pointer"]);
    let mut s = Session::builder().samples(499).command(Command::new(&app)).start().unwrap();
    let pf = dir.join("samples.perfetto-trace");
    let mut w = Perfetto::new(std::fs::File::create(&pf).unwrap());
    let mut x = Exporter::new(s.pid());
    let mut chains = Vec::new();
    for ev in s.by_ref() {
        let ev = ev.unwrap();
        x.write(&ev, &mut w).unwrap();
        if let TimelineEvent::Sample(smp) = ev {
            assert!(smp.chain.len() <= ktrace::session::Sample::MAX_FRAMES);
            chains.push(smp.chain.len());
        }
    }
    assert_eq!(s.exit_code(), Some(0));
    let pid = s.pid().unwrap();
    drop(s);
    x.finish(&mut w).unwrap();
    drop(w);
    // 0.8 s of CPU at 499 Hz: about 400 samples (fewer on a loaded machine).
    assert!(chains.len() >= 20, "{} samples", chains.len());
    assert!(chains.iter().filter(|&&n| n >= 3).count() * 2 > chains.len(), "callchains: {chains:?}");

    let out = Command::new(&py).arg("-c").arg(STACKS).arg(&pf).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<(i32, i32, Vec<String>)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got.len(), chains.len(), "every sample in the file");
    assert!(got.iter().all(|(p, _, _)| *p == pid), "the program's samples");
    let path = ["main", "ktrace_hot_outer", "ktrace_hot_spin"];
    let hot = got
        .iter()
        .filter(|(_, _, st)| {
            let mut at = st.iter();
            path.iter().all(|f| at.any(|n| n == f))
        })
        .count();
    assert!(hot * 2 > got.len(), "most stacks run main → ktrace_hot_outer → ktrace_hot_spin: {:?}", &got[..5]);
    eprintln!("{T}: {} samples, {hot} in ktrace_hot_spin under main → ktrace_hot_outer", got.len());
}

/// `exits()` keeps the exit records of the command's tree: its children's are there, those of a
/// process of the test's own that exits meanwhile are not; `exits_all()` keeps that one too.
#[test]
fn session_exits_are_the_commands_tree_unless_all() {
    const T: &str = "session_exits_are_the_commands_tree_unless_all";
    if !common::root(T) {
        return;
    }
    for all in [false, true] {
        // Two children (one in a subshell: a grandchild), then time for the outsiders to exit.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 0.05; (sleep 0.05); sleep 0.4"]);
        let b = Session::builder().command(cmd);
        let mut s = if all { b.exits_all() } else { b.exits() }.start().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let outsiders: Vec<u32> = (0..3)
            .map(|_| {
                let mut c = Command::new("true").spawn().unwrap();
                c.wait().unwrap();
                c.id()
            })
            .collect();
        let mut exits = Vec::new();
        for ev in s.by_ref() {
            if let TimelineEvent::Exit(x) = ev.unwrap()
                && !x.group
            {
                exits.push((x.stats.pid, x.stats.comm.clone()));
            }
        }
        assert_eq!(s.exit_code(), Some(0));
        let pid = s.pid().unwrap() as u32;
        drop(s);
        let sleeps = exits.iter().filter(|(_, c)| c == "sleep").count();
        assert!(sleeps >= 3, "the command's three sleeps: {exits:?}");
        assert!(exits.iter().any(|(p, c)| *p == pid && c == "sh"), "the command itself: {exits:?}");
        let seen = outsiders.iter().filter(|p| exits.iter().any(|(e, _)| e == *p)).count();
        if all {
            assert_eq!(seen, outsiders.len(), "exits_all: the outsiders {outsiders:?} in {exits:?}");
        } else {
            assert_eq!(seen, 0, "exits: none of the outsiders {outsiders:?} in {exits:?}");
            assert!(exits.iter().all(|(_, c)| c == "sh" || c == "sleep"), "only the command's tree: {exits:?}");
        }
        eprintln!("{T}: all={all}: {} exit records, {sleeps} sleeps, {seen} of 3 outsiders", exits.len());
    }
}
