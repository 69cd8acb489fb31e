//! `timeline`: one time-ordered stream of what a command did, from every facility at once: its
//! syscalls (ptrace, rendered as strace does), its sched events (ftrace), the system's block I/O
//! (block tracepoints) and perf samples of it, all on CLOCK_MONOTONIC, printed as they merge.
//!
//! ```sh
//! timeline [-e GLOB]... [-F HZ] [--no-syscalls] [--no-block] [--blk DEV] [--probe DEF]...
//!          [--exits] [-c COUNTER]... [--watch PATH]... -- COMMAND...
//! ```
//! `--blk` adds the blk tracer's actions on a device, `--probe` kprobe/uprobe hits, `--exits`
//! taskstats exit records, `-c` perf counters read every 100 ms, `--watch` inotify events.
//! Each line is `<seconds.micros> <source> <pid> <what>`. Losses are lines too (`LOST n events`),
//! in time order, and summed on stderr at the end. The exit status is the command's.

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use ktrace::command::resolve_program;
use ktrace::core::LostSource;
use ktrace::sample::counters::Ev;
use ktrace::session::{CommandExit, Session, TimelineEvent};
use ktrace_examples::{Losses, Status};

/// Prints a command's syscalls, sched events, block I/O and samples as one timeline.
#[derive(Parser)]
#[command(name = "timeline", version)]
struct Args {
    /// ftrace events to record, as `system:event` globs (default: sched:sched_switch,
    /// sched:sched_wakeup, sched:sched_process_exit), of the command and its children.
    #[arg(short = 'e', value_name = "GLOB")]
    events: Vec<String>,
    /// perf cpu-clock samples of the command per second of CPU time (0: none).
    #[arg(short = 'F', value_name = "HZ", default_value_t = 999)]
    freq: u64,
    /// Leave syscalls out (no ptrace: the command runs at full speed).
    #[arg(long)]
    no_syscalls: bool,
    /// Leave the system's block I/O out.
    #[arg(long)]
    no_block: bool,
    /// Also trace device DEV (`loop0`, `sda`) with the ftrace `blk` tracer (blktrace actions:
    /// queue, issue, complete…; the tracer is global, so one at a time).
    #[arg(long, value_name = "DEV")]
    blk: Option<String>,
    /// A kprobe or uprobe in the kernel's syntax (`p:grp/ev /usr/bin/bash:0x1234`; the group is
    /// the session's own), its hits shown as ftrace events.
    #[arg(long, value_name = "DEF")]
    probe: Vec<String>,
    /// The exits of the command's tasks (it and its descendants), with their taskstats (CPU time, delays).
    #[arg(long)]
    exits: bool,
    /// perf counters of the command (`task-clock`, `context-switches`, `page-faults`…) read
    /// every 100 ms.
    #[arg(short = 'c', value_name = "EVENT")]
    counters: Vec<String>,
    /// inotify watch on PATH (creates, writes, removes, moves).
    #[arg(long, value_name = "PATH")]
    watch: Vec<std::path::PathBuf>,
    /// The command to run; its exit status is timeline's.
    #[arg(last = true, value_name = "COMMAND", required = true)]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(a: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    let (prog, args) = a.cmd.split_first().ok_or("no command")?;
    let mut cmd = Command::new(resolve_program(prog)?);
    std::os::unix::process::CommandExt::arg0(&mut cmd, prog).args(args);
    let mut b = Session::builder().command(cmd);
    let defaults = ["sched:sched_switch", "sched:sched_wakeup", "sched:sched_process_exit"].map(String::from);
    for e in if a.events.is_empty() { &defaults[..] } else { &a.events[..] } {
        b = b.events(e);
    }
    if !a.no_syscalls {
        b = b.syscalls();
    }
    if !a.no_block {
        b = b.block();
    }
    if a.freq > 0 {
        b = b.samples(a.freq);
    }
    if let Some(dev) = &a.blk {
        b = b.blk_device(dev);
    }
    for p in &a.probe {
        b = b.probe(ktrace::kprobe::ProbeDef::parse(p)?);
    }
    if a.exits {
        b = b.exits();
    }
    if !a.counters.is_empty() {
        let evs = a.counters.iter().map(|c| counter(c)).collect::<Result<Vec<_>, _>>()?;
        b = b.counters(&evs, Duration::from_millis(100));
    }
    for w in &a.watch {
        use ktrace::sample::inotify::Mask;
        let mask = Mask::IN_CREATE | Mask::IN_CLOSE_WRITE | Mask::IN_DELETE | Mask::IN_MOVED_FROM | Mask::IN_MOVED_TO;
        b = b.watch(w, mask);
    }
    let mut s = b.start()?;
    let forwarder = forward_sigterm(s.pid().ok_or("no command")?);
    // Per source: only the ftrace rings' losses have kernel counters to compare with.
    let mut losses: BTreeMap<LostSource, Losses> = BTreeMap::new();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for ev in &mut s {
        let ev = ev?;
        if let TimelineEvent::Lost(l) = &ev {
            losses.entry(l.source).or_default().add(l);
        }
        std::io::Write::write_fmt(&mut out, format_args!("{ev}\n"))?;
    }
    std::io::Write::flush(&mut out)?;
    forwarder.store(true, Ordering::Release);
    for (source, l) in &losses {
        let kernel = (*source == LostSource::FtraceRing).then(|| s.ftrace_kernel_lost());
        l.report(&format!("timeline ({})", source.name()), kernel);
    }
    Ok(match s.exit() {
        Some(CommandExit::Exited(c)) => Status::Exited(c as u8),
        Some(CommandExit::Signaled(sig)) => Status::Signaled(sig),
        None => Status::Exited(1),
    })
}

/// A counter by its `perf stat` name.
fn counter(name: &str) -> Result<Ev, String> {
    [Ev::TaskClock, Ev::CpuClock, Ev::ContextSwitches, Ev::CpuMigrations, Ev::PageFaults]
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| {
            format!("unknown counter {name:?} (task-clock, cpu-clock, context-switches, cpu-migrations, page-faults)")
        })
}

/// A SIGTERM sent to the tool alone is passed on to the command (Ctrl-C reaches both already), so
/// the command ends and the timeline with it. Returns the flag that ends the watch.
fn forward_sigterm(pid: i32) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        let mut forwarded = false;
        while !d.load(Ordering::Acquire) && !forwarded {
            ktrace_examples::forward_sigterm(pid, &mut forwarded);
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    done
}
