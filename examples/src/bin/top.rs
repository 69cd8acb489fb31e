//! `top`: the process table every second (CPU%, RSS, state), system CPU and PSI.
//!
//! ```sh
//! top [-n ITERATIONS] [-d SECONDS]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::Status;
use ktrace_sample::procfs::{Pressure, SystemStat};
use ktrace_sample::top::ProcessSampler;

/// The process table every -d seconds (CPU%, RSS, state), with system CPU and CPU pressure.
#[derive(Parser)]
#[command(name = "top", version)]
struct Args {
    /// Number of tables to print.
    #[arg(short = 'n', value_name = "ITERATIONS", default_value = "3", value_parser = clap::value_parser!(u32).range(1..))]
    n: u32,
    /// Seconds between tables.
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    delay: Duration,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { n, delay }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    let mut s = ProcessSampler::new(false);
    s.refresh();
    let mut prev = SystemStat::parse(&std::fs::read_to_string("/proc/stat")?);
    for _ in 0..n {
        if !ktrace_examples::sleep(delay) {
            break;
        }
        let now = SystemStat::parse(&std::fs::read_to_string("/proc/stat")?);
        let (busy, total) = (now.total.busy() - prev.total.busy(), now.total.total() - prev.total.total());
        prev = now;
        let psi = std::fs::read_to_string("/proc/pressure/cpu").map(|t| Pressure::parse(&t).some.avg10).unwrap_or(0.0);
        let mut rows = s.refresh().to_vec();
        rows.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
        println!(
            "\ncpu {:.1}%  cpu pressure avg10 {psi:.2}%  {} processes",
            100.0 * busy as f64 / total.max(1) as f64,
            rows.len()
        );
        println!("{:>7} {:<16} {:>1} {:>6} {:>9} {:>4}", "PID", "COMMAND", "S", "CPU%", "RSS(KiB)", "THR");
        for r in rows.iter().take(10) {
            println!(
                "{:>7} {:<16} {:>1} {:>6.1} {:>9} {:>4}",
                r.stat.pid, r.stat.comm, r.stat.state, r.cpu_percent, r.rss_kb, r.stat.num_threads
            );
        }
    }
    Ok(Status::SUCCESS)
}
