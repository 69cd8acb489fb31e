//! `syscount`: counts syscalls per syscall and per process, system-wide or for one command,
//! through the raw_syscalls tracepoints (like bcc's syscount / `perf trace -s`).
//!
//! ```sh
//! syscount [-d SECONDS] [-- COMMAND ARGS...]
//! ```

use std::collections::HashMap;
use std::time::Duration;

use ktrace_ftrace::{Recorder, Tracefs, Typed};

fn name(nr: i64) -> String {
    ktrace_ftrace::syscall_name(nr).map_or_else(|| format!("nr{nr}"), str::to_owned)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut secs = 1.0f64;
    let mut cmd: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-d" => {
                secs = args.get(i + 1).and_then(|s| s.parse().ok()).ok_or("-d SECONDS")?;
                i += 1;
            }
            "--" => {
                cmd = args.get(i + 1..).unwrap_or_default().to_vec();
                break;
            }
            other => {
                return Err(format!("unknown argument {other}; usage: syscount [-d SECS] [-- CMD...]").into());
            }
        }
        i += 1;
    }
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(8192)?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    let mut child = None;
    if let Some((prog, rest)) = cmd.split_first() {
        // Start the command held so the pid filter is in place before it runs.
        let c = ktrace_examples::Gated::spawn(prog, rest)?;
        inst.set_event_pids(&[c.pid()])?;
        inst.follow_forks(true)?;
        child = Some(c);
    }
    let rec = Recorder::start(&inst)?;
    match child.as_mut() {
        Some(c) => {
            c.release()?;
            c.child.wait()?;
        }
        None => std::thread::sleep(Duration::from_secs_f64(secs)),
    }
    let recording = rec.stop()?;
    let comms: HashMap<i32, String> = fs.saved_cmdlines()?.into_iter().collect();
    let mut by_sys: HashMap<i64, u64> = HashMap::new();
    let mut by_proc: HashMap<i32, u64> = HashMap::new();
    for ev in recording.events() {
        let ev = ev?;
        if let Typed::SysEnter { nr, .. } = ev.typed()? {
            *by_sys.entry(nr).or_default() += 1;
            *by_proc.entry(ev.pid()).or_default() += 1;
        }
    }
    let mut s: Vec<_> = by_sys.into_iter().collect();
    s.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("{:<22} {:>10}", "SYSCALL", "COUNT");
    for (nr, c) in s.iter().take(20) {
        println!("{:<22} {c:>10}", name(*nr));
    }
    let mut p: Vec<_> = by_proc.into_iter().collect();
    p.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("\n{:<8} {:<16} {:>10}", "PID", "COMM", "COUNT");
    for (pid, c) in p.iter().take(10) {
        println!("{pid:<8} {:<16} {c:>10}", comms.get(pid).map_or("?", String::as_str));
    }
    println!("\nlost events: {}", recording.lost_total());
    Ok(())
}
