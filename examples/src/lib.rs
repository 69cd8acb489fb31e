//! Helpers shared by the example tools: the `main` every tool runs through (arguments parsed
//! by clap, errors printed as `TOOL: message` on one line, exit codes like strace's), the shared
//! duration parser, output files opened before tracing, and commands started held before their
//! exec (so pid filters and counters are in place when the command starts).

use std::error::Error;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

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

/// Releases a held command and waits for it (its status), or sleeps `d` when there is none: the
/// span a tool traces.
pub fn release_or_sleep(held: Option<HeldCommand>, d: Duration) -> Result<Status, Box<dyn Error>> {
    match held {
        Some(h) => Ok(Status::from(h.release()?.wait()?)),
        None => {
            std::thread::sleep(d);
            Ok(Status::SUCCESS)
        }
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
        let mut out = Output::create(tmp)?;
        out.target = Some(target);
        Ok(out)
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
