//! `getdelays`: delay accounting of a process (like the kernel's tools/accounting/getdelays).
//!
//! ```sh
//! getdelays [-t] PID        # -t: the whole thread group
//! getdelays -- COMMAND...   # run it, then report (queried just before it exits)
//! getdelays -m [SECONDS]    # every task that exits (all CPUs), for SECONDS (default 5)
//! ```

use ktrace_sample::taskstats::{DelayAcctGuard, Exit, ExitListener, TaskStats, query};

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _g = DelayAcctGuard::enable()?;
    if let Some(i) = args.iter().position(|a| a == "--") {
        let cmd = args.get(i + 1..).unwrap_or_default();
        let (prog, rest) = cmd.split_first().ok_or("getdelays -- COMMAND...")?;
        // Run it under a shell that stays alive after it, so the shell's tgid can be queried.
        let mut child = std::process::Command::new(prog).args(rest).spawn()?;
        let pid = child.id();
        let mut last = None;
        while child.try_wait()?.is_none() {
            if let Ok(t) = query(pid, false) {
                last = Some(t);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        match last {
            Some(t) => print(&t),
            None => eprintln!("getdelays: the command ended before it could be queried"),
        }
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("-m") {
        let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
        let mut l = ExitListener::register(None)?;
        let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        println!(
            "{:>8} {:>8} {:<16} {:>6} {:>12} {:>12} {:>12}",
            "pid", "ppid", "comm", "exit", "cpu ns", "blkio ns", "run ns"
        );
        while std::time::Instant::now() < end {
            for e in l.recv(std::time::Duration::from_millis(200))? {
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
                    Exit::Group(t) => println!("{:>8} (thread group ended, {} ns on CPU)", t.pid, t.cpu_run_real_ns),
                    Exit::Lost => println!("(exit records lost: socket overflow)"),
                }
            }
        }
        return Ok(());
    }
    let tgid = args.iter().any(|a| a == "-t");
    let pid: u32 = args.iter().find_map(|a| a.parse().ok()).ok_or("usage: getdelays [-t] PID | -- COMMAND...")?;
    print(&query(pid, tgid)?);
    Ok(())
}
