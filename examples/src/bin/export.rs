//! `export`: converts a trace.dat (from `record` or `trace-cmd record`) to what viewers open.
//!
//! ```sh
//! export --format perfetto -i trace.dat -o trace.perfetto-trace   # ui.perfetto.dev
//! export --format json -i trace.dat -o trace.json                 # chrome://tracing, speedscope
//! export --format ctf -i trace.dat -o trace-ctf                   # babeltrace2, Trace Compass
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ktrace_examples::Status;
use ktrace_export::Format;
use ktrace_ftrace::TraceDat;

/// Converts a trace.dat to a Perfetto trace, Chrome Trace Event JSON or a CTF directory.
#[derive(Parser)]
#[command(name = "export", version)]
struct Args {
    /// Output format: perfetto, json or ctf.
    #[arg(long, short = 'f', value_name = "FORMAT")]
    format: Format,
    /// The trace.dat to read.
    #[arg(short = 'i', value_name = "FILE", default_value = "trace.dat")]
    input: PathBuf,
    /// The file to write (a directory for ctf).
    #[arg(short = 'o', value_name = "OUT")]
    out: PathBuf,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { format, input, out }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    // The file's pages are read in place (no copy of the trace).
    let dat = TraceDat::from_bytes(bytes.into())?;
    let n = ktrace_export::export_tracedat(&dat, format, &out)?;
    eprintln!("export: {n} events written to {}", out.display());
    Ok(Status::Exited(0))
}
