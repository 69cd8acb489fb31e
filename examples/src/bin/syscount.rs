//! `syscount`: counts syscalls per syscall and per process, system-wide or for one command,
//! through the raw_syscalls tracepoints (like bcc's syscount / `perf trace -s`).
//!
//! ```sh
//! syscount [-d SECONDS] [-- COMMAND ARGS...]
//! ```

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::Status;
use ktrace_ftrace::{Recorder, Tracefs, Typed};

/// Counts syscalls per syscall and per process, system-wide for a time or for one command.
#[derive(Parser)]
#[command(name = "syscount", version)]
struct Args {
    /// Seconds to count system-wide (without a command).
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
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

fn run(Args { duration, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::check_command(&cmd)?;
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(8192)?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    let mut child = None;
    if let Some((prog, rest)) = cmd.split_first() {
        // Start the command held so the pid filter is in place before it runs.
        let c = ktrace_examples::Gated::spawn(prog, rest)?;
        inst.set_event_pids(&[c.pid()])?;
        inst.follow_forks(true)?;
        child = Some(c);
    }
    let rec = Recorder::start(&inst)?;
    let status = match child.as_mut() {
        Some(c) => {
            c.release()?;
            Status::from(c.child.wait()?)
        }
        None => {
            std::thread::sleep(duration);
            Status::SUCCESS
        }
    };
    let recording = rec.stop()?;
    let comms: HashMap<i32, String> = fs.saved_cmdlines()?.into_iter().collect();
    let mut by_sys: HashMap<i64, u64> = HashMap::new();
    let mut by_proc: HashMap<i32, u64> = HashMap::new();
    for ev in recording.events() {
        let ev = ev?;
        if let Typed::SysEnter { nr, .. } = ev.typed()? {
            *by_sys.entry(nr).or_default() += 1;
            *by_proc.entry(ev.pid()).or_default() += 1;
        }
    }
    let mut s: Vec<_> = by_sys.into_iter().collect();
    s.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("{:<22} {:>10}", "SYSCALL", "COUNT");
    for (nr, c) in s.iter().take(20) {
        println!("{:<22} {c:>10}", name(*nr));
    }
    let mut p: Vec<_> = by_proc.into_iter().collect();
    p.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("\n{:<8} {:<16} {:>10}", "PID", "COMM", "COUNT");
    for (pid, c) in p.iter().take(10) {
        println!("{pid:<8} {:<16} {c:>10}", comms.get(pid).map_or("?", String::as_str));
    }
    println!("\nlost events: {}", recording.lost_total());
    Ok(status)
}
