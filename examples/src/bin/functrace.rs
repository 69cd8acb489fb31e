//! `functrace`: the function tracer for chosen kernel functions (globs), with callers and
//! optionally kernel stacks (`func_stack_trace`), for a time or a command.
//!
//! ```sh
//! functrace [-s] [-d SECONDS] PATTERN... [-- COMMAND...]
//! ```
//! On a kernel that refuses the function tracer (lockdown) it says so and exits 2.

use ktrace_ftrace::{Error, Recorder, Tracefs, Typed};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut patterns = Vec::new();
    let mut stack = false;
    let mut secs = 1.0;
    let mut cmd = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-s" => stack = true,
            "-d" => secs = it.next().and_then(|s| s.parse().ok()).ok_or("-d SECONDS")?,
            "--" => {
                cmd = it.by_ref().cloned().collect();
            }
            p => patterns.push(p.to_owned()),
        }
    }
    if patterns.is_empty() {
        return Err("usage: functrace [-s] [-d SECONDS] PATTERN... [-- COMMAND...]".into());
    }
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    let pats: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let setup = inst.set_ftrace_filter(&pats).and_then(|_| inst.set_tracer("function"));
    if let Err(e @ (Error::Lockdown { .. } | Error::Unsupported { .. })) = setup {
        eprintln!("functrace: this kernel cannot run the function tracer here: {e}");
        // exit() skips destructors: remove the instance first.
        inst.close()?;
        std::process::exit(2);
    }
    setup?;
    if stack {
        inst.set_option("func_stack_trace", true)?;
    }
    let rec = Recorder::start(&inst)?;
    ktrace_examples::run_or_sleep(&cmd, secs)?;
    let recording = rec.stop()?;
    let ks = ktrace_ftrace::load_kallsyms()?;
    let sym = |a: u64| ks.resolve(a).map_or(format!("{a:#x}"), |(n, off, _)| format!("{n}+{off:#x}"));
    for ev in recording.events() {
        let ev = ev?;
        match ev.typed()? {
            Typed::Function { ip, parent_ip } => {
                println!("{} [{:03}] {:>7} {} <- {}", ev.timestamp(), ev.cpu(), ev.pid(), sym(ip), sym(parent_ip))
            }
            _ if ev.name() == "kernel_stack" => println!("{:>30} (stack)", ""),
            _ => {}
        }
    }
    Ok(())
}
