//! The one call ktrace-kprobe makes outside tracefs and perf: mapping an ELF file.
#![allow(unsafe_code, reason = "mapping a file")]

/// Maps a regular file read-only, or says what the file is instead (`Ok(Err("a FIFO"))`).
///
/// Opens with O_NONBLOCK so a FIFO does not block the open, and refuses anything but a non-empty
/// regular file: a device such as `/dev/zero` would otherwise be read without end. An error comes
/// with the call that failed (`open`, `fstat`, `mmap`).
pub(crate) fn map_regular(path: &str) -> Result<Result<memmap2::Mmap, &'static str>, (&'static str, std::io::Error)> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| ("open", e))?;
    let meta = f.metadata().map_err(|e| ("fstat", e))?;
    if !meta.is_file() {
        return Ok(Err(ktrace_core::hint::file_kind(meta.mode())));
    }
    if meta.len() == 0 {
        return Err(("mmap", std::io::Error::new(std::io::ErrorKind::InvalidData, "empty file")));
    }
    // SAFETY: a read-only private mapping of a regular file that is only read. A file truncated
    // by someone else while mapped would fault (SIGBUS), as for any mmap reader (perf, gdb).
    unsafe { memmap2::Mmap::map(&f) }.map(Ok).map_err(|e| ("mmap", e))
}
