//! Which perf ring reader is faster on the same records: perf-event2's `Sampler::next_record` or
//! ktrace-sample's public `MappedRing` (ktrace-core's `PerfRing` framing) over the same kind of
//! mmap ring. Two identical samplers
//! (tracepoint `raw_syscalls:sys_enter`, every hit, with `PERF_SAMPLE_RAW`) watch one child doing
//! N getppid() calls; when it has exited each ring is drained by one reader, touching every
//! record's header and first body word. Prints `RESULT ring records=N sampler_rps=N core_rps=N`.
//! Usage: `ring_report GETPPID_LOOP [N]`
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_core::Cursor;
use ktrace_sample::perf::ring::MappedRing;
use perf_event::events::Tracepoint;
use perf_event::{Builder, SampleFlag};

const RING: usize = 64 << 20;

fn builder(id: u64, pid: i32) -> Builder<'static> {
    let mut b = Builder::new(Tracepoint::with_id(id));
    b.observe_pid(pid)
        .any_cpu()
        .include_kernel()
        .sample_period(1)
        .sample(SampleFlag::IP | SampleFlag::TID | SampleFlag::TIME | SampleFlag::CPU | SampleFlag::RAW)
        .enabled(true);
    b
}

/// Drains a mapped ring with ktrace-core's framing. Returns (records, checksum, seconds).
fn drain_core(ring: &mut MappedRing) -> Result<(u64, u64, f64), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let mut sum = 0u64;
    let n = ring.drain(|r| {
        sum = sum.wrapping_add(r.size() as u64).wrapping_add(Cursor::new(r.body).u64().unwrap_or(0));
    })?;
    Ok((n as u64, sum, t.elapsed().as_secs_f64()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let bin = a.get(1).ok_or("usage: ring_report GETPPID_LOOP [N]")?;
    let n = a.get(2).cloned().unwrap_or_else(|| "200000".into());
    let tfs = ktrace_ftrace::Tracefs::find_or_mount()?;
    let id: u64 = tfs.read("events/raw_syscalls/sys_enter/id")?.trim().parse()?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read _ && exec \"$0\" \"$@\"")
        .arg(bin)
        .arg(&n)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id() as i32;
    let mut sampler = builder(id, pid).build()?.sampled(RING)?;
    let mut plain = builder(id, pid).build()?;
    // Mapped before the workload: records go only to a mapped ring.
    let mut ring = MappedRing::new(&plain, RING)?;
    child.stdin.take().ok_or("stdin")?.write_all(b"\n")?;
    child.wait()?;
    sampler.disable()?;
    plain.disable()?;

    // Core first: the second reader would find its ring no warmer (each ring is its own memory).
    let (n2, sum2, s2) = drain_core(&mut ring)?;
    let t = Instant::now();
    let (mut n1, mut sum1) = (0u64, 0u64);
    while let Some(r) = sampler.next_record() {
        n1 += 1;
        let first = r.data().first().map_or(0, |s| Cursor::new(*s).u64().unwrap_or(0));
        sum1 = sum1.wrapping_add(r.len() as u64 + 8).wrapping_add(first);
    }
    let s1 = t.elapsed().as_secs_f64();
    if n1 != n2 {
        eprintln!("ring_report: the readers saw {n1} and {n2} records");
    }
    let _ = (sum1, sum2);
    println!("RESULT ring records={n1} sampler_rps={:.0} core_rps={:.0}", n1 as f64 / s1, n2 as f64 / s2);
    Ok(())
}
