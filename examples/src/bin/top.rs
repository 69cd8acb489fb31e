//! `top`: the process table every second (CPU%, RSS, state), system CPU and PSI.
//!
//! ```sh
//! top [-n ITERATIONS] [-d SECONDS]
//! ```

use ktrace_sample::procfs::{Pressure, SystemStat};
use ktrace_sample::top::ProcessSampler;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get =
        |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<f64>().ok());
    let n = get("-n").unwrap_or(3.0) as u32;
    let d = get("-d").unwrap_or(1.0);
    let mut s = ProcessSampler::new(false);
    s.refresh();
    let mut prev = SystemStat::parse(&std::fs::read_to_string("/proc/stat")?);
    for _ in 0..n {
        std::thread::sleep(std::time::Duration::from_secs_f64(d));
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
    Ok(())
}
