//! Timeline merge throughput and a live session's memory and losses.
//!
//! 1. The merge alone ([`ktrace::timeline::Timeline`]): four producer threads push N items each,
//!    interleaved in time, through their feeds; the consumer takes them in order. `merge_evps` is
//!    items merged per second (what the merge itself can carry, above any live source's rate).
//! 2. A live session of four sources (ftrace `raw_syscalls:*` + `sched:sched_switch`, block
//!    tracepoints, ptrace, perf cpu-clock samples) of `GETPPID_LOOP M`: `live_evps`, the peak RSS
//!    of this process (`rss_mib`, VmHWM), `lost` (every loss item's count) and `kernel_lost` (what
//!    the ftrace instances' counters and perf's LOST records say; `lost` exceeds it by the pages
//!    dropped over the session budget).
//!
//! Prints `RESULT timeline merge_evps=… sources=4 live_evps=… rss_mib=… lost=… kernel_lost=…`.
//! Usage: `timeline_report GETPPID_LOOP [N] [M]`
use std::process::Command;
use std::time::Instant;

use ktrace::core::{LostSource, Timestamped};
use ktrace::ftrace::stream::Budget;
use ktrace::session::{Session, TimelineEvent};
use ktrace::timeline::Timeline;

#[derive(Debug)]
struct Item {
    ts: u64,
    _payload: [u64; 3],
}

impl Timestamped for Item {
    fn timestamp_ns(&self) -> u64 {
        self.ts
    }
}

fn merge_evps(n: u64) -> Result<f64, Box<dyn std::error::Error>> {
    const SOURCES: u64 = 4;
    let mut t = Timeline::new(8 << 20, |_: &Item| size_of::<Item>(), || 0);
    let feeds: Vec<_> = (0..SOURCES).map(|_| t.feed("synthetic")).collect();
    let start = Instant::now();
    let threads: Vec<_> = feeds
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            std::thread::spawn(move || {
                for k in 0..n {
                    f.push(Item { ts: k * SOURCES + i as u64, _payload: [k; 3] });
                }
            })
        })
        .collect();
    let (mut got, mut last) = (0u64, 0u64);
    for it in t.by_ref() {
        if it.ts < last {
            return Err(format!("out of order: {} after {last}", it.ts).into());
        }
        last = it.ts;
        got += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    for th in threads {
        th.join().map_err(|_| "producer panicked")?;
    }
    if got != n * SOURCES {
        return Err(format!("merged {got} of {}", n * SOURCES).into());
    }
    Ok(got as f64 / secs)
}

fn hwm_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok()))
        .map_or(0, |kib: u64| kib / 1024)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let looper = args.next().ok_or("usage: timeline_report GETPPID_LOOP [N] [M]")?;
    let n: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5_000_000);
    let m: String = args.next().unwrap_or_else(|| "200000".into());
    let evps = merge_evps(n)?;
    println!("merge: {} items from 4 sources at {evps:.0} items/s", n * 4);

    let mut cmd = Command::new(&looper);
    cmd.arg(&m).stdout(std::process::Stdio::null());
    let s = Session::builder().events("raw_syscalls:*").events("sched:sched_switch").block().syscalls().samples(999);
    let start = Instant::now();
    let mut s = s.budget(Budget::mib(32)).command(cmd).start()?;
    let (mut events, mut lost, mut kernel_lost) = (0u64, 0u64, 0u64);
    let mut by_source = std::collections::BTreeMap::<&str, u64>::new();
    for ev in &mut s {
        let ev = ev?;
        *by_source.entry(ev.source()).or_default() += 1;
        match ev {
            TimelineEvent::Lost(l) => {
                let c = l.count.unwrap_or(0);
                lost += c;
                // perf's losses are its LOST records' counts, the kernel's own number.
                if l.source == LostSource::PerfRing {
                    kernel_lost += c;
                }
            }
            _ => events += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    kernel_lost += s.ftrace_kernel_lost();
    drop(s);
    println!("live: {events} events in {secs:.2} s, by source {by_source:?}");
    println!(
        "RESULT timeline merge_evps={evps:.0} sources=4 live_evps={:.0} rss_mib={} lost={lost} kernel_lost={kernel_lost}",
        events as f64 / secs,
        hwm_mib()
    );
    Ok(())
}
