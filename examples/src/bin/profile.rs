//! `profile`: samples a command (and its children) on the CPU clock with callchains and writes a
//! flame graph SVG and folded stacks (like `perf record -g` + flamegraph.pl).
//!
//! ```sh
//! profile [-F HZ] [-o out.svg] -- COMMAND ARGS...
//! profile -a [-F HZ] [-o out.svg] [-d SECONDS]    # every CPU, every task (system-wide)
//! profile --perfetto out.perfetto-trace -- COMMAND  # also the samples with callstacks for Perfetto UI
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Output, Status};
use ktrace_sample::profile::{Profiler, flamegraph};

/// Samples a command (or every CPU) with callchains and writes a flame graph SVG and folded stacks.
#[derive(Parser)]
#[command(
    name = "profile",
    version,
    override_usage = "profile [-F HZ] [-o FILE] -- COMMAND [ARGS]...
       profile -a [-F HZ] [-o FILE] [-d SECONDS]"
)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["all", "cmd"]))]
struct Args {
    /// Samples per second.
    #[arg(short = 'F', value_name = "HZ", default_value = "997", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    freq: u64,
    /// The flame graph SVG (folded stacks go to FILE.folded); both are created before sampling.
    #[arg(short = 'o', value_name = "FILE", default_value = "profile.svg")]
    out: PathBuf,
    /// Also write every sample with its callstack as a Perfetto trace (open it in ui.perfetto.dev).
    #[arg(long = "perfetto", value_name = "FILE")]
    perfetto: Option<PathBuf>,
    /// Every CPU, every task (system-wide), for -d seconds.
    #[arg(short = 'a', conflicts_with = "cmd")]
    all: bool,
    /// Seconds to sample with -a.
    #[arg(short = 'd', value_name = "SECONDS", default_value = "5", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// The command to sample (with its children); its exit status is profile's.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { freq, out, perfetto, all, duration, cmd }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    // Held before its exec (a missing program fails here, before the outputs are created).
    let held = ktrace_examples::hold(&cmd)?;
    let mut svg = Output::create(&out)?;
    let mut folded_out = Output::create(format!("{}.folded", out.display()))?;
    let mut perfetto_out = perfetto.map(Output::create).transpose()?;
    let title;
    let mut status = Status::SUCCESS;
    let p = if all {
        let mut prof = Profiler::system(freq)?;
        // Until the time is up or SIGINT/SIGTERM.
        let end = std::time::Instant::now() + duration;
        while std::time::Instant::now() < end && ktrace_examples::sleep(Duration::from_millis(10)) {
            prof.poll();
        }
        title = format!("all CPUs, {} s", duration.as_secs_f64());
        prof.finish()
    } else {
        let held = held.ok_or("no command")?;
        // Sampling is in place before the command runs.
        let mut prof = Profiler::task(held.pid(), freq)?;
        let mut child = held.release()?;
        status = Status::from(ktrace_examples::wait_child(&mut child, || prof.poll())?);
        title = cmd.first().cloned().unwrap_or_default();
        prof.finish()
    };
    if p.samples.is_empty() {
        // No flame graph of nothing: the outputs are removed as they drop.
        eprintln!("profile: no samples ({} lost, {} throttled); nothing written", p.lost, p.throttled);
        return Ok(status);
    }
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut sym = p.symbolizer(&kallsyms);
    let folded = p.folded(&mut sym);
    let mut f = std::io::BufWriter::new(&mut svg);
    flamegraph(&folded, &format!("{title} ({} samples)", p.samples.len()), &mut f)?;
    f.flush()?;
    drop(f);
    let mut ff = std::io::BufWriter::new(&mut folded_out);
    for (k, v) in &folded {
        writeln!(ff, "{k} {v}")?;
    }
    ff.flush()?;
    drop(ff);
    svg.keep()?;
    folded_out.keep()?;
    if let Some(out) = perfetto_out.as_mut() {
        write_perfetto(&p, &mut sym, out)?;
        out.keep()?;
        eprintln!("profile: {} samples with callstacks -> {}", p.samples.len(), out.path().display());
    }
    eprintln!(
        "profile: {} samples, {} lost, {} throttled -> {}, {}",
        p.samples.len(),
        p.lost,
        p.throttled,
        svg.path().display(),
        folded_out.path().display()
    );
    let top = p.top_symbols(&mut sym);
    for (name, n) in top.iter().take(10) {
        println!("{n:>8}  {name}");
    }
    if top.iter().take(10).any(|(name, _)| name.contains("+0x")) {
        eprintln!(
            "profile: FILE+0xOFFSET frames have no symbol (FILE is stripped): install its separate debug file \
             under /usr/lib/debug (libc6-dbg for libc, a -dbgsym or -dbg package for others)"
        );
    }
    Ok(status)
}

/// Every sample of `p` with its callstack (frames named as in the flame graph) and the threads'
/// names, as a Perfetto trace.
fn write_perfetto(
    p: &ktrace_sample::profile::Profile,
    sym: &mut ktrace_sample::perf::symbolize::Symbolizer,
    out: &mut Output,
) -> Result<(), Box<dyn std::error::Error>> {
    let names: std::collections::BTreeMap<i32, String> = p.comms.iter().map(|(k, v)| (*k, v.clone())).collect();
    let mut w = ktrace_export::Perfetto::new(std::io::BufWriter::new(out)).with_names(&names);
    let mut frames: Vec<String> = Vec::new();
    for s in &p.samples {
        frames.clear();
        frames.extend(p.chain(s).iter().map(|&a| sym.name(s.pid, a)));
        w.sample(s.time, s.cpu, s.pid, s.tid, frames.iter().map(String::as_str))?;
    }
    ktrace_export::Writer::finish(&mut w)?;
    Ok(())
}
