//! The one error type of `ktrace-core`: every parser returns it.

use thiserror::Error;

/// A parse error. Every variant names where in the input it happened and what was expected.
///
/// Parsers never panic on input; they return one of these and their iterators stop.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ended before a value could be read.
    #[error("truncated at offset {offset}: wanted {wanted} bytes for {what}, {available} available")]
    Truncated {
        /// Byte offset (in the record, page or text) where the read started.
        offset: usize,
        /// Bytes the read needed.
        wanted: usize,
        /// Bytes that were there.
        available: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A value was read but is not one the format allows.
    #[error("bad value at offset {offset} for {what}: expected {expected}, found {found}")]
    BadValue {
        /// Byte offset of the value.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// What the format allows.
        expected: &'static str,
        /// What was there.
        found: u64,
    },
    /// A text format (header_page, header_event, an event `format` file) did not parse.
    #[error("bad {what} text at line {line}: expected {expected}, found {found:?}")]
    Text {
        /// Which text was being parsed.
        what: &'static str,
        /// 1-based line number.
        line: usize,
        /// What the parser expected.
        expected: &'static str,
        /// The offending text (shortened to 80 bytes).
        found: String,
    },
    /// A field looked up by name does not exist in the event's format.
    #[error("event {event:?} has no field {field:?}")]
    NoField {
        /// The event name.
        event: String,
        /// The field name asked for.
        field: String,
    },
    /// An event id that no known format describes.
    #[error("no format for event id {id}")]
    UnknownEvent {
        /// The common_type id.
        id: u16,
    },
}

impl ParseError {
    /// Shorthand for a [`ParseError::Truncated`].
    pub(crate) fn truncated(what: &'static str, offset: usize, wanted: usize, available: usize) -> Self {
        ParseError::Truncated { offset, wanted, available, what }
    }

    /// Shorthand for a [`ParseError::Text`] error, shortening the found text.
    pub(crate) fn text(what: &'static str, line: usize, expected: &'static str, found: &str) -> Self {
        let mut end = found.len().min(80);
        while !found.is_char_boundary(end) {
            end -= 1;
        }
        ParseError::Text { what, line, expected, found: found.get(..end).unwrap_or("").to_owned() }
    }
}

/// Result alias for core parsers.
pub type Result<T, E = ParseError> = std::result::Result<T, E>;
