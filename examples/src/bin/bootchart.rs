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

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_examples::{Output, Status};
use ktrace_sample::bootchart::{Chart, Until};

/// Charts process start-up and system utilization as an SVG: of a command, of the whole system,
/// or of a boot as an init wrapper.
#[derive(Parser)]
#[command(
    name = "bootchart",
    version,
    override_usage = "bootchart [-i MS] [-o FILE] -- COMMAND [ARGS]...
       bootchart --system [-i MS] [-o FILE] [STOP...]
       bootchart --init [--exec INIT] [-i MS] [-o FILE] [STOP...] [-- INIT ARGS...]
       (STOP: --max SECS, --until-comm NAME, --until-file PATH)"
)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["system", "init", "cmd"]))]
struct Args {
    /// Sampling interval in milliseconds.
    #[arg(short = 'i', value_name = "MS", default_value = "20", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    ms: u64,
    /// The chart (written whole at the end: FILE.tmp renamed).
    #[arg(short = 'o', value_name = "FILE", default_value = "bootchart.svg")]
    out: PathBuf,
    /// Every process, until a STOP (--max, default 60 s; --until-comm; --until-file).
    #[arg(long, conflicts_with_all = ["init", "cmd"])]
    system: bool,
    /// Boot mode, as init=/rdinit=: mount /proc, start the logger, exec the real init.
    #[arg(long)]
    init: bool,
    /// With --init: the real init (default: the first of /sbin/init, /etc/init, /bin/init, /bin/sh).
    #[arg(long, value_name = "INIT", requires = "init")]
    exec: Option<String>,
    /// STOP after this many seconds (default 60 with --system and --init).
    #[arg(long, value_name = "SECS", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    max: Option<Duration>,
    /// STOP when a process with this name appeared (e.g. getty).
    #[arg(long, value_name = "NAME")]
    until_comm: Option<String>,
    /// STOP when this file exists.
    #[arg(long, value_name = "PATH")]
    until_file: Option<PathBuf>,
    /// The command to chart (its process tree); with --init, the real init's arguments.
    #[arg(last = true, value_name = "COMMAND")]
    cmd: Vec<String>,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(a: Args) -> Result<Status, Box<dyn std::error::Error>> {
    if a.init {
        return init_wrapper(&a);
    }
    // A command is held before its exec (a missing program fails here, before the output is made).
    let held = ktrace_examples::hold(&a.cmd)?;
    let mut out = Output::staged(&a.out)?;
    let interval = Duration::from_millis(a.ms);
    let chart = if a.system {
        let until = Until {
            max: Some(a.max.unwrap_or(Duration::from_secs(60))),
            comm: a.until_comm.clone(),
            file: a.until_file.clone(),
        };
        Chart::record_system(interval, &until)?
    } else {
        let child = held.ok_or("no command")?.release()?;
        Chart::record_child(child, &a.cmd.join(" "), interval)?
    };
    out.write_all(chart.svg().as_bytes())?;
    out.keep()?;
    eprintln!(
        "bootchart: {} processes over {:.2} s -> {}",
        chart.processes.len(),
        chart.duration,
        out.path().display()
    );
    for p in &chart.processes {
        println!("{:>7} {:<16} {:>7.3} {:>7.3}", p.pid, p.comm, p.start, p.end);
    }
    Ok(chart.exit.map_or(Status::SUCCESS, Status::from))
}

/// The boot mode: /proc, the logger, then exec the real init (so it keeps pid 1).
fn init_wrapper(a: &Args) -> Result<Status, Box<dyn std::error::Error>> {
    if std::fs::metadata("/proc/self/stat").is_err() {
        let _ = std::fs::create_dir_all("/proc");
        nix::mount::mount(Some("proc"), "/proc", Some("proc"), nix::mount::MsFlags::empty(), None::<&str>)?;
    }
    // The logger: this program again, in system mode, with the chart options only.
    let mut logger = std::process::Command::new(std::env::current_exe()?);
    logger.arg("--system").arg("-i").arg(a.ms.to_string()).arg("-o").arg(&a.out);
    if let Some(m) = a.max {
        logger.arg("--max").arg(m.as_secs_f64().to_string());
    }
    if let Some(c) = &a.until_comm {
        logger.arg("--until-comm").arg(c);
    }
    if let Some(f) = &a.until_file {
        logger.arg("--until-file").arg(f);
    }
    // Inherited stdio: this early there may be no /dev/null to give it.
    match logger.spawn() {
        Ok(c) => eprintln!("bootchart: logger {} charting the boot to {}", c.id(), a.out.display()),
        Err(e) => eprintln!("bootchart: could not start the logger ({e}); booting without it"),
    }
    let candidates: Vec<String> = match &a.exec {
        Some(e) => vec![e.clone()],
        None => ["/sbin/init", "/etc/init", "/bin/init", "/bin/sh"].map(String::from).to_vec(),
    };
    let mut last = String::new();
    for prog in candidates {
        // exec returns only on failure.
        let e = std::process::Command::new(&prog).args(&a.cmd).exec();
        last = format!("exec {prog}: {e}");
        eprintln!("bootchart: {last}");
    }
    Err(last.into())
}
