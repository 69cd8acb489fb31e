//! Which perf ring reader is faster on the same records: perf-event2's `Sampler::next_record` or
//! ktrace-core's `PerfRing` framing over the same kind of mmap ring. Two identical samplers
//! (tracepoint `raw_syscalls:sys_enter`, every hit, with `PERF_SAMPLE_RAW`) watch one child doing
//! N getppid() calls; when it has exited each ring is drained by one reader, touching every
//! record's header and first body word. Prints `RESULT ring records=N sampler_rps=N core_rps=N`.
//! Usage: `ring_report GETPPID_LOOP [N]`
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_core::{Endian, PerfRing};
use perf_event::events::Tracepoint;
use perf_event::{Builder, Counter, SampleFlag};

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

/// The ring of a counter, mapped by us (before the workload: records go only to a mapped ring).
fn map(c: &Counter) -> std::io::Result<memmap2::MmapRaw> {
    memmap2::MmapOptions::new().len(4096 + RING).map_raw(c.as_raw_fd())
}

/// Drains a mapped ring with ktrace-core's framing. Returns (records, checksum, seconds).
fn drain_core(map: &memmap2::MmapRaw) -> Result<(u64, u64, f64), Box<dyn std::error::Error>> {
    let (head, tail, data) = ring_view(map);
    let t = Instant::now();
    let (mut n, mut sum) = (0u64, 0u64);
    for r in PerfRing::new(data, tail, head) {
        let r = r?;
        n += 1;
        sum = sum.wrapping_add(r.data.len() as u64).wrapping_add(r.body().u64(0, Endian::NATIVE).unwrap_or(0));
    }
    Ok((n, sum, t.elapsed().as_secs_f64()))
}

/// Head, tail and data area of a mapped perf ring nobody writes to any more (its task exited).
#[allow(unsafe_code, reason = "reading a perf mmap ring through raw pointers")]
fn ring_view(map: &memmap2::MmapRaw) -> (u64, u64, &[u8]) {
    // SAFETY: the mapping is 4096 + RING bytes long and lives as long as the returned slice; the
    // control page holds data_head at 1024 and data_tail at 1032 (perf_event_mmap_page); the
    // traced task has exited and the event is disabled, so the kernel no longer writes.
    unsafe {
        let p = map.as_ptr();
        let head = std::ptr::read_volatile(p.add(1024).cast::<u64>());
        let tail = std::ptr::read_volatile(p.add(1032).cast::<u64>());
        (head, tail, std::slice::from_raw_parts(p.add(4096), RING))
    }
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
    let ring = map(&plain)?;
    child.stdin.take().ok_or("stdin")?.write_all(b"\n")?;
    child.wait()?;
    sampler.disable()?;
    plain.disable()?;

    // Core first: the second reader would find its ring no warmer (each ring is its own memory).
    let (n2, sum2, s2) = drain_core(&ring)?;
    let t = Instant::now();
    let (mut n1, mut sum1) = (0u64, 0u64);
    while let Some(r) = sampler.next_record() {
        n1 += 1;
        let first =
            r.data().first().and_then(|s| s.get(..8)).and_then(|b| b.try_into().ok()).map_or(0, u64::from_ne_bytes);
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
