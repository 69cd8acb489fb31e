//! `functrace`: the function tracer for chosen kernel functions (globs), with callers and
//! optionally kernel stacks (`func_stack_trace`), for a time or a command.
//!
//! ```sh
//! functrace [-s] [-d SECONDS] PATTERN... [-- COMMAND...]
//! ```
//! On a kernel that refuses the function tracer (lockdown) it says so on one line and exits 1,
//! before the command is run.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Losses, Status};
use ktrace_ftrace::{Error, Recorder, Tracefs, Typed};

/// Traces chosen kernel functions (globs) with the function tracer, with callers and optionally
/// kernel stacks. Exits 1 on a kernel that refuses the function tracer.
#[derive(Parser)]
#[command(name = "functrace", version)]
struct Args {
    /// Record the kernel stack of each call (func_stack_trace).
    #[arg(short = 's')]
    stack: bool,
    /// Seconds to trace (without a command).
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// Kernel function names or globs (set_ftrace_filter).
    #[arg(value_name = "PATTERN", required = true)]
    patterns: Vec<String>,
    /// A command to run and trace (its calls and its children's only); its exit status is
    /// functrace's.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { stack, duration, patterns, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    // Held before its exec (a missing program fails here).
    let held = ktrace_examples::hold(&cmd)?;
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    let pats: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let setup = inst.set_ftrace_filter(&pats).and_then(|_| inst.set_tracer("function"));
    if let Err(e @ (Error::Lockdown { .. } | Error::Unsupported { .. })) = setup {
        // An error like any other (exit 1): the held command is dropped unrun.
        inst.close()?;
        return Err(format!("this kernel cannot run the function tracer here: {e}").into());
    }
    setup?;
    if stack {
        inst.set_option("func_stack_trace", true)?;
    }
    if let Some(h) = &held {
        // The command and its children only (set_ftrace_pid with function-fork).
        inst.set_ftrace_pids(&[h.pid()])?;
        ktrace_examples::follow_pid(&inst, h.pid())?;
    }
    let rec = Recorder::start(&inst)?;
    let status = ktrace_examples::release_or_sleep(held, duration)?;
    let recording = rec.stop()?;
    let ks = ktrace_ftrace::load_kallsyms()?;
    let sym = |a: u64| ks.resolve(a).map_or(format!("{a:#x}"), |(n, off, _)| format!("{n}+{off:#x}"));
    let mut losses = Losses::default();
    for ev in losses.events(&recording) {
        let ev = ev?;
        match ev.typed()? {
            Typed::Function { ip, parent_ip } => {
                println!("{} [{:03}] {:>7} {} <- {}", ev.timestamp(), ev.cpu(), ev.pid(), sym(ip), sym(parent_ip))
            }
            _ if ev.name() == "kernel_stack" => println!("{:>30} (stack)", ""),
            _ => {}
        }
    }
    losses.report("functrace", Some(ktrace_examples::kernel_lost(&inst)?));
    Ok(status)
}
