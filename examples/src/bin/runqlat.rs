//! `runqlat`: scheduler run-queue (wakeup) latency as a log2 histogram, from sched_waking and
//! sched_switch (like bcc's runqlat).
//!
//! ```sh
//! runqlat [-d SECONDS | SECONDS] [--per-task]
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Losses, Status};
use ktrace_ftrace::Tracefs;
use ktrace_ftrace::latency::WakeupLatency;

/// Scheduler run-queue (wakeup) latency as a log2 histogram, from sched_waking and sched_switch.
#[derive(Parser)]
#[command(name = "runqlat", version)]
struct Args {
    /// Seconds to trace (default 1).
    #[arg(short = 'd', value_name = "SECONDS", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Option<Duration>,
    /// Seconds to trace, as a word (`runqlat 5`).
    #[arg(value_name = "SECONDS", conflicts_with = "duration", value_parser = ktrace_examples::seconds, allow_negative_numbers = true)]
    seconds: Option<Duration>,
    /// Also the five tasks with the longest waits, each with its histogram.
    #[arg(long)]
    per_task: bool,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { duration, seconds, per_task }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    let duration = duration.or(seconds).unwrap_or(Duration::from_secs(1));
    let fs = Tracefs::find_or_mount()?;
    let events = [("sched", "sched_waking"), ("sched", "sched_wakeup_new"), ("sched", "sched_switch")];
    let inst = fs.new_instance()?;
    let recording = ktrace_examples::record_for(&inst, &events, duration)?;
    let mut lat = WakeupLatency::new();
    let mut losses = Losses::default();
    for ev in losses.events(&recording) {
        let ev = ev?;
        lat.feed(ev.timestamp().ns, &ev.typed()?);
    }
    println!(
        "run queue latency (ns), {} wakeups, mean {} ns, max {} ns",
        lat.all.count(),
        lat.all.mean(),
        lat.all.max()
    );
    print!("{}", lat.all);
    if per_task {
        let mut t: Vec<_> = lat.per_task.iter().collect();
        t.sort_by_key(|(_, h)| std::cmp::Reverse(h.max()));
        for (pid, h) in t.iter().take(5) {
            println!("\npid {pid}: {} wakeups, max {} ns", h.count(), h.max());
            print!("{h}");
        }
    }
    println!("lost events: {}", losses.total());
    losses.report("runqlat", Some(ktrace_examples::kernel_lost(&inst)?));
    Ok(Status::SUCCESS)
}
