//! CTF 1.8: babeltrace2 reads the exported directory and prints the same events, in the same
//! order, with the same field values as the recording.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::process::Command;

use ktrace_core::format::FieldKind;
use ktrace_core::{Endian, Value};
use ktrace_export::{Ctf, Writer, write_recording};
use ktrace_ftrace::Item;

/// An event as babeltrace2 prints its payload: `name: pid=… f=v …` (strings unquoted, arrays
/// by value).
fn ours(ev: &ktrace_ftrace::Event<'_>) -> String {
    let mut s = format!("{} {}: pid={} ", ev.timestamp().ns, ev.name(), ev.pid());
    for (f, (name, v)) in ev.format.fields.iter().zip(ev.fields()) {
        let v = match v.unwrap() {
            Value::Signed(i) => i.to_string(),
            Value::Unsigned(u) => u.to_string(),
            Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
            Value::Array(a) => {
                let elem = match f.kind {
                    FieldKind::Array { elem_size, .. } | FieldKind::DataLoc { elem_size, .. } => elem_size.max(1),
                    _ => 1,
                };
                let v: Vec<String> = (0..a.len() / elem)
                    .map(|i| match f.signed {
                        true => a.int(i * elem, elem, Endian::NATIVE).unwrap().to_string(),
                        false => a.uint(i * elem, elem, Endian::NATIVE).unwrap().to_string(),
                    })
                    .collect();
                format!("[{}]", v.join(","))
            }
        };
        s += &format!("{name}={v} ");
    }
    s.trim_end().to_owned()
}

/// babeltrace2's `sink.text.details`-free default output, one event a line:
/// `[ts] (+delta) host name: { cpu_id = 0 }, { common_pid = 1, ... }, { f = v, ... }`, with
/// `--clock-seconds`-free nanosecond timestamps (`--clock-cycles`).
fn theirs(line: &str) -> String {
    let ts = line.trim_start_matches('[').split(']').next().unwrap().trim();
    let rest = line.split_once("] ").unwrap().1;
    let rest = rest.split_once(") ").map_or(rest, |r| r.1);
    let (name, body) = rest.split_once(": ").unwrap();
    let groups: Vec<&str> = body.split("}, {").collect();
    let field = |g: &str, n: &str| -> String {
        let g = g.trim_matches(|c| c == '{' || c == '}' || c == ' ');
        g.split(", ").find_map(|kv| kv.strip_prefix(&format!("{n} = "))).unwrap().to_owned()
    };
    let pid = field(groups[1], "common_pid");
    let ts: u64 = ts.parse().unwrap();
    let mut s = format!("{ts} {name}: pid={pid} ");
    if let Some(p) = groups.get(2) {
        let p = p.trim_end().trim_end_matches('}').trim();
        // Values hold no ", " in this workload except inside arrays (`[ [0] = 1, [1] = 2 ]`),
        // which we print by value as `[1,2]`.
        let mut rest = p;
        while !rest.is_empty() {
            let (k, v) = rest.split_once(" = ").unwrap();
            let (v, next) = if let Some(a) = v.strip_prefix("[ ") {
                let end = a.find(" ]").unwrap();
                let v: Vec<&str> = a[..end].split(", ").map(|e| e.split_once(" = ").unwrap().1).collect();
                (format!("[{}]", v.join(",")), a[end + 2..].trim_start_matches(", "))
            } else if let Some(q) = v.strip_prefix('"') {
                let end = q.find('"').unwrap();
                (q[..end].to_owned(), q[end + 1..].trim_start_matches(", "))
            } else {
                let (v, n) = v.split_once(", ").unwrap_or((v, ""));
                (v.to_owned(), n)
            };
            s += &format!("{k}={v} ");
            rest = next;
        }
    }
    s.trim_end().to_owned()
}

/// With babeltrace2 installed: a recorded trace.dat and an empty directory `dir` for its CTF.
fn for_babeltrace(test: &str, dir: &str) -> Option<(ktrace_ftrace::TraceDat, std::path::PathBuf)> {
    if !common::have(test, "babeltrace2", &["--version"], "apt-get install babeltrace2") {
        return None;
    }
    let (dat, _) = common::recorded(test)?;
    let dir = common::tmp(dir);
    let _ = std::fs::remove_dir_all(&dir);
    Some((dat, dir))
}

#[test]
fn babeltrace2_prints_our_ctf_like_the_recording() {
    const T: &str = "babeltrace2_prints_our_ctf_like_the_recording";
    let Some((dat, dir)) = for_babeltrace(T, "ctf") else { return };
    let rec = dat.recording().unwrap();
    let n = write_recording(&rec, &mut Ctf::create(&dir, dat.endian).unwrap()).unwrap();
    let out = Command::new("babeltrace2").arg("--clock-cycles").arg("--no-delta").arg(&dir).output().unwrap();
    assert!(out.status.success(), "babeltrace2 failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, n, "babeltrace2 prints every event");
    let want: Vec<String> = rec
        .items()
        .filter_map(|i| match i.unwrap() {
            Item::Event(ev) => Some(ev),
            Item::Lost(_) => None,
        })
        .map(|ev| ours(&ev))
        .collect();
    let got: Vec<String> = lines.iter().map(|l| theirs(l)).collect();
    // The same events (babeltrace2 orders events of equal timestamps by stream, we by merge).
    let mut a = want.clone();
    let mut b = got.clone();
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    // Order: timestamps never go back.
    let ts: Vec<u64> = got.iter().map(|s| s.split(' ').next().unwrap().parse().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "babeltrace2 prints in time order");
    eprintln!("{T}: {n} events, same fields in babeltrace2");
}

#[test]
fn babeltrace2_reports_losses_as_discarded_events() {
    const T: &str = "babeltrace2_reports_losses_as_discarded_events";
    let Some((dat, dir)) = for_babeltrace(T, "ctf-lost") else { return };
    let rec = dat.recording().unwrap();
    let mut w = Ctf::create(&dir, dat.endian).unwrap();
    let mut lost_at = None;
    for (i, item) in rec.items().enumerate() {
        let item = item.unwrap();
        w.item(&item).unwrap();
        if i == 20 {
            let Item::Event(ev) = item else { panic!() };
            let l = common::injected_loss(&ev);
            w.lost(&l).unwrap();
            lost_at = Some(ev.cpu());
        }
    }
    w.finish().unwrap();
    let out = Command::new("babeltrace2").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4321") && err.contains("discarded"), "babeltrace2 warns of 4321 discarded events: {err}");
    eprintln!("{T}: cpu {lost_at:?}: {}", err.lines().find(|l| l.contains("4321")).unwrap_or(""));
}
