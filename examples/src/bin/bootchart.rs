//! `bootchart`: charts process start-up and system utilization as an SVG (like bootchart /
//! systemd-bootchart): of a command, of the whole system, or of a boot as an init wrapper.
//!
//! ```sh
//! bootchart [-i MS] [-o chart.svg] -- COMMAND...            # a command's process tree
//! bootchart --system [-i MS] [-o chart.svg] [STOP...]       # every process, until a STOP
//! bootchart --init [--exec INIT] [-i MS] [-o chart.svg] [STOP...] [-- INIT ARGS...]
//! ```
//!
//! STOP: `--max SECS` (default 60), `--until-comm NAME` (a process with that name appeared, e.g.
//! `getty`), `--until-file PATH` (the file exists).
//!
//! `--init` is the boot mode: booted as `init=`/`rdinit=` (kernel command line
//! `rdinit=/bin/bootchart -- --init --exec /sbin/init -o /run/bootchart.svg`), it mounts /proc if
//! needed, starts itself as the logger (`--system`) and execs the real init (`--exec`, else the
//! first of /sbin/init, /etc/init, /bin/init, /bin/sh, as the kernel tries), which stays pid 1.
//! The logger writes the chart (atomically: a temporary file renamed) when a STOP is reached.

use std::os::unix::process::CommandExt;
use std::time::Duration;

use ktrace_sample::bootchart::{Chart, Until};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut ms, mut out) = (20u64, "bootchart.svg".to_owned());
    let (mut system, mut init, mut exec) = (false, false, None);
    let mut until = Until { max: None, ..Default::default() };
    let mut it = args.iter();
    let mut cmd = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-i" => ms = it.next().and_then(|s| s.parse().ok()).ok_or("-i MS")?,
            "-o" => out = it.next().ok_or("-o FILE")?.clone(),
            "--system" => system = true,
            "--init" => init = true,
            "--exec" => exec = Some(it.next().ok_or("--exec INIT")?.clone()),
            "--max" => {
                until.max = Some(Duration::from_secs_f64(it.next().and_then(|s| s.parse().ok()).ok_or("--max SECS")?))
            }
            "--until-comm" => until.comm = Some(it.next().ok_or("--until-comm NAME")?.clone()),
            "--until-file" => until.file = Some(it.next().ok_or("--until-file PATH")?.into()),
            "--" => cmd = it.by_ref().cloned().collect(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let interval = Duration::from_millis(ms);
    if until.max.is_none() && (system || init) {
        until.max = Some(Duration::from_secs(60));
    }
    if init {
        return init_wrapper(exec, &cmd, &args, &out);
    }
    let chart = if system {
        Chart::record_system(interval, &until)?
    } else {
        if cmd.is_empty() {
            return Err("usage: bootchart [-i MS] [-o chart.svg] -- COMMAND... | --system | --init -- INIT".into());
        }
        Chart::record(&cmd, interval)?
    };
    let tmp = format!("{out}.tmp");
    std::fs::write(&tmp, chart.svg())?;
    std::fs::rename(&tmp, &out)?;
    eprintln!("bootchart: {} processes over {:.2} s -> {out}", chart.processes.len(), chart.duration);
    for p in &chart.processes {
        println!("{:>7} {:<16} {:>7.3} {:>7.3}", p.pid, p.comm, p.start, p.end);
    }
    Ok(())
}

/// The boot mode: /proc, the logger, then exec the real init (so it keeps pid 1).
fn init_wrapper(
    exec: Option<String>,
    init_args: &[String],
    args: &[String],
    out: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    if std::fs::metadata("/proc/self/stat").is_err() {
        let _ = std::fs::create_dir_all("/proc");
        nix::mount::mount(Some("proc"), "/proc", Some("proc"), nix::mount::MsFlags::empty(), None::<&str>)?;
    }
    // The logger: this program again, in system mode, with the chart options only.
    let mut opts = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--init" => {}
            "--exec" => {
                it.next();
            }
            "--" => break,
            _ => opts.push(a.clone()),
        }
    }
    let me = std::env::current_exe()?;
    // Inherited stdio: this early there may be no /dev/null to give it.
    match std::process::Command::new(&me).arg("--system").args(&opts).spawn() {
        Ok(c) => eprintln!("bootchart: logger {} charting the boot to {out}", c.id()),
        Err(e) => eprintln!("bootchart: could not start the logger ({e}); booting without it"),
    }
    let candidates: Vec<String> = match exec {
        Some(e) => vec![e],
        None => ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"].map(String::from).to_vec(),
    };
    let mut last = String::new();
    for prog in candidates {
        // exec returns only on failure.
        let e = std::process::Command::new(&prog).args(init_args).exec();
        last = format!("exec {prog}: {e}");
        eprintln!("bootchart: {last}");
    }
    Err(last.into())
}
