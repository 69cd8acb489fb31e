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
//! probe 'sdt:/usr/bin/python3:python:function__entry'  # USDT probe (sys/sdt.h), args arg1…argN
//! probe -d 5 SPEC…                                     # for 5 seconds (default 10 s)
//! ```
//!
//! Each hit prints as `perf script` prints a probe event: `pid [cpu] seconds: group:event: (address)
//! name=value…`, values as the kernel's print format says (`a=-500`, `s="text"`, `x=0x1f`,
//! `arr={1,2}`). A USDT spec names the binary, the provider and the probe as `readelf -n` shows them
//! (`sdt:BINARY:PROVIDER:NAME`; perf spells the same `-x BINARY sdt_PROVIDER:NAME`); every site of
//! that probe in the binary is traced, its arguments typed from the note.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Losses, Status};
use ktrace_ftrace::{Item, Recorder, Tracefs};
use ktrace_kprobe::elf::Binary;
use ktrace_kprobe::print::PrintFmt;
use ktrace_kprobe::{ArgType, FetchArg, Probes};

/// Creates probes from specs and prints their hits for a time.
#[derive(Parser)]
#[command(name = "probe", version)]
#[command(after_help = "SPEC: 'u:/path:symbol [name=fetch:type…]' (uprobe), 'r:…' (uretprobe), 'k:symbol …' \
(kprobe), 'kr:…' (kretprobe), 'f:function [arg[:type]…]' (fprobe, BTF argument names), 'fr:…' (fprobe exit), \
'sdt:/path:provider:name' (USDT probe). TYPE: u8…u64, s8…s64, x8…x64, char, string, ustring, symbol, symstr, %pd, %pD, b<w>@<o>/<c>, u8[n]…")]
struct Args {
    /// Seconds to trace.
    #[arg(short = 'd', value_name = "SECONDS", default_value = "10", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// Probe specs (see below).
    #[arg(value_name = "SPEC", required = true)]
    specs: Vec<String>,
}

/// `name=fetch[:type]` or a bare BTF argument `name[:type]`; a type the kernel lacks is an error
/// naming it and the accepted ones.
fn args_of(words: &[&str]) -> Result<Vec<FetchArg>, ktrace_kprobe::Error> {
    words
        .iter()
        .map(|w| {
            Ok(match w.split_once('=') {
                Some((n, spec)) => match spec.rsplit_once(':') {
                    Some((f, t)) => FetchArg::new(n, f, Some(t.parse::<ArgType>()?)),
                    None => FetchArg::new(n, spec, None),
                },
                // A bare name: a function argument by BTF name (`filename`, `filename:ustring`).
                None => match w.rsplit_once(':') {
                    Some((n, t)) => FetchArg::btf(n, Some(t.parse::<ArgType>()?)),
                    None => FetchArg::btf(w, None),
                },
            })
        })
        .collect()
}

/// The events of the USDT probe `provider:name` in `path`: [`Probes::usdt`] makes one event per
/// site of every probe of the binary (once per binary, kept in `made`), in note order; the ones
/// of this probe are picked out by that order.
fn usdt_events(
    probes: &mut Probes,
    made: &mut HashMap<String, Vec<String>>,
    place: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut parts = place.rsplitn(3, ':');
    let (Some(name), Some(provider), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("spec 'sdt:{place}': expected sdt:/path:provider:name").into());
    };
    let sites = ktrace_kprobe::usdt::probes(&Binary::open(path)?)?;
    let events = match made.get(path) {
        Some(e) => e.clone(),
        None => {
            let e = probes.usdt(path)?;
            made.insert(path.to_owned(), e.clone());
            e
        }
    };
    let picked: Vec<String> =
        sites.iter().zip(events).filter(|(s, _)| s.provider == provider && s.name == name).map(|(_, e)| e).collect();
    if picked.is_empty() {
        let mut have: Vec<String> = sites.iter().map(|s| format!("{}:{}", s.provider, s.name)).collect();
        have.dedup();
        return Err(format!("no USDT probe {provider}:{name} in {path} (it has: {})", have.join(", ")).into());
    }
    Ok(picked)
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
    let mut usdt_made = HashMap::new();
    for (i, spec) in specs.iter().enumerate() {
        let words: Vec<&str> = spec.split_whitespace().collect();
        let (head, rest) = words.split_first().ok_or("empty spec: expected TYPE:PLACE (see probe --help)")?;
        let (kind, place) = head
            .split_once(':')
            .ok_or_else(|| format!("spec '{spec}': expected TYPE:PLACE, e.g. 'k:vfs_read' (see probe --help)"))?;
        let ev = format!("p{i}");
        let args = args_of(rest)?;
        match kind {
            "sdt" if !args.is_empty() => {
                return Err("an sdt: spec takes no fetch args (arg1…argN come from the note)".into());
            }
            "sdt" => {
                events.extend(usdt_events(&mut probes, &mut usdt_made, place)?);
                continue;
            }
            "u" | "r" => {
                let (path, sym) =
                    place.rsplit_once(':').ok_or_else(|| format!("spec '{spec}': expected {kind}:/path:symbol"))?;
                probes.uprobe(&ev, path, sym, &args, kind == "r")?;
            }
            "k" | "kr" => probes.kprobe(&ev, place, &args, kind == "kr")?,
            "f" | "fr" => probes.fprobe(&ev, place, &args, kind == "fr")?,
            other => {
                return Err(format!("spec '{spec}': unknown probe type '{other}' (u, r, k, kr, f, fr, sdt)").into());
            }
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
    let mut prints: HashMap<u16, PrintFmt> = HashMap::new();
    let mut losses = Losses::default();
    for item in recording.items() {
        match item? {
            Item::Event(ev) => {
                let print = match prints.entry(ev.id()) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => v.insert(PrintFmt::parse(ev.format)?),
                };
                // Records come from the running kernel, so in its byte order.
                let text = print.render(ev.format, ev.data(), ktrace_core::Endian::NATIVE)?;
                println!("{:>7} [{:03}] {}: {}:{}: {text}", ev.pid(), ev.cpu(), ev.timestamp(), ev.system(), ev.name());
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
