//! `pstat`: counts events of a command like `perf stat` (software events; hardware ones where a PMU
//! exists), with multiplexing scaling.
//!
//! ```sh
//! pstat [-e task-clock,context-switches,page-faults,cycles,instructions,syscalls:sys_enter_read] -- COMMAND...
//! ```
//! `SYSTEM:EVENT` names count a tracepoint, as `perf stat -e` does.

use std::process::ExitCode;

use clap::Parser;
use ktrace_examples::Status;
use ktrace_sample::counters::{Counters, Ev};

/// Counts events of a command like `perf stat`.
#[derive(Parser)]
#[command(name = "pstat", version)]
struct Args {
    /// Events, comma-separated: task-clock, cpu-clock, context-switches, cpu-migrations,
    /// page-faults, cycles, instructions, branch-misses, cache-misses, or SYSTEM:EVENT tracepoints.
    #[arg(short = 'e', value_name = "LIST", value_delimiter = ',')]
    events: Vec<String>,
    /// The command to run and count; its exit status is pstat's.
    #[arg(last = true, value_name = "COMMAND", required = true)]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { events: wanted, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    let mut events =
        vec![Ev::TaskClock, Ev::ContextSwitches, Ev::CpuMigrations, Ev::PageFaults, Ev::Cycles, Ev::Instructions];
    let mut names: std::collections::HashMap<u64, String> = Default::default();
    if !wanted.is_empty() {
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
        for n in &wanted {
            if let Some((sys, name)) = n.split_once(':') {
                let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
                let id: u64 = fs
                    .read(&format!("events/{sys}/{name}/id"))
                    .map_err(|e| format!("unknown tracepoint {n}: {e}"))?
                    .trim()
                    .parse()?;
                names.insert(id, n.to_owned());
                events.push(Ev::Tracepoint(id));
            } else if let Some(e) = all.iter().copied().find(|e| e.name() == n) {
                events.push(e);
            } else {
                return Err(format!("unknown event {n}").into());
            }
        }
    }
    // Held before its exec; the counters start by themselves at the exec (enable_on_exec), as
    // `perf stat` counts its workload: the command alone, from its first instruction.
    let held = ktrace_examples::hold(&cmd)?.ok_or("no command")?;
    let pid = held.pid();
    let mut open = Vec::new();
    for ev in events {
        match Counters::task_from_exec(pid, &[ev], true) {
            Ok(c) => open.push(c),
            Err(e) => eprintln!("pstat: {:>16} <not supported>: {e}", ev.name()),
        }
    }
    let t0 = std::time::Instant::now();
    let status = Status::from(held.release()?.wait()?);
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
    Ok(status)
}
