//! `pstat`: counts events of a command like `perf stat` (software events; hardware ones where a PMU
//! exists), with multiplexing scaling.
//!
//! ```sh
//! pstat [-e task-clock,context-switches,page-faults,cycles,instructions,syscalls:sys_enter_read] -- COMMAND...
//! ```
//! `SYSTEM:EVENT` names count a tracepoint, as `perf stat -e` does.

use ktrace_sample::counters::{Counters, Ev};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut events =
        vec![Ev::TaskClock, Ev::ContextSwitches, Ev::CpuMigrations, Ev::PageFaults, Ev::Cycles, Ev::Instructions];
    let mut names: std::collections::HashMap<u64, String> = Default::default();
    let mut cmd = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-e" => {
                let all = [
                    Ev::TaskClock,
                    Ev::CpuClock,
                    Ev::ContextSwitches,
                    Ev::CpuMigrations,
                    Ev::PageFaults,
                    Ev::Cycles,
                    Ev::Instructions,
                    Ev::BranchMisses,
                    Ev::CacheMisses,
                ];
                events = Vec::new();
                for n in it.next().ok_or("-e LIST")?.split(',') {
                    if let Some((sys, name)) = n.split_once(':') {
                        let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
                        let id: u64 = fs.read(&format!("events/{sys}/{name}/id"))?.trim().parse()?;
                        names.insert(id, n.to_owned());
                        events.push(Ev::Tracepoint(id));
                    } else if let Some(e) = all.iter().copied().find(|e| e.name() == n) {
                        events.push(e);
                    } else {
                        return Err(format!("unknown event {n}").into());
                    }
                }
            }
            "--" => cmd = it.by_ref().cloned().collect(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (prog, rest) = cmd.split_first().ok_or("usage: pstat [-e LIST] -- COMMAND...")?;
    let mut g = ktrace_examples::Gated::spawn(prog, rest)?;
    let pid = g.pid();
    let mut open = Vec::new();
    for ev in events {
        match Counters::task(pid, &[ev], true) {
            Ok(c) => open.push(c),
            Err(e) => eprintln!("pstat: {:>16} <not supported>: {e}", ev.name()),
        }
    }
    for c in &mut open {
        c.enable()?;
    }
    let t0 = std::time::Instant::now();
    g.release()?;
    g.child.wait()?;
    let wall = t0.elapsed();
    println!("\n Performance counter stats for '{}':\n", cmd.join(" "));
    for c in &mut open {
        for r in c.read()? {
            let pct = if r.enabled_ns > 0 { 100.0 * r.running_ns as f64 / r.enabled_ns as f64 } else { 0.0 };
            let name = match r.ev {
                Ev::Tracepoint(id) => names.get(&id).map_or("tracepoint", String::as_str),
                e => e.name(),
            };
            println!("{:>18} {name:<18} ({pct:.1}%)", r.scaled());
        }
    }
    println!("\n{:>18.9} seconds time elapsed", wall.as_secs_f64());
    Ok(())
}
