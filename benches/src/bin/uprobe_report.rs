//! ns per call of a uprobed function: untraced, ktrace via tracefs (recorder draining), and
//! the uprobe PMU (ktrace's `PmuProbe`, counting), and `perf probe -x` + `perf record`; lost events
//! at 1M calls. Prints
//! `RESULT uprobe untraced_ns=N tracefs_ns=N pmu_ns=N perf_ns=N ktrace_lost=N`.
//! Usage: `uprobe_report [CALLS]   (internally: uprobe_report --loop N)`
#![allow(unsafe_code, reason = "the probed target is a no_mangle function")]

use std::process::{Command, Stdio};

use ktrace_ftrace::{Item, Recorder, Tracefs};
use ktrace_kprobe::Probes;

/// The probed function.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_bench_target(x: u64) -> u64 {
    std::hint::black_box(x).wrapping_mul(3)
}

fn looped(n: u64) -> f64 {
    let t = std::time::Instant::now();
    let mut s = 0u64;
    for i in 0..n {
        s = s.wrapping_add(ktrace_bench_target(i));
    }
    std::hint::black_box(s);
    t.elapsed().as_nanos() as f64 / n as f64
}

fn nix_gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

fn child_ns(exe: &str, n: u64) -> Result<f64, Box<dyn std::error::Error>> {
    let out = Command::new(exe).args(["--loop", &n.to_string()]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(f64::NAN))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.get(1).map(String::as_str) == Some("--loop") {
        let n = a.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
        println!("{:.1}", looped(n));
        return Ok(());
    }
    let n: u64 = a.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let exe = std::fs::read_link("/proc/self/exe")?.display().to_string();
    let untraced = child_ns(&exe, n)?;

    let fs = Tracefs::find_or_mount()?;
    let mut probes = Probes::with_group(&fs, "bench");
    probes.uprobe(
        "target",
        &exe,
        "ktrace_bench_target",
        &[ktrace_kprobe::FetchArg::new("x", "%di", Some(ktrace_kprobe::ArgType::U(64)))],
        false,
    )?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(16384)?;
    inst.enable_event(probes.group(), "target")?;
    let rec = Recorder::start(&inst)?;
    let tracefs_ns = child_ns(&exe, n)?;
    let recording = rec.stop()?;
    let (mut hits, mut lost) = (0u64, 0u64);
    for it in recording.items() {
        match it? {
            Item::Event(_) => hits += 1,
            Item::Lost(l) => lost += l.count.unwrap_or(1),
        }
    }
    drop(recording);
    drop(inst);
    probes.close()?;
    let ktrace_lost = lost + n.saturating_sub(hits + lost);

    // The same probe through the uprobe PMU (counting), on this thread.
    let mut pmu = ktrace_kprobe::pmu::PmuProbe::uprobe(&exe, "ktrace_bench_target", false, nix_gettid())?;
    pmu.enable()?;
    let pmu_ns = looped(n);
    pmu.disable()?;
    let pmu_hits = pmu.hits()?;
    drop(pmu);

    // perf probe + perf record on the same function.
    let mut perf_ns = f64::NAN;
    let added =
        Command::new("perf").args(["probe", "-q", "-x", &exe, "ktrace_bench_target"]).stderr(Stdio::null()).status();
    if added.is_ok_and(|s| s.success()) {
        let data = std::env::temp_dir().join(format!("ktrace-uprobe-{}.data", std::process::id()));
        let out = Command::new("perf")
            .args(["record", "-q", "-e", "probe_uprobe_report:ktrace_bench_target", "-o"])
            .arg(&data)
            .args([&exe, "--loop", &n.to_string()])
            .stderr(Stdio::null())
            .output()?;
        perf_ns = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(f64::NAN);
        let _ =
            Command::new("perf").args(["probe", "-q", "-d", "probe_uprobe_report:*"]).stderr(Stdio::null()).status();
        let _ = std::fs::remove_file(&data);
    }
    println!("{hits} tracefs hits and {pmu_hits} PMU hits of {n} calls");
    println!(
        "RESULT uprobe untraced_ns={untraced:.1} tracefs_ns={tracefs_ns:.1} pmu_ns={pmu_ns:.1} perf_ns={perf_ns:.1} ktrace_lost={ktrace_lost}"
    );
    Ok(())
}
