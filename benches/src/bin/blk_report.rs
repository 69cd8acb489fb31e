//! Block tracing costs, in one run on one loop device: parse speed of the same blktrace files by
//! ktrace vs `blkparse -i … -o /dev/null`, and fio 4k random direct reads for N seconds untraced,
//! under ktrace's blk tracer, and under `trace-cmd record -e block`, in interleaved rounds
//! (9 by default, the order of the three turning each round) so drift and other load hit every
//! mode alike. Reports each mode's median IOPS and spread (min–max over the rounds), the median
//! per-round ratio ktrace/untraced, and CPU per IO: fio's own (user+sys: the kernel-side cost of
//! the trace hooks lands in its sys time) and the tracer's while the IO runs (ktrace: this
//! process, i.e. its drain threads, from start to the end of fio, with `stop`'s CPU apart;
//! trace-cmd: its processes, start to exit). Prints
//! `RESULT blk ktrace_parse_rps=N blkparse_rps=N untraced_iops=N ktrace_iops=N tracecmd_iops=N ktrace_lost=N`
//! (plus spreads and CPU figures after those).
//! Usage: `blk_report SHADOW_SCRIPT [SECONDS_PER_ROUND] [ROUNDS]`
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_benches::{process_cpu, rusage_cpu};
use ktrace_blk::{BlkFilter, BlkItem, BlkTracer, FtraceBinRecords, LoopDevice, Records};
use ktrace_ftrace::Tracefs;
use nix::sys::resource::UsageWho;

/// One fio run: IOPS and fio's CPU seconds over the job (its own usr and sys figures, without
/// its start-up, which would dominate on a slow round).
fn fio(dev: &str, secs: u32) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let out = Command::new("fio")
        .args(["--name=r", "--rw=randread", "--bs=4k", "--direct=1", "--ioengine=psync", "--time_based", "--minimal"])
        .arg(format!("--filename={dev}"))
        .arg(format!("--runtime={secs}"))
        .output()?;
    // Terse v3 (1-based): field 8 is read IOPS, 88 and 89 usr and sys CPU in percent.
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.lines().last().unwrap_or("").split(';').collect();
    let num = |i: usize| f.get(i).and_then(|v| v.trim_end_matches('%').parse::<f64>().ok());
    let (Some(iops), Some(usr), Some(sys)) = (num(7), num(87), num(88)) else {
        return Err(format!("fio said: {text}").into());
    };
    Ok((iops, (usr + sys) / 100.0 * secs as f64))
}

/// Per-round figures of one mode.
#[derive(Default)]
struct Mode {
    iops: Vec<f64>,
    /// fio's CPU per IO, µs.
    fio_us: Vec<f64>,
    /// The tracer's CPU per IO, µs.
    tracer_us: Vec<f64>,
}

impl Mode {
    fn push(&mut self, iops: f64, secs: u32, fio_cpu: f64, tracer_cpu: f64) {
        let ios = iops * secs as f64;
        self.iops.push(iops);
        self.fio_us.push(fio_cpu / ios * 1e6);
        self.tracer_us.push(tracer_cpu / ios * 1e6);
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let at = |i: usize| s.get(i).copied().unwrap_or(f64::NAN);
    if n % 2 == 1 { at(n / 2) } else { (at((n / 2).wrapping_sub(1)) + at(n / 2)) / 2.0 }
}

/// (max − min) / median, in percent.
fn spread(v: &[f64]) -> f64 {
    let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    (hi - lo) / median(v) * 100.0
}

/// Events the kernel reports it dropped (`per_cpu/cpuN/stats`, overrun + dropped), summed.
fn ring_lost(fs: &Tracefs) -> u64 {
    (0..ktrace_ftrace::Instance::global(fs).nr_cpus())
        .filter_map(|c| fs.read(&format!("per_cpu/cpu{c}/stats")).ok())
        .map(|t| ktrace_ftrace::CpuStats::parse(&t).lost())
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let shadow = a.get(1).ok_or("usage: blk_report SHADOW_SCRIPT [SECONDS_PER_ROUND] [ROUNDS]")?;
    let secs: u32 = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
    let rounds: u32 = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(9);
    let fs = Tracefs::find_or_mount()?;
    let dev = LoopDevice::create_temp(256 << 20)?;
    let path = dev.path().display().to_string();
    // Fill it so reads hit real blocks.
    Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "count=256", "oflag=direct"])
        .arg(format!("of={path}"))
        .stderr(Stdio::null())
        .status()?;
    let dat = std::env::temp_dir().join(format!("ktrace-blkbench-{}.dat", std::process::id()));

    let (mut untraced, mut ktrace, mut tracecmd) = (Mode::default(), Mode::default(), Mode::default());
    let (mut ktrace_lost, mut ktrace_lost_unknown, mut stats_lost) = (0u64, 0u64, 0u64);
    let mut data = Vec::new();
    // The tracer's CPU in `stop` (the final drain and whatever is done with the records there), ms.
    let mut stop_ms = Vec::new();
    for round in 0..rounds {
        // The order turns each round, so no mode always follows the same one (9 rounds: each
        // mode three times in each place).
        for mode in (0..3).map(|i| (i + round) % 3) {
            match mode {
                0 => {
                    let (iops, cpu) = fio(&path, secs)?;
                    untraced.push(iops, secs, cpu, 0.0);
                }
                1 => {
                    let before = ring_lost(&fs);
                    let c0 = process_cpu();
                    let t = BlkTracer::start(&fs, &dev.name(), &BlkFilter::default())?;
                    let (iops, cpu) = fio(&path, secs)?;
                    let c1 = process_cpu();
                    data = t.stop()?;
                    let c2 = process_cpu();
                    ktrace.push(iops, secs, cpu, c1 - c0);
                    stop_ms.push((c2 - c1) * 1e3);
                    stats_lost += ring_lost(&fs).saturating_sub(before);
                    for item in FtraceBinRecords::new(&data) {
                        if let BlkItem::Lost(l) = item? {
                            match l.count {
                                Some(n) => ktrace_lost += n,
                                None => ktrace_lost_unknown += 1,
                            }
                        }
                    }
                }
                _ => {
                    // trace-cmd recording block events meanwhile.
                    let mut tc = Command::new("sh")
                        .arg(shadow)
                        .args(["record", "-q", "-e", "block", "-o"])
                        .arg(&dat)
                        .args(["sleep", &(secs + 2).to_string()])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .spawn()?;
                    std::thread::sleep(std::time::Duration::from_millis(1500));
                    let (iops, cpu) = fio(&path, secs)?;
                    let c0 = rusage_cpu(UsageWho::RUSAGE_CHILDREN);
                    tc.wait()?;
                    tracecmd.push(iops, secs, cpu, rusage_cpu(UsageWho::RUSAGE_CHILDREN) - c0);
                    let _ = std::fs::remove_file(&dat);
                }
            }
        }
        let last = |m: &Mode| m.iops.last().copied().unwrap_or(f64::NAN);
        let (u, k) = (last(&untraced), last(&ktrace));
        println!(
            "round {round}: untraced {u:.0} ktrace {k:.0} ({:.1}%) trace-cmd {:.0} IOPS",
            k / u * 100.0,
            last(&tracecmd)
        );
    }

    // The last ktrace round's records as blktrace files, parsed by both.
    let (recs, _lost) = FtraceBinRecords::new(&data).split()?;
    let n = recs.len();
    let mut by_action = std::collections::BTreeMap::<&str, u64>::new();
    for r in &recs {
        *by_action.entry(if r.is_notify() { "notify" } else { r.action().letter() }).or_default() += 1;
    }
    let ios = by_action.get("C").copied().unwrap_or(0).max(1) as f64;
    let per_io: Vec<String> = by_action.iter().map(|(a, c)| format!("{a} {:.2}", *c as f64 / ios)).collect();
    println!("records per completed IO by action, last ktrace round: {}", per_io.join(", "));
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
    drop(dev);

    let ratios: Vec<f64> = ktrace.iops.iter().zip(&untraced.iops).map(|(k, u)| k / u).collect();
    println!("{n} records in the last ktrace round; {rounds} rounds of fio {secs} s per mode, interleaved");
    for (name, m) in [("untraced", &untraced), ("ktrace", &ktrace), ("trace-cmd", &tracecmd)] {
        println!(
            "{name:>9}: median {:.0} IOPS, spread {:.1}% ({:.0}..{:.0}); fio CPU {:.2} us/IO; tracer CPU {:.2} us/IO",
            median(&m.iops),
            spread(&m.iops),
            m.iops.iter().copied().fold(f64::INFINITY, f64::min),
            m.iops.iter().copied().fold(0.0, f64::max),
            median(&m.fio_us),
            median(&m.tracer_us)
        );
    }
    println!("ktrace stop (final drain, records rewritten): median {:.1} ms CPU", median(&stop_ms));
    println!(
        "ktrace lost: {ktrace_lost} counted in Lost items (+{ktrace_lost_unknown} notices without a count); ring stats say {stats_lost}"
    );
    println!(
        "RESULT blk ktrace_parse_rps={ktrace_rps:.0} blkparse_rps={blkparse_rps:.0} untraced_iops={:.0} ktrace_iops={:.0} tracecmd_iops={:.0} ktrace_lost={} ktrace_ratio={:.3} untraced_spread_pct={:.1} ktrace_spread_pct={:.1} tracecmd_spread_pct={:.1} ktrace_reader_us_per_io={:.2} tracecmd_us_per_io={:.2}",
        median(&untraced.iops),
        median(&ktrace.iops),
        median(&tracecmd.iops),
        ktrace_lost + ktrace_lost_unknown,
        median(&ratios),
        spread(&untraced.iops),
        spread(&ktrace.iops),
        spread(&tracecmd.iops),
        median(&ktrace.tracer_us),
        median(&tracecmd.tracer_us),
    );
    Ok(())
}
