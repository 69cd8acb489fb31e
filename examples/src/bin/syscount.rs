//! `syscount`: counts syscalls per syscall and per process, system-wide or for one command,
//! through the raw_syscalls tracepoints (like bcc's syscount / `perf trace -s`).
//!
//! ```sh
//! syscount [-d SECONDS] [--csv] [-- COMMAND ARGS...]
//! ```
//! A command's syscalls are counted from its exec on, with its children, as `perf stat -e
//! raw_syscalls:sys_enter -- COMMAND` counts them: it is started held before its exec with the
//! instance's pid filter on it, so no other process and no launcher is counted.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_core::agg::Counts;
use ktrace_examples::{HeldCommand, Losses, Status};
use ktrace_ftrace::{Budget, Item, Recorder, Tracefs, Typed};

/// Counts syscalls per syscall and per process, system-wide for a time or for one command.
#[derive(Parser)]
#[command(name = "syscount", version)]
struct Args {
    /// Seconds to count system-wide (without a command).
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// Machine-readable output: `total,N`, `command,PID` (with a command), then `syscall,NAME,N`
    /// and `pid,PID,COMM,N` rows (all of them).
    #[arg(long)]
    csv: bool,
    /// A command to run and count (with its children); its exit status is syscount's.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn name(nr: i64) -> String {
    ktrace_ftrace::syscall_name(nr).map_or_else(|| format!("nr{nr}"), str::to_owned)
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { duration, csv, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    // Held before its exec (its program resolved: a missing one fails here, naming it).
    let held = ktrace_examples::hold(&cmd)?;
    let target = held.as_ref().map(HeldCommand::pid);
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(8192)?;
    if let Some(pid) = target {
        // The filter first, so nothing of another process reaches the buffer; the exec event
        // marks where counting starts (the held child's own calls before it are not the command's).
        ktrace_examples::follow_pid(&inst, pid)?;
        inst.enable_event("sched", "sched_process_exec")?;
    }
    inst.enable_event("raw_syscalls", "sys_enter")?;
    // Counted live as events arrive: memory stays within the budget however long the run.
    let mut stream = Recorder::stream(&inst, Budget::mib(16))?;
    let waiter = ktrace_examples::stop_when_done(held, duration, stream.stop_handle());
    let mut by_sys: Counts<i64> = Counts::new();
    let mut by_proc: Counts<i32> = Counts::new();
    let mut losses = Losses::default();
    let mut dropped = 0u64;
    // Without a command everything counts; with one, from the command's exec on.
    let mut counting = target.is_none();
    while let Some(item) = stream.next() {
        let ev = match item? {
            Item::Event(ev) => ev,
            Item::Lost(l) => {
                if stream.last_loss_was_dropped() {
                    dropped = dropped.saturating_add(l.count.unwrap_or(0));
                } else {
                    losses.add(&l);
                }
                continue;
            }
        };
        match ev.typed()? {
            Typed::SysEnter { nr, .. } if counting => {
                by_sys.add(nr);
                by_proc.add(ev.pid());
            }
            _ if ev.name() == "sched_process_exec" && Some(ev.pid()) == target => counting = true,
            _ => {}
        }
    }
    drop(stream);
    let status = waiter.join().map_err(|_| "the waiting thread panicked")??;
    let comms: HashMap<i32, String> = fs.saved_cmdlines()?.into_iter().collect();
    let total = by_sys.total();
    let s = by_sys.sorted();
    let p = by_proc.sorted();
    let comm = |pid: &i32| comms.get(pid).map_or("?", String::as_str);
    if csv {
        println!("total,{total}");
        if let Some(pid) = target {
            println!("command,{pid}");
        }
        for (nr, c) in &s {
            println!("syscall,{},{c}", name(*nr));
        }
        for (pid, c) in &p {
            println!("pid,{pid},{},{c}", comm(pid));
        }
        println!("lost,{}", losses.total().saturating_add(dropped));
        println!("kernel_lost,{}", losses.total());
        report(&losses, dropped, &inst)?;
        return Ok(status);
    }
    println!("{:<22} {:>10}", "SYSCALL", "COUNT");
    for (nr, c) in s.iter().take(20) {
        println!("{:<22} {c:>10}", name(*nr));
    }
    println!("{:<22} {total:>10}", "(total)");
    println!("\n{:<8} {:<16} {:>10}", "PID", "COMM", "COUNT");
    for (pid, c) in p.iter().take(10) {
        println!("{pid:<8} {:<16} {c:>10}", comm(pid));
    }
    println!("\nlost events: {}", losses.total().saturating_add(dropped));
    report(&losses, dropped, &inst)?;
    Ok(status)
}

/// The kernel's losses next to its counters, then the events dropped over the memory budget.
fn report(losses: &Losses, dropped: u64, inst: &ktrace_ftrace::Instance) -> ktrace_ftrace::Result<()> {
    losses.report("syscount", Some(ktrace_examples::kernel_lost(inst)?));
    if dropped > 0 {
        eprintln!(
            "syscount: {dropped} events dropped over the memory budget (counting fell behind); the results are partial"
        );
    }
    Ok(())
}
