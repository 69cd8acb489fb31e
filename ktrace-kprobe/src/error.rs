//! The error type of ktrace-kprobe.

use thiserror::Error;

use crate::probe::ArgType;

/// Everything that can go wrong with probes.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A definition line did not parse.
    #[error("bad probe definition {line:?}: expected {what}")]
    BadDefinition {
        /// The line.
        line: String,
        /// What was expected.
        what: String,
    },
    /// A fetch argument type the kernel's probe syntax does not have (`:badtype`).
    #[error("unknown fetch argument type {ty:?}: expected {}", ArgType::ACCEPTED)]
    UnknownType {
        /// The type as written.
        ty: String,
    },
    /// The kernel rejected a definition; `log` is its `error_log` entry (position and reason).
    #[error("the kernel rejected {def:?}: {log}")]
    Rejected {
        /// The definition.
        def: String,
        /// The kernel's explanation.
        log: String,
    },
    /// No such symbol in the binary (or in the kernel).
    #[error("no symbol {symbol:?} in {path}")]
    NoSymbol {
        /// The symbol.
        symbol: String,
        /// Where it was looked for.
        path: String,
    },
    /// The file is not an ELF binary we can read.
    #[error("{path} is not a readable ELF file: {why}")]
    NotElf {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// A file to read as ELF is not a regular file (a device, a FIFO, a directory…).
    #[error("{path} is not a regular file: it is {kind}")]
    NotRegularFile {
        /// The file.
        path: String,
        /// What it is (`a character device`, `a FIFO`…).
        kind: &'static str,
    },
    /// The binary has no symbol tables at all (stripped).
    #[error("{path} is stripped (no .symtab or .dynsym)")]
    Stripped {
        /// The file.
        path: String,
    },
    /// This kernel lacks the probe type.
    #[error("unsupported by this kernel: {feature} ({hint})")]
    Unsupported {
        /// What.
        feature: String,
        /// What was observed.
        hint: String,
    },
    /// The kernel refused for lack of privilege; `hint` says what would allow it.
    #[error("{call} {what}: permission denied: {hint}")]
    Permission {
        /// The call.
        call: &'static str,
        /// What it was asked for (the probe).
        what: String,
        /// What to do about it.
        hint: String,
    },
    /// An ftrace-side error.
    #[error(transparent)]
    Ftrace(#[from] ktrace_ftrace::Error),
    /// A syscall failed (I/O on a tracefs file, perf_event_open(2) of a PMU probe, mmap of a binary).
    #[error(transparent)]
    Syscall(#[from] ktrace_core::SysError),
}

impl Error {
    /// True when the running kernel cannot do this (skip, do not fail).
    pub fn is_unsupported(&self) -> bool {
        match self {
            Error::Unsupported { .. } => true,
            Error::Ftrace(e) => e.is_unsupported(),
            _ => false,
        }
    }

    /// True when the kernel refused for lack of privilege (tracefs needs root).
    pub fn is_permission(&self) -> bool {
        match self {
            Error::Permission { .. } => true,
            Error::Ftrace(e) => e.is_permission(),
            Error::Syscall(e) => e.is_permission(),
            _ => false,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
