//! Reading the tracee's memory: strings, buffers, structures and pointer arrays.

use super::*;

/// Reads a NUL-terminated string of at most `max` bytes; `None` if unreadable.
#[doc(alias = "process_vm_readv")]
pub fn read_string(pid: Pid, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    let mut a = addr;
    while out.len() <= max {
        // Stay within the page so a read never fails because the next page is unmapped.
        let room = (4096 - (a % 4096) as usize).min(chunk.len());
        let n = match read_mem(pid, a, chunk.get_mut(..room)?) {
            Ok(n) => n,
            // Unmapped after the bytes shown: strace shows them as truncated.
            Err(_) if out.len() >= max => break,
            Err(_) => return None,
        };
        if n == 0 {
            break;
        }
        let got = chunk.get(..n)?;
        if let Some(z) = got.iter().position(|&c| c == 0) {
            out.extend_from_slice(got.get(..z)?);
            let trunc = out.len() > max;
            out.truncate(max);
            return Some((out, trunc));
        }
        out.extend_from_slice(got);
        a += n as u64;
    }
    out.truncate(max);
    Some((out, true))
}

/// Reads exactly `len` bytes (or fewer if unmapped).
pub(super) fn read_bytes(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len];
    let n = read_mem(pid, addr, &mut b).ok()?;
    b.truncate(n);
    Some(b)
}

/// Reads a structure of `len` bytes whole; `None` if any of it is unreadable.
pub(super) fn read_struct(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    read_bytes(pid, addr, len).filter(|b| b.len() == len)
}

/// The native-endian unsigned field of `len` bytes (1, 2, 4 or 8) at `off` in `b`, a structure
/// [`read_struct`] read whole (so the field is there; 0 only for a layout error of ours).
pub(super) fn field(b: &[u8], off: usize, len: usize) -> u64 {
    let Ok(mut c) = Cursor::at(b, off) else { return 0 };
    let v = match len {
        1 => c.u8().map(u64::from),
        2 => c.u16().map(u64::from),
        4 => c.u32().map(u64::from),
        _ => c.u64(),
    };
    v.unwrap_or(0)
}

/// How a NUL-terminated array of pointers ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArrayEnd {
    /// At its NULL.
    Terminated,
    /// Unreadable at this address before a NULL.
    Unreadable(u64),
    /// More than asked for.
    More,
}

/// A NUL-terminated array of pointers (argv, envp): the pointers, at most `max`, and how the
/// reading ended.
pub(super) fn pointers(pid: Pid, v: u64, max: u64) -> (Vec<u64>, ArrayEnd) {
    let mut out = Vec::new();
    for i in 0..=max {
        let at = v.wrapping_add(8 * i);
        match read_struct(pid, at, 8).map(|b| field(&b, 0, 8)) {
            Some(0) => return (out, ArrayEnd::Terminated),
            None => return (out, ArrayEnd::Unreadable(at)),
            Some(_) if i == max => break,
            Some(p) => out.push(p),
        }
    }
    (out, ArrayEnd::More)
}
