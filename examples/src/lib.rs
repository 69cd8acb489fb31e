//! Helpers shared by the example tools: the `main` every tool runs through (arguments parsed
//! by clap, errors printed as `TOOL: message` on one line, exit codes like strace's), the shared
//! duration parser, output files opened before tracing, and commands started held before their
//! exec (so pid filters and counters are in place when the command starts).

use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use ktrace::command::{CommandError, HeldCommand, resolve_program};

/// Errors of the tools' own checks (the libraries' errors pass through as they are).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The output file cannot be written.
    #[error("cannot write '{}': {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// What open(2) said (or "Is a directory").
        source: std::io::Error,
    },
}

/// How a tool ends: an exit code, or a signal to die by (the traced command's signal, re-raised
/// as strace does so the shell sees the same death).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Exit with this code.
    Exited(u8),
    /// Die by this signal (or, when it does not kill this process, exit 128 + signal).
    Signaled(i32),
}

impl Status {
    /// Exit code 0.
    pub const SUCCESS: Status = Status::Exited(0);
}

impl From<std::process::ExitStatus> for Status {
    fn from(s: std::process::ExitStatus) -> Status {
        use std::os::unix::process::ExitStatusExt;
        match (s.code(), s.signal()) {
            (Some(c), _) => Status::Exited(c as u8),
            (None, Some(sig)) => Status::Signaled(sig),
            (None, None) => Status::Exited(1),
        }
    }
}

/// The `main` of every tool: parses `A` from the command line (`--help` prints usage and exits 0),
/// runs `run`, prints an error as `TOOL: message` on one line on stderr and exits 1, or ends with
/// the [`Status`] `run` returned. `run`'s values (tracefs instances, probes, tracees) are dropped
/// before a signal is re-raised, so nothing is left in the kernel.
///
/// ```no_run
/// use clap::Parser;
/// /// Does something for a while.
/// #[derive(Parser)]
/// #[command(name = "mytool")]
/// struct Args {
///     /// Seconds.
///     #[arg(short, value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
///     d: Option<std::time::Duration>,
/// }
/// fn main() -> std::process::ExitCode {
///     ktrace_examples::main(|a: Args| {
///         std::thread::sleep(a.d.unwrap_or_default());
///         Ok(ktrace_examples::Status::SUCCESS)
///     })
/// }
/// ```
pub fn main<A: clap::Parser>(run: impl FnOnce(A) -> Result<Status, Box<dyn Error>>) -> ExitCode {
    let tool = A::command().get_name().to_owned();
    let args = match A::try_parse() {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            // --help, --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message is its first paragraph ("error: …"), then usage and a tip.
            let text = e.to_string();
            let first = text.split("\n\n").next().unwrap_or_default();
            let msg = one_line(first.trim_start_matches("error: "));
            eprintln!("{tool}: {msg} (see '{tool} --help')");
            return ExitCode::FAILURE;
        }
    };
    // A reader that went away (`tool | head`) makes println! panic: unwind (so guards remove
    // what they made in the kernel) and end as a SIGPIPE death would, without the panic message.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !broken_pipe(info.payload()) {
            hook(info);
        }
    }));
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(args))) {
        Ok(r) => r,
        Err(p) if broken_pipe(p.as_ref()) => Ok(Status::Signaled(nix::libc::SIGPIPE)),
        Err(p) => std::panic::resume_unwind(p),
    };
    match result {
        Ok(Status::Exited(c)) => ExitCode::from(c),
        Ok(Status::Signaled(sig)) => die_by(sig),
        Err(e) => {
            eprintln!("{tool}: {}", one_line(&chain(e.as_ref())));
            ExitCode::FAILURE
        }
    }
}

/// The panic of `print!` when stdout is a closed pipe.
fn broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.downcast_ref::<String>().is_some_and(|m| m.starts_with("failed printing to stdout: Broken pipe"))
}

/// An error and its sources, each added unless the message above already says it.
fn chain(e: &dyn Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    msg
}

/// Lines joined into one ("; " between sentences, a space after a colon), blanks and
/// indentation dropped.
fn one_line(s: &str) -> String {
    let mut out = String::new();
    for l in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push_str(if out.ends_with(':') { " " } else { "; " });
        }
        out.push_str(l);
    }
    out
}

/// Ends this process by `sig` as strace does for a command killed by a signal: core dumps off,
/// the signal unblocked and raised; if it does not kill (ignored here, like SIGPIPE in Rust
/// programs), exits 128 + `sig` as a shell would report it.
fn die_by(sig: i32) -> ExitCode {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask, raise};
    let _ = std::io::stdout().flush();
    if let Ok(s) = Signal::try_from(sig) {
        let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
        let mut set = SigSet::empty();
        set.add(s);
        let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
        if STOP_SIGNAL.get().is_some() && matches!(s, Signal::SIGINT | Signal::SIGTERM) {
            // Caught by [`stop_on_signals`]: the default action back, then the signal.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
        }
        let _ = raise(s);
    }
    ExitCode::from(128u8.wrapping_add(sig as u8))
}

/// The longest duration a tool accepts (30 days).
pub const MAX_SECONDS: f64 = 30.0 * 86_400.0;

/// clap value parser for a duration in seconds (`-d 2.5`): a finite number > 0 and at most
/// [`MAX_SECONDS`]. Give the argument `allow_hyphen_values = true` so `-d -1` and `-d -inf` reach it.
pub fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| "not a number of seconds".to_owned())?;
    if !v.is_finite() || v <= 0.0 {
        return Err("a duration must be a finite number of seconds > 0".into());
    }
    if v > MAX_SECONDS {
        return Err(format!("more than the maximum, {MAX_SECONDS} s (30 days)"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The command line `cmd` (program and arguments) started held before its exec (see
/// [`HeldCommand`]), or `None` for an empty one. The program is resolved first as execvp(3) would
/// ([`resolve_program`]): a missing one is an error naming it (strace's `Can't stat`) before
/// anything is started, and the held child makes exactly one execve, of the program itself (no
/// shell, no `PATH` search), with `argv[0]` as given.
pub fn hold(cmd: &[String]) -> Result<Option<HeldCommand>, CommandError> {
    let Some((prog, args)) = cmd.split_first() else {
        return Ok(None);
    };
    let mut c = Command::new(resolve_program(prog)?);
    c.arg0(prog).args(args);
    HeldCommand::spawn(c).map(Some)
}

/// Checks the program of a command line (the first word, if any) as [`hold`] does, for tools
/// that start it another way: a missing program is strace's `Can't stat` error.
pub fn check_command(cmd: &[String]) -> Result<(), CommandError> {
    cmd.first().map_or(Ok(()), |p| resolve_program(p).map(drop))
}

/// Restricts the events of `inst` to `pid` and the tasks it forks from now on (`set_event_pid`
/// with `event-fork`): set on a held command's pid before it is released, the instance records
/// the command and its children only (and, of the held child, only its last calls before the
/// exec: the end of the hold's `read`, a `close`, the `execve` itself).
pub fn follow_pid(inst: &ktrace_ftrace::Instance, pid: i32) -> ktrace_ftrace::Result<()> {
    inst.set_event_pids(&[pid])?;
    inst.follow_forks(true)
}

/// Releases a held command and waits for it (its status, see [`wait_child`]), or sleeps `d` when
/// there is none, ending early on SIGINT/SIGTERM (see [`stop_on_signals`]): the span a tool traces.
pub fn release_or_sleep(held: Option<HeldCommand>, d: Duration) -> Result<Status, Box<dyn Error>> {
    match held {
        Some(h) => Ok(Status::from(wait_child(&mut h.release()?, || {})?)),
        None => {
            sleep(d);
            Ok(Status::SUCCESS)
        }
    }
}

/// The stop signal received (SIGINT or SIGTERM), 0 before one.
static STOP_SIGNAL: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// How often the wait loops look at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Turns SIGINT and SIGTERM into a stop request that the tools' waits ([`sleep`], [`wait_child`],
/// [`release_or_sleep`]) end on, so a tool interrupted by Ctrl-C or `kill` stops tracing, prints
/// what it has and drops its guards normally: no tracefs instance, probe, tracer or sysctl is
/// left behind, and it exits as it would have at the end of its time (0 after a timed run, like
/// `perf stat`; the command's status when it traced one). A second signal ends the tool at once
/// (the default action), as a second Ctrl-C is expected to. Call it first, before kernel state is
/// made; calling it again does nothing.
///
/// Handlers are installed with `signal-hook` (sigaction(2)); see signal(7).
pub fn stop_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut first = false;
    let sig = STOP_SIGNAL.get_or_init(|| {
        first = true;
        Arc::new(AtomicUsize::new(0))
    });
    if !first {
        return Ok(());
    }
    let stopping = Arc::new(AtomicBool::new(false));
    for s in [SIGINT, SIGTERM] {
        // Handlers run in the order registered: the default action only once `stopping` is set,
        // that is from the second signal on.
        signal_hook::flag::register_conditional_default(s, stopping.clone())?;
        signal_hook::flag::register(s, stopping.clone())?;
        signal_hook::flag::register_usize(s, sig.clone(), s as usize)?;
    }
    Ok(())
}

/// The signal that asked this tool to stop (SIGINT or SIGTERM), if one arrived since
/// [`stop_on_signals`].
pub fn stop_signal() -> Option<i32> {
    let s = STOP_SIGNAL.get()?.load(Ordering::Relaxed);
    (s != 0).then_some(s as i32)
}

/// Sleeps for `d`, or less when SIGINT/SIGTERM asks the tool to stop (see [`stop_on_signals`]).
/// Returns whether the whole time passed.
pub fn sleep(d: Duration) -> bool {
    let end = Instant::now() + d;
    loop {
        if stop_signal().is_some() {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(STOP_POLL));
    }
}

/// Records `events` (subsystem, event) in `inst` for `d`, or less when a stop signal arrives (see
/// [`sleep`]).
pub fn record_for(
    inst: &ktrace_ftrace::Instance,
    events: &[(&str, &str)],
    d: Duration,
) -> ktrace_ftrace::Result<ktrace_ftrace::Recording> {
    for (system, event) in events {
        inst.enable_event(system, event)?;
    }
    let rec = ktrace_ftrace::Recorder::start(inst)?;
    sleep(d);
    rec.stop()
}

/// Waits for a command the tool started. SIGINT (Ctrl-C) reaches the whole foreground process
/// group, the command included, so the tool goes on waiting for it to end, as `perf stat` does;
/// a SIGTERM sent to the tool alone (kill(1), a service manager) is passed on to the command once.
/// `tick` runs every 10 ms while the command runs (to poll samplers or query it).
pub fn wait_child(child: &mut Child, mut tick: impl FnMut()) -> std::io::Result<ExitStatus> {
    let mut forwarded = false;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        forward_sigterm(child.id() as i32, &mut forwarded);
        tick();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Passes a SIGTERM sent to the tool alone on to the command `pid`, once (`forwarded` remembers):
/// [`wait_child`]'s rule, for a tool whose command another owner waits for (a session).
pub fn forward_sigterm(pid: i32, forwarded: &mut bool) {
    if !*forwarded && stop_signal() == Some(signal_hook::consts::SIGTERM) {
        *forwarded = true;
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
}

/// [`release_or_sleep`] in a thread of its own, then `stop`: the span a streaming tool traces
/// while it consumes events. Join it for the command's status.
pub fn stop_when_done(
    held: Option<HeldCommand>,
    d: Duration,
    stop: ktrace_ftrace::stream::StopHandle,
) -> std::thread::JoinHandle<Result<Status, String>> {
    std::thread::spawn(move || {
        let status = release_or_sleep(held, d).map_err(|e| e.to_string());
        stop.stop();
        status
    })
}

/// An output file created (truncated) before tracing starts, so an unwritable path fails first
/// with an error naming it. Dropped without [`Output::keep`], it is removed again (a failed or
/// empty run leaves no empty file behind).
#[derive(Debug)]
pub struct Output {
    /// The file written.
    path: PathBuf,
    file: File,
    /// Renamed to this by `keep` (a staged output).
    target: Option<PathBuf>,
    keep: bool,
}

impl Output {
    /// Creates `path` for writing; a directory is refused.
    pub fn create(path: impl AsRef<Path>) -> Result<Output, CliError> {
        let path = path.as_ref().to_owned();
        let err = |source| CliError::Output { path: path.clone(), source };
        if path.is_dir() {
            return Err(err(nix::errno::Errno::EISDIR.into()));
        }
        let file = File::create(&path).map_err(err)?;
        Ok(Output { path, file, target: None, keep: false })
    }

    /// Creates `PATH.tmp` for writing, renamed to `path` by [`Output::keep`]: the file appears
    /// whole, for whoever waits for it. A directory at `path` is refused.
    pub fn staged(path: impl AsRef<Path>) -> Result<Output, CliError> {
        let target = path.as_ref().to_owned();
        if target.is_dir() {
            return Err(CliError::Output { path: target, source: nix::errno::Errno::EISDIR.into() });
        }
        let mut tmp = target.clone().into_os_string();
        tmp.push(".tmp");
        // An error names the file asked for, not its staging name.
        let CliError::Output { source, .. } = match Output::create(tmp) {
            Ok(mut out) => {
                out.target = Some(target);
                return Ok(out);
            }
            Err(e) => e,
        };
        Err(CliError::Output { path: target, source })
    }

    /// The path (of the file as it will be kept).
    pub fn path(&self) -> &Path {
        self.target.as_ref().unwrap_or(&self.path)
    }

    /// Keeps the file when this is dropped; a staged file is renamed into place now.
    pub fn keep(&mut self) -> Result<(), CliError> {
        if let Some(t) = &self.target {
            std::fs::rename(&self.path, t).map_err(|source| CliError::Output { path: t.clone(), source })?;
            self.path = t.clone();
            self.target = None;
        }
        self.keep = true;
        Ok(())
    }
}

impl Output {
    /// A second handle on the file, for a writer that must own one (a background thread); keeping
    /// or removing the file stays with this `Output`.
    pub fn handle(&self) -> Result<File, CliError> {
        self.file.try_clone().map_err(|source| CliError::Output { path: self.path.clone(), source })
    }

    /// A write error that names the file.
    fn named(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), CliError::Output { path: self.path.clone(), source: e })
    }
}

/// Writes to the file; errors name it.
impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).map_err(|e| self.named(e))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().map_err(|e| self.named(e))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Only a regular file: never unlink a device or FIFO given as the output.
        if !self.keep && self.path.metadata().is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The losses of a stream (its `Lost` items), counted per CPU, for the line a tool prints when the
/// kernel dropped events.
///
/// ```
/// let mut l = ktrace_examples::Losses::default();
/// l.add(&ktrace_core::Lost { source: ktrace_core::LostSource::FtraceRing, cpu: 1, count: Some(7), timestamp_ns: 0 });
/// assert_eq!((l.total(), l.line("tool", None).as_deref()), (7, Some("tool: the kernel dropped 7 events (cpu1 7); the results are partial")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Losses {
    /// Events dropped per CPU (`u32::MAX`: a loss not tied to a CPU).
    per_cpu: std::collections::BTreeMap<u32, u64>,
    /// Loss notices without a count.
    uncounted: u64,
}

impl Losses {
    /// Counts one `Lost` item.
    pub fn add(&mut self, l: &ktrace_core::Lost) {
        match l.count {
            Some(n) => {
                let c = self.per_cpu.entry(l.cpu).or_default();
                *c = c.saturating_add(n);
            }
            None => self.uncounted += 1,
        }
    }

    /// Events dropped in all (the exact counts the kernel gave).
    pub fn total(&self) -> u64 {
        self.per_cpu.values().fold(0, |a, &b| a.saturating_add(b))
    }

    /// Whether the kernel reported any loss.
    pub fn any(&self) -> bool {
        self.uncounted > 0 || self.per_cpu.values().any(|&n| n > 0)
    }

    /// The line `TOOL: the kernel dropped N events (cpu0 A, cpu1 B); the results are partial`, with
    /// `; its counters say K` when the kernel's own counters (`kernel`, e.g. [`kernel_lost`]) are
    /// given; `None` when nothing was lost.
    pub fn line(&self, tool: &str, kernel: Option<u64>) -> Option<String> {
        if !self.any() {
            return None;
        }
        let cpus: Vec<String> = self
            .per_cpu
            .iter()
            .map(|(c, n)| if *c == u32::MAX { format!("{n} not tied to a CPU") } else { format!("cpu{c} {n}") })
            .collect();
        // Notices without a count (a full page that had no room for it) are covered by the
        // counters' item that follows them; alone, they are all there is to say.
        let mut s = if self.total() > 0 {
            format!("{tool}: the kernel dropped {} events ({})", self.total(), cpus.join(", "))
        } else {
            format!("{tool}: the kernel dropped events ({} notices without a count)", self.uncounted)
        };
        if let Some(k) = kernel {
            s.push_str(&format!("; its counters say {k}"));
        }
        s.push_str("; the results are partial");
        Some(s)
    }

    /// The events of `rec` in time order, its `Lost` items counted here on the way (an error ends
    /// the stream, as [`ktrace_ftrace::Recording::items`] does).
    pub fn events<'r>(
        &'r mut self,
        rec: &'r ktrace_ftrace::Recording,
    ) -> impl Iterator<Item = Result<ktrace_ftrace::Event<'r>, ktrace_core::ParseError>> + 'r {
        rec.items().filter_map(|i| match i {
            Ok(ktrace_ftrace::Item::Event(e)) => Some(Ok(e)),
            Ok(ktrace_ftrace::Item::Lost(l)) => {
                self.add(&l);
                None
            }
            Err(e) => Some(Err(e)),
        })
    }

    /// Prints [`Losses::line`] on stderr, if anything was lost.
    pub fn report(&self, tool: &str, kernel: Option<u64>) {
        if let Some(l) = self.line(tool, kernel) {
            eprintln!("{l}");
        }
    }
}

/// What the kernel's counters of `inst` say was lost since it was made: the sum over CPUs of
/// `per_cpu/cpuN/stats` `overrun`, `commit overrun` and `dropped events`. Read it before the
/// instance is removed, after tracing stopped.
pub fn kernel_lost(inst: &ktrace_ftrace::Instance) -> ktrace_ftrace::Result<u64> {
    let mut n = 0u64;
    for cpu in 0..inst.nr_cpus() as u32 {
        n = n.saturating_add(inst.cpu_stats(cpu)?.lost());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktrace_core::Lost;

    #[test]
    fn loss_lines_give_the_exact_count_per_cpu() {
        let mut l = Losses::default();
        assert_eq!(l.line("t", Some(0)), None);
        l.add(&Lost { source: ktrace_core::LostSource::FtraceRing, cpu: 0, count: None, timestamp_ns: 1 });
        assert_eq!(
            l.line("t", None).as_deref(),
            Some("t: the kernel dropped events (1 notices without a count); the results are partial")
        );
        l.add(&Lost { source: ktrace_core::LostSource::FtraceRing, cpu: 1, count: Some(5), timestamp_ns: 2 });
        l.add(&Lost { source: ktrace_core::LostSource::FtraceRing, cpu: 0, count: Some(3), timestamp_ns: 3 });
        l.add(&Lost { source: ktrace_core::LostSource::FtraceRing, cpu: 1, count: Some(2), timestamp_ns: 4 });
        assert_eq!(l.total(), 10);
        assert_eq!(
            l.line("t", Some(10)).as_deref(),
            Some("t: the kernel dropped 10 events (cpu0 3, cpu1 7); its counters say 10; the results are partial")
        );
    }
}
