//! Decodes sub-buffers captured from a real kernel (see `fixtures/README.md`) and checks every event
//! against the kernel's own text rendering (`per_cpu/cpu0/trace`) captured at the same time.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ktrace_core::format::Value;
use ktrace_core::page::check_header_event;
use ktrace_core::{Endian, FormatRegistry, PageItem, PageLayout, Pages, RawData, Timestamp};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn registry() -> FormatRegistry {
    let mut reg = FormatRegistry::new();
    for sys in std::fs::read_dir(dir().join("formats")).unwrap() {
        let sys = sys.unwrap();
        for ev in std::fs::read_dir(sys.path()).unwrap() {
            let text = std::fs::read_to_string(ev.unwrap().path().join("format")).unwrap();
            reg.add_text(&sys.file_name().to_string_lossy(), &text).unwrap();
        }
    }
    reg
}

fn layout() -> PageLayout {
    check_header_event(&std::fs::read_to_string(dir().join("header_event")).unwrap()).unwrap();
    PageLayout::from_header_page(&std::fs::read_to_string(dir().join("header_page")).unwrap(), Endian::Little).unwrap()
}

fn page_size(name: &str) -> usize {
    let meta = std::fs::read_to_string(dir().join(format!("{name}.meta"))).unwrap();
    meta.lines().find_map(|l| l.strip_prefix("page_size=")).unwrap().parse().unwrap()
}

/// One line of the kernel's text: (pid, cpu, timestamp as printed, the event's text).
fn text_events(name: &str) -> Vec<(i32, u32, String, String)> {
    let text = std::fs::read_to_string(dir().join(format!("{name}.txt"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let open = l.find(" [").unwrap();
            let task = l[..open].trim();
            let pid = task.rsplit('-').next().unwrap().parse().unwrap();
            let close = l[open..].find(']').unwrap() + open;
            let cpu = l[open + 2..close].parse().unwrap();
            let mut rest = l[close + 1..].split_whitespace();
            let _flags = rest.next().unwrap();
            let ts = rest.next().unwrap().trim_end_matches(':').to_owned();
            let ev_start = l.find(&format!("{ts}: ")).unwrap() + ts.len() + 2;
            (pid, cpu, ts, l[ev_start..].trim_end().to_owned())
        })
        .collect()
}

/// Renders an event the way the kernel's `print fmt` does for the events in the fixtures.
fn render(reg: &FormatRegistry, data: &[u8]) -> String {
    let e = Endian::Little;
    let rec = RawData::Single(data);
    let id = rec.u16(0, e).unwrap();
    let f = reg.peek(id).unwrap();
    let num = |n: &str| f.require(n).unwrap().i64(rec, e).unwrap();
    let unum = |n: &str| f.require(n).unwrap().u64(rec, e).unwrap();
    let s = |n: &str| String::from_utf8_lossy(f.require(n).unwrap().str(rec, e).unwrap()).into_owned();
    match f.name.as_str() {
        "sys_enter" => {
            let Value::Array(args) = f.require("args").unwrap().value(rec, e).unwrap() else { panic!() };
            let a: Vec<String> = (0..6).map(|i| format!("{:x}", args.u64(i * 8, e).unwrap())).collect();
            format!("sys_enter: NR {} ({})", num("id"), a.join(", "))
        }
        "sys_exit" => format!("sys_exit: NR {} = {}", num("id"), num("ret")),
        "sched_switch" => format!(
            "sched_switch: prev_comm={} prev_pid={} prev_prio={} | next_comm={} next_pid={} next_prio={}",
            s("prev_comm"),
            num("prev_pid"),
            num("prev_prio"),
            s("next_comm"),
            num("next_pid"),
            num("next_prio")
        ),
        "sched_wakeup" => format!(
            "sched_wakeup: comm={} pid={} prio={} target_cpu={:03}",
            s("comm"),
            num("pid"),
            num("prio"),
            num("target_cpu")
        ),
        "print" => format!("tracing_mark_write: {}", s("buf").trim_end()),
        "raw_data" => {
            let all = f.require("buf").unwrap().bytes(rec, e).unwrap().to_vec();
            let mut out = format!("# {:x} buf:", unum("id"));
            for x in all {
                write!(out, " {x:02x}").unwrap();
            }
            out
        }
        other => panic!("fixture has unexpected event {other}"),
    }
}

/// The kernel's text for sched_switch has `prev_state=S ==> `; keep the parts we render.
fn normalize_text(ev: &str) -> String {
    if let Some(rest) = ev.strip_prefix("sched_switch: ") {
        let (prev, next) = rest.split_once(" ==> ").unwrap();
        let prev = prev.split(" prev_state=").next().unwrap();
        return format!("sched_switch: {prev} | {next}");
    }
    ev.to_owned()
}

struct Decoded {
    lines: Vec<(i32, u32, String, String)>,
    lost: Vec<Option<u64>>,
}

fn decode(name: &str) -> Decoded {
    let reg = registry();
    let raw = std::fs::read(dir().join(format!("{name}.raw"))).unwrap();
    let mut lines = Vec::new();
    let mut lost = Vec::new();
    let mut last = 0;
    for item in Pages::new(&raw, page_size(name), layout(), 0) {
        match item.unwrap() {
            PageItem::Event(ev) => {
                assert!(ev.timestamp >= last, "timestamps go backwards at page offset {}", ev.offset);
                last = ev.timestamp;
                let pid = RawData::Single(ev.data).int(4, 4, Endian::Little).unwrap() as i32;
                // The kernel's text rounds to the nearest microsecond (ns2usecs adds 500).
                let ts = Timestamp::new(ev.timestamp + 500, ktrace_core::Clock::Local).to_string();
                lines.push((pid, ev.cpu, ts, render(&reg, ev.data)));
            }
            PageItem::Lost(l) => lost.push(l.count),
        }
    }
    Decoded { lines, lost }
}

fn check_against_kernel_text(name: &str) -> Decoded {
    let d = decode(name);
    let want: Vec<_> = text_events(name).into_iter().map(|(p, c, t, e)| (p, c, t, normalize_text(&e))).collect();
    assert!(!want.is_empty(), "{name}: fixture text has no events");
    assert_eq!(d.lines.len(), want.len(), "{name}: event count differs from the kernel's text");
    for (i, (got, want)) in d.lines.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "{name}: event {i} differs");
    }
    d
}

#[test]
fn raw_syscalls_match_kernel_text() {
    let d = check_against_kernel_text("raw_syscalls");
    assert!(d.lost.is_empty());
    assert!(d.lines.iter().any(|l| l.3.starts_with("sys_enter: NR 59 ")), "no execve in the capture");
}

#[test]
fn sched_switch_match_kernel_text() {
    let d = check_against_kernel_text("sched_switch");
    assert!(d.lines.iter().filter(|l| l.3.starts_with("sched_switch")).count() > 5);
}

#[test]
fn trace_marker_strings_match_kernel_text() {
    let d = check_against_kernel_text("trace_marker");
    for i in 0..20 {
        let want = format!("tracing_mark_write: ktrace fixture marker {i} {}", "x".repeat(i * 7));
        assert!(d.lines.iter().any(|l| l.3 == want.trim_end()), "marker {i} missing");
    }
    assert_eq!(d.lines.iter().filter(|l| l.3.starts_with("# 6b7")).count(), 5);
}

#[test]
fn missed_events_page_gives_lost_with_count() {
    let d = check_against_kernel_text("missed_events");
    assert_eq!(d.lost.len(), 1, "one page flagged missed events");
    let n = d.lost[0].expect("the kernel stored the count");
    assert!(n > 1000, "lost {n}");
}

#[test]
fn non_default_subbuf_size() {
    assert_eq!(page_size("subbuf_8k"), 8192);
    let d = check_against_kernel_text("subbuf_8k");
    assert!(d.lines.len() > 100);
}
