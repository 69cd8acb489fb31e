//! `getdelays`: delay accounting of a process (like the kernel's tools/accounting/getdelays).
//!
//! ```sh
//! getdelays [-t] PID        # -t: the whole thread group
//! getdelays -- COMMAND...   # run it, then report (queried just before it exits)
//! ```

use ktrace_sample::taskstats::{DelayAcctGuard, TaskStats, query};

fn print(t: &TaskStats) {
    println!("pid {} ({}) taskstats v{}", t.pid, t.comm, t.version);
    println!("{:<10} {:>10} {:>16} {:>12}", "delay", "count", "total ns", "avg ns");
    for (n, d) in [
        ("cpu", t.cpu),
        ("blkio", t.blkio),
        ("swapin", t.swapin),
        ("reclaim", t.freepages),
        ("thrashing", t.thrashing),
        ("compact", t.compact),
        ("wpcopy", t.wpcopy),
        ("irq", t.irq),
    ] {
        println!("{n:<10} {:>10} {:>16} {:>12}", d.count, d.total_ns, d.total_ns.checked_div(d.count).unwrap_or(0));
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
    let tgid = args.iter().any(|a| a == "-t");
    let pid: u32 = args.iter().find_map(|a| a.parse().ok()).ok_or("usage: getdelays [-t] PID | -- COMMAND...")?;
    print(&query(pid, tgid)?);
    Ok(())
}
