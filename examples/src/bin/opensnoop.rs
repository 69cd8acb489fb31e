//! `opensnoop`: which files a command (and its children) opened, with latency and result, like
//! bcc's opensnoop, built on the `ktrace::capture` harness.
//!
//! ```sh
//! opensnoop [-x] [-w PATH]... -- COMMAND ARGS...
//! ```
//!
//! Paths are exact or absent: the kernel's string when its syscall events record one (newer
//! kernels), or a `-w PATH` the kernel matched at the call (`filename.ustring` filter); any other
//! path shows as the user pointer the call passed.

use std::process::{Command, ExitCode};

use clap::Parser;
use ktrace::capture::{Spec, capture};
use ktrace_examples::Status;

/// Lists the files a command opened, with latency and result.
#[derive(Parser)]
#[command(name = "opensnoop", version)]
struct Args {
    /// A path to identify exactly when opened, as the command passes it (repeatable).
    #[arg(short = 'w', long = "watch", value_name = "PATH")]
    watch: Vec<String>,
    /// Only failed opens.
    #[arg(short = 'x', long = "failed")]
    failed: bool,
    /// The command to run; its exit status is opensnoop's.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(args: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::check_command(&args.cmd)?;
    let Some((prog, rest)) = args.cmd.split_first() else { return Ok(Status::SUCCESS) };
    let spec = args.watch.iter().fold(Spec::new().opens().processes(), |s, p| s.watch_path(p));
    let (cap, status) = capture(spec, || Command::new(prog).args(rest).status())?;
    println!("{:>10} {:>7} {:>9}  {:<40} RESULT", "TIME(s)", "TID", "LAT(us)", "PATH");
    for o in cap.opens() {
        let ret = o.ret.unwrap_or(0);
        if args.failed && ret >= 0 {
            continue;
        }
        let lat = o.latency_ns().map_or_else(|| "?".to_owned(), |ns| format!("{:.1}", ns as f64 / 1e3));
        let ptr = o.arg("filename").or_else(|| o.arg("pathname")).unwrap_or(0);
        let path = o.path.clone().unwrap_or_else(|| format!("<pointer {ptr:#x}>"));
        println!("{:>10.6} {:>7} {lat:>9}  {path:<40} {}", o.ts_ns as f64 / 1e9, o.tid, o.result());
    }
    for e in cap.execs() {
        println!("exec {} by {}", e.filename, e.pid);
    }
    if cap.lost() > 0 {
        eprintln!("opensnoop: {} events lost", cap.lost());
    }
    Ok(Status::from(status?))
}
