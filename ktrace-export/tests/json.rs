//! Chrome Trace Event JSON: the file decodes as JSON, and its slices, instants and names match the
//! recorded events (counts, fields, order).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::collections::{BTreeMap, HashMap};

use ktrace_export::json::CPU_PID;
use ktrace_export::{ChromeJson, write_recording};
use ktrace_ftrace::{Item, Typed};
use serde_json::Value;

fn ns(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1000.0).round() as u64
}

#[test]
fn chrome_json_matches_the_recording() {
    const T: &str = "chrome_json_matches_the_recording";
    let Some((dat, _)) = common::recorded(T) else { return };
    let rec = dat.recording().unwrap();
    let path = common::tmp("trace.json");
    let n = write_recording(&rec, &mut ChromeJson::new(std::fs::File::create(&path).unwrap()).with_names(&dat.comms()))
        .unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["displayTimeUnit"], "ns");
    let evs = doc["traceEvents"].as_array().unwrap();

    // The source, by the same rules written independently.
    let mut switches: BTreeMap<u32, Vec<(u64, i32, String)>> = BTreeMap::new();
    let mut enters: HashMap<i32, (i64, u64)> = HashMap::new();
    let mut syscalls: BTreeMap<i32, Vec<(u64, u64, i64)>> = BTreeMap::new();
    let mut instants = Vec::new();
    let mut total = 0;
    for item in rec.items() {
        let Item::Event(ev) = item.unwrap() else { continue };
        total += 1;
        let ts = ev.timestamp().ns;
        match ev.typed().unwrap() {
            Typed::SchedSwitch { next_pid, next_comm, .. } => switches.entry(ev.cpu()).or_default().push((
                ts,
                next_pid,
                String::from_utf8_lossy(next_comm).into_owned(),
            )),
            Typed::SysEnter { nr, .. } => {
                enters.insert(ev.pid(), (nr, ts));
            }
            Typed::SysExit { nr, ret } => match enters.remove(&ev.pid()) {
                Some((e, start)) if e == nr => syscalls.entry(ev.pid()).or_default().push((start, ts, ret)),
                _ => instants.push((ev.name().to_owned(), ts, ev.pid(), None)),
            },
            _ => {
                let pid_field = ev.int("pid").ok();
                instants.push((ev.name().to_owned(), ts, ev.pid(), pid_field));
            }
        }
    }
    assert_eq!(n, total);
    assert!(switches.values().map(Vec::len).sum::<usize>() > 10, "the workload switched tasks");
    assert!(syscalls.values().map(Vec::len).sum::<usize>() > 100, "the workload made syscalls");

    // CPU tracks: one slice per sched_switch, from each switch to the next on that CPU.
    let mut cpu_slices: BTreeMap<u32, Vec<(u64, u64, i64, String)>> = BTreeMap::new();
    let mut sys_slices: BTreeMap<i32, Vec<(u64, u64, Option<i64>)>> = BTreeMap::new();
    let mut got_instants = Vec::new();
    let mut names: HashMap<i64, String> = HashMap::new();
    for e in evs {
        match e["ph"].as_str().unwrap() {
            "X" if e["pid"] == CPU_PID => cpu_slices.entry(e["tid"].as_u64().unwrap() as u32).or_default().push((
                ns(&e["ts"]),
                ns(&e["dur"]),
                e["args"]["tid"].as_i64().unwrap(),
                e["name"].as_str().unwrap().to_owned(),
            )),
            "X" => {
                assert_eq!(e["cat"], "syscall");
                sys_slices.entry(e["tid"].as_i64().unwrap() as i32).or_default().push((
                    ns(&e["ts"]),
                    ns(&e["dur"]),
                    e["args"]["ret"].as_i64(),
                ));
            }
            "i" if e["cat"] != "ktrace" => got_instants.push((
                e["name"].as_str().unwrap().to_owned(),
                ns(&e["ts"]),
                e["tid"].as_i64().unwrap() as i32,
                e["args"]["pid"].as_i64(),
            )),
            "M" if e["name"] == "thread_name" && e["pid"] != CPU_PID => {
                names.insert(e["tid"].as_i64().unwrap(), e["args"]["name"].as_str().unwrap().to_owned());
            }
            _ => {}
        }
    }
    for (cpu, sw) in &switches {
        let sl = &cpu_slices[cpu];
        assert_eq!(sl.len(), sw.len(), "cpu {cpu}: one slice per sched_switch");
        for (i, (s, (ts, pid, comm))) in sl.iter().zip(sw).enumerate() {
            assert_eq!((s.0, s.2, &s.3), (*ts, *pid as i64, comm), "cpu {cpu} slice {i}");
            if let Some(next) = sw.get(i + 1) {
                assert_eq!(s.0 + s.1, next.0, "cpu {cpu} slice {i} ends at the next switch");
            }
        }
        for (_, pid, comm) in sw {
            if *pid != 0 {
                assert!(names.contains_key(&(*pid as i64)), "thread {pid} ({comm}) is named");
            }
        }
    }
    for (tid, calls) in &syscalls {
        let got: Vec<_> = sys_slices[tid].iter().filter(|s| s.2.is_some()).cloned().collect();
        let want: Vec<_> = calls.iter().map(|(s, e, r)| (*s, e - s, Some(*r))).collect();
        assert_eq!(got, want, "syscalls of {tid}");
    }
    assert_eq!(got_instants, instants, "every other event as an instant, in order, with its fields");
    assert!(names.values().any(|n| n == "ktrace-spin"), "the renamed thread's new name");
    eprintln!(
        "{T}: {total} events: {} cpu slices, {} syscall slices, {} instants",
        cpu_slices.values().map(Vec::len).sum::<usize>(),
        sys_slices.values().map(Vec::len).sum::<usize>(),
        got_instants.len()
    );
}

#[test]
fn losses_are_instants_carrying_their_counts() {
    use ktrace_export::Writer;
    let mut out = Vec::new();
    let mut w = ChromeJson::new(&mut out);
    w.lost(&ktrace_core::Lost {
        source: ktrace_core::LostSource::FtraceRing,
        cpu: 3,
        count: Some(4321),
        timestamp_ns: 1_000_000_123,
    })
    .unwrap();
    w.lost(&ktrace_core::Lost {
        source: ktrace_core::LostSource::FtraceRing,
        cpu: 1,
        count: None,
        timestamp_ns: 2_000_000_000,
    })
    .unwrap();
    w.finish().unwrap();
    drop(w);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let lost: Vec<_> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "lost events")
        .map(|e| {
            (e["pid"].clone(), e["tid"].clone(), ns(&e["ts"]), e["args"]["cpu"].clone(), e["args"]["count"].clone())
        })
        .collect();
    assert_eq!(
        lost,
        [
            (CPU_PID.into(), 3.into(), 1_000_000_123, 3.into(), 4321.into()),
            (CPU_PID.into(), 1.into(), 2_000_000_000, 1.into(), Value::Null)
        ]
    );
}
