//! `record`: records events into a trace.dat that `trace-cmd report` reads (like `trace-cmd record`).
//!
//! ```sh
//! record -e SYSTEM[:EVENT] [-e …] [-o trace.dat] [-b KB] [-d SECONDS | -- COMMAND...]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Losses, Output, Status};
use ktrace_ftrace::{Recorder, Tracefs};

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
    let rec = Recorder::start(&inst)?;
    let status = ktrace_examples::release_or_sleep(held, duration)?;
    let recording = rec.stop()?;
    let meta = ktrace_ftrace::tracedat::capture_metadata(&inst, &recording)?;
    let mut f = std::io::BufWriter::new(&mut out);
    meta.write_recording_v6(&recording, &mut f)?;
    f.flush()?;
    drop(f);
    out.keep()?;
    let mut losses = Losses::default();
    let n = losses.events(&recording).count();
    eprintln!("record: {n} events, {} lost, written to {}", losses.total(), out.path().display());
    losses.report("record", Some(ktrace_examples::kernel_lost(&inst)?));
    Ok(status)
}
