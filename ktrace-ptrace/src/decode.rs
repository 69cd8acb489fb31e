//! strace-like rendering of syscall arguments and results: paths and strings from tracee memory,
//! flags by name, errno names, buffers, sockaddrs, timespecs, execve argv.

use std::fmt::Write;

use nix::unistd::Pid;

use crate::sys::read_mem;

mod table;

use table::{Names, shown_args, signature};

/// How to show one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// A C `int`: the low 32 bits, signed.
    Int,
    Uint,
    /// A C `long` or `off_t`: all 64 bits, signed.
    Long,
    /// Hexadecimal as C's `%#x` (`0` for zero).
    Hex,
    /// A file offset: `0`, or hexadecimal.
    Off,
    Ptr,
    Fd,
    AtFd,
    Path,
    /// A buffer whose length is the argument at this index (read at entry: write-like).
    BufIn(usize),
    /// A buffer filled by the call, its length the return value (read at exit: read-like).
    BufOut,
    OpenFlags,
    /// Open flags without the access mode (pipe2, dup3): `0` when none.
    OpenFlags0,
    /// A file mode in octal (`0644`).
    Mode,
    AccessMode,
    AtFlags,
    Prot,
    MapFlags,
    Signal,
    Argv,
    /// An environment vector: strace shows its address and how many variables it holds.
    Envp,
    SockAddr(usize),
    SockType,
    Timespec,
    CloneFlags,
    /// One of the named values, else hexadecimal with this comment (`0x3001 /* ARCH_??? */`).
    Value(Names, &'static str),
    /// Flag bits by name.
    Named(Names),
    /// A `struct stat` filled by the call.
    Stat,
    /// statx's flags: the sync type, then `AT_*` flags.
    StatxFlags,
    /// A `struct statx` filled by the call.
    Statx,
    /// A `struct sigaction` (the new one at entry, the old one filled by the call).
    SigAction,
    /// A signal set (`[INT QUIT]`, or `~[…]` for the complement when most are set).
    SigSet,
    /// getdents64's buffer: its address and how many entries the call returned.
    Dirents,
    /// fcntl's third argument, as its command takes it.
    FcntlArg,
    /// The two descriptors pipe and pipe2 return.
    PipeFds,
    /// getcwd's buffer: the directory returned.
    Cwd,
    /// A `struct rlimit`.
    Rlimit,
    /// futex's operation (`FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`).
    FutexOp,
    /// futex's sixth argument (`FUTEX_BITSET_MATCH_ANY`).
    FutexVal3,
    /// sched_getaffinity's CPU set, filled by the call (its size the return value).
    CpuSet,
    /// wait4's status, filled by the call.
    WaitStatus,
}

use Arg::*;

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

use table::table;

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
        flags(out, rest, table::OPEN, "0");
    }
}

/// `SIGINT`; the real-time signals as strace names them (`SIGRTMIN`, `SIGRT_1`…).
fn signal_name(sig: i32) -> String {
    match sig {
        32 => "SIGRTMIN".to_owned(),
        33..=64 => format!("SIGRT_{}", sig - 32),
        _ => nix::sys::signal::Signal::try_from(sig).map_or_else(|_| sig.to_string(), |s| s.as_str().to_owned()),
    }
}

/// C's `%#x`: `0` for zero, else `0x…`.
fn hex(out: &mut String, v: u64) {
    if v == 0 {
        out.push('0');
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

/// One of `names`, else hexadecimal with strace's comment for an unknown value.
fn value(out: &mut String, v: u64, names: Names, unknown: &str) {
    match names.iter().find(|(n, _)| *n == v) {
        Some((_, name)) => out.push_str(name),
        None => {
            hex(out, v);
            let _ = write!(out, " /* {unknown} */");
        }
    }
}

/// Reads a native-endian u64 of the tracee.
fn read_u64(pid: Pid, addr: u64) -> Option<u64> {
    read_bytes(pid, addr, 8)?.try_into().ok().map(u64::from_ne_bytes)
}

/// The u64 at `off` in `b`.
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off + 8)?.try_into().ok().map(u64::from_ne_bytes)
}

/// A signal set of 64 bits as strace shows it: `[CHLD INT]`, or `~[…]` with the signals not in it
/// when more than half are.
fn sigset(out: &mut String, mask: u64) {
    let (mask, neg) = if mask.count_ones() > 32 { (!mask, true) } else { (mask, false) };
    out.push_str(if neg { "~[" } else { "[" });
    let mut first = true;
    for sig in 1..=64i32 {
        if mask & (1 << (sig - 1)) != 0 {
            if !first {
                out.push(' ');
            }
            first = false;
            let n = signal_name(sig);
            out.push_str(n.strip_prefix("SIG").unwrap_or(&n));
        }
    }
    out.push(']');
}

/// An rlimit value: `RLIM64_INFINITY`, `8192*1024` for multiples of 1024, else decimal.
fn rlim(out: &mut String, v: u64) {
    if v == u64::MAX {
        out.push_str("RLIM64_INFINITY");
    } else if v > 0 && v % 1024 == 0 {
        let _ = write!(out, "{}*1024", v / 1024);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Clone flags and the exit signal in the low byte: `CLONE_VM|…|SIGCHLD`.
fn clone_flags(out: &mut String, v: u64) {
    let sig = v & 0xff;
    if v & !0xff != 0 || sig == 0 {
        flags(out, v & !0xff, table::CLONE, "0");
        if sig == 0 {
            return;
        }
        out.push('|');
    }
    out.push_str(&signal_name(sig as i32));
}

/// A file mode's type and permissions: `S_IFREG|0644`.
fn file_mode(out: &mut String, mode: u64) {
    let kind = mode & libc::S_IFMT as u64;
    match table::S_IF.iter().find(|(k, _)| *k == kind) {
        Some((_, n)) => out.push_str(n),
        None => hex(out, kind),
    }
    let _ = write!(out, "|0{:03o}", mode & 0o7777);
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

fn arg(out: &mut String, pid: Pid, name: &str, kind: Arg, v: u64, args: &[u64; 6], ret: Option<i64>) {
    match kind {
        Int => {
            // C `int` arguments: only the low 32 bits are meaningful.
            let _ = write!(out, "{}", v as i32);
        }
        Uint => {
            let _ = write!(out, "{v}");
        }
        Long => {
            let _ = write!(out, "{}", v as i64);
        }
        Hex => hex(out, v),
        Off => hex(out, v),
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
            None => arg(out, pid, name, Ptr, v, args, ret),
        },
        BufIn(len_idx) => {
            let len = args.get(len_idx).copied().unwrap_or(0) as usize;
            match read_bytes(pid, v, len.min(STRING_LIMIT)) {
                Some(b) => quote(out, &b, len > STRING_LIMIT),
                None => arg(out, pid, name, Ptr, v, args, ret),
            }
        }
        BufOut => match ret {
            Some(n) if n >= 0 => match read_bytes(pid, v, (n as usize).min(STRING_LIMIT)) {
                Some(b) => quote(out, &b, n as usize > STRING_LIMIT),
                None => arg(out, pid, name, Ptr, v, args, ret),
            },
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        OpenFlags => open_flags(out, v),
        Mode => {
            // C's `%#03o`: `000`, `0644`.
            let _ = write!(out, "0{:02o}", v & 0o7777_7777);
        }
        OpenFlags0 => flags(out, v, table::OPEN, "0"),
        AccessMode => flags(out, v, table::ACCESS, "F_OK"),
        AtFlags if name == "faccessat2" => flags(out, v, table::AT_ACCESS, "0"),
        AtFlags => flags(out, v, table::AT, "0"),
        Value(names, unknown) => value(out, v, names, unknown),
        Named(names) => flags(out, v, names, "0"),
        SockType => {
            value(out, v & 0xf, table::SOCK_TYPE, "SOCK_???");
            if v & !0xf != 0 {
                out.push('|');
                flags(out, v & !0xf, table::SOCK_FLAGS, "0");
            }
        }
        StatxFlags => {
            // The sync type is a value of two bits (AT_STATX_SYNC_AS_STAT is 0), then the flags.
            value(out, v & libc::AT_STATX_SYNC_TYPE as u64, table::STATX_SYNC, "AT_STATX_???");
            if v & !(libc::AT_STATX_SYNC_TYPE as u64) != 0 {
                out.push('|');
                flags(out, v & !(libc::AT_STATX_SYNC_TYPE as u64), table::AT, "0");
            }
        }
        // Structures the call fills are shown only when it succeeded.
        Statx | Stat | PipeFds | Cwd | CpuSet | WaitStatus | Dirents if v == 0 || ret.is_none_or(|r| r < 0) => {
            arg(out, pid, name, Ptr, v, args, ret);
        }
        Stat => match read_bytes(pid, v, std::mem::size_of::<libc::stat>()) {
            Some(b) if b.len() == std::mem::size_of::<libc::stat>() => {
                let field = |off: usize, len: usize| -> u64 {
                    let mut w = [0u8; 8];
                    if let (Some(d), Some(s)) = (w.get_mut(..len), b.get(off..off + len)) {
                        d.copy_from_slice(s);
                    }
                    u64::from_ne_bytes(w)
                };
                let mode = field(std::mem::offset_of!(libc::stat, st_mode), 4);
                out.push_str("{st_mode=");
                file_mode(out, mode);
                let kind = mode & libc::S_IFMT as u64;
                if kind == libc::S_IFCHR as u64 || kind == libc::S_IFBLK as u64 {
                    let dev = field(std::mem::offset_of!(libc::stat, st_rdev), 8);
                    out.push_str(", st_rdev=makedev(");
                    hex(out, libc::major(dev) as u64);
                    out.push_str(", ");
                    hex(out, libc::minor(dev) as u64);
                    out.push(')');
                } else {
                    let _ = write!(out, ", st_size={}", field(std::mem::offset_of!(libc::stat, st_size), 8) as i64);
                }
                out.push_str(", ...}");
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        Statx => match read_bytes(pid, v, 48) {
            Some(b) if b.len() == 48 => {
                let w = |off: usize, len: usize| -> u64 {
                    let mut w = [0u8; 8];
                    if let (Some(d), Some(s)) = (w.get_mut(..len), b.get(off..off + len)) {
                        d.copy_from_slice(s);
                    }
                    u64::from_ne_bytes(w)
                };
                out.push_str("{stx_mask=");
                flags(out, w(0, 4), table::STATX_MASK, "0");
                out.push_str(", stx_attributes=");
                flags(out, w(8, 8), table::STATX_ATTR, "0");
                out.push_str(", stx_mode=");
                file_mode(out, w(28, 2));
                let _ = write!(out, ", stx_size={}, ...}}", w(40, 8));
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        PipeFds => match read_bytes(pid, v, 8).as_deref() {
            Some([a0, a1, a2, a3, b0, b1, b2, b3]) => {
                let (a, b) = (i32::from_ne_bytes([*a0, *a1, *a2, *a3]), i32::from_ne_bytes([*b0, *b1, *b2, *b3]));
                let _ = write!(out, "[{a}, {b}]");
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        Cwd => match read_string(pid, v, 4096) {
            Some((s, t)) => quote(out, &s, t),
            None => arg(out, pid, name, Ptr, v, args, ret),
        },
        CpuSet => {
            let n = ret.unwrap_or(0).clamp(0, 1024) as usize;
            match read_bytes(pid, v, n) {
                Some(b) => {
                    out.push('[');
                    let cpus = (0..b.len() * 8).filter(|i| b.get(i / 8).is_some_and(|c| c & (1 << (i % 8)) != 0));
                    for (k, cpu) in cpus.enumerate() {
                        let _ = write!(out, "{}{cpu}", if k > 0 { " " } else { "" });
                    }
                    out.push(']');
                }
                None => arg(out, pid, name, Ptr, v, args, ret),
            }
        }
        WaitStatus if ret == Some(0) => arg(out, pid, name, Ptr, v, args, ret),
        WaitStatus => match read_bytes(pid, v, 4).as_deref() {
            Some([a, b, c, d]) => {
                let s = i32::from_ne_bytes([*a, *b, *c, *d]);
                if libc::WIFEXITED(s) {
                    let _ = write!(out, "[{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}]", libc::WEXITSTATUS(s));
                } else if libc::WIFSIGNALED(s) {
                    let core = if libc::WCOREDUMP(s) { " && WCOREDUMP(s)" } else { "" };
                    let _ = write!(out, "[{{WIFSIGNALED(s) && WTERMSIG(s) == {}{core}}}]", signal_name(libc::WTERMSIG(s)));
                } else {
                    let _ = write!(out, "[{s:#x}]");
                }
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        Dirents => {
            // `0x55… /* 13 entries */`: the records' d_reclen (at offset 16) walks the buffer.
            hex(out, v);
            let n = ret.unwrap_or(0).clamp(0, 1 << 20) as usize;
            let b = read_bytes(pid, v, n).unwrap_or_default();
            let (mut off, mut count) = (0usize, 0usize);
            while let Some([l0, l1]) = b.get(off + 16..off + 18) {
                let len = u16::from_ne_bytes([*l0, *l1]) as usize;
                if len == 0 {
                    break;
                }
                count += 1;
                off += len;
            }
            let _ = write!(out, " /* {count} entries */");
        }
        SigSet if v == 0 => out.push_str("NULL"),
        SigSet => match read_u64(pid, v) {
            Some(m) => sigset(out, m),
            None => arg(out, pid, name, Ptr, v, args, ret),
        },
        SigAction if v == 0 => out.push_str("NULL"),
        SigAction => match read_bytes(pid, v, 32) {
            Some(b) if b.len() == 32 => {
                let f = |i: usize| u64_at(&b, 8 * i).unwrap_or(0);
                let (handler, fl, restorer, mask) = (f(0), f(1), f(2), f(3));
                out.push_str("{sa_handler=");
                match handler {
                    0 => out.push_str("SIG_DFL"),
                    1 => out.push_str("SIG_IGN"),
                    h => hex(out, h),
                }
                out.push_str(", sa_mask=");
                sigset(out, mask);
                out.push_str(", sa_flags=");
                flags(out, fl, table::SA, "0");
                if fl & 0x0400_0000 != 0 {
                    out.push_str(", sa_restorer=");
                    hex(out, restorer);
                }
                out.push('}');
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        FcntlArg => match args.get(1).map(|&c| c as i32) {
            Some(libc::F_SETFD) => flags(out, v, table!(FD_CLOEXEC), "0"),
            Some(libc::F_SETFL) => open_flags(out, v),
            Some(libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETPIPE_SZ) => {
                let _ = write!(out, "{}", v as i32);
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        Rlimit if v == 0 => out.push_str("NULL"),
        Rlimit => match read_bytes(pid, v, 16) {
            Some(b) if b.len() == 16 => {
                out.push_str("{rlim_cur=");
                rlim(out, u64_at(&b, 0).unwrap_or(0));
                out.push_str(", rlim_max=");
                rlim(out, u64_at(&b, 8).unwrap_or(0));
                out.push('}');
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
        FutexOp => {
            value(out, v & 0x7f, table::FUTEX_CMD, "FUTEX_???");
            if v & 128 != 0 {
                out.push_str("_PRIVATE");
            }
            if v & 256 != 0 {
                out.push_str("|FUTEX_CLOCK_REALTIME");
            }
        }
        FutexVal3 if v as u32 == u32::MAX => out.push_str("FUTEX_BITSET_MATCH_ANY"),
        FutexVal3 => hex(out, v),
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
        CloneFlags => clone_flags(out, v),
        Argv => {
            out.push('[');
            for i in 0..32u64 {
                let Some(p) = read_bytes(pid, v + 8 * i, 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes)
                else {
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
                match read_bytes(pid, v + 8 * n, 8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes) {
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
                _ => arg(out, pid, name, Ptr, v, args, ret),
            }
        }
        Timespec if v == 0 => out.push_str("NULL"),
        Timespec => match read_bytes(pid, v, 16).as_deref().and_then(|b| b.split_first_chunk::<8>()) {
            Some((sec, rest)) if rest.len() == 8 => {
                let s = i64::from_ne_bytes(*sec);
                let ns = i64::from_ne_bytes(rest.try_into().unwrap_or_default());
                let _ = write!(out, "{{tv_sec={s}, tv_nsec={ns}}}");
            }
            _ => arg(out, pid, name, Ptr, v, args, ret),
        },
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
    if name == "clone" {
        write_clone(out, args);
    } else {
        write_args(out, pid, name, args, ret);
    }
    out.push(')');
    if let Some(r) = ret {
        match (name, args.get(1).map(|&c| c as i32)) {
            // `= 0x1 (flags FD_CLOEXEC)`, `= 0x8002 (flags O_RDWR|O_LARGEFILE)`.
            ("fcntl", Some(cmd @ (libc::F_GETFD | libc::F_GETFL))) if r >= 0 => {
                out.push_str(" = ");
                hex(out, r as u64);
                out.push_str(" (flags ");
                if cmd == libc::F_GETFD {
                    flags(out, r as u64, table!(FD_CLOEXEC), "0");
                } else {
                    open_flags(out, r as u64);
                }
                out.push(')');
            }
            _ => format_ret(out, name, r),
        }
    }
}

/// x86_64's clone(flags, stack, parent_tid, child_tid, tls) as strace shows it: by name, the
/// stack first, the tids and tls only when the flags use them.
fn write_clone(out: &mut String, args: &[u64; 6]) {
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    let ptr = |out: &mut String, v: u64| if v == 0 { out.push_str("NULL") } else { hex(out, v) };
    out.push_str("child_stack=");
    ptr(out, a(1));
    out.push_str(", flags=");
    clone_flags(out, a(0));
    let f = a(0) as i32;
    if f & libc::CLONE_PARENT_SETTID != 0 {
        out.push_str(", parent_tid=");
        ptr(out, a(2));
    }
    if f & (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) != 0 {
        out.push_str(", child_tidptr=");
        ptr(out, a(3));
    }
    if f & libc::CLONE_SETTLS != 0 {
        out.push_str(", tls=");
        ptr(out, a(4));
    }
}

/// The arguments of `name` from its signature, those strace shows for these values.
fn write_args(out: &mut String, pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) {
    let sig = signature(name);
    let shown = shown_args(name, args, sig.len());
    let mut first = true;
    for (i, kind) in sig.iter().enumerate().filter(|(i, _)| shown & (1 << i) != 0) {
        if !first {
            out.push_str(", ");
        }
        first = false;
        arg(out, pid, name, *kind, args.get(i).copied().unwrap_or(0), args, ret);
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
