//! The error type of ktrace-ftrace.

use ktrace_core::SysError;
use std::path::PathBuf;

use ktrace_core::ParseError;
use thiserror::Error;

/// Everything that can go wrong driving ftrace.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// tracefs is not mounted at any known place (and mounting was not asked for).
    #[error("tracefs is not mounted: {hint}")]
    NotMounted {
        /// What to do about it.
        hint: &'static str,
    },
    /// The kernel has no tracefs/ftrace at all.
    #[error("this kernel has no ftrace (CONFIG_FTRACE/CONFIG_TRACING not built): {hint}")]
    NotBuilt {
        /// What was looked at.
        hint: String,
    },
    /// Not allowed: tracefs files belong to root (mode 0700 at the top, 0640 below).
    #[error(
        "permission denied on {path}: tracefs is root's: run as root (sudo), or let a group read it \
         with `mount -o remount,gid=GROUP,mode=0750 {mount}`"
    )]
    NotRoot {
        /// The file that was refused.
        path: PathBuf,
        /// The tracefs mount point it is under (`/sys/kernel/tracing`).
        mount: PathBuf,
    },
    /// The kernel refuses this under lockdown (EPERM as root), e.g. the function tracer or
    /// `set_ftrace_filter` on a kernel locked down in integrity mode.
    #[error(
        "refused by the kernel (EPERM as root, so not a permission problem): {what} at {path}: kernel lockdown \
         (see /sys/kernel/security/lockdown; it cannot be lowered at run time)"
    )]
    Lockdown {
        /// What was refused.
        what: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The kernel does not have this feature (tracer, file or option).
    #[error("unsupported by this kernel: {feature} ({hint})")]
    Unsupported {
        /// The feature.
        feature: String,
        /// What was observed.
        hint: String,
    },
    /// An event that does not exist.
    #[error("no such event {system}/{name}")]
    NoSuchEvent {
        /// The system.
        system: String,
        /// The event (or glob).
        name: String,
    },
    /// An event pattern (`system:event` globs) that is malformed or matches no event.
    #[error("event pattern {pattern:?}: {why}")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
        /// Why nothing was enabled (`matches no event in …/events`, or the glob syntax error).
        why: String,
    },
    /// The kernel rejected a filter; `message` is its `error_log` text.
    #[error("bad filter {filter:?} for {event}: {message}")]
    Filter {
        /// The event (`system/name`).
        event: String,
        /// The filter text.
        filter: String,
        /// The kernel's explanation from `error_log` (with the caret position).
        message: String,
    },
    /// The global tracer is held by someone else.
    #[error("the global tracer is busy: current_tracer is {current:?}")]
    Busy {
        /// What `current_tracer` says.
        current: String,
    },
    /// A syscall on a tracefs file failed (the call, the path, the OS error).
    #[error(transparent)]
    Syscall(#[from] SysError),
    /// A thread of ours could not be started.
    #[error("cannot start the {thread} thread: {source}")]
    Spawn {
        /// Which thread (`drain`).
        thread: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A thread of ours panicked: a bug, never "unsupported" (so a test fails, not skips).
    #[error("the {thread} thread panicked")]
    Panicked {
        /// Which thread (`drain`).
        thread: &'static str,
    },
    /// Bytes from the kernel or a file did not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A trace.dat file is malformed.
    #[error("trace.dat at offset {offset}: {what}")]
    TraceDat {
        /// Byte offset in the file.
        offset: u64,
        /// What was wrong.
        what: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an io error from `call` on `path`, mapping EACCES to [`Error::NotRoot`].
    pub(crate) fn io(call: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        let path = path.into();
        if source.raw_os_error() == Some(libc::EACCES) {
            return Error::not_root(path);
        }
        Error::Syscall(SysError::new(call, path, source))
    }

    /// [`Error::NotRoot`] for `path`, naming the tracefs mount it is under.
    pub(crate) fn not_root(path: PathBuf) -> Error {
        let mount = path
            .ancestors()
            .find(|a| a.ends_with("tracing"))
            .map_or_else(|| PathBuf::from("/sys/kernel/tracing"), PathBuf::from);
        Error::NotRoot { path, mount }
    }

    /// True when tracefs refused for lack of privilege ([`Error::NotRoot`]).
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::NotRoot { .. })
    }

    /// True for errors that mean "the running kernel cannot do this" (a test should skip, not fail).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. } | Error::Lockdown { .. } | Error::NotBuilt { .. })
    }

    /// The errno of a failed syscall (`EINVAL` for a definition the kernel rejects, `EBUSY` for a
    /// probe still in use…), when the error is one.
    pub fn os_error(&self) -> Option<i32> {
        match self {
            Error::Syscall(e) => e.errno(),
            Error::Spawn { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
