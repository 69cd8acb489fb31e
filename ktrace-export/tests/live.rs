//! Live: a Perfetto trace written straight from a live stream (bounded budget, while tracing)
//! holds every sched_switch the stream delivered, once, with its cpu, timestamp and pid.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::process::Command;

use ktrace_export::perfetto::protos::{Trace, ftrace_event, trace_packet};
use ktrace_export::{Perfetto, Writer};
use ktrace_ftrace::{Budget, Item, Recorder, Tracefs, Typed};
use prost::Message;

#[test]
fn perfetto_from_a_live_stream_has_every_streamed_switch() -> Result<(), Box<dyn std::error::Error>> {
    const T: &str = "perfetto_from_a_live_stream_has_every_streamed_switch";
    if !ktrace_testing::root(T) {
        return Ok(());
    }
    let fs = Tracefs::find_or_mount()?;
    let live = fs.new_instance()?;
    live.enable_event("sched", "sched_switch")?;
    let mut stream = Recorder::stream(&live, Budget::mib(4))?;
    let stop = stream.stop_handle();
    let path = common::tmp("live.perfetto-trace");
    let mut w = Perfetto::new(std::fs::File::create(&path)?);
    let mut lost = 0;
    let mut want: Vec<(u32, u64, i32)> = Vec::new();
    std::thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..5 {
                // A shell that fails to start only makes fewer switches (checked below).
                let _ = Command::new("sh").args(["-c", "ls / >/dev/null; sleep 0.02"]).status();
            }
            stop.stop();
        });
        stream.for_each(|item| {
            match item {
                Item::Lost(_) => lost += 1,
                Item::Event(ev) => {
                    if let Typed::SchedSwitch { next_pid, .. } = ev.typed()? {
                        want.push((ev.cpu(), ev.timestamp().ns, next_pid));
                    }
                }
            }
            w.item(&item)
        })
    })?;
    w.finish()?;
    drop(stream);
    assert_eq!(lost, 0, "nothing lost");

    let trace = Trace::decode(std::fs::read(&path)?.as_slice())?;
    let mut ours: Vec<(u32, u64, i32)> = Vec::new();
    for p in &trace.packet {
        if let Some(trace_packet::Data::FtraceEvents(b)) = &p.data {
            for e in &b.event {
                if let Some(ftrace_event::Event::SchedSwitch(s)) = &e.event {
                    ours.push((b.cpu.unwrap(), e.timestamp.unwrap(), s.next_pid.unwrap()));
                }
            }
        }
    }
    // Bundles are per cpu: compare each cpu's sequence.
    ours.sort_by_key(|s| s.0);
    want.sort_by_key(|s| s.0);
    assert!(want.len() > 20, "the workload switched tasks: {}", want.len());
    assert_eq!(ours, want, "every streamed sched_switch once, in order, same cpu, ts and pid");
    eprintln!("{T}: {} sched_switch streamed and written", ours.len());
    Ok(())
}
