//! The one shape of a failed system call, shared by every facade's error enum: the call, what it
//! was made on (a path, a task, or another object such as a perf event or a netlink request) and
//! the OS error. Only the type lives here; the calls themselves are in the facades' `sys` modules.

use std::fmt;
use std::path::{Path, PathBuf};

/// What a failed call was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// A file: a tracefs or sysfs file, a device node, a binary.
    Path(PathBuf),
    /// A task (thread or process id): a ptrace or wait call.
    Pid(i32),
    /// Anything else, named for a person: a perf event, a probe, a netlink request.
    Object(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Path(p) => write!(f, "{}", p.display()),
            Subject::Pid(p) => write!(f, "on pid {p}"),
            Subject::Object(o) => f.write_str(o),
        }
    }
}

/// `From` for each type a subject is made from: `$t` becomes `Subject::$v` through `$into`.
macro_rules! subject_from {
    ($($t:ty => $v:ident($into:expr)),* $(,)?) => {$(
        impl From<$t> for Subject {
            fn from(x: $t) -> Subject {
                Subject::$v($into(x))
            }
        }
    )*};
}

subject_from! {
    PathBuf => Path(std::convert::identity),
    &Path => Path(Path::to_path_buf),
    &PathBuf => Path(PathBuf::clone),
    String => Object(std::convert::identity),
    &str => Object(str::to_owned),
}

/// A system call that failed: `call` on `subject`, with the OS error. Every facade's error enum
/// carries it as its `Syscall` variant, so one match classifies them all.
///
/// ```
/// use ktrace_core::{SysError, Subject};
/// let e = SysError::new("open", std::path::Path::new("/sys/kernel/tracing/trace"), std::io::Error::from_raw_os_error(13));
/// assert_eq!(e.errno(), Some(13));
/// assert!(e.is_permission());
/// assert_eq!(e.subject, Subject::Path("/sys/kernel/tracing/trace".into()));
/// assert!(e.to_string().starts_with("open /sys/kernel/tracing/trace: "));
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{call} {subject}: {source}")]
pub struct SysError {
    /// The call (`open`, `write`, `ioctl(BLKTRACESETUP)`, `ptrace(PTRACE_SEIZE)`, `perf_event_open`…).
    pub call: &'static str,
    /// What it was made on.
    pub subject: Subject,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

impl SysError {
    /// `call` on `subject` failed with `source`.
    pub fn new(call: &'static str, subject: impl Into<Subject>, source: std::io::Error) -> SysError {
        SysError { call, subject: subject.into(), source }
    }

    /// The errno, when the OS gave one.
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// True for EACCES and EPERM: refused for lack of privilege (or by lockdown, which says EPERM).
    pub fn is_permission(&self) -> bool {
        // EACCES 13, EPERM 1 on every Linux architecture.
        matches!(self.errno(), Some(1 | 13))
    }

    /// The path, when the call was made on a file.
    pub fn path(&self) -> Option<&Path> {
        match &self.subject {
            Subject::Path(p) => Some(p),
            _ => None,
        }
    }
}
