//! `probe`: creates a probe from a spec on the command line and prints its hits (like `perf probe`
//! + `perf script`, or a one-line bpftrace).
//!
//! ```sh
//! probe 'u:/bin/bash:readline'                         # uprobe by symbol
//! probe 'r:/bin/bash:readline rv=$retval:ustring'      # uretprobe
//! probe 'k:do_sys_openat2 path=+0(%si):string'         # kprobe
//! probe 'kr:do_sys_openat2 fd=$retval:s64'             # kretprobe
//! probe 'f:do_sys_openat2 filename:ustring'            # fprobe, argument by BTF name (6.6+)
//! probe 'fr:do_sys_openat2 fd=$retval:s64'             # fprobe on the function's exit
//! probe -d 5 SPEC…                                     # for 5 seconds (default 10 s)
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Losses, Status};
use ktrace_ftrace::{Item, Recorder, Tracefs};
use ktrace_kprobe::{ArgType, FetchArg, Probes};

/// Creates probes from specs and prints their hits for a time.
#[derive(Parser)]
#[command(name = "probe", version)]
#[command(after_help = "SPEC: 'u:/path:symbol [name=fetch:type…]' (uprobe), 'r:…' (uretprobe), 'k:symbol …' \
(kprobe), 'kr:…' (kretprobe), 'f:function [arg[:type]…]' (fprobe, BTF argument names), 'fr:…' (fprobe exit)")]
struct Args {
    /// Seconds to trace.
    #[arg(short = 'd', value_name = "SECONDS", default_value = "10", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// Probe specs (see below).
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<String>,
}

fn args_of(words: &[&str]) -> Vec<FetchArg> {
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((n, spec)) => {
                let (f, t) = match spec.rsplit_once(':') {
                    Some((f, t)) => (f, parse_type(t)),
                    None => (spec, None),
                };
                FetchArg::new(n, f, t)
            }
            // A bare name: a function argument by BTF name (`filename`, `filename:ustring`).
            None => match w.rsplit_once(':') {
                Some((n, t)) => FetchArg::btf(n, parse_type(t)),
                None => FetchArg::btf(w, None),
            },
        })
        .collect()
}

fn parse_type(t: &str) -> Option<ArgType> {
    let line = format!("p:g/e x a=1:{t}");
    ktrace_kprobe::ProbeDef::parse(&line).ok()?.args.first()?.ty
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { duration, specs }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    let fs = Tracefs::find_or_mount()?;
    let removed = ktrace_kprobe::reap_stale(&fs)?;
    if !removed.is_empty() {
        eprintln!("probe: removed stale probes {removed:?}");
    }
    let mut probes = Probes::new(&fs);
    let mut events = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let words: Vec<&str> = spec.split_whitespace().collect();
        let (head, rest) = words.split_first().ok_or("empty spec")?;
        let (kind, place) = head.split_once(':').ok_or("spec: TYPE:PLACE")?;
        let ev = format!("p{i}");
        let args = args_of(rest);
        match kind {
            "u" | "r" => {
                let (path, sym) = place.rsplit_once(':').ok_or("u:/path:symbol")?;
                probes.uprobe(&ev, path, sym, &args, kind == "r")?;
            }
            "k" | "kr" => probes.kprobe(&ev, place, &args, kind == "kr")?,
            "f" | "fr" => probes.fprobe(&ev, place, &args, kind == "fr")?,
            other => return Err(format!("unknown probe type {other} (u, r, k, kr, f, fr)").into()),
        }
        events.push(ev);
    }
    let inst = fs.new_instance()?;
    for e in &events {
        inst.enable_event(probes.group(), e)?;
    }
    let rec = Recorder::start(&inst)?;
    eprintln!("probe: tracing {} probe(s) for {} s", events.len(), duration.as_secs_f64());
    ktrace_examples::sleep(duration);
    let recording = rec.stop()?;
    let mut losses = Losses::default();
    for item in recording.items() {
        match item? {
            Item::Event(ev) => {
                let fields: Vec<String> = ev.fields().map(|(n, v)| format!("{n}={v:?}")).collect();
                println!("{} [{:03}] {:>7} {}: {}", ev.timestamp(), ev.cpu(), ev.pid(), ev.name(), fields.join(" "));
            }
            // Where the kernel dropped hits, as trace-cmd report marks it.
            Item::Lost(l) => {
                losses.add(&l);
                match l.count {
                    Some(n) => println!("CPU:{} [LOST {n} EVENTS]", l.cpu),
                    None => println!("CPU:{} [LOST EVENTS]", l.cpu),
                }
            }
        }
    }
    losses.report("probe", Some(ktrace_examples::kernel_lost(&inst)?));
    drop(inst);
    probes.close()?;
    Ok(Status::SUCCESS)
}
