//! `record`: records events into a trace.dat that `trace-cmd report` reads (like `trace-cmd record`).
//!
//! ```sh
//! record -e SYSTEM[:EVENT] [-e …] [-o trace.dat] [-b KB] [-d SECONDS | -- COMMAND...]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Output, Status};
use ktrace_ftrace::{Budget, Recorder, Tracefs};

/// Records events into a trace.dat that `trace-cmd report` reads.
#[derive(Parser)]
#[command(name = "record", version)]
struct Args {
    /// An event: SYSTEM (all its events), SYSTEM:EVENT, or a glob like SYSTEM:sys_enter_*.
    #[arg(short = 'e', value_name = "EVENT", required = true)]
    events: Vec<String>,
    /// The trace file to write (created before recording starts).
    #[arg(short = 'o', value_name = "FILE", default_value = "trace.dat")]
    out: PathBuf,
    /// Per-CPU buffer size in KiB.
    #[arg(short = 'b', value_name = "KB")]
    kb: Option<u64>,
    /// Seconds to record (without a command).
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// A command to run and record (its events and its children's only, as `trace-cmd record -F`);
    /// its exit status is record's.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { events, out, kb, duration, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    // Held before its exec (a missing program fails here, before the output is created).
    let held = ktrace_examples::hold(&cmd)?;
    let mut out = Output::create(out)?;
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    if let Some(kb) = kb {
        inst.set_buffer_size_kb(kb)?;
    }
    if let Some(h) = &held {
        // The command and its children only (as `trace-cmd record -F`), set before it runs.
        ktrace_examples::follow_pid(&inst, h.pid())?;
    }
    for e in &events {
        match e.split_once(':') {
            Some((s, n)) if !n.contains('*') => inst.enable_event(s, n)?,
            Some(_) => inst.enable_glob(e)?,
            None => inst.enable_system(e)?,
        }
    }
    // Pages go to per-CPU temporary files as they arrive, assembled into the trace.dat at the
    // end: memory stays within the budget however long the run.
    let mut stream = Recorder::stream(&inst, Budget::mib(16))?;
    let waiter = ktrace_examples::stop_when_done(held, duration, stream.stop_handle());
    let (stats, n) = ktrace_ftrace::stream::write_trace_dat(&mut stream, out.path())?;
    drop(stream);
    let status = waiter.join().map_err(|_| "the waiting thread panicked")??;
    out.keep()?;
    eprintln!(
        "record: {n} events, {} lost, written to {}",
        stats.kernel_lost + stats.dropped_events,
        out.path().display()
    );
    if stats.kernel_lost > 0 {
        let counters = ktrace_examples::kernel_lost(&inst)?;
        eprintln!(
            "record: the kernel dropped {} events; its counters say {counters}; the recording is partial",
            stats.kernel_lost
        );
    }
    if stats.dropped_events > 0 {
        eprintln!(
            "record: {} events dropped over the memory budget (writing fell behind); the recording is partial",
            stats.dropped_events
        );
    }
    Ok(status)
}
