//! The error type of ktrace-sample.

use thiserror::Error;

/// Everything that can go wrong sampling.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A syscall failed.
    #[error("{call} {path}: {source}")]
    Syscall {
        /// The call.
        call: &'static str,
        /// The path or object.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes from the kernel (or a capture) that do not parse.
    #[error("malformed {what} at offset {offset}: expected {expected}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Byte offset of the problem.
        offset: usize,
        /// What was expected there.
        expected: String,
    },
    /// The kernel or machine cannot do this (no PMU for hardware events…).
    #[error("unsupported: {feature} ({hint})")]
    Unsupported {
        /// What.
        feature: String,
        /// What was observed.
        hint: String,
    },
}

impl Error {
    pub(crate) fn io(call: &'static str, path: impl Into<String>, source: std::io::Error) -> Error {
        Error::Syscall { call, path: path.into(), source }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
