//! The few raw syscalls ktrace-ftrace makes itself (everything else goes through `std::fs`).
#![allow(unsafe_code, reason = "reading into a Vec's spare capacity needs a raw read(2)")]

use std::fs::File;
use std::os::fd::AsRawFd;

/// Reads up to `len` bytes from `f` into the spare capacity of `out`, appending them. When the read
/// returns fewer than `len` (but more than 0) bytes, the rest of the `len` is zero-filled so `out`
/// grows by whole pages. Returns the bytes the kernel gave.
pub(crate) fn read_append(f: &File, out: &mut Vec<u8>, len: usize) -> std::io::Result<usize> {
    out.reserve(len);
    let spare = out.spare_capacity_mut();
    let Some(dst) = spare.get_mut(..len) else {
        return Err(std::io::Error::other("reserve() left too little spare capacity"));
    };
    // SAFETY: `dst` is `len` bytes of writable memory owned by `out`; read(2) writes at most `len`
    // bytes into it and nothing else reads it concurrently.
    let n = unsafe { libc::read(f.as_raw_fd(), dst.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = n as usize;
    if n == 0 {
        return Ok(0);
    }
    for b in dst.iter_mut().skip(n) {
        b.write(0);
    }
    // SAFETY: the first `n` bytes were initialized by read(2) and the rest of `len` by the loop above.
    unsafe { out.set_len(out.len() + len) };
    Ok(n)
}

/// `TRACE_MMAP_IOCTL_GET_READER` (`_IO('R', 0x20)`, linux/trace_mmap.h, 6.10+): swap in the next
/// reader sub-buffer of a mapped `trace_pipe_raw`.
const TRACE_MMAP_IOCTL_GET_READER: libc::c_ulong = 0x5220;

/// TRACE_MMAP_IOCTL_GET_READER on a mapped `trace_pipe_raw`.
pub(crate) fn trace_mmap_get_reader(f: &File) -> std::io::Result<()> {
    // SAFETY: the ioctl takes no argument; `f` is an open trace_pipe_raw.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), TRACE_MMAP_IOCTL_GET_READER as _) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// Maps `len` bytes of `f` shared and read-only.
pub(crate) fn map_read_only(f: &File, len: usize) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is of a tracefs ring the kernel writes concurrently; it is only read
    // through `MappedCpuReader`, which reads the bytes of a sub-buffer the kernel has swapped
    // out to the reader (or committed bytes of the writer's page, which do not change).
    unsafe { memmap2::MmapOptions::new().len(len).map(f) }
}
