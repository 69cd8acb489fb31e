//! Block tracing costs, in one run on one loop device: parse speed of the same blktrace files by
//! ktrace vs `blkparse -i … -o /dev/null`, and fio 4k random direct reads for N seconds untraced,
//! under ktrace's blk tracer, and under `trace-cmd record -e block`. Prints
//! `RESULT blk ktrace_parse_rps=N blkparse_rps=N untraced_iops=N ktrace_iops=N tracecmd_iops=N ktrace_lost=N`.
//! Usage: `blk_report SHADOW_SCRIPT [SECONDS]`
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_blk::{BlkFilter, BlkTracer, FtraceBinRecords, LoopDevice, Records};
use ktrace_ftrace::Tracefs;

fn fio_iops(dev: &str, secs: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let out = Command::new("fio")
        .args(["--name=r", "--rw=randread", "--bs=4k", "--direct=1", "--ioengine=psync", "--time_based", "--minimal"])
        .arg(format!("--filename={dev}"))
        .arg(format!("--runtime={secs}"))
        .output()?;
    // Terse v3: field 8 (1-based) is read IOPS.
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.lines().last().unwrap_or("").split(';').collect();
    Ok(f.get(7).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let shadow = a.get(1).ok_or("usage: blk_report SHADOW_SCRIPT [SECONDS]")?;
    let secs: u32 = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let fs = Tracefs::find_or_mount()?;
    let dev = LoopDevice::create_temp(256 << 20)?;
    let path = dev.path().display().to_string();
    // Fill it so reads hit real blocks.
    Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=256", "oflag=direct"])
        .arg(format!("of={path}"))
        .stderr(Stdio::null())
        .status()?;

    let untraced = fio_iops(&path, secs)?;

    let before: u64 = (0..2)
        .filter_map(|c| fs.read(&format!("per_cpu/cpu{c}/stats")).ok())
        .map(|t| ktrace_ftrace::CpuStats::parse(&t).lost())
        .sum();
    let t = BlkTracer::start(&fs, &dev.name(), &BlkFilter::default())?;
    let ours = fio_iops(&path, secs)?;
    let data = t.stop()?;
    let after: u64 = (0..2)
        .filter_map(|c| fs.read(&format!("per_cpu/cpu{c}/stats")).ok())
        .map(|t| ktrace_ftrace::CpuStats::parse(&t).lost())
        .sum();
    let ktrace_lost = after.saturating_sub(before);

    // The same records as blktrace files, parsed by both.
    let (recs, _lost) = FtraceBinRecords::new(&data).split()?;
    let n = recs.len();
    let dir = std::env::temp_dir().join(format!("ktrace-blkbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let files = ktrace_blk::record::per_cpu_files(recs.into_iter());
    for (cpu, bytes) in &files {
        std::fs::write(dir.join(format!("b.blktrace.{cpu}")), bytes)?;
    }
    let t0 = Instant::now();
    let mut sum = 0u64;
    const REPS: u32 = 20;
    for _ in 0..REPS {
        for bytes in files.values() {
            for r in Records::new(bytes) {
                let r = r?;
                sum = sum.wrapping_add(r.sector() ^ r.time() ^ r.bytes() as u64 ^ r.action().0 as u64);
            }
        }
    }
    let ktrace_rps = n as f64 * REPS as f64 / t0.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    let t1 = Instant::now();
    Command::new("blkparse").arg("-i").arg(dir.join("b")).args(["-o", "/dev/null"]).stderr(Stdio::null()).status()?;
    let blkparse_rps = n as f64 / t1.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&dir)?;

    // trace-cmd recording block events meanwhile.
    let dat = std::env::temp_dir().join(format!("ktrace-blkbench-{}.dat", std::process::id()));
    let mut tc = Command::new("sh")
        .arg(shadow)
        .args(["record", "-q", "-e", "block", "-o"])
        .arg(&dat)
        .args(["sleep", &(secs + 2).to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let tracecmd = fio_iops(&path, secs)?;
    tc.wait()?;
    let _ = std::fs::remove_file(&dat);
    drop(dev);
    println!("{n} records; fio {secs} s per run");
    println!(
        "RESULT blk ktrace_parse_rps={ktrace_rps:.0} blkparse_rps={blkparse_rps:.0} untraced_iops={untraced:.0} ktrace_iops={ours:.0} tracecmd_iops={tracecmd:.0} ktrace_lost={ktrace_lost}"
    );
    Ok(())
}
