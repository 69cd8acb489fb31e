//! `bootchart`: runs a command, samples its process tree and the system (CPU, disk IO) every
//! interval, and writes an SVG chart (like bootchart / systemd-bootchart, from a start command).
//!
//! ```sh
//! bootchart [-i MS] [-o chart.svg] -- COMMAND...
//! ```

use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut ms, mut out) = (20u64, "bootchart.svg".to_owned());
    let mut it = args.iter();
    let mut cmd = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-i" => ms = it.next().and_then(|s| s.parse().ok()).ok_or("-i MS")?,
            "-o" => out = it.next().ok_or("-o FILE")?.clone(),
            "--" => cmd = it.by_ref().cloned().collect(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if cmd.is_empty() {
        return Err("usage: bootchart [-i MS] [-o chart.svg] -- COMMAND...".into());
    }
    let chart = ktrace_sample::bootchart::Chart::record(&cmd, Duration::from_millis(ms))?;
    std::fs::write(&out, chart.svg())?;
    eprintln!("bootchart: {} processes over {:.2} s -> {out}", chart.processes.len(), chart.duration);
    for p in &chart.processes {
        println!("{:>7} {:<16} {:>7.3} {:>7.3}", p.pid, p.comm, p.start, p.end);
    }
    Ok(())
}
