//! strace-like rendering of syscall arguments and results: paths and strings from tracee memory,
//! flags by name, errno names, buffers, sockaddrs, timespecs, execve argv.

use std::fmt::Write;

use ktrace_core::Cursor;
use nix::unistd::Pid;

use crate::sys::read_mem;

/// How to show one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    Int,
    Uint,
    Hex,
    Ptr,
    Fd,
    AtFd,
    Path,
    /// A buffer whose length is the argument at this index (read at entry: write-like).
    BufIn(usize),
    /// A buffer filled by the call, its length the return value (read at exit: read-like).
    BufOut,
    OpenFlags,
    Mode,
    Prot,
    MapFlags,
    Signal,
    Argv,
    /// An environment vector: strace shows its address and how many variables it holds.
    Envp,
    SockAddr(usize),
    Timespec,
    CloneFlags,
}

use Arg::*;

fn signature(name: &str) -> &'static [Arg] {
    match name {
        "read" => &[Fd, BufOut, Uint],
        "pread64" => &[Fd, BufOut, Uint, Int],
        "write" => &[Fd, BufIn(2), Uint],
        "pwrite64" => &[Fd, BufIn(2), Uint, Int],
        "open" => &[Path, OpenFlags, Mode],
        "openat" => &[AtFd, Path, OpenFlags, Mode],
        "creat" => &[Path, Mode],
        "close" | "fsync" | "fdatasync" | "dup" => &[Fd],
        "dup2" | "dup3" => &[Fd, Fd, Hex],
        "stat" | "lstat" | "statfs" => &[Path, Ptr],
        "fstat" | "fstatfs" => &[Fd, Ptr],
        "newfstatat" => &[AtFd, Path, Ptr, Hex],
        "statx" => &[AtFd, Path, Hex, Hex, Ptr],
        "access" => &[Path, Mode],
        "faccessat" | "faccessat2" => &[AtFd, Path, Mode, Hex],
        "readlink" => &[Path, Ptr, Uint],
        "readlinkat" => &[AtFd, Path, Ptr, Uint],
        "unlink" | "rmdir" | "chdir" | "chroot" => &[Path],
        "unlinkat" => &[AtFd, Path, Hex],
        "mkdir" => &[Path, Mode],
        "mkdirat" => &[AtFd, Path, Mode],
        "rename" | "symlink" | "link" => &[Path, Path],
        "renameat" | "renameat2" => &[AtFd, Path, AtFd, Path, Hex],
        "execve" => &[Path, Argv, Envp],
        "execveat" => &[AtFd, Path, Argv, Envp, Hex],
        "mmap" => &[Ptr, Uint, Prot, MapFlags, Fd, Hex],
        "mprotect" => &[Ptr, Uint, Prot],
        "munmap" => &[Ptr, Uint],
        "brk" => &[Ptr],
        "lseek" => &[Fd, Int, Int],
        "getdents64" => &[Fd, Ptr, Uint],
        "ioctl" => &[Fd, Hex, Ptr],
        "fcntl" => &[Fd, Int, Hex],
        "kill" | "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, Ptr, Ptr, Uint],
        "rt_sigprocmask" => &[Int, Ptr, Ptr, Uint],
        "exit" | "exit_group" => &[Int],
        "wait4" => &[Int, Ptr, Hex, Ptr],
        "clone" => &[CloneFlags, Ptr, Ptr, Ptr, Hex],
        "socket" => &[Int, Int, Int],
        "connect" | "bind" => &[Fd, SockAddr(2), Uint],
        "sendto" => &[Fd, BufIn(2), Uint, Hex, SockAddr(5), Uint],
        "nanosleep" => &[Timespec, Ptr],
        "clock_nanosleep" => &[Int, Hex, Timespec, Ptr],
        "pipe" | "pipe2" => &[Ptr, Hex],
        "getppid" | "getpid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid" | "sched_yield" => &[],
        "getsid" | "getpgid" => &[Int],
        _ => &[Hex, Hex, Hex, Hex, Hex, Hex],
    }
}

/// How many bytes of strings and buffers to show (`strace -s`).
pub const STRING_LIMIT: usize = 32;

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
        let n = read_mem(pid, a, chunk.get_mut(..room)?).ok()?;
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
fn read_bytes(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len];
    let n = read_mem(pid, addr, &mut b).ok()?;
    b.truncate(n);
    Some(b)
}

/// The tracee's `u64` at `addr` (`None` when it cannot be read whole).
fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    Cursor::new(&read_bytes(pid, addr, 8)?).u64().ok()
}

/// strace's quoting (`string_quote()` in strace's util.c): printable ASCII as is; `\" \\ \f \n \r
/// \t \v` escaped; other bytes in octal, in the fewest digits unless the next byte shown is an
/// octal digit, when all three are needed to keep it unambiguous (`\1` + `23` is `\00123`, not
/// `\123`).
pub fn quote(out: &mut String, b: &[u8], truncated: bool) {
    out.push('"');
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            0x20..=0x7e => out.push(c as char),
            _ if matches!(b.get(i + 1), Some(b'0'..=b'7')) => {
                let _ = write!(out, "\\{c:03o}");
            }
            _ => {
                let _ = write!(out, "\\{c:o}");
            }
        }
    }
    out.push('"');
    if truncated {
        out.push_str("...");
    }
}

fn flags(out: &mut String, v: u64, table: &[(u64, &str)], zero: &str) {
    if v == 0 {
        out.push_str(zero);
        return;
    }
    let mut rest = v;
    let mut first = true;
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            if !first {
                out.push('|');
            }
            out.push_str(name);
            rest &= !bit;
            first = false;
        }
    }
    if rest != 0 {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "{rest:#x}");
    }
}

macro_rules! table {
    ($($c:ident),* $(,)?) => { &[$((libc::$c as u64, stringify!($c))),*] };
}

fn open_flags(out: &mut String, v: u64) {
    out.push_str(match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    });
    let rest = v & !3;
    if rest != 0 {
        out.push('|');
        // O_TMPFILE includes O_DIRECTORY and O_SYNC includes O_DSYNC: composites first.
        let t: &[(u64, &str)] = table!(
            O_TMPFILE,
            O_SYNC,
            O_CREAT,
            O_EXCL,
            O_NOCTTY,
            O_TRUNC,
            O_APPEND,
            O_NONBLOCK,
            O_DSYNC,
            O_ASYNC,
            O_DIRECT,
            O_LARGEFILE,
            O_DIRECTORY,
            O_NOFOLLOW,
            O_NOATIME,
            O_CLOEXEC,
            O_PATH
        );
        flags(out, rest, t, "0");
    }
}

fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig).map_or_else(|_| sig.to_string(), |s| s.as_str().to_owned())
}

/// The kernel's internal restart codes a syscall-exit stop can show (include/linux/errno.h), with
/// strace's texts for them: strace prints them as `= ? ERESTARTSYS (To be restarted if SA_RESTART
/// is set)`, since the tracee never sees them.
fn restart_errno(e: i32) -> Option<(&'static str, &'static str)> {
    match e {
        512 => Some(("ERESTARTSYS", "To be restarted if SA_RESTART is set")),
        513 => Some(("ERESTARTNOINTR", "To be restarted")),
        514 => Some(("ERESTARTNOHAND", "To be restarted if no handler")),
        516 => Some(("ERESTART_RESTARTBLOCK", "Interrupted by signal")),
        _ => None,
    }
}

/// The errno name for a positive errno (`ENOENT`), as strace prints it: the kernel's restart codes
/// by their kernel names, an errno without a name as its number.
pub fn errno_name(e: i32) -> String {
    match (restart_errno(e), nix::errno::Errno::from_raw(e)) {
        (Some((name, _)), _) => name.to_owned(),
        (None, nix::errno::Errno::UnknownErrno) => e.to_string(),
        (None, known) => format!("{known:?}"),
    }
}

fn arg(out: &mut String, pid: Pid, kind: Arg, v: u64, args: &[u64; 6], ret: Option<i64>) {
    match kind {
        Int => {
            // C `int` arguments: only the low 32 bits are meaningful.
            let _ = write!(out, "{}", v as i32);
        }
        Uint => {
            let _ = write!(out, "{v}");
        }
        Hex => {
            let _ = write!(out, "{v:#x}");
        }
        Ptr => {
            if v == 0 {
                out.push_str("NULL");
            } else {
                let _ = write!(out, "{v:#x}");
            }
        }
        Fd => {
            let _ = write!(out, "{}", v as i32);
        }
        AtFd => {
            if v as i32 == libc::AT_FDCWD {
                out.push_str("AT_FDCWD");
            } else {
                let _ = write!(out, "{}", v as i32);
            }
        }
        Path => match read_string(pid, v, 4096) {
            Some((s, t)) => quote(out, &s, t),
            None => arg(out, pid, Ptr, v, args, ret),
        },
        BufIn(len_idx) => {
            let len = args.get(len_idx).copied().unwrap_or(0) as usize;
            match read_bytes(pid, v, len.min(STRING_LIMIT)) {
                Some(b) => quote(out, &b, len > STRING_LIMIT),
                None => arg(out, pid, Ptr, v, args, ret),
            }
        }
        BufOut => match ret {
            Some(n) if n >= 0 => match read_bytes(pid, v, (n as usize).min(STRING_LIMIT)) {
                Some(b) => quote(out, &b, n as usize > STRING_LIMIT),
                None => arg(out, pid, Ptr, v, args, ret),
            },
            _ => arg(out, pid, Ptr, v, args, ret),
        },
        OpenFlags => open_flags(out, v),
        Mode => {
            let _ = write!(out, "{v:#o}");
        }
        Prot => flags(out, v, table!(PROT_READ, PROT_WRITE, PROT_EXEC), "PROT_NONE"),
        MapFlags => flags(
            out,
            v,
            table!(
                MAP_SHARED,
                MAP_PRIVATE,
                MAP_FIXED,
                MAP_ANONYMOUS,
                MAP_DENYWRITE,
                MAP_NORESERVE,
                MAP_POPULATE,
                MAP_STACK,
                MAP_GROWSDOWN,
                MAP_FIXED_NOREPLACE
            ),
            "0",
        ),
        Signal => out.push_str(&signal_name(v as i32)),
        CloneFlags => {
            let sig = v & 0xff;
            flags(
                out,
                v & !0xff,
                table!(
                    CLONE_VM,
                    CLONE_FS,
                    CLONE_FILES,
                    CLONE_SIGHAND,
                    CLONE_PTRACE,
                    CLONE_VFORK,
                    CLONE_PARENT,
                    CLONE_THREAD,
                    CLONE_NEWNS,
                    CLONE_SYSVSEM,
                    CLONE_SETTLS,
                    CLONE_PARENT_SETTID,
                    CLONE_CHILD_CLEARTID,
                    CLONE_CHILD_SETTID
                ),
                "0",
            );
            if sig != 0 {
                out.push('|');
                out.push_str(&signal_name(sig as i32));
            }
        }
        Argv => {
            out.push('[');
            for i in 0..32u64 {
                let Some(p) = read_u64(pid, v + 8 * i) else {
                    break;
                };
                if p == 0 {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                match read_string(pid, p, STRING_LIMIT) {
                    Some((s, t)) => quote(out, &s, t),
                    None => out.push('?'),
                }
            }
            out.push(']');
        }
        Envp => {
            // `0x7ffd… /* 23 vars */`, as strace prints it (counted up to 4096 entries).
            let _ = write!(out, "{v:#x}");
            let mut n = 0u64;
            while n < 4096 {
                match read_u64(pid, v + 8 * n) {
                    Some(0) | None => break,
                    Some(_) => n += 1,
                }
            }
            if v != 0 {
                let _ = write!(out, " /* {n} var{} */", if n == 1 { "" } else { "s" });
            }
        }
        SockAddr(len_idx) => {
            let len = args.get(len_idx).copied().unwrap_or(0) as usize;
            match read_bytes(pid, v, len.min(128)).as_deref() {
                Some([f0, f1, rest @ ..]) => match u16::from_ne_bytes([*f0, *f1]) as i32 {
                    libc::AF_UNIX => {
                        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                        out.push_str("{sa_family=AF_UNIX, sun_path=");
                        quote(out, rest.get(..end).unwrap_or_default(), false);
                        out.push('}');
                    }
                    libc::AF_INET if rest.len() >= 6 => {
                        if let [p0, p1, a, b, c, d, ..] = rest {
                            let port = u16::from_be_bytes([*p0, *p1]);
                            let _ = write!(
                                out,
                                "{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"{a}.{b}.{c}.{d}\")}}"
                            );
                        }
                    }
                    f => {
                        let _ = write!(out, "{{sa_family={f}, ...}}");
                    }
                },
                _ => arg(out, pid, Ptr, v, args, ret),
            }
        }
        Timespec => {
            // `struct timespec`: tv_sec, tv_nsec (i64 each on 64-bit).
            let ts = read_bytes(pid, v, 16).and_then(|b| {
                let mut c = Cursor::new(&b);
                Some((c.i64().ok()?, c.i64().ok()?))
            });
            match ts {
                Some((s, ns)) => {
                    let _ = write!(out, "{{tv_sec={s}, tv_nsec={ns}}}");
                }
                None => arg(out, pid, Ptr, v, args, ret),
            }
        }
    }
}

/// Renders `name(args…)`; with `ret`, adds ` = ret` (or ` = -1 ENOENT (…)`) as strace does.
pub fn format_call(pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) -> String {
    let mut out = String::with_capacity(64);
    write_call(&mut out, pid, name, args, ret);
    out
}

/// Like [`format_call`], appending to `out` (reuse one buffer to render without allocating).
pub fn write_call(out: &mut String, pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) {
    out.push_str(name);
    out.push('(');
    for (i, kind) in signature(name).iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        arg(out, pid, *kind, args.get(i).copied().unwrap_or(0), args, ret);
    }
    out.push(')');
    if let Some(r) = ret {
        format_ret(out, name, r);
    }
}

/// Appends ` = value` (hex for mmap/brk, `-1 ERRNO (strerror text)` for errors, `? ERESTARTSYS
/// (…)` for the kernel's restart codes), as strace does.
pub fn format_ret(out: &mut String, name: &str, r: i64) {
    if (-4095..0).contains(&r) {
        let e = -r as i32;
        match restart_errno(e) {
            Some((name, text)) => {
                let _ = write!(out, " = ? {name} ({text})");
            }
            // The C library's message, as strace prints it (nix's own table has older texts:
            // "Bad file number" for EBADF, "Not a typewriter" for ENOTTY).
            None => {
                let _ = write!(out, " = -1 {} ({})", errno_name(e), crate::sys::strerror(e));
            }
        }
    } else if matches!(name, "mmap" | "brk" | "mremap") {
        let _ = write!(out, " = {r:#x}");
    } else {
        let _ = write!(out, " = {r}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn flags_and_quotes() {
        let mut s = String::new();
        open_flags(&mut s, (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64);
        assert_eq!(s, "O_WRONLY|O_CREAT|O_CLOEXEC");
        let mut s = String::new();
        open_flags(&mut s, 0);
        assert_eq!(s, "O_RDONLY");
        let mut s = String::new();
        quote(&mut s, b"a\n\"\x01", true);
        assert_eq!(s, "\"a\\n\\\"\\1\"...");
        // strace: three octal digits when an octal digit follows, \v and \f by name.
        let mut s = String::new();
        quote(&mut s, b"\x0123\x0b\x0c\x009\x7f\xff8\x1b[", false);
        assert_eq!(s, r#""\00123\v\f\09\177\3778\33[""#);
        let mut s = String::new();
        format_ret(&mut s, "close", -libc::EBADF as i64);
        assert_eq!(s, " = -1 EBADF (Bad file descriptor)");
        let mut s = String::new();
        format_ret(&mut s, "ioctl", -libc::ENOTTY as i64);
        assert_eq!(s, " = -1 ENOTTY (Inappropriate ioctl for device)");
        let mut s = String::new();
        format_ret(&mut s, "read", -512);
        assert_eq!(s, " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        assert_eq!(errno_name(600), "600");
        assert_eq!(errno_name(2), "ENOENT");
        let mut s = String::new();
        format_ret(&mut s, "openat", -2);
        assert_eq!(s, " = -1 ENOENT (No such file or directory)");
        let mut s = String::new();
        flags(
            &mut s,
            (libc::PROT_READ | libc::PROT_WRITE) as u64,
            table!(PROT_READ, PROT_WRITE, PROT_EXEC),
            "PROT_NONE",
        );
        assert_eq!(s, "PROT_READ|PROT_WRITE");
    }
}
