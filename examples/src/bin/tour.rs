//! The tour: exercises every ktrace facility this kernel supports on a built-in workload and prints
//! a short report, naming each facility it skipped and why. Run as root:
//!
//! ```sh
//! cargo run --release -p ktrace-examples --bin tour
//! ```

#![allow(unsafe_code, reason = "the tour's uprobe target is a no_mangle function")]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use ktrace_ftrace::latency::WakeupLatency;
use ktrace_ftrace::{Item, Recorder, Tracefs, Typed};

/// The built-in workload: a shell that lists, reads, sleeps and forks a few times.
fn workload() -> std::io::Result<std::process::ExitStatus> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg("for i in 1 2 3 4 5; do ls / >/dev/null; cat /etc/hostname >/dev/null; sleep 0.01; done")
        .status()
}

struct Report {
    lines: Vec<String>,
    skipped: Vec<(String, String)>,
}

impl Report {
    fn ok(&mut self, facility: &str, what: String) {
        self.lines.push(format!("  [ok]   {facility:<22} {what}"));
    }
    fn skip(&mut self, facility: &str, why: String) {
        self.lines.push(format!("  [skip] {facility:<22} {why}"));
        self.skipped.push((facility.to_owned(), why));
    }
}

fn ftrace_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    let fs = Tracefs::find_or_mount()?;
    let reaped = fs.reap_stale()?;
    if !reaped.is_empty() {
        r.ok("ftrace reaper", format!("removed stale instances {reaped:?}"));
    }
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(4096)?;
    for (s, e) in [
        ("raw_syscalls", "sys_enter"),
        ("raw_syscalls", "sys_exit"),
        ("sched", "sched_switch"),
        ("sched", "sched_waking"),
        ("sched", "sched_process_fork"),
        ("sched", "sched_process_exec"),
        ("sched", "sched_process_exit"),
        ("signal", "signal_generate"),
        ("irq", "softirq_entry"),
    ] {
        inst.enable_event(s, e)?;
    }
    let t0 = Instant::now();
    let rec = Recorder::start(&inst)?;
    inst.write_marker(b"ktrace tour: workload starts")?;
    workload()?;
    inst.write_marker(b"ktrace tour: workload ends")?;
    let recording = rec.stop()?;
    let elapsed = t0.elapsed();

    let mut per_event: BTreeMap<&str, u64> = BTreeMap::new();
    let mut syscalls: BTreeMap<i64, u64> = BTreeMap::new();
    let mut execs = Vec::new();
    let mut markers = Vec::new();
    let mut lost = 0u64;
    let mut lat = WakeupLatency::new();
    let mut n = 0u64;
    for item in recording.items() {
        match item? {
            Item::Lost(l) => lost += l.count.unwrap_or(1),
            Item::Event(ev) => {
                n += 1;
                *per_event.entry(ev.name()).or_default() += 1;
                let t = ev.typed()?;
                lat.feed(ev.timestamp().ns, &t);
                match t {
                    Typed::SysEnter { nr, .. } => *syscalls.entry(nr).or_default() += 1,
                    Typed::Exec { filename, .. } => execs.push(String::from_utf8_lossy(filename).into_owned()),
                    Typed::Print { msg, .. } => markers.push(String::from_utf8_lossy(msg).into_owned()),
                    _ => {}
                }
            }
        }
    }
    r.ok("ftrace recorder", format!("{n} events from {} CPUs in {elapsed:.2?}, {lost} lost", inst.nr_cpus()));
    let top: Vec<String> = per_event.iter().map(|(k, v)| format!("{k}={v}")).collect();
    r.ok("ftrace typed events", top.join(" "));
    let mut sc: Vec<_> = syscalls.into_iter().collect();
    sc.sort_by_key(|s| std::cmp::Reverse(s.1));
    let sc: Vec<String> = sc
        .iter()
        .take(5)
        .map(|(nr, c)| {
            format!("{}×{c}", ktrace_ftrace::syscall_name(*nr).map_or_else(|| format!("nr{nr}"), str::to_owned))
        })
        .collect();
    r.ok("ftrace syscalls", format!("top: {}", sc.join(" ")));
    r.ok("ftrace exec", format!("{} execs: {:?}", execs.len(), execs.iter().take(3).collect::<Vec<_>>()));
    r.ok("trace_marker", format!("{markers:?}"));
    r.ok(
        "wakeup latency",
        format!("{} wakeups, mean {} ns, max {} ns", lat.all.count(), lat.all.mean(), lat.all.max()),
    );

    // Function and graph tracers: this kernel may refuse or lack them.
    match inst.set_tracer("function") {
        Ok(()) => {
            inst.set_tracer("nop")?;
            r.ok("function tracer", "available".into());
        }
        Err(e) => r.skip("function tracer", e.to_string()),
    }
    match inst.set_tracer("function_graph") {
        Ok(()) => {
            inst.set_tracer("nop")?;
            r.ok("function_graph", "available".into());
        }
        Err(e) => r.skip("function_graph", e.to_string()),
    }
    match ktrace_ftrace::latency::run_latency_tracer(&inst, "irqsoff", None, || {}) {
        Ok(us) => r.ok("irqsoff tracer", format!("max {us} us")),
        Err(e) => r.skip("irqsoff tracer", e.to_string()),
    }
    let tid = nix::unistd::gettid().as_raw();
    match ktrace_ftrace::synth::wakeup_latency_in_kernel(&inst, tid, || {
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }) {
        Ok(h) => r.ok(
            "in-kernel latency",
            format!("{} wakeups histogrammed by the kernel in {} buckets", h.hits, h.rows.len()),
        ),
        Err(e) => r.skip("in-kernel latency", e.to_string()),
    }
    inst.close()?;
    mapped_and_stacks(r)
}

/// The 6.10+ mapped ring reader and kernel stacks after events (option `stacktrace`).
fn mapped_and_stacks(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_core::{Endian, PageItem, PageLayout};
    let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    inst.set_option("stacktrace", true)?;
    inst.set_tracing_on(true)?; // instances start off; this section reads the rings itself
    let mut readers = Vec::new();
    for cpu in 0..inst.nr_cpus() as u32 {
        match inst.mapped_reader(cpu) {
            Ok(m) => readers.push(m),
            Err(e) => {
                r.skip("ftrace mmap reader", e.to_string());
                inst.close()?;
                return Ok(());
            }
        }
    }
    workload()?;
    inst.set_tracing_on(false)?;
    let dec = ktrace_ftrace::Decoder::new(inst.formats(), Endian::NATIVE, ktrace_core::Clock::Local);
    let ksyms = ktrace_ftrace::load_kallsyms().ok();
    let (mut events, mut stacks, mut lost) = (0u64, 0u64, 0u64);
    // Each distinct stack (frames as ftrace names them) and how often it was seen.
    let mut seen: std::collections::HashMap<Vec<String>, u64> = Default::default();
    for m in &mut readers {
        while let Some(p) = m.next_page()? {
            for it in p.items(&PageLayout::LE64)? {
                match it? {
                    PageItem::Lost(l) => lost += l.count.unwrap_or(1),
                    PageItem::Event(raw) => {
                        events += 1;
                        if let Ok(ktrace_ftrace::Typed::KernelStack { frames }) =
                            dec.decode(raw).and_then(|e| e.typed())
                        {
                            stacks += 1;
                            let names = frames
                                .map(|a| match ksyms.as_ref().and_then(|k| k.resolve(a)) {
                                    Some((name, _, _)) => name.to_owned(),
                                    None => format!("{a:#x}"),
                                })
                                .collect();
                            *seen.entry(names).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    drop(readers);
    inst.close()?;
    r.ok("ftrace mmap reader", format!("{events} events read in place from the mapped ring, {lost} lost"));
    // The most frequent stack, one frame a line as the `trace` file prints a `<stack trace>`.
    let mut what = format!("{stacks} stacks after syscall entries, {} distinct", seen.len());
    if let Some((frames, n)) = seen.iter().max_by_key(|(f, n)| (**n, std::cmp::Reverse(f.len()))) {
        what.push_str(&format!("; the most frequent ({n} times):"));
        for f in frames {
            what.push_str(&format!("\n{:32} => {f}", ""));
        }
    }
    r.ok("kernel stacks", what);
    Ok(())
}

fn ptrace_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_ptrace::{AuditArch, Event, Inject, TraceCommand};
    let mut t = TraceCommand::new("/bin/sh")
        .args(["-c", "cat /etc/hostname >/dev/null; ls / >/dev/null; kill -USR1 $$ 2>/dev/null; exit 0"])
        .stdout_null()
        .same_cpu(true)
        .spawn()?;
    let (mut calls, mut forks, mut execs, mut signals, mut example) = (0, 0, 0, 0, String::new());
    while let Some(ev) = t.next_event()? {
        match ev {
            Event::SyscallExit { arch, nr, .. } => {
                calls += 1;
                if example.is_empty() && arch.syscall_name(nr) == Some("openat") {
                    let d = t.describe(&ev);
                    if d.contains("/etc/hostname") {
                        example = d;
                    }
                }
            }
            Event::Fork { .. } => forks += 1,
            Event::Exec { .. } => execs += 1,
            Event::Signal { .. } => signals += 1,
            _ => {}
        }
    }
    r.ok("ptrace", format!("{calls} syscalls, {forks} forks, {execs} execs, {signals} signals; {example}"));
    let openat = AuditArch::NATIVE.syscall_nr("openat").ok_or("no openat")?;
    let mut t = TraceCommand::new("/bin/cat").arg("/etc/hostname").stdout_null().seccomp_filter(&[openat]).spawn()?;
    let mut stops = 0;
    while let Some(ev) = t.next_event()? {
        stops += matches!(ev, Event::SyscallExit { .. }) as u32;
    }
    r.ok("ptrace seccomp filter", format!("cat stopped only for openat: {stops} stops"));
    // The loader of the injected cat cannot open libc and says so on stderr: kept for the report,
    // off the terminal.
    let (code, said) = capturing_stderr(|| -> Result<i32, ktrace_ptrace::Error> {
        let mut t = TraceCommand::new("/bin/cat")
            .arg("/etc/hostname")
            .stdout_null()
            .inject(Inject { nr: openat, errno: Some(libc_enoent()) })
            .spawn()?;
        let mut code = 0;
        while let Some(ev) = t.next_event()? {
            if let Event::Exited { code: c, .. } = ev {
                code = c;
            }
        }
        Ok(code)
    })?;
    let code = code?;
    let said = said.trim();
    r.ok("ptrace fault injection", format!("every openat failed with ENOENT: cat exited {code}; it said {said:?}"));
    Ok(())
}

/// Runs `f` with this process's stderr (fd 2, which children inherit) sent to an unlinked
/// temporary file, and returns what was written there.
fn capturing_stderr<T>(f: impl FnOnce() -> T) -> Result<(T, String), Box<dyn std::error::Error>> {
    use std::io::{Read, Seek};
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("ktrace-tour-stderr-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
    std::fs::remove_file(&path)?;
    let saved = nix::unistd::dup(2)?;
    nix::unistd::dup2(file.as_raw_fd(), 2)?;
    let out = f();
    let restored = nix::unistd::dup2(saved, 2);
    nix::unistd::close(saved)?;
    restored?;
    let mut said = String::new();
    file.rewind()?;
    file.read_to_string(&mut said)?;
    Ok((out, said))
}

/// The tour's own uprobe target.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_tour_probe_target(n: u64) -> u64 {
    std::hint::black_box(n) + 1
}

fn probe_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_kprobe::{ArgType, FetchArg, Probes};
    let fs = Tracefs::find_or_mount()?;
    let reaped = ktrace_kprobe::reap_stale(&fs)?;
    if !reaped.is_empty() {
        r.ok("probe reaper", format!("removed stale probes {reaped:?}"));
    }
    let exe = std::fs::read_link("/proc/self/exe")?.display().to_string();
    let mut probes = Probes::new(&fs);
    probes.uprobe(
        "tour",
        &exe,
        "ktrace_tour_probe_target",
        &[FetchArg::new("n", "%di", Some(ArgType::U(64)))],
        false,
    )?;
    probes.uprobe(
        "tour_ret",
        &exe,
        "ktrace_tour_probe_target",
        &[FetchArg::new("rv", "$retval", Some(ArgType::U(64)))],
        true,
    )?;
    let inst = fs.new_instance()?;
    inst.enable_event(probes.group(), "tour")?;
    inst.enable_event(probes.group(), "tour_ret")?;
    let rec = Recorder::start(&inst)?;
    let mut sum = 0;
    for i in 0..100 {
        sum += ktrace_tour_probe_target(i);
    }
    let recording = rec.stop()?;
    let mut lat = ktrace_kprobe::agg::EntryReturn::default();
    let (mut hits, mut nsum) = (0, 0i64);
    for ev in recording.events() {
        let ev = ev?;
        match ev.name() {
            "tour" => {
                hits += 1;
                nsum += ev.int("n")?;
                lat.entry(ev.pid(), ev.timestamp().ns);
            }
            "tour_ret" => lat.ret(ev.pid(), ev.timestamp().ns),
            _ => {}
        }
    }
    r.ok(
        "uprobes",
        format!(
            "{hits} hits of 100 calls (args sum {nsum}, returns sum {sum}); entry->return mean {} ns",
            lat.hist.mean()
        ),
    );
    drop(inst);
    probes.close()?;
    let mut k = Probes::with_group(&fs, &format!("ktrace_{}_k", std::process::id()));
    match k.kprobe("open", "do_sys_openat2", &[], false) {
        Ok(()) => r.ok("kprobes", "available".into()),
        Err(e) => r.skip("kprobes", e.to_string()),
    }
    Ok(())
}

fn blk_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let fs = Tracefs::find_or_mount()?;
    let dev = ktrace_blk::LoopDevice::create_temp(32 << 20)?;
    let io = |path: &std::path::Path| -> std::io::Result<()> {
        let mut raw = vec![0u8; 3 * 4096];
        let off = raw.as_ptr().align_offset(4096);
        let buf = raw.get_mut(off..off + 4096).ok_or(std::io::Error::other("align"))?;
        let mut f = std::fs::OpenOptions::new().write(true).custom_flags(0o40000).open(path)?; // O_DIRECT
        for i in 0..32u64 {
            f.seek(SeekFrom::Start(i * 65536))?;
            f.write_all(buf)?;
        }
        Ok(())
    };
    match ktrace_blk::BlkTracer::start(&fs, &dev.name(), &ktrace_blk::BlkFilter::default()) {
        Ok(t) => {
            io(dev.path())?;
            let data = t.stop()?;
            let mut btt = ktrace_blk::btt::Btt::new();
            let mut n = 0;
            for item in ktrace_blk::FtraceBinRecords::new(&data) {
                if let ktrace_blk::BlkItem::Record(rec) = item? {
                    btt.feed(&rec);
                    n += 1;
                }
            }
            let (q2c, d2c) = (btt.q2c(), btt.d2c());
            r.ok(
                "blk tracer + btt",
                format!(
                    "{n} records, {} IOs on {}: Q2C avg {:.0} ns, D2C avg {:.0} ns p95 {} ns",
                    q2c.n,
                    dev.name(),
                    q2c.avg,
                    d2c.avg,
                    d2c.p95
                ),
            );
        }
        Err(e) => r.skip("blk tracer", e.to_string()),
    }
    match ktrace_blk::relay::RelayTrace::start(dev.path(), 0xffff, 1 << 16, 4) {
        Ok(t) => {
            io(dev.path())?;
            let (cpus, dropped) = t.stop()?;
            let n: usize = cpus.iter().map(|c| ktrace_blk::Records::new(c).count()).sum();
            r.ok("blktrace (relay)", format!("{n} records, {dropped} dropped"));
        }
        Err(e) => r.skip("blktrace (relay)", e.to_string()),
    }
    dev.close()?;
    Ok(())
}

fn sample_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
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

/// A session: one command's syscalls (ptrace), sched switches (ftrace) and samples (perf) merged
/// on CLOCK_MONOTONIC, in time order (what `timeline -- CMD` prints).
fn timeline_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; ls / >/dev/null"]);
    let s = ktrace::session::Session::builder().events("sched:sched_switch").syscalls().samples(999);
    let mut s = s.command(cmd).start()?;
    let (mut by_source, mut last, mut ordered) = (std::collections::BTreeMap::<&str, u64>::new(), 0, true);
    for ev in &mut s {
        let ev = ev?;
        ordered &= ev.timestamp().ns >= last;
        last = ev.timestamp().ns;
        *by_source.entry(ev.source()).or_default() += 1;
    }
    let counts: Vec<String> = by_source.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let order = if ordered { "in time order" } else { "OUT OF ORDER" };
    r.ok("session timeline", format!("{} merged {order}, exit {:?}", counts.join(" + "), s.exit_code()));
    Ok(())
}

fn libc_enoent() -> i32 {
    2
}

/// Exercises every ktrace facility this kernel supports on a built-in workload and prints a
/// report, naming each facility it skipped and why. Run as root.
#[derive(clap::Parser)]
#[command(name = "tour", version)]
struct Args {}

fn main() -> std::process::ExitCode {
    ktrace_examples::main(|Args {}| {
        tour();
        Ok(ktrace_examples::Status::SUCCESS)
    })
}

fn tour() {
    let mut r = Report { lines: Vec::new(), skipped: Vec::new() };
    println!(
        "ktrace tour on Linux {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    if let Err(e) = ftrace_part(&mut r) {
        r.skip("ftrace", e.to_string());
    }
    if let Err(e) = ptrace_part(&mut r) {
        r.skip("ptrace", e.to_string());
    }
    if let Err(e) = probe_part(&mut r) {
        r.skip("uprobes", e.to_string());
    }
    if let Err(e) = blk_part(&mut r) {
        r.skip("block tracing", e.to_string());
    }
    if let Err(e) = sample_part(&mut r) {
        r.skip("sampling", e.to_string());
    }
    if let Err(e) = timeline_part(&mut r) {
        r.skip("session timeline", e.to_string());
    }
    let cmd: Vec<String> = ["/bin/sh", "-c", "sleep 0.1; ls / >/dev/null; (sleep 0.1 | cat >/dev/null); exit 0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match ktrace_sample::bootchart::Chart::record(&cmd, std::time::Duration::from_millis(20)) {
        Ok(c) => {
            let path = std::env::temp_dir().join("ktrace-tour-bootchart.svg");
            let _ = std::fs::write(&path, c.svg());
            r.ok(
                "BootChart",
                format!("{} processes over {:.2} s -> {}", c.processes.len(), c.duration, path.display()),
            );
        }
        Err(e) => r.skip("BootChart", e.to_string()),
    }
    for l in &r.lines {
        println!("{l}");
    }
    println!("skipped {}: {}", r.skipped.len(), r.skipped.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", "));
}
