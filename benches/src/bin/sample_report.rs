//! Profiling cost, in one run: a CPU-bound child unprofiled, under `perf record -F 10000 -g`, and
//! under ktrace's profiler at 10 kHz with callchains (its run time and lost samples); folding samples
//! into stacks (ktrace, samples/s) vs `perf report` on perf's data; a full process-table refresh vs
//! `ps -e` and vs the sysinfo crate refreshing the same fields (CPU times, memory) for every
//! process. Prints `RESULT sample unprofiled_ms=N perf_ms=N ktrace_ms=N perf_lost=N ktrace_lost=N
//! fold_sps=N perfreport_sps=N ps_ms=N ktrace_top_ms=N sysinfo_ms=N`.
//! Usage: `sample_report SPIN [MROUNDS]`
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_sample::profile::Profiler;

fn ms(out: &[u8]) -> f64 {
    String::from_utf8_lossy(out).trim().lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let spin = a.get(1).ok_or("usage: sample_report SPIN [MROUNDS]")?;
    let m = a.get(2).cloned().unwrap_or_else(|| "3000".into());
    let unprofiled = ms(&Command::new(spin).arg(&m).output()?.stdout);

    let data = std::env::temp_dir().join(format!("ktrace-sample-{}.data", std::process::id()));
    let out = Command::new("perf")
        .args(["record", "-q", "-F", "10000", "-g", "-o"])
        .arg(&data)
        .arg(spin)
        .arg(&m)
        .stderr(Stdio::piped())
        .output()?;
    let perf_ms = ms(&out.stdout);
    let perf_lost = String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("lost")).count();
    let t = Instant::now();
    let rep = Command::new("perf")
        .args(["report", "--stdio", "-g", "folded", "-i"])
        .arg(&data)
        .stderr(Stdio::null())
        .output()?;
    let perfreport_s = t.elapsed().as_secs_f64();
    // "# Samples: 28K of event 'cpu-clock:ppp'"
    let perf_samples: f64 = String::from_utf8_lossy(&rep.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("# Samples: ")?.split_whitespace().next().map(str::to_owned))
        .and_then(|v| match v.strip_suffix('K') {
            Some(k) => k.parse::<f64>().ok().map(|x| x * 1000.0),
            None => v.parse().ok(),
        })
        .unwrap_or(f64::NAN);
    let _ = std::fs::remove_file(&data);

    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read _ && exec \"$0\" \"$@\"")
        .arg(spin)
        .arg(&m)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut prof = Profiler::task(child.id() as i32, 10_000)?;
    child.stdin.take().ok_or("stdin")?.write_all(b"\n")?;
    while child.try_wait()?.is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output()?;
    let ktrace_ms = ms(&out.stdout);
    let p = prof.finish();
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut sym = p.symbolizer(&kallsyms);
    let t = Instant::now();
    let folded = p.folded(&mut sym);
    let fold_sps = p.samples.len() as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(folded.len());

    let t = Instant::now();
    Command::new("ps").arg("-e").stdout(Stdio::null()).status()?;
    let ps_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut top = ktrace_sample::top::ProcessSampler::new(false);
    top.refresh();
    let t = Instant::now();
    top.refresh();
    let top_ms = t.elapsed().as_secs_f64() * 1e3;
    // sysinfo, second refresh (the first fills its tables), same fields: CPU and memory.
    let mut sys = sysinfo::System::new();
    let kind = sysinfo::ProcessRefreshKind::nothing().with_cpu().with_memory();
    sys.refresh_processes_specifics(sysinfo::ProcessesToUpdate::All, true, kind);
    let t = Instant::now();
    sys.refresh_processes_specifics(sysinfo::ProcessesToUpdate::All, true, kind);
    let sysinfo_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("process tables: ktrace {} rows, sysinfo {} processes", top.refresh().len(), sys.processes().len());

    println!("{} ktrace samples; perf report folded in {perfreport_s:.3} s", p.samples.len());
    println!(
        "RESULT sample unprofiled_ms={unprofiled:.0} perf_ms={perf_ms:.0} ktrace_ms={ktrace_ms:.0} perf_lost={perf_lost} ktrace_lost={} fold_sps={fold_sps:.0} perfreport_sps={:.0} ps_ms={ps_ms:.2} ktrace_top_ms={top_ms:.2} sysinfo_ms={sysinfo_ms:.2}",
        p.lost,
        perf_samples / perfreport_s
    );
    Ok(())
}
