//! `runqlat`: scheduler run-queue (wakeup) latency as a log2 histogram, from sched_waking and
//! sched_switch (like bcc's runqlat).
//!
//! ```sh
//! runqlat [SECONDS] [--per-task]
//! ```

use std::time::Duration;

use ktrace_ftrace::latency::WakeupLatency;
use ktrace_ftrace::{Recorder, Tracefs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1.0);
    let per_task = args.iter().any(|a| a == "--per-task");
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.enable_event("sched", "sched_waking")?;
    inst.enable_event("sched", "sched_wakeup_new")?;
    inst.enable_event("sched", "sched_switch")?;
    let rec = Recorder::start(&inst)?;
    std::thread::sleep(Duration::from_secs_f64(secs));
    let recording = rec.stop()?;
    let mut lat = WakeupLatency::new();
    for ev in recording.events() {
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
    println!("lost events: {}", recording.lost_total());
    Ok(())
}
