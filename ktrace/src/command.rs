//! Commands started held before `execve(2)`, so filters are in place when counting starts.
//!
//! A tracer that starts a command must know its pid before the command runs anything of its own:
//! ftrace's `set_event_pid`, perf's `enable_on_exec` counters and ptrace's `PTRACE_SEIZE` all take
//! the pid. [`HeldCommand::spawn`] forks the [`Command`] and stops the child just before its
//! `execve` (blocked on a pipe, no shell in between); [`HeldCommand::release`] lets it exec. As with
//! `perf stat -- CMD` and `strace CMD`, what is counted from the exec on is the command alone: not a
//! launcher shell, not a `PATH` search (resolve the program first with [`resolve_program`] to keep
//! failed `execve` calls of a `PATH` search out of the trace).
//!
//! ```no_run
//! use ktrace::command::{HeldCommand, resolve_program};
//! let mut cmd = std::process::Command::new(resolve_program("ls")?);
//! cmd.arg("/");
//! let held = HeldCommand::spawn(cmd)?;
//! let pid = held.pid(); // set event pids, open counters, seize it with ptrace…
//! let mut child = held.release()?; // …then it execs
//! let status = child.wait()?;
//! # let _ = (pid, status);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::thread::JoinHandle;

use crate::sys;

/// A failure to start a command, named as strace names it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The program is not a file, or not found on `PATH`.
    #[error("Can't stat '{program}': No such file or directory")]
    NotFound {
        /// The program as given.
        program: String,
    },
    /// The program exists but cannot be executed.
    #[error("Can't exec '{program}': {why}")]
    NotExecutable {
        /// The program as given (or as found on `PATH`).
        program: String,
        /// Why (`Is a directory`, `Permission denied`).
        why: &'static str,
    },
    /// A system call failed while starting it (`pipe2`, `fork`, `execve`…).
    #[error("{call}: {source}")]
    Io {
        /// The call.
        call: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Finds `program` as `execvp(3)` would (a name with a `/` as it is, otherwise the first
/// executable match on `PATH`), so the held child execs it directly.
pub fn resolve_program(program: impl AsRef<Path>) -> Result<PathBuf, CommandError> {
    resolve_in(program.as_ref(), std::env::var_os("PATH").as_deref(), None)
}

/// [`resolve_program`] with a given `PATH` (`None`: execvp's default) and, for a relative name
/// with a `/`, the directory the child starts in.
fn resolve_in(prog: &Path, path: Option<&OsStr>, cwd: Option<&Path>) -> Result<PathBuf, CommandError> {
    let name = prog.to_string_lossy().into_owned();
    let candidates: Vec<PathBuf> = if name.contains('/') {
        vec![cwd.map_or_else(|| prog.to_path_buf(), |d| d.join(prog))]
    } else {
        let path = path.unwrap_or_else(|| OsStr::new("/usr/local/bin:/usr/bin:/bin"));
        std::env::split_paths(path).map(|d| d.join(prog)).collect()
    };
    let mut refused = None;
    for c in candidates.iter().filter(|_| !name.is_empty()) {
        match c.metadata() {
            Ok(m) if m.is_dir() => _ = refused.get_or_insert("Is a directory"),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => _ = refused.get_or_insert("Permission denied"),
            Ok(_) => return Ok(c.clone()),
            Err(_) => {}
        }
    }
    Err(match refused {
        Some(why) => CommandError::NotExecutable { program: name, why },
        None => CommandError::NotFound { program: name },
    })
}

/// A child forked from a [`Command`] and held just before its `execve(2)`.
///
/// Dropped without [`HeldCommand::release`], the child exits without running the program.
///
/// The fork happens on a helper thread (the standard library's `spawn` returns only after the
/// exec): a `PR_SET_PDEATHSIG` set in your own `pre_exec` hook would fire when that thread ends.
#[derive(Debug)]
#[doc(alias = "execve")]
#[doc(alias = "fork")]
pub struct HeldCommand {
    pid: i32,
    program: String,
    go: Option<OwnedFd>,
    spawner: Option<JoinHandle<std::io::Result<Child>>>,
}

impl HeldCommand {
    /// Forks `cmd` and holds the child before its exec. Stdio, environment, working directory and
    /// any `pre_exec` hooks of `cmd` apply as usual (the hold runs after your hooks).
    ///
    /// A program that is not there (or not executable), looked up as the child's `execvp` will
    /// (`cmd`'s own `PATH` and working directory when it sets them), is an error here, before the
    /// fork; what only the exec can tell (a bad ELF, a race) comes from [`HeldCommand::release`].
    pub fn spawn(mut cmd: Command) -> Result<HeldCommand, CommandError> {
        let io = |call| move |source| CommandError::Io { call, source };
        let program = cmd.get_program().to_string_lossy().into_owned();
        let path = match cmd.get_envs().find(|(k, _)| *k == "PATH") {
            Some((_, set)) => set.map(OsStr::to_os_string),
            None => std::env::var_os("PATH"),
        };
        resolve_in(Path::new(cmd.get_program()), path.as_deref(), cmd.get_current_dir())?;
        let (ready_r, ready_w) = sys::pipe().map_err(io("pipe2"))?;
        let (go_r, go_w) = sys::pipe().map_err(io("pipe2"))?;
        sys::hold_before_exec(&mut cmd, &ready_r, &ready_w, &go_r, &go_w);
        // The spawner owns the child's pipe ends until spawn returns: the fork copies them, and
        // when spawn fails before forking, closing them makes the read below see end-of-file.
        let spawner = std::thread::Builder::new()
            .name("ktrace-held-spawn".into())
            .spawn(move || {
                let r = cmd.spawn();
                drop((ready_w, go_r));
                r
            })
            .map_err(io("spawn thread"))?;
        match sys::read_pid(&ready_r) {
            Ok(Some(pid)) => Ok(HeldCommand { pid, program, go: Some(go_w), spawner: Some(spawner) }),
            Ok(None) => {
                let e = match spawner.join() {
                    Ok(Err(e)) => e,
                    _ => std::io::Error::other("the child ended before it was held"),
                };
                Err(CommandError::Io { call: "fork", source: e })
            }
            Err(e) => Err(CommandError::Io { call: "read(held child's pid)", source: e }),
        }
    }

    /// The child's pid (the same before and after the exec).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Lets the child exec; returns it as a [`Child`] once the exec succeeded, or the exec's error
    /// (a missing program is [`CommandError::NotFound`]).
    pub fn release(mut self) -> Result<Child, CommandError> {
        if let Some(go) = self.go.take() {
            sys::write_go(&go).map_err(|source| CommandError::Io { call: "write(release held child)", source })?;
        }
        self.join()
    }

    fn join(&mut self) -> Result<Child, CommandError> {
        let spawner = self.spawner.take();
        match spawner.map(JoinHandle::join) {
            Some(Ok(Ok(child))) => Ok(child),
            Some(Ok(Err(e))) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(CommandError::NotFound { program: self.program.clone() })
            }
            Some(Ok(Err(e))) => Err(CommandError::Io { call: "execve", source: e }),
            Some(Err(_)) | None => {
                Err(CommandError::Io { call: "execve", source: std::io::Error::other("the spawning thread panicked") })
            }
        }
    }
}

impl Drop for HeldCommand {
    fn drop(&mut self) {
        // Closing the release pipe without a byte makes the child exit before exec; the
        // standard library reaps it when its spawn fails.
        drop(self.go.take());
        if self.spawner.is_some() {
            let _ = self.join();
        }
    }
}
