//! `export`: converts a trace.dat (from `record` or `trace-cmd record`) to what viewers open, or
//! runs a command in a session and writes what it did.
//!
//! ```sh
//! export --format perfetto -i trace.dat -o trace.perfetto-trace   # ui.perfetto.dev
//! export --format json -i trace.dat -o trace.json                 # chrome://tracing, speedscope
//! export --format ctf -i trace.dat -o trace-ctf                   # babeltrace2, Trace Compass
//! # A session: sched events, uprobe slices of a function, perf counters and /proc RSS every
//! # 10 ms, taskstats delays, blk tracer I/Os of loop0.
//! export -f perfetto -o run.perfetto-trace --probe ./app:work --counters 10 --exits --blk loop0 -- ./app
//! ```

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace::export::tracks::Count;
use ktrace::export::{Background, ChromeJson, Perfetto, Tracks};
use ktrace::kprobe::{ProbeDef, Target, elf::Binary};
use ktrace::sample::counters::Ev;
use ktrace::session::{CommandExit, Exporter, Session, SessionBuilder, TimelineEvent};
use ktrace_examples::{CliError, Output, Status};
use ktrace_export::Format;
use ktrace_ftrace::TraceDat;

/// Converts a trace.dat to a Perfetto trace, Chrome Trace Event JSON or a CTF directory; with a
/// command, runs it in a session and writes its timeline (perfetto or json).
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
    /// Session: ftrace events to record (`system:event` globs; default scheduling and task events).
    #[arg(short = 'e', long = "event", value_name = "GLOB")]
    events: Vec<String>,
    /// Session: a uprobe and a uretprobe on a function (`BINARY:SYMBOL`): its calls as slices.
    #[arg(long, value_name = "BINARY:SYMBOL")]
    probe: Vec<String>,
    /// Session: perf counters (task-clock, context switches, page faults) and /proc RSS every MS.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=MAX_MS), allow_hyphen_values = true)]
    counters: Option<u64>,
    /// Session: taskstats exit records (delays) of the command's tasks as they exit.
    #[arg(long)]
    exits: bool,
    /// Session: taskstats exit records of every task of the system (not only the command's).
    #[arg(long)]
    exits_all: bool,
    /// Session: the block I/O of a device (`loop0`) with the blk tracer.
    #[arg(long, value_name = "DEV")]
    blk: Option<String>,
    /// Session: the command's syscalls with ptrace.
    #[arg(long)]
    syscalls: bool,
    /// Session: perf samples of the command at HZ, with callstacks (named in the Perfetto file).
    #[arg(long, value_name = "HZ", value_parser = clap::value_parser!(u64).range(1..=100_000), allow_hyphen_values = true)]
    samples: Option<u64>,
    /// The command to run in a session (instead of reading -i).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// The longest `--counters` period, in ms (the tools' longest duration).
const MAX_MS: u64 = ktrace_examples::MAX_SECONDS as u64 * 1000;

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

/// The events a session records without `-e`.
const DEFAULT_EVENTS: &[&str] = &[
    "sched:sched_switch",
    "sched:sched_waking",
    "sched:sched_process_exec",
    "sched:sched_process_exit",
    "task:task_newtask",
    "task:task_rename",
];

/// A uprobe on `BINARY:SYMBOL`'s entry and a uretprobe on its return, named by the symbol.
fn probes(spec: &str) -> Result<[ProbeDef; 2], Box<dyn std::error::Error>> {
    let (path, sym) = spec.rsplit_once(':').ok_or_else(|| format!("--probe {spec}: expected BINARY:SYMBOL"))?;
    let offset = Binary::open(path)?.symbol_offset(sym)?;
    let name: String = sym.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let entry = ProbeDef::new("x", &name, Target::Uprobe { path: path.into(), offset, ref_ctr: None });
    let ret = ProbeDef::new("x", &format!("{name}_ret"), Target::Uretprobe { path: path.into(), offset });
    Ok([entry, ret])
}

/// The session asked for, unstarted: the program resolved as execvp(3) would (a missing one is
/// strace's `Can't stat` error) and the probes' binaries and symbols found, before any output is
/// created.
fn builder(a: &Args) -> Result<SessionBuilder, Box<dyn std::error::Error>> {
    let (prog, args) = a.command.split_first().ok_or("no command")?;
    let mut cmd = std::process::Command::new(ktrace_examples::resolve_program(prog)?);
    cmd.arg0(prog).args(args);
    let mut b = Session::builder().command(cmd);
    for e in a
        .events
        .iter()
        .map(String::as_str)
        .chain(a.events.is_empty().then_some(DEFAULT_EVENTS).into_iter().flatten().copied())
    {
        b = b.events(e);
    }
    for spec in &a.probe {
        for def in probes(spec)? {
            b = b.probe(def);
        }
    }
    if let Some(ms) = a.counters {
        b = b.counters(&[Ev::TaskClock, Ev::ContextSwitches, Ev::PageFaults], Duration::from_millis(ms));
    }
    if a.exits_all {
        b = b.exits_all();
    } else if a.exits {
        b = b.exits();
    }
    if let Some(dev) = &a.blk {
        b = b.blk_device(dev);
    }
    if a.syscalls {
        b = b.syscalls();
    }
    if let Some(hz) = a.samples {
        b = b.samples(hz);
    }
    Ok(b)
}

/// The `-o` file of a session, created before it starts: a new or regular file is written as
/// `OUT.tmp` and renamed into place once complete (a failed run leaves neither behind), a device
/// or FIFO (`/dev/null`) as it is; a directory or an unwritable path is an error naming it.
fn output(path: &Path) -> Result<Output, CliError> {
    match path.metadata() {
        Ok(m) if !m.is_file() && !m.is_dir() => Output::create(path),
        _ => Output::staged(path),
    }
}

/// Runs the session `b` and writes its timeline to `w`.
fn session(a: &Args, b: SessionBuilder, w: &mut dyn Tracks) -> Result<Status, Box<dyn std::error::Error>> {
    // taskstats reports delays only with delay accounting on (restored when this ends).
    let _delayacct = (a.exits || a.exits_all).then(ktrace::sample::taskstats::DelayAcctGuard::enable).transpose()?;
    let mut s = b.start()?;
    let pid = s.pid();
    let mut x = Exporter::new(pid);
    let statm = pid.map(|p| format!("/proc/{p}/statm"));
    let page = ktrace::sample::proc::stats::page_size() as f64;
    for ev in s.by_ref() {
        let ev = ev?;
        x.write(&ev, w)?;
        // /proc stats beside the counters: the command's resident set at each task-clock reading.
        if let TimelineEvent::Counter(c) = &ev
            && c.event == Ev::TaskClock
            && let Some(m) = statm.as_ref().and_then(|p| std::fs::read_to_string(p).ok())
            && let Some(m) = ktrace::sample::proc::stats::PidStatm::parse(&m)
        {
            let rss = Count { name: "rss", unit: "bytes", pid, ts_ns: c.ts.ns, value: m.resident as f64 * page };
            w.counter(&rss)?;
        }
    }
    x.finish(w)?;
    Ok(match s.exit() {
        Some(CommandExit::Signaled(sig)) => Status::Signaled(sig),
        Some(CommandExit::Exited(c)) => Status::Exited(c.clamp(0, 255) as u8),
        None => Status::SUCCESS,
    })
}

fn run(a: Args) -> Result<Status, Box<dyn std::error::Error>> {
    if !a.command.is_empty() {
        // What can be refused is, before the output is created and the session starts.
        if !matches!(a.format, Format::Perfetto | Format::Json) {
            let f = format!("{:?}", a.format).to_lowercase();
            return Err(format!("-f {f}: a session (-- COMMAND) exports to perfetto or json, not {f}").into());
        }
        let b = builder(&a)?;
        let mut out = output(&a.out)?;
        // The file is written on a thread of its own while the session's events are formatted.
        let file = Background::new(out.handle()?, a.out.display().to_string())?;
        let status = match a.format {
            Format::Json => session(&a, b, &mut ChromeJson::new(file))?,
            _ => session(&a, b, &mut Perfetto::new(file))?,
        };
        // Everything is written (the writer's finish waits for it): the file is kept.
        out.keep()?;
        eprintln!("export: {} written", a.out.display());
        return Ok(status);
    }
    let Args { format, input, out, .. } = a;
    let bytes = std::fs::read(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    // The file's pages are read in place (no copy of the trace).
    let dat = TraceDat::from_bytes(bytes.into())?;
    let n = ktrace_export::export_tracedat(&dat, format, &out)?;
    eprintln!("export: {n} events written to {}", out.display());
    Ok(Status::Exited(0))
}
