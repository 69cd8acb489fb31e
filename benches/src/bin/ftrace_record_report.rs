//! Runs the same raw_syscalls storm (a child doing N getppid) untraced, under our recorder and under
//! `trace-cmd record` with the same per-CPU buffer size, and prints
//! `RESULT ftrace-record untraced_ns=N ktrace_ns=N tracecmd_ns=N ktrace_lost=N tracecmd_lost=N`.
//! Usage: `ftrace_record_report GETPPID_LOOP SHADOW_SCRIPT [N] [BUFFER_KB]`
use std::process::Command;

use ktrace_ftrace::{Item, Recorder, TraceDat, Tracefs};

fn child_ns(out: &[u8]) -> f64 {
    String::from_utf8_lossy(out)
        .lines()
        .find_map(|l| l.strip_prefix("ns_per_syscall=").and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn lost_in(rec: &ktrace_ftrace::Recording) -> u64 {
    rec.items().filter_map(|i| if let Ok(Item::Lost(l)) = i { Some(l.count.unwrap_or(1)) } else { None }).sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let (looper, shadow) = (a.get(1).ok_or("GETPPID_LOOP")?, a.get(2).ok_or("SHADOW_SCRIPT")?);
    let n = a.get(3).cloned().unwrap_or_else(|| "2000000".into());
    let kb: u64 = a.get(4).and_then(|s| s.parse().ok()).unwrap_or(1408);

    let untraced = child_ns(&Command::new(looper).arg(&n).output()?.stdout);

    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(kb)?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    inst.enable_event("raw_syscalls", "sys_exit")?;
    let rec = Recorder::start(&inst)?;
    let ours = child_ns(&Command::new(looper).arg(&n).output()?.stdout);
    let recording = rec.stop()?;
    let events = recording.events().count();
    let ktrace_lost = lost_in(&recording);
    drop(recording);
    inst.close()?;

    let dat = std::env::temp_dir().join(format!("ktrace-bench-{}.dat", std::process::id()));
    let out = Command::new("sh")
        .arg(shadow)
        .args(["record", "-q", "-e", "raw_syscalls", "-b", &kb.to_string(), "-o"])
        .arg(&dat)
        .arg(looper)
        .arg(&n)
        .output()?;
    let tracecmd = child_ns(&out.stdout);
    let t = TraceDat::parse(&std::fs::read(&dat)?)?;
    let trec = t.recording()?;
    let tc_events = trec.events().count();
    let mut tracecmd_lost = lost_in(&trec);
    // trace-cmd stores each CPU's stats; overruns there are losses too.
    for st in &t.cpu_stats {
        tracecmd_lost = tracecmd_lost.max(ktrace_ftrace::CpuStats::parse(st).lost());
    }
    let _ = std::fs::remove_file(&dat);
    println!("events: ktrace {events}, trace-cmd {tc_events}; buffer {kb} KiB per CPU; {n} getppid");
    println!(
        "RESULT ftrace-record untraced_ns={untraced:.1} ktrace_ns={ours:.1} tracecmd_ns={tracecmd:.1} ktrace_lost={ktrace_lost} tracecmd_lost={tracecmd_lost}"
    );
    Ok(())
}
