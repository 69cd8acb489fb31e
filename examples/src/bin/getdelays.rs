//! `getdelays`: delay accounting of a process (like the kernel's tools/accounting/getdelays).
//!
//! ```sh
//! getdelays [-t] PID        # -t: the whole thread group
//! getdelays -- COMMAND...   # run it, then report (queried just before it exits)
//! getdelays -m [SECONDS]    # every task that exits (all CPUs), for SECONDS (default 5)
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::Status;
use ktrace_sample::taskstats::{DelayAcctGuard, Exit, ExitListener, TaskStats, query};

/// Delay accounting of a process, of a command, or (-m) of every task that exits.
#[derive(Parser)]
#[command(
    name = "getdelays",
    version,
    override_usage = "getdelays [-t] PID
       getdelays -- COMMAND [ARGS]...
       getdelays -m [SECONDS]"
)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["pid", "monitor", "cmd"]))]
struct Args {
    /// With PID: the whole thread group.
    #[arg(short = 't', requires = "pid")]
    tgid: bool,
    /// Every task that exits, on all CPUs, for SECONDS (default 5).
    #[arg(short = 'm', value_name = "SECONDS", num_args = 0..=1, default_missing_value = "5", conflicts_with_all = ["pid", "cmd"], value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    monitor: Option<Duration>,
    /// The process (or with -t, thread group) to report.
    #[arg(value_name = "PID", conflicts_with = "cmd")]
    pid: Option<u32>,
    /// A command to run and report (queried just before it exits); its exit status is getdelays'.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn print(t: &TaskStats) {
    println!("pid {} ({}) taskstats v{}", t.pid, t.comm, t.version);
    println!("{:<10} {:>10} {:>16} {:>12} {:>12} {:>12}", "delay", "count", "total ns", "avg ns", "max ns", "min ns");
    for (n, d) in t.delays() {
        println!("{n:<10} {:>10} {:>16} {:>12} {:>12} {:>12}", d.count, d.total_ns, d.avg_ns(), d.max_ns, d.min_ns);
    }
    println!(
        "cpu run {} ns; read {} B, written {} B; {} voluntary / {} involuntary switches",
        t.cpu_run_real_ns, t.read_bytes, t.write_bytes, t.nvcsw, t.nivcsw
    );
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { tgid, monitor, pid, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    // Held before its exec (a missing program fails here), released once accounting is on.
    let held = ktrace_examples::hold(&cmd)?;
    let _g = DelayAcctGuard::enable()?;
    if let Some(held) = held {
        let mut child = held.release()?;
        let pid = child.id();
        let mut last = None;
        let status = Status::from(ktrace_examples::wait_child(&mut child, || {
            if let Ok(t) = query(pid, false) {
                last = Some(t);
            }
        })?);
        match last {
            Some(t) => print(&t),
            None => eprintln!("getdelays: the command ended before it could be queried"),
        }
        return Ok(status);
    }
    if let Some(d) = monitor {
        let mut l = ExitListener::register(None)?;
        let end = std::time::Instant::now() + d;
        println!(
            "{:>8} {:>8} {:<16} {:>6} {:>12} {:>12} {:>12}",
            "pid", "ppid", "comm", "exit", "cpu ns", "blkio ns", "run ns"
        );
        while std::time::Instant::now() < end && ktrace_examples::stop_signal().is_none() {
            for e in l.recv(Duration::from_millis(200))? {
                match e {
                    Exit::Task(t) => println!(
                        "{:>8} {:>8} {:<16} {:>6} {:>12} {:>12} {:>12}",
                        t.pid,
                        t.ppid,
                        t.comm,
                        t.exit_code >> 8,
                        t.cpu.total_ns,
                        t.blkio.total_ns,
                        t.cpu_run_real_ns
                    ),
                    Exit::Group(t) => println!("{:>8} (thread group ended, {} ns on CPU)", t.tgid, t.cpu_run_real_ns),
                    Exit::Lost => println!("(exit records lost: socket overflow)"),
                }
            }
        }
        return Ok(Status::SUCCESS);
    }
    let pid = pid.ok_or("no PID")?;
    print(&query(pid, tgid)?);
    Ok(Status::SUCCESS)
}
