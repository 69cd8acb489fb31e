//! strace's `-x`/`-e write=` and `-e read=` data dumps: a call's I/O buffers in hexadecimal.

use super::*;

/// strace's hex dump of `b` (`-e read=`, `-e write=`): lines of 16 bytes, ` | 00000  30 31 …
/// 0123… |`, the offset in at least five hex digits.
pub fn hexdump(b: &[u8]) -> String {
    let len = b.len();
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

/// strace's dump of the data a call moved ([`io_data`]'s segments): one [`hexdump`], or for
/// an iovec call each buffer's after ` * N bytes in buffer I` (up to the first empty one).
pub fn io_dump(name: &str, segments: &[Vec<u8>]) -> String {
    if !name.ends_with('v') {
        return segments.iter().map(|s| hexdump(s)).collect();
    }
    let mut out = String::new();
    for (i, seg) in segments.iter().enumerate().take_while(|(_, s)| !s.is_empty()) {
        let _ = writeln!(out, " * {} bytes in buffer {i}", seg.len());
        out.push_str(&hexdump(seg));
    }
    out
}

/// The data a read- or write-like call moved, for strace's `-e read=SET` / `-e write=SET` dumps:
/// `(descriptor, written, segments)`: a write's buffer (as strace, even when it failed), a
/// successful read's bytes read; one segment per iovec for readv/writev. `None` for other calls.
pub fn io_data(pid: Pid, name: &str, args: &[u64; 6], ret: i64) -> Option<(i32, bool, Vec<Vec<u8>>)> {
    let fd = args[0] as i32;
    let read = |addr: u64, len: u64| read_bytes(pid, addr, len.min(1 << 26) as usize);
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
