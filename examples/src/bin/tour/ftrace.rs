//! The tour's ftrace part: a recording of the workload with typed events, wakeup latency and the
//! kernel's latency tracers, then the mapped ring read in place with kernel stacks.

use std::collections::BTreeMap;
use std::time::Instant;

use ktrace_core::agg::Counts;
use ktrace_ftrace::latency::WakeupLatency;
use ktrace_ftrace::{Item, Recorder, Tracefs, Typed};

use super::{Report, workload};

pub(crate) fn ftrace_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
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
    let mut syscalls: Counts<i64> = Counts::new();
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
                    Typed::SysEnter { nr, .. } => syscalls.add(nr),
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
    let sc: Vec<String> = syscalls
        .top(5)
        .iter()
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
    use ktrace_core::{Endian, PageItem};
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
    let mut seen: Counts<Vec<String>> = Counts::new();
    for m in &mut readers {
        let layout = m.layout();
        while let Some(p) = m.next_page()? {
            for it in p.items(&layout)? {
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
                            seen.add(names);
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
    if let Some((frames, n)) = seen.iter().max_by_key(|(f, n)| (*n, std::cmp::Reverse(f.len()))) {
        what.push_str(&format!("; the most frequent ({n} times):"));
        for f in frames {
            what.push_str(&format!("\n{:32} => {f}", ""));
        }
    }
    r.ok("kernel stacks", what);
    Ok(())
}
