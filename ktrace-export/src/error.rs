//! The export error type.

use ktrace_core::ParseError;

/// What can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Writing the output failed.
    #[error("writing {what}: {source}")]
    Io {
        /// What was being written (`the JSON file`, `CTF stream for cpu 3`…).
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A field of an event could not be written in the layout its format declares (its bytes are
    /// cut short, or its value is not of the declared kind): the output would otherwise carry a
    /// made-up 0, "" or zeroed array.
    #[error("{event}: field {field} at offset {offset}: {what}")]
    Field {
        /// The event (`sched:sched_switch`).
        event: String,
        /// The field's name.
        field: String,
        /// The field's offset in the record.
        offset: usize,
        /// What went wrong.
        what: String,
    },
    /// Reading the source stream failed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The ftrace source failed (a live stream's read, a trace.dat that does not parse).
    #[error(transparent)]
    Ftrace(#[from] ktrace_ftrace::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches what was being written to an I/O error.
pub(crate) trait IoContext<T> {
    fn writing(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn writing(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io { what: what(), source })
    }
}
