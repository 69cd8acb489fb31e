//! The tour's sampling part: perf counters and profiles of a held command, /proc statistics,
//! taskstats delays and inotify.

use std::process::Command;

use super::Report;

pub(crate) fn sample_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_sample::counters::{Counters, Ev};
    use ktrace_sample::procfs::SystemStat;
    let before = SystemStat::parse(&std::fs::read_to_string("/proc/stat")?);
    let mut top = ktrace_sample::top::ProcessSampler::new(false);
    top.refresh();
    // A shell loop held before its exec (ktrace::HeldCommand): the profiler and counters are on
    // its pid before it runs; the counters start at its exec, as `perf stat` counts a command.
    let mut loop_cmd = Command::new("/bin/sh");
    loop_cmd.args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
    let held = ktrace_examples::HeldCommand::spawn(loop_cmd)?;
    let mut prof = ktrace_sample::profile::Profiler::task(held.pid(), 997)?;
    let mut c = Counters::task_from_exec(held.pid(), &[Ev::TaskClock, Ev::ContextSwitches, Ev::PageFaults], true)?;
    let _delayacct = ktrace_sample::taskstats::DelayAcctGuard::enable()?;
    let mut exits = ktrace_sample::taskstats::ExitListener::register(None);
    // System-wide: every sched_switch on every CPU, payloads decoded by the event's format.
    let tfs = ktrace_ftrace::Tracefs::find_or_mount()?;
    let switch_fmt = ktrace_core::EventFormat::parse("sched", &tfs.event_format_text("sched", "sched_switch")?)?;
    let switch_id: u64 = tfs.read("events/sched/sched_switch/id")?.trim().parse()?;
    let mut sw_opts = ktrace_sample::profile::Options::new(
        ktrace_sample::profile::Source::Tracepoint(switch_id),
        ktrace_sample::profile::Scope::System,
        ktrace_sample::profile::Rate::Period(1),
    );
    sw_opts.callchain = false;
    let mut switches = ktrace_sample::profile::Profiler::open(&sw_opts)?;
    let mut child = held.release()?;
    top.refresh();
    std::thread::sleep(std::time::Duration::from_millis(300));
    top.refresh();
    let cpu = top.get(child.id() as i32).map_or(0.0, |row| row.cpu_percent);
    let delays = ktrace_sample::taskstats::query(child.id(), false);
    while child.try_wait()?.is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let p = prof.finish();
    switches.poll();
    let sw = switches.finish();
    let next_pid = switch_fmt.require("next_pid")?;
    let to_child = sw
        .samples
        .iter()
        .filter(|s| {
            next_pid.i64(ktrace_core::RawData::Single(sw.raw_of(s)), ktrace_core::Endian::NATIVE).ok()
                == Some(i64::from(child.id()))
        })
        .count();
    r.ok(
        "perf tracepoint sampling",
        format!(
            "{} sched_switch samples on all CPUs ({} lost), {to_child} switching to the shell loop (next_pid decoded by format)",
            sw.samples.len(),
            sw.lost
        ),
    );
    match exits.as_mut() {
        Ok(l) => {
            // Exit records come as tasks end: collect until the shell loop's is in (or 2 s).
            let (mut n, mut mine) = (0, None);
            let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while mine.is_none() && std::time::Instant::now() < end {
                for e in l.recv(std::time::Duration::from_millis(100))? {
                    n += 1;
                    if let ktrace_sample::taskstats::Exit::Task(t) = e
                        && t.pid == child.id()
                    {
                        mine = Some(t);
                    }
                }
            }
            match mine {
                Some(t) => r.ok(
                    "taskstats exits",
                    format!(
                        "{n} exit records; the shell loop's: {} ms on CPU, longest CPU wait {} us, exit code {}",
                        t.cpu_run_real_ns / 1_000_000,
                        t.cpu.max_ns / 1000,
                        t.exit_code >> 8
                    ),
                ),
                None => r.skip("taskstats exits", format!("{n} exit records, none for the shell loop")),
            }
        }
        Err(e) => r.skip("taskstats exits", e.to_string()),
    }
    let mut sym = p.symbolizer(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default());
    let top_syms = p.top_symbols(&mut sym);
    let mut svg = Vec::new();
    if !p.samples.is_empty() {
        ktrace_sample::profile::flamegraph(&p.folded(&mut sym), "tour", &mut svg)?;
    }
    r.ok(
        "perf profile",
        format!(
            "{} samples of the shell loop ({} lost), top {:?}; flame graph {} KiB",
            p.samples.len(),
            p.lost,
            top_syms.first().map(|t| t.0.as_str()).unwrap_or("-"),
            svg.len() / 1024
        ),
    );
    match delays {
        Ok(t) => r.ok(
            "taskstats",
            format!(
                "v{}: cpu delay {} x / {} ns, {} context switches",
                t.version,
                t.cpu.count,
                t.cpu.total_ns,
                t.nvcsw + t.nivcsw
            ),
        ),
        Err(e) => r.skip("taskstats", e.to_string()),
    }
    let counts: Vec<String> = c.read()?.iter().map(|x| format!("{}={}", x.ev.name(), x.scaled())).collect();
    r.ok("perf counters", format!("shell loop: {}", counts.join(" ")));
    r.ok("top sampler", format!("{} processes; the shell loop at {cpu:.0}% CPU", top.rows.len()));
    let after = SystemStat::parse(&std::fs::read_to_string("/proc/stat")?);
    r.ok("/proc/stat", format!("{} context switches during the tour part", after.ctxt - before.ctxt));
    match Counters::task(std::process::id() as i32, &[Ev::Cycles], false) {
        Ok(_) => r.ok("hardware counters", "PMU available".into()),
        Err(e) => r.skip("hardware counters", e.to_string()),
    }
    let w = ktrace_sample::inotify::Watcher::new()?;
    let dir = std::env::temp_dir().join(format!("ktrace-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    w.watch(&dir, ktrace_sample::inotify::Mask::IN_CREATE | ktrace_sample::inotify::Mask::IN_DELETE)?;
    std::fs::write(dir.join("x"), b"x")?;
    std::fs::remove_file(dir.join("x"))?;
    let n = w.read()?.len();
    std::fs::remove_dir(&dir)?;
    r.ok("inotify", format!("{n} events for a create and a delete"));
    Ok(())
}
