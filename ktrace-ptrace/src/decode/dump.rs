//! strace's `-x`/`-e write=` and `-e read=` data dumps: a call's I/O buffers in hexadecimal.

use super::*;

/// strace's hex dump of `b` (`-e read=`, `-e write=`): lines of 16 bytes, ` | 00000  30 31 …
/// 0123… |`, the offset in at least five hex digits.
pub fn hexdump(b: &[u8]) -> String {
    hexdump_of(b, b.len() as u64)
}

/// [`hexdump`] of the first `b.len()` of `len` bytes (the offsets as wide as `len` needs).
fn hexdump_of(b: &[u8], len: u64) -> String {
    let len = usize::try_from(len).unwrap_or(usize::MAX).max(b.len());
    let width = if len > 1 << 20 { 1 + (usize::BITS - 1 - (len - 1).leading_zeros()) as usize / 4 } else { 5 };
    let mut out = String::new();
    for (n, row) in b.chunks(16).enumerate() {
        let _ = write!(out, " | {:0width$x}  ", n * 16);
        for i in 0..16 {
            match row.get(i) {
                Some(c) => {
                    let _ = write!(out, "{c:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        for i in 0..16 {
            out.push(match row.get(i) {
                Some(&c) if (0x20..0x7f).contains(&c) => c as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        out.push_str(" |\n");
    }
    out
}

/// One buffer a call moved ([`io_data`]), read as strace reads it for a dump: in 64 KiB chunks,
/// up to the first chunk that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IoBuffer {
    /// The bytes read.
    pub data: Vec<u8>,
    /// How many bytes the call named.
    pub len: u64,
    /// The chunk that could not be read after some that could: `(pid, address, size)`, shown
    /// ` | <Cannot fetch 1 byte from pid 1234 @0x7f…>` after the dump.
    pub unreadable: Option<(i32, u64, u64)>,
}

impl IoBuffer {
    /// Reads `len` bytes at `addr` of `pid` as strace's dumpstr does: chunks of at most 64 KiB
    /// (the length rounded up to 16 when shorter), each whole or not at all.
    fn read(pid: Pid, addr: u64, len: u64) -> IoBuffer {
        let len = len.min(1 << 26);
        let chunk = len.next_multiple_of(16).min(1 << 16);
        let mut buf = IoBuffer { data: Vec::new(), len, unreadable: None };
        let mut i = 0;
        while i < len {
            let n = (len - i).min(chunk);
            match read_struct(pid, addr.wrapping_add(i), n as usize) {
                Some(b) => buf.data.extend_from_slice(&b),
                None => {
                    // Nothing at all read: strace shows nothing.
                    if i > 0 {
                        buf.unreadable = Some((pid.as_raw(), addr.wrapping_add(i), n));
                    }
                    break;
                }
            }
            i += n;
        }
        buf
    }

    /// The buffer's [`hexdump`], then what could not be read.
    fn dump(&self) -> String {
        let mut out = hexdump_of(&self.data, self.len);
        if let Some((pid, at, n)) = self.unreadable {
            let _ =
                writeln!(out, " | <Cannot fetch {n} byte{} from pid {pid} @{at:#x}>", if n == 1 { "" } else { "s" });
        }
        out
    }
}

/// strace's dump of the data a call moved ([`io_data`]'s buffers): one [`hexdump`], or for
/// an iovec call each buffer's after ` * N bytes in buffer I` (up to the first empty one).
pub fn io_dump(name: &str, buffers: &[IoBuffer]) -> String {
    if !name.ends_with('v') {
        return buffers.iter().map(IoBuffer::dump).collect();
    }
    let mut out = String::new();
    for (i, b) in buffers.iter().enumerate().take_while(|(_, b)| b.len > 0) {
        let _ = writeln!(out, " * {} bytes in buffer {i}", b.len);
        out.push_str(&b.dump());
    }
    out
}

/// The data a read- or write-like call moved, for strace's `-e read=SET` / `-e write=SET` dumps:
/// `(descriptor, written, segments)`: a write's buffer (as strace, even when it failed), a
/// successful read's bytes read; one segment per iovec for readv/writev. `None` for other calls.
pub fn io_data(pid: Pid, name: &str, args: &[u64; 6], ret: i64) -> Option<(i32, bool, Vec<IoBuffer>)> {
    let fd = args[0] as i32;
    let read = |addr: u64, len: u64| Some(IoBuffer::read(pid, addr, len));
    match name {
        "write" | "pwrite64" | "sendto" | "send" => Some((fd, true, vec![read(args[1], args[2])?])),
        "read" | "pread64" | "recvfrom" | "recv" if ret >= 0 => Some((fd, false, vec![read(args[1], ret as u64)?])),
        // Each iovec's data separately: a write's whole, a read's up to what it returned.
        "writev" | "pwritev" | "readv" | "preadv" if !name.contains("read") || ret >= 0 => {
            let written = !name.contains("read");
            let mut left = if written { u64::MAX } else { ret as u64 };
            let mut segs = Vec::new();
            for i in 0..(args[2] & 0xffff_ffff).min(1024) {
                let b = read_struct(pid, args[1].wrapping_add(16 * i), 16)?;
                let len = field(&b, 8, 8).min(left);
                left -= len;
                segs.push(read(field(&b, 0, 8), len)?);
            }
            Some((fd, written, segs))
        }
        _ => None,
    }
}
