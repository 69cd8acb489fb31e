//! strace-like decoding of syscalls: [`decode_call`] reads a call's arguments from the tracee
//! (paths, buffers, structures) into typed [`Value`]s (flags and constants by name, signal sets,
//! `struct stat`…), and their `Display` renders them as strace prints them.
//!
//! ```no_run
//! use ktrace_ptrace::decode::{Value, decode_call};
//! use ktrace_ptrace::{Event, TraceCommand};
//! let mut t = TraceCommand::new("cat").arg("/etc/hostname").stdout_null().spawn()?;
//! while let Some(ev) = t.next_event()? {
//!     if let Event::SyscallExit { pid, arch, nr, args, ret } = ev
//!         && arch.syscall_name(nr) == Some("openat")
//!     {
//!         let call = decode_call(nix::unistd::Pid::from_raw(pid), "openat", &args, Some(ret));
//!         // The path as bytes, the flags by name; `call` renders as strace's line.
//!         if let Some(Value::Str { bytes, .. }) = call.args.get(1) {
//!             println!("{} opened: {call}", String::from_utf8_lossy(bytes));
//!         }
//!     }
//! }
//! # Ok::<(), ktrace_ptrace::Error>(())
//! ```
//!
//! What is known per syscall is data (`table.rs`: each syscall's argument kinds, and the names of
//! values and flag bits from libc's constants); reading and decoding is here, rendering in
//! `value.rs`.

use ktrace_core::Cursor;
use std::borrow::Cow;
use std::fmt::Write;

use nix::unistd::Pid;

use crate::sys::read_mem;

mod table;
mod value;

use table::{Names, shown_args, signature};
pub use value::{Call, Ret, Value};

/// How to decode one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    /// A C `int`: the low 32 bits, signed.
    Int,
    /// A C `long` or `size_t` in decimal.
    Uint,
    /// A C `unsigned int`: the low 32 bits, unsigned.
    U32,
    /// A user or group id: the low 32 bits, `-1` for the "unchanged" id.
    Uid,
    /// A C `long` or `off_t`: all 64 bits, signed.
    Long,
    Hex,
    Ptr,
    /// A descriptor, or `AT_FDCWD`.
    AtFd,
    /// A NUL-terminated string (a path, an attribute name).
    Path,
    /// A buffer whose length is the argument at this index (read at entry: write-like).
    BufIn(usize),
    /// A buffer filled by the call, its length the return value (read at exit: read-like).
    BufOut,
    OpenFlags,
    /// Open flags without the access mode (pipe2, dup3): `0` when none.
    OpenFlags0,
    /// A file mode's permission bits in octal (`0644`).
    Mode,
    AccessMode,
    AtFlags,
    Signal,
    Argv,
    /// An environment vector: strace shows its address and how many variables it holds.
    Envp,
    SockAddr(usize),
    SockType,
    Timespec,
    /// One of the named values, else hexadecimal with this comment (`0x3001 /* ARCH_??? */`).
    Value(Names, &'static str),
    /// Flag bits by name; the text for none.
    Named(Names, &'static str),
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
    FcntlThird,
    /// The two descriptors pipe and pipe2 return.
    PipeFds,
    /// getcwd's buffer: the directory returned.
    Cwd,
    /// A `struct rlimit`.
    Rlimit,
    /// futex's operation (`FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`).
    FutexOp,
    /// futex's fourth argument: a timeout, or a count (`val2`) for the requeues.
    FutexArg4,
    /// futex's sixth argument (`FUTEX_BITSET_MATCH_ANY`).
    FutexVal3,
    /// sched_getaffinity's CPU set, filled by the call (its size the return value).
    CpuSet,
    /// wait4's status, filled by the call.
    WaitStatus,
    /// A `struct sysinfo` filled by the call.
    Sysinfo,
    /// clone3's `struct clone_args`.
    CloneArgs,
    /// A socket's protocol, named for the family of the first argument.
    SockProto,
    /// An ioctl request: named, else `_IOC(dir, type, nr, size)`.
    IoctlReq,
    /// An ioctl's third argument, as its request takes it.
    IoctlThird,
    /// getgroups' and setgroups' list of group ids.
    Gids,
    /// An array of `struct pollfd`, its length the next argument.
    PollFds,
    /// An `fd_set` of the first argument's size.
    FdSet,
    /// A `struct timeval`.
    Timeval,
    /// utimensat's two timespecs (`UTIME_NOW`, `UTIME_OMIT` by name).
    Timespec2,
    /// A `struct epoll_event`.
    EpollEvent,
    /// A `struct utsname` filled by the call.
    Utsname,
    /// A `struct statfs` filled by the call.
    Statfs,
    /// A file type and mode (mknod): `S_IFIFO|0644`.
    FileMode,
    /// A socket address the call fills, its length in/out at the argument of this index.
    SockAddrOut(usize),
    /// A socket address length, read at entry and filled by the call: `[110 => 24]`.
    SockLen,
    /// A file offset the call reads and advances (sendfile): `[0] => [4096]`.
    OffsetInOut,
    /// A `siginfo_t` filled by the call.
    SigInfoOut,
    /// A `struct rusage` filled by the call.
    Rusage,
    /// arch_prctl's second argument: where ARCH_GET_FS/GS store the base (`[0x7f…]`), else a
    /// number in hexadecimal.
    ArchPrctlAddr,
    /// An array of `struct iovec`, its length the argument after: written from (`true`: the
    /// data as at entry) or read into (the data the call returned).
    Iovec(bool),
    /// prctl's second argument, as its option takes it.
    PrctlSecond,
    /// mmap's flags: the mapping type (`MAP_PRIVATE`, `MAP_FILE` for 0), then flag bits.
    MmapFlags,
    /// nanosleep's remaining time: filled when the sleep was interrupted.
    TimespecRem,
    /// A `struct timezone`.
    Timezone,
    /// time's result, stored where its argument points: `[1700000000 /* 2023-… */]`.
    TimeOut,
    /// A `uid_t` the call fills: `[0]`.
    UidOut,
    /// A `long` or pointer the call fills: `[24]`, `[0x7f…]` (hex with `true`).
    LongOut(bool),
    /// sched_setaffinity's CPU set, its size the second argument.
    CpuSetIn,
    /// rt_sigreturn's restored signal mask (`{mask=[]}`), read from the thread's status.
    SigreturnMask,
}

use Arg::*;

/// How many bytes of strings and buffers to show (`strace -s`).
pub const STRING_LIMIT: usize = 32;

/// How calls are shown: strace's `-s`, `-xx` and `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Style {
    /// How many bytes of a string or buffer to show (`-s N`; paths are shown whole).
    pub string_limit: usize,
    /// Every byte of strings in hexadecimal (`-xx`: `"\x2f\x74"`).
    pub hex_strings: bool,
    /// Structures with every field (`-v`): `struct stat`'s times and ids, `struct utsname`'s
    /// release.
    pub verbose: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style { string_limit: STRING_LIMIT, hex_strings: false, verbose: false }
    }
}

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
fn read_bytes(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len];
    let n = read_mem(pid, addr, &mut b).ok()?;
    b.truncate(n);
    Some(b)
}

/// Reads a structure of `len` bytes whole; `None` if any of it is unreadable.
fn read_struct(pid: Pid, addr: u64, len: usize) -> Option<Vec<u8>> {
    read_bytes(pid, addr, len).filter(|b| b.len() == len)
}

/// The native-endian unsigned field of `len` bytes (1, 2, 4 or 8) at `off` in `b`, a structure
/// [`read_struct`] read whole (so the field is there; 0 only for a layout error of ours).
fn field(b: &[u8], off: usize, len: usize) -> u64 {
    let Ok(mut c) = Cursor::at(b, off) else { return 0 };
    let v = match len {
        1 => c.u8().map(u64::from),
        2 => c.u16().map(u64::from),
        4 => c.u32().map(u64::from),
        _ => c.u64(),
    };
    v.unwrap_or(0)
}

/// Appends strace's quoting of `b` to `out` (see [`Value::Str`]): printable ASCII as is, `\n`
/// and friends escaped, other bytes in octal; `...` after when `truncated`.
pub fn quote(out: &mut String, b: &[u8], truncated: bool) {
    let _ = value::write_quoted(out, b, truncated);
}

/// Flag bits by name in `table`'s order (composites first), then the bits left; `zero` when none.
fn flags(v: u64, table: Names, zero: &'static str) -> Value {
    if v == 0 {
        return if zero == "0" { Value::Flags { names: Vec::new(), rest: 0 } } else { Value::Name(zero.into()) };
    }
    let mut rest = v;
    let mut names = Vec::new();
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            names.push(Cow::Borrowed(name));
            rest &= !bit;
        }
    }
    Value::Flags { names, rest }
}

/// An argument of flag bits: as [`flags`], and when no bit has a name, hexadecimal with strace's
/// comment for the family (`0x8 /* ?_OK */`, `0x1 /* AT_??? */`).
fn flags_arg(v: u64, table: Names, zero: &'static str) -> Value {
    match flags(v, table, zero) {
        Value::Flags { names, rest } if names.is_empty() && rest != 0 => {
            let unknown = match table.first().map(|(_, n)| *n) {
                Some("R_OK") => "?_OK".to_owned(),
                Some(n) => format!("{}_???", n.trim_start_matches('_').split('_').next().unwrap_or(n)),
                None => "???".to_owned(),
            };
            Value::Commented(Box::new(Value::Hex(rest)), unknown)
        }
        other => other,
    }
}

/// A value field's name followed by flag bits: `O_WRONLY|O_CREAT`, `SOCK_STREAM|SOCK_CLOEXEC`.
fn value_and_flags(head: Value, v: u64, table: Names) -> Value {
    let mut names = match head {
        Value::Name(n) => vec![n],
        other => vec![Cow::Owned(other.to_string())],
    };
    if let Value::Flags { names: more, rest } = flags(v, table, "0") {
        names.extend(more);
        return Value::Flags { names, rest };
    }
    Value::Flags { names, rest: 0 }
}

/// `open(2)` flags as strace prints them (`O_WRONLY|O_CREAT|O_CLOEXEC`; unknown bits in hex).
pub fn open_flags(v: u64) -> Value {
    let mode = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    value_and_flags(Value::Name(mode.into()), v & !3, table::OPEN)
}

/// One of `names`, else hexadecimal with strace's comment for an unknown value.
fn value(v: u64, names: Names, unknown: &str) -> Value {
    match names.iter().find(|(n, _)| *n == v) {
        Some((_, name)) => Value::Name(Cow::Borrowed(name)),
        None => Value::Commented(Box::new(Value::Hex(v)), unknown.to_owned()),
    }
}

/// `SIGINT`; the real-time signals as strace names them (`SIGRTMIN`, `SIGRT_1`…).
pub fn signal_name(sig: i32) -> Cow<'static, str> {
    match sig {
        32 => "SIGRTMIN".into(),
        33..=64 => format!("SIGRT_{}", sig - 32).into(),
        _ => nix::sys::signal::Signal::try_from(sig).map_or_else(|_| sig.to_string().into(), |s| s.as_str().into()),
    }
}

/// A signal set of 64 bits as strace shows it: `[CHLD INT]`, or `~[…]` with the signals not in it
/// when more than half are.
fn sigset(mask: u64) -> Value {
    let (mask, complement) = if mask.count_ones() > 32 { (!mask, true) } else { (mask, false) };
    let items = (1..=64i32)
        .filter(|sig| mask & (1 << (sig - 1)) != 0)
        .map(|sig| match signal_name(sig) {
            Cow::Borrowed(n) => Cow::Borrowed(n.strip_prefix("SIG").unwrap_or(n)),
            Cow::Owned(n) => Cow::Owned(n.strip_prefix("SIG").unwrap_or(&n).to_owned()),
        })
        .collect();
    Value::Set { items, complement }
}

/// Clone flags and the exit signal in the low byte: `CLONE_VM|…|SIGCHLD`.
fn clone_flags(v: u64) -> Value {
    let sig = v & 0xff;
    match flags(v & !0xff, table::CLONE, "0") {
        Value::Flags { mut names, rest } if sig != 0 => {
            names.push(signal_name(sig as i32));
            Value::Flags { names, rest }
        }
        other => other,
    }
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

/// How a NUL-terminated array of pointers ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayEnd {
    /// At its NULL.
    Terminated,
    /// Unreadable at this address before a NULL.
    Unreadable(u64),
    /// More than asked for.
    More,
}

/// A NUL-terminated array of pointers (argv, envp): the pointers, at most `max`, and how the
/// reading ended.
fn pointers(pid: Pid, v: u64, max: u64) -> (Vec<u64>, ArrayEnd) {
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

/// The syscall being decoded: its tracee, name, raw arguments and (at exit) return value.
struct Ctx<'a> {
    pid: Pid,
    name: &'a str,
    args: &'a [u64; 6],
    ret: Option<i64>,
    style: Style,
}

impl Ctx<'_> {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }

    /// Whether the call has returned successfully (structures it fills can be read).
    fn succeeded(&self) -> bool {
        self.ret.is_some_and(|r| r >= 0)
    }

    /// Bytes read from the tracee, quoted as the style says.
    fn text(&self, bytes: Vec<u8>, truncated: bool) -> Value {
        if self.style.hex_strings { Value::HexStr { bytes, truncated } } else { Value::Str { bytes, truncated } }
    }

    fn string(&self, v: u64, max: usize) -> Value {
        match read_string(self.pid, v, max) {
            Some((bytes, truncated)) => self.text(bytes, truncated),
            None => Value::Ptr(v),
        }
    }

    fn buffer(&self, v: u64, len: usize) -> Value {
        let limit = self.style.string_limit;
        match read_bytes(self.pid, v, len.min(limit)) {
            // Random bytes: strace shows them in hexadecimal whatever the style.
            Some(bytes) if self.name == "getrandom" => Value::HexStr { bytes, truncated: len > limit },
            Some(bytes) => self.text(bytes, len > limit),
            None => Value::Ptr(v),
        }
    }

    /// Decodes one argument of kind `kind` whose raw value is `v`.
    fn decode(&self, kind: Arg, v: u64) -> Value {
        let pid = self.pid;
        // Constants and flags are C `int`s (the kernel ignores the upper half of the register)
        // except for the few calls that take a `long`.
        let narrow = matches!(
            kind,
            Value(..)
                | Named(..)
                | AccessMode
                | Mode
                | OpenFlags
                | OpenFlags0
                | AtFlags
                | StatxFlags
                | SockType
                | FutexOp
        );
        let v = if narrow && !table::long_flags(self.name) { v & 0xffff_ffff } else { v };
        match kind {
            Int => Value::Int((v as i32).into()),
            Uint => Value::Uint(v),
            U32 => Value::Uint(v & 0xffff_ffff),
            Uid if v as u32 == u32::MAX => Value::Int(-1),
            Uid => Value::Uint(v & 0xffff_ffff),
            Long => Value::Int(v as i64),
            Hex => Value::Hex(v),
            Ptr => Value::Ptr(v),
            AtFd if v as i32 == libc::AT_FDCWD => Value::Name("AT_FDCWD".into()),
            AtFd => Value::Int((v as i32).into()),
            // strace shows at most PATH_MAX - 1 bytes of a path.
            Path => self.string(v, 4095),
            BufIn(len_idx) => self.buffer(v, self.arg(len_idx) as usize),
            BufOut => match self.ret {
                Some(n) if n >= 0 && v != 0 => self.buffer(v, n as usize),
                _ => Value::Ptr(v),
            },
            OpenFlags => open_flags(v),
            OpenFlags0 => flags_arg(v, table::OPEN, "0"),
            // A `umode_t`: 16 bits.
            Mode => Value::Octal(v & 0xffff),
            AccessMode => flags_arg(v, table::ACCESS, "F_OK"),
            AtFlags if self.name == "faccessat2" => flags_arg(v, table::AT_ACCESS, "0"),
            AtFlags => flags_arg(v, table::AT, "0"),
            Value(names, unknown) => value(v, names, unknown),
            Named(names, zero) => flags_arg(v, names, zero),
            // The mapping type is a value (MAP_FILE for 0), the rest flags.
            MmapFlags => value_and_flags(value(v & 0xf, table::MAP_TYPE, "MAP_???"), v & !0xf, table::MAP),
            // An absolute sleep leaves it alone.
            TimespecRem if self.name == "clock_nanosleep" && self.arg(1) & 1 != 0 => Value::Ptr(v),
            TimespecRem
                if v != 0 && self.ret.is_some_and(|r| r == -i64::from(libc::EINTR) || (-516..=-512).contains(&r)) =>
            {
                read_struct(pid, v, 16).map_or(Value::Ptr(v), |b| time_pair(&b, 0, "tv_nsec"))
            }
            TimespecRem => Value::Ptr(v),
            ArchPrctlAddr if matches!(self.arg(0) & 0xffff_ffff, 0x1003 | 0x1004 | 0x1021 | 0x1022 | 0x1024) => {
                match self.ret {
                    Some(0) => self.decode(LongOut(true), v),
                    _ => Value::Ptr(v),
                }
            }
            ArchPrctlAddr => Value::Hex(v),
            Iovec(false) if self.ret.is_none() => Value::Ptr(v),
            Iovec(written) => self.iovec(v, written),
            // prctl's second argument by option: PR_SET_NAME's name, PR_GET_NAME's at its exit.
            // strace shows "..." unless the name ends within TASK_COMM_LEN - 1 bytes.
            PrctlSecond if self.arg(0) as i32 == libc::PR_SET_NAME && v != 0 => match self.string(v, 15) {
                Value::Str { bytes, .. } if bytes.len() >= 15 => self.text(bytes, true),
                other => other,
            },
            PrctlSecond if self.arg(0) as i32 == libc::PR_GET_NAME && v != 0 && self.succeeded() => self.string(v, 16),
            PrctlSecond if matches!(self.arg(0) as i32, libc::PR_SET_NAME | libc::PR_GET_NAME) => Value::Ptr(v),
            PrctlSecond => Value::Hex(v),
            SockLen | OffsetInOut if v == 0 => Value::Ptr(0),
            SockLen => {
                read_struct(pid, v, 4).map_or(Value::Ptr(v), |b| Value::Array(vec![Value::Uint(field(&b, 0, 4))]))
            }
            OffsetInOut => {
                read_struct(pid, v, 8).map_or(Value::Ptr(v), |b| Value::Array(vec![Value::Uint(field(&b, 0, 8))]))
            }
            SockAddrOut(_) if v == 0 || !self.succeeded() => Value::Ptr(v),
            SockAddrOut(len_idx) => {
                let len = read_struct(pid, self.arg(len_idx), 4).map_or(0, |b| field(&b, 0, 4));
                self.sockaddr(v, len as usize)
            }
            Timezone if v != 0 => read_struct(pid, v, 8).map_or(Value::Ptr(v), |b| Value::Struct {
                fields: vec![
                    ("tz_minuteswest", Value::Int((field(&b, 0, 4) as i32).into())),
                    ("tz_dsttime", Value::Int((field(&b, 4, 4) as i32).into())),
                ],
                more: false,
            }),
            Timezone => Value::Ptr(0),
            TimeOut if v != 0 && self.succeeded() => read_struct(pid, v, 8).map_or(Value::Ptr(v), |b| {
                let t = field(&b, 0, 8) as i64;
                Value::Array(vec![dated(Value::Int(t), iso_time(t, None))])
            }),
            TimeOut => Value::Ptr(v),
            SockType => value_and_flags(value(v & 0xf, table::SOCK_TYPE, "SOCK_???"), v & !0xf, table::SOCK_FLAGS),
            StatxFlags => {
                // The sync type is a value of two bits (AT_STATX_SYNC_AS_STAT is 0), then the flags.
                let sync = libc::AT_STATX_SYNC_TYPE as u64;
                let head = match v & sync {
                    // Both bits: not a type, strace shows the two flags.
                    s if s == sync => Value::Name("AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC".into()),
                    s => value(s, table::STATX_SYNC, "AT_STATX_???"),
                };
                value_and_flags(head, v & !sync, table::AT)
            }
            Signal => Value::Name(signal_name(v as i32)),
            // FUTEX_CLOCK_REALTIME goes with the waits only; any other mix is unknown to strace.
            FutexOp if v & !0x1ff != 0 || (v & 256 != 0 && !matches!(v & 0x7f, 0 | 9 | 11)) => {
                Value::Commented(Box::new(Value::Hex(v)), "FUTEX_???".into())
            }
            FutexOp => {
                let cmd = match value(v & 0x7f, table::FUTEX_CMD, "FUTEX_???") {
                    // strace's one odd name.
                    Value::Name(n) if v & 128 != 0 && n == "FUTEX_FD" => {
                        Value::Name("FUTEX_FD|FUTEX_PRIVATE_FLAG".into())
                    }
                    Value::Name(n) if v & 128 != 0 => Value::Name(format!("{n}_PRIVATE").into()),
                    other => other,
                };
                value_and_flags(cmd, v & 0xffff_ff00, &[(256, "FUTEX_CLOCK_REALTIME")])
            }
            // futex's fourth argument is a timeout or a second count, as the command takes it.
            FutexArg4 => match self.arg(1) & 0x7f {
                3 | 4 | 5 | 12 => Value::Uint(v & 0xffff_ffff),
                0 | 6 | 9 | 11 | 13 => self.decode(Timespec, v),
                _ => Value::Ptr(v),
            },
            FutexVal3 => match self.arg(1) & 0x7f {
                9 | 10 if v as u32 == u32::MAX => Value::Name("FUTEX_BITSET_MATCH_ANY".into()),
                4 | 12 => Value::Uint(v & 0xffff_ffff),
                5 => futex_wake_op(v as u32),
                _ => Value::Hex(v & 0xffff_ffff),
            },
            FcntlThird => match self.arg(1) as i32 {
                libc::F_SETFD => flags(v, table::FD_FLAGS, "0"),
                libc::F_SETFL => open_flags(v),
                libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_SETPIPE_SZ | libc::F_SETOWN => {
                    Value::Int((v as i32).into())
                }
                table::F_SETSIG if v as i32 == 0 => Value::Int(0),
                table::F_SETSIG => Value::Name(signal_name(v as i32)),
                libc::F_SETLEASE => value(v & 0xffff_ffff, table::LOCK_TYPE, "F_???"),
                libc::F_NOTIFY => flags_arg(v & 0xffff_ffff, table::DN, "0"),
                // The lock the call sets is read whatever the outcome; the one F_GETLK returns
                // only when it succeeded.
                libc::F_SETLK | libc::F_SETLKW | libc::F_OFD_SETLK | libc::F_OFD_SETLKW => self.flock(v, false),
                libc::F_GETLK | libc::F_OFD_GETLK if self.succeeded() => self.flock(v, true),
                table::F_SETOWN_EX => self.owner_ex(v),
                table::F_GETOWN_EX if self.succeeded() => self.owner_ex(v),
                _ => Value::Ptr(v),
            },
            Argv if v == 0 => Value::Ptr(0),
            // At most -s strings, then `...`; an unreadable string as its address, an array
            // unreadable before its NULL with `... /* address */`.
            Argv => match pointers(pid, v, self.style.string_limit as u64) {
                (p, ArrayEnd::Unreadable(at)) if p.is_empty() && at == v => Value::Ptr(v),
                (ptrs, end) => {
                    let mut items: Vec<Value> =
                        ptrs.into_iter().map(|p| self.string(p, self.style.string_limit)).collect();
                    match end {
                        ArrayEnd::Unreadable(at) => items.push(Value::Name(format!("... /* {at:#x} */").into())),
                        ArrayEnd::More => items.push(Value::Name("...".into())),
                        ArrayEnd::Terminated => {}
                    }
                    Value::Array(items)
                }
            },
            // `0x7ffd… /* 23 vars */`, as strace prints it (counted up to 4096 entries).
            Envp if v == 0 => Value::Ptr(0),
            Envp => match pointers(pid, v, 4096) {
                (p, ArrayEnd::Unreadable(at)) if p.is_empty() && at == v => Value::Ptr(v),
                (p, end) => {
                    let n = p.len();
                    let tail = if matches!(end, ArrayEnd::Unreadable(_)) { ", unterminated" } else { "" };
                    Value::Commented(Box::new(Value::Hex(v)), format!("{n} var{}{tail}", if n == 1 { "" } else { "s" }))
                }
            },
            SockAddr(len_idx) => self.sockaddr(v, self.arg(len_idx) as usize),
            Timespec | SigSet | SigAction | Rlimit if v == 0 => Value::Ptr(0),
            Timespec => read_struct(pid, v, 16).map_or(Value::Ptr(v), |b| time_pair(&b, 0, "tv_nsec")),
            // The kernel takes a set of exactly its size (8 bytes): strace shows another's address.
            SigSet if table::sigset_size_arg(self.name).is_some_and(|i| self.arg(i) != 8) => Value::Ptr(v),
            SigSet => read_struct(pid, v, 8).map_or(Value::Ptr(v), |b| sigset(field(&b, 0, 8))),
            SigAction => read_struct(pid, v, 32).map_or(Value::Ptr(v), |b| sigaction(&b)),
            Rlimit => match read_struct(pid, v, 16) {
                Some(b) => Value::Struct {
                    fields: vec![
                        ("rlim_cur", Value::Rlimit(field(&b, 0, 8))),
                        ("rlim_max", Value::Rlimit(field(&b, 8, 8))),
                    ],
                    more: false,
                },
                None => Value::Ptr(v),
            },
            CloneArgs => self.clone_args(v),
            FileMode => Value::FileMode(v & 0xffff_ffff),
            // At its exit the mask the frame held is the thread's: /proc/TID/status has it.
            SigreturnMask => match blocked_signals(pid) {
                Some(m) => Value::Struct { fields: vec![("mask", sigset(m))], more: false },
                None => Value::Struct { fields: Vec::new(), more: true },
            },
            SockProto => match self.arg(0) as i32 {
                libc::AF_INET | libc::AF_INET6 => value(v, table::IPPROTO, "IPPROTO_???"),
                _ => Value::Int((v as i32).into()),
            },
            IoctlReq => match table::IOCTL.iter().chain([&table::FICLONE]).find(|(n, _)| *n == v) {
                Some((_, name)) => Value::Name(Cow::Borrowed(name)),
                None => {
                    // _IOC(dir, type, nr, size): dir in bits 30-31, size 16-29, type 8-15, nr 0-7.
                    let dir = match v >> 30 & 3 {
                        0 => "_IOC_NONE",
                        1 => "_IOC_WRITE",
                        2 => "_IOC_READ",
                        _ => "_IOC_READ|_IOC_WRITE",
                    };
                    let parts = [v >> 8 & 0xff, v & 0xff, v >> 16 & 0x3fff].map(Value::Hex);
                    let mut all = vec![Value::Name(dir.into())];
                    all.extend(parts);
                    Value::Call("_IOC", all)
                }
            },
            IoctlThird => self.ioctl_arg(v),
            Gids if v == 0 => Value::Ptr(0),
            Gids => {
                // setgroups' list at entry, getgroups' at its exit (as many as it returned).
                let n = if self.name == "setgroups" { self.arg(0) } else { self.ret.unwrap_or(-1) as u64 };
                match (n < 65_536).then(|| read_struct(pid, v, n as usize * 4)).flatten() {
                    Some(b) => Value::Array(b.chunks_exact(4).map(|c| Value::Uint(field(c, 0, 4))).collect()),
                    _ => Value::Ptr(v),
                }
            }
            PollFds if v == 0 => Value::Ptr(0),
            PollFds => {
                // Element by element, as strace: at most -s of them, then `...`; where the
                // array becomes unreadable, `... /* address */`.
                let n = (self.arg(1) & 0xffff_ffff).min(1 << 20);
                let mut items = Vec::new();
                for i in 0..n {
                    let at = v.wrapping_add(8 * i);
                    let c = read_struct(pid, at, 8);
                    match c {
                        None if i == 0 => return Value::Ptr(v),
                        None => {
                            items.push(Value::Name(format!("... /* {at:#x} */").into()));
                            break;
                        }
                        _ if i as usize >= self.style.string_limit => {
                            items.push(Value::Name("...".into()));
                            break;
                        }
                        Some(c) => items.push(pollfd(&c, "events", 4)),
                    }
                }
                Value::Array(items)
            }
            FdSet | Timeval | Timespec2 | EpollEvent if v == 0 => Value::Ptr(0),
            // A negative count: the kernel refuses it, strace shows the sets' addresses.
            FdSet if (self.arg(0) as i32) < 0 => Value::Ptr(v),
            FdSet => {
                let n = (self.arg(0) as i32).clamp(0, 65_536) as usize;
                match read_struct(pid, v, n.div_ceil(64) * 8) {
                    Some(b) => fd_set(&b, n),
                    None => Value::Ptr(v),
                }
            }
            Timeval => read_struct(pid, v, 16).map_or(Value::Ptr(v), |b| time_pair(&b, 0, "tv_usec")),
            Timespec2 => match read_struct(pid, v, 32) {
                Some(b) => Value::Array(
                    (0..2)
                        .map(|i| match field(&b, 16 * i + 8, 8) as i64 {
                            libc::UTIME_NOW => Value::Name("UTIME_NOW".into()),
                            libc::UTIME_OMIT => Value::Name("UTIME_OMIT".into()),
                            n => dated(
                                time_pair(&b, 16 * i, "tv_nsec"),
                                iso_time(field(&b, 16 * i, 8) as i64, Some(n as u64)),
                            ),
                        })
                        .collect(),
                ),
                None => Value::Ptr(v),
            },
            EpollEvent if self.name == "epoll_ctl" && self.arg(1) as i32 == libc::EPOLL_CTL_DEL => Value::Ptr(v),
            EpollEvent => match read_struct(pid, v, 12) {
                Some(b) => Value::Struct {
                    fields: vec![
                        ("events", flags(field(&b, 0, 4), table::EPOLL_EVENTS, "0")),
                        (
                            "data",
                            Value::Struct {
                                fields: vec![
                                    ("u32", Value::Uint(field(&b, 4, 4))),
                                    ("u64", Value::Uint(field(&b, 4, 8))),
                                ],
                                more: false,
                            },
                        ),
                    ],
                    more: false,
                },
                None => Value::Ptr(v),
            },
            // Structures the call fills are shown only when it succeeded.
            Stat | Statx | Statfs | Utsname | PipeFds | Cwd | CpuSet | WaitStatus | Dirents | Sysinfo
                if v == 0 || !self.succeeded() =>
            {
                Value::Ptr(v)
            }
            WaitStatus if self.ret == Some(0) => Value::Ptr(v),
            Stat => read_struct(pid, v, std::mem::size_of::<libc::stat>())
                .map_or(Value::Ptr(v), |b| stat(&b, self.style.verbose)),
            Statx => read_struct(pid, v, 256).map_or(Value::Ptr(v), |b| statx(&b, self.style.verbose)),
            Rusage if v == 0 || !self.succeeded() || (self.name == "wait4" && self.ret == Some(0)) => Value::Ptr(v),
            SigInfoOut if v == 0 || !self.succeeded() => Value::Ptr(v),
            SigInfoOut => read_struct(pid, v, 128).map_or(Value::Ptr(v), |b| siginfo(&b)),
            Rusage => read_struct(pid, v, std::mem::size_of::<libc::rusage>())
                .map_or(Value::Ptr(v), |b| rusage(&b, self.style.verbose)),
            Statfs => read_struct(pid, v, std::mem::size_of::<libc::statfs>()).map_or(Value::Ptr(v), |b| statfs(&b)),
            Utsname => match read_struct(pid, v, 390) {
                Some(b) => {
                    // Each utsname field is 65 bytes, NUL-padded.
                    let s = |off: usize| {
                        let f = Cursor::at(&b[..], off).and_then(|mut c| c.cstr_in(65)).unwrap_or_default();
                        Value::Str { bytes: f.to_vec(), truncated: false }
                    };
                    if self.style.verbose {
                        let names = ["sysname", "nodename", "release", "version", "machine", "domainname"];
                        Value::Struct {
                            fields: names.iter().enumerate().map(|(i, n)| (*n, s(65 * i))).collect(),
                            more: false,
                        }
                    } else {
                        Value::Struct { fields: vec![("sysname", s(0)), ("nodename", s(65))], more: true }
                    }
                }
                None => Value::Ptr(v),
            },
            Sysinfo => read_struct(pid, v, std::mem::size_of::<libc::sysinfo>()).map_or(Value::Ptr(v), |b| sysinfo(&b)),
            PipeFds => match read_struct(pid, v, 8) {
                Some(b) => Value::Array(vec![
                    Value::Int((field(&b, 0, 4) as i32).into()),
                    Value::Int((field(&b, 4, 4) as i32).into()),
                ]),
                None => Value::Ptr(v),
            },
            Cwd => self.string(v, 4096),
            UidOut | LongOut(_) if v == 0 || !self.succeeded() => Value::Ptr(v),
            UidOut => {
                read_struct(pid, v, 4).map_or(Value::Ptr(v), |b| Value::Array(vec![self.decode(Uid, field(&b, 0, 4))]))
            }
            LongOut(hex) => read_struct(pid, v, 8).map_or(Value::Ptr(v), |b| {
                let x = field(&b, 0, 8);
                Value::Array(vec![if hex { Value::Ptr(x) } else { Value::Uint(x) }])
            }),
            CpuSetIn => match read_bytes(pid, v, (self.arg(1) as usize).min(1024)) {
                Some(b) => cpu_set(&b),
                None => Value::Ptr(v),
            },
            CpuSet => {
                let n = self.ret.unwrap_or(0).clamp(0, 1024) as usize;
                match read_bytes(pid, v, n) {
                    Some(b) => cpu_set(&b),
                    None => Value::Ptr(v),
                }
            }
            WaitStatus => read_struct(pid, v, 4).map_or(Value::Ptr(v), |b| Value::WaitStatus(field(&b, 0, 4) as i32)),
            Dirents => {
                // `0x55… /* 13 entries */`: the records' d_reclen (at offset 16) walks the buffer.
                let n = self.ret.unwrap_or(0).clamp(0, 1 << 20) as usize;
                let b = read_bytes(pid, v, n).unwrap_or_default();
                let (mut off, mut count) = (0usize, 0usize);
                while off + 18 <= b.len() {
                    let len = field(&b, off + 16, 2) as usize;
                    if len == 0 {
                        break;
                    }
                    count += 1;
                    off += len;
                }
                Value::Commented(Box::new(Value::Hex(v)), format!("{count} entries"))
            }
        }
    }

    /// An ioctl's third argument for the requests strace decodes: terminal attributes, window
    /// sizes, an int (`[7731]`); what a "get" request fills only when it succeeded.
    fn ioctl_arg(&self, v: u64) -> Value {
        let req = self.arg(1);
        let get = matches!(req, libc::TCGETS | libc::TIOCGWINSZ | libc::TIOCGPGRP | libc::FIONREAD);
        if req == table::FICLONE.0 {
            return Value::Int((v as i32).into());
        }
        if v == 0 || (get && !self.succeeded()) {
            return Value::Ptr(v);
        }
        let decoded = match req {
            libc::TCGETS | libc::TCSETS | libc::TCSETSW | libc::TCSETSF => {
                read_struct(self.pid, v, 16).map(|b| termios(&b))
            }
            libc::TIOCGWINSZ | libc::TIOCSWINSZ => read_struct(self.pid, v, 8).map(|b| Value::Struct {
                fields: ["ws_row", "ws_col", "ws_xpixel", "ws_ypixel"]
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| (n, Value::Uint(field(&b, 2 * i, 2))))
                    .collect(),
                more: false,
            }),
            libc::TIOCGPGRP | libc::TIOCSPGRP | libc::FIONREAD | libc::FIONBIO => {
                read_struct(self.pid, v, 4).map(|b| Value::Array(vec![Value::Int((field(&b, 0, 4) as i32).into())]))
            }
            _ => None,
        };
        decoded.unwrap_or(Value::Ptr(v))
    }

    fn sockaddr(&self, v: u64, len: usize) -> Value {
        let Some(b) = read_bytes(self.pid, v, len.min(128)).filter(|b| b.len() >= 2) else {
            return Value::Ptr(v);
        };
        let family = field(&b, 0, 2);
        let rest = b.get(2..).unwrap_or_default();
        let fam = value(family, table::AF, "AF_???");
        let fields = match (family as i32, rest) {
            // Only the family fits in the length given.
            (_, []) => Vec::new(),
            (libc::AF_UNIX, _) => {
                let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                vec![("sun_path", Value::Str { bytes: rest.get(..end).unwrap_or_default().to_vec(), truncated: false })]
            }
            (libc::AF_INET, [p0, p1, a, b, c, d, ..]) => vec![
                ("sin_port", Value::Call("htons", vec![Value::Uint(u16::from_be_bytes([*p0, *p1]).into())])),
                (
                    "sin_addr",
                    Value::Call(
                        "inet_addr",
                        vec![Value::Str { bytes: format!("{a}.{b}.{c}.{d}").into_bytes(), truncated: false }],
                    ),
                ),
            ],
            _ => return Value::Struct { fields: vec![("sa_family", fam)], more: true },
        };
        let mut all = vec![("sa_family", fam)];
        all.extend(fields);
        Value::Struct { fields: all, more: false }
    }

    /// A `struct flock` (with its `l_pid` when `with_pid`, as F_GETLK returns it).
    fn flock(&self, v: u64, with_pid: bool) -> Value {
        let Some(b) = read_struct(self.pid, v, 32) else { return Value::Ptr(v) };
        let mut fields = vec![
            ("l_type", value(field(&b, 0, 2), table::LOCK_TYPE, "F_???")),
            ("l_whence", value(field(&b, 2, 2), table::SEEK, "SEEK_???")),
            ("l_start", Value::Int(field(&b, 8, 8) as i64)),
            ("l_len", Value::Int(field(&b, 16, 8) as i64)),
        ];
        if with_pid {
            fields.push(("l_pid", Value::Int((field(&b, 24, 4) as i32).into())));
        }
        Value::Struct { fields, more: false }
    }

    /// A `struct f_owner_ex`: `{type=F_OWNER_TID, pid=5}`.
    fn owner_ex(&self, v: u64) -> Value {
        let Some(b) = read_struct(self.pid, v, 8) else { return Value::Ptr(v) };
        let fields = vec![
            ("type", value(field(&b, 0, 4), table::OWNER, "F_OWNER_???")),
            ("pid", Value::Int((field(&b, 4, 4) as i32).into())),
        ];
        Value::Struct { fields, more: false }
    }

    /// An iovec array as strace shows it: `[{iov_base="…", iov_len=8}]`, at most -s elements.
    /// Data read is shown up to what the call returned (addresses when it failed).
    fn iovec(&self, v: u64, written: bool) -> Value {
        let n = (self.arg(2) & 0xffff_ffff).min(1 << 20);
        let mut left = if written { u64::MAX } else { self.ret.unwrap_or(0).max(0) as u64 };
        let failed = !written && !self.succeeded();
        let mut items = Vec::new();
        for i in 0..n {
            let at = v.wrapping_add(16 * i);
            let Some(b) = read_struct(self.pid, at, 16) else {
                if i == 0 {
                    return Value::Ptr(v);
                }
                items.push(Value::Name(format!("... /* {at:#x} */").into()));
                break;
            };
            if i as usize >= self.style.string_limit {
                items.push(Value::Name("...".into()));
                break;
            }
            let (base, len) = (field(&b, 0, 8), field(&b, 8, 8));
            let shown = len.min(left);
            left -= shown;
            let data = if failed || base == 0 { Value::Ptr(base) } else { self.buffer(base, shown as usize) };
            items.push(Value::Struct { fields: vec![("iov_base", data), ("iov_len", Value::Uint(len))], more: false });
        }
        Value::Array(items)
    }

    /// clone3's `struct clone_args` as strace shows it: the fields the flags use, and at exit
    /// the parent's copy of the child's tid (`=> {parent_tid=[1234]}`).
    fn clone_args(&self, v: u64) -> Value {
        let Some(b) = read_struct(self.pid, v, 64) else { return Value::Ptr(v) };
        let f = |i: usize| field(&b, 8 * i, 8);
        let fl = f(0) as i32;
        let mut fields = vec![("flags", flags(f(0), table::CLONE, "0"))];
        if fl & libc::CLONE_PIDFD != 0 {
            fields.push(("pidfd", Value::Ptr(f(1))));
        }
        if fl & (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) != 0 {
            fields.push(("child_tid", Value::Ptr(f(2))));
        }
        if fl & libc::CLONE_PARENT_SETTID != 0 {
            fields.push(("parent_tid", Value::Ptr(f(3))));
        }
        fields.push(("exit_signal", if f(4) == 0 { Value::Int(0) } else { Value::Name(signal_name(f(4) as i32)) }));
        fields.extend([("stack", Value::Ptr(f(5))), ("stack_size", Value::Hex(f(6)))]);
        if fl & libc::CLONE_SETTLS != 0 {
            fields.push(("tls", Value::Ptr(f(7))));
        }
        let entry = Value::Struct { fields, more: false };
        match read_struct(self.pid, f(3), 4) {
            Some(t) if fl & libc::CLONE_PARENT_SETTID != 0 && self.succeeded() => {
                let tid = Value::Array(vec![Value::Int((field(&t, 0, 4) as i32).into())]);
                Value::Changed(
                    Box::new(entry),
                    Box::new(Value::Struct { fields: vec![("parent_tid", tid)], more: false }),
                )
            }
            _ => entry,
        }
    }
}

/// The kernel's `struct termios` (its four flag words) as strace abbreviates it.
fn termios(b: &[u8]) -> Value {
    let w = |i: usize| field(b, 4 * i, 4);
    // Multi-bit fields are values (NL0, CR3, B38400, CS8), then the flags.
    let fields_then_flags = |v: u64, fields: &[(u64, Names)], flag_names: Names| {
        let mut names = Vec::new();
        let mut rest = v;
        for &(mask, vals) in fields {
            match vals.iter().find(|(n, _)| *n == v & mask) {
                Some((_, name)) => names.push(Cow::Borrowed(*name)),
                None => names.push(format!("{:#x}", v & mask).into()),
            }
            rest &= !mask;
        }
        if let Value::Flags { names: more, rest: r } = flags(rest, flag_names, "0") {
            names.extend(more);
            rest = r;
        }
        Value::Flags { names, rest }
    };
    Value::Struct {
        fields: vec![
            ("c_iflag", flags(w(0), table::TERM_IFLAGS, "0")),
            ("c_oflag", fields_then_flags(w(1), table::TERM_OFIELDS, table::TERM_OFLAGS)),
            ("c_cflag", fields_then_flags(w(2), table::TERM_CFIELDS, table::TERM_CFLAGS)),
            ("c_lflag", flags(w(3), table::TERM_LFLAGS, "0")),
        ],
        more: true,
    }
}

/// A `struct timespec` or `struct timeval` at `off` in `b`: `{tv_sec=1, tv_nsec=5}`.
fn time_pair(b: &[u8], off: usize, sub: &'static str) -> Value {
    Value::Struct {
        fields: vec![("tv_sec", Value::Int(field(b, off, 8) as i64)), (sub, Value::Uint(field(b, off + 8, 8)))],
        more: false,
    }
}

/// The signals thread `pid` blocks (`SigBlk:` of /proc/PID/status).
fn blocked_signals(pid: Pid) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// What select left at its exit (strace: `in [3], out [4], left {tv_sec=0, tv_usec=5}`): the
/// descriptors of each set still in it, then the time left.
fn select_left(ctx: &Ctx<'_>) -> String {
    let n = (ctx.arg(0) as i32).clamp(0, 65_536) as usize;
    let mut parts = Vec::new();
    for (i, name) in [(1, "in"), (2, "out"), (3, "except")] {
        let v = ctx.arg(i);
        if v == 0 {
            continue;
        }
        if let Some(b) = read_struct(ctx.pid, v, n.div_ceil(64) * 8)
            && let set = fd_set(&b, n)
            && matches!(&set, Value::Set { items, .. } if !items.is_empty())
        {
            parts.push(format!("{name} {set}"));
        }
    }
    let t = ctx.arg(4);
    if t != 0
        && let Some(b) = read_struct(ctx.pid, t, 16)
    {
        parts.push(format!("left {}", time_pair(&b, 0, if ctx.name == "select" { "tv_usec" } else { "tv_nsec" })));
    }
    parts.join(", ")
}

/// FUTEX_WAKE_OP's encoded operation as strace spells it:
/// `FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0x2`.
fn futex_wake_op(v: u32) -> Value {
    let named = |names: &[&str], x: u32, unknown: &str| match names.get(x as usize) {
        Some(n) => (*n).to_owned(),
        None => format!("{x:#x}<<{{}} /* {unknown} */"),
    };
    let op = named(
        &["FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR", "FUTEX_OP_ANDN", "FUTEX_OP_XOR"],
        (v >> 28) & 7,
        "FUTEX_OP_???",
    );
    let cmp = named(
        &[
            "FUTEX_OP_CMP_EQ",
            "FUTEX_OP_CMP_NE",
            "FUTEX_OP_CMP_LT",
            "FUTEX_OP_CMP_LE",
            "FUTEX_OP_CMP_GT",
            "FUTEX_OP_CMP_GE",
        ],
        (v >> 24) & 0xf,
        "FUTEX_OP_CMP_???",
    );
    // `NAME<<28`, or for an unknown one `0x7<<28 /* FUTEX_OP_??? */` (the shift inside).
    let shifted = |text: String, by: u32| {
        if text.contains("<<{}") { text.replace("<<{}", &format!("<<{by}")) } else { format!("{text}<<{by}") }
    };
    let hex = |x: u32| if x == 0 { "0".to_owned() } else { format!("{x:#x}") };
    let shift = if (v >> 28) & 8 != 0 { "FUTEX_OP_OPARG_SHIFT<<28|" } else { "" };
    Value::Name(
        format!("{shift}{}|{}<<12|{}|{}", shifted(op, 28), hex((v >> 12) & 0xfff), shifted(cmp, 24), hex(v & 0xfff))
            .into(),
    )
}

/// A CPU set: the CPUs in it, `[0 1]`.
fn cpu_set(b: &[u8]) -> Value {
    Value::Set {
        items: (0..b.len() * 8)
            .filter(|i| b.get(i / 8).is_some_and(|c| c & (1 << (i % 8)) != 0))
            .map(|cpu| cpu.to_string().into())
            .collect(),
        complement: false,
    }
}

/// One `struct pollfd` (fd, events, revents) with the events of the half at `off`, by `name`.
fn pollfd(c: &[u8], name: &'static str, off: usize) -> Value {
    let fd = field(c, 0, 4) as i32;
    if fd < 0 {
        // The kernel ignores a negative descriptor's events: strace leaves them out.
        return Value::Struct { fields: vec![("fd", Value::Int(fd.into()))], more: false };
    }
    Value::Struct {
        fields: vec![
            ("fd", Value::Int((field(c, 0, 4) as i32).into())),
            (name, flags(field(c, off, 2), table::POLL, "0")),
        ],
        more: false,
    }
}

/// An `fd_set` of `n` descriptors: the ones set, `[3 4]`.
fn fd_set(b: &[u8], n: usize) -> Value {
    let items = (0..n).filter(|i| b.get(i / 8).is_some_and(|c| c & (1 << (i % 8)) != 0)).map(|i| i.to_string().into());
    Value::Set { items: items.collect(), complement: false }
}

/// `struct statfs`: every field, the type and flags by name.
fn statfs(b: &[u8]) -> Value {
    use std::mem::offset_of;
    let u = |off: usize| Value::Uint(field(b, off, 8));
    let fsid = offset_of!(libc::statfs, f_fsid);
    // f_flags follows f_frsize (libc does not name it).
    let fl = field(b, offset_of!(libc::statfs, f_frsize) + 8, 8);
    let mut f_flags = flags(fl & !table::ST_VALID.0, table::ST, "0");
    if let Value::Flags { names, .. } = &mut f_flags
        && fl & table::ST_VALID.0 != 0
    {
        // strace lists ST_VALID after the mount flags below it.
        let at = names.iter().position(|n| {
            !matches!(n.as_ref(), "ST_RDONLY" | "ST_NOSUID" | "ST_NODEV" | "ST_NOEXEC" | "ST_SYNCHRONOUS")
        });
        names.insert(at.unwrap_or(names.len()), table::ST_VALID.1.into());
    }
    Value::Struct {
        fields: vec![
            ("f_type", value(field(b, offset_of!(libc::statfs, f_type), 8), table::FS_MAGIC, "???")),
            ("f_bsize", u(offset_of!(libc::statfs, f_bsize))),
            ("f_blocks", u(offset_of!(libc::statfs, f_blocks))),
            ("f_bfree", u(offset_of!(libc::statfs, f_bfree))),
            ("f_bavail", u(offset_of!(libc::statfs, f_bavail))),
            ("f_files", u(offset_of!(libc::statfs, f_files))),
            ("f_ffree", u(offset_of!(libc::statfs, f_ffree))),
            (
                "f_fsid",
                Value::Struct {
                    fields: vec![(
                        "val",
                        Value::Array(vec![Value::Hex(field(b, fsid, 4)), Value::Hex(field(b, fsid + 4, 4))]),
                    )],
                    more: false,
                },
            ),
            ("f_namelen", u(offset_of!(libc::statfs, f_namelen))),
            ("f_frsize", u(offset_of!(libc::statfs, f_frsize))),
            ("f_flags", f_flags),
        ],
        more: false,
    }
}

/// `struct sigaction` of the kernel (handler, flags, restorer, mask).
fn sigaction(b: &[u8]) -> Value {
    let f = |i: usize| field(b, 8 * i, 8);
    let handler = match f(0) {
        0 => Value::Name("SIG_DFL".into()),
        1 => Value::Name("SIG_IGN".into()),
        h => Value::Hex(h),
    };
    let mut fields =
        vec![("sa_handler", handler), ("sa_mask", sigset(f(3))), ("sa_flags", flags(f(1), table::SA, "0"))];
    if f(1) & table::SA_RESTORER != 0 {
        fields.push(("sa_restorer", Value::Hex(f(2))));
    }
    Value::Struct { fields, more: false }
}

/// The siginfo of the signal the stopped tracee `pid` is about to get, as strace shows it in its
/// `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, …} ---` lines (PTRACE_GETSIGINFO).
pub fn pending_siginfo(pid: Pid) -> Option<Value> {
    crate::sys::siginfo_bytes(pid).map(|b| siginfo(&b))
}

/// A `siginfo_t` (128 bytes, x86_64 and aarch64 layout) as strace's printsiginfo shows it: the
/// signal and code by name, then the fields that code fills; `{}` for none.
fn siginfo(b: &[u8]) -> Value {
    let i32_at = |off: usize| field(b, off, 4) as i32;
    let (signo, errno, code) = (i32_at(0), i32_at(4), i32_at(8));
    if signo == 0 {
        return Value::Struct { fields: Vec::new(), more: false };
    }
    let mut fields = vec![("si_signo", Value::Name(signal_name(signo)))];
    let code_name = table::si_code(signo, code);
    fields.push(("si_code", code_name.map_or(Value::Int(code.into()), |n| Value::Name(n.into()))));
    if errno != 0 {
        fields.push(("si_errno", Value::Name(errno_name(errno).into())));
    }
    let pid_uid = |fields: &mut Vec<(&'static str, Value)>| {
        fields.push(("si_pid", Value::Int(i32_at(16).into())));
        fields.push(("si_uid", Value::Uint(field(b, 20, 4))));
    };
    match code {
        libc::SI_KERNEL => {}
        // SI_TIMER
        -2 => {
            fields.push(("si_timerid", Value::Hex(field(b, 16, 4))));
            fields.push(("si_overrun", Value::Int(i32_at(20).into())));
            fields.push(("si_int", Value::Int(i32_at(24).into())));
            fields.push(("si_ptr", Value::Ptr(field(b, 24, 8))));
        }
        // SI_QUEUE, SI_MESGQ: a value sent with the signal.
        -1 | -3 => {
            pid_uid(&mut fields);
            fields.push(("si_int", Value::Int(i32_at(24).into())));
            fields.push(("si_ptr", Value::Ptr(field(b, 24, 8))));
        }
        c if c <= 0 => pid_uid(&mut fields),
        _ => match signo {
            libc::SIGCHLD => {
                pid_uid(&mut fields);
                let status = i32_at(24);
                let st =
                    if code == libc::CLD_EXITED { Value::Int(status.into()) } else { Value::Name(signal_name(status)) };
                fields.push(("si_status", st));
                fields.push(("si_utime", Value::Int(field(b, 32, 8) as i64)));
                fields.push(("si_stime", Value::Int(field(b, 40, 8) as i64)));
            }
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP => {
                fields.push(("si_addr", Value::Ptr(field(b, 16, 8))));
            }
            libc::SIGPOLL => {
                fields.push(("si_band", Value::Int(field(b, 16, 8) as i64)));
                fields.push(("si_fd", Value::Int(i32_at(24).into())));
            }
            _ => pid_uid(&mut fields),
        },
    }
    Value::Struct { fields, more: false }
}

/// A time field as strace shows it: the seconds, then the date as a comment.
fn time_field(b: &[u8], off: usize, nsec_off: usize) -> Value {
    let secs = field(b, off, 8) as i64;
    dated(Value::Int(secs), iso_time(secs, Some(field(b, nsec_off, 8))))
}

/// `makedev(0x1, 0x3)` for a device number.
fn makedev(dev: u64) -> Value {
    Value::Call("makedev", vec![Value::Hex(libc::major(dev).into()), Value::Hex(libc::minor(dev).into())])
}

/// `struct stat`: the file type and mode, then the size (a device's number for devices); with
/// `verbose` every field, as strace -v.
fn stat(b: &[u8], verbose: bool) -> Value {
    use std::mem::offset_of;
    let u = |off: usize| Value::Uint(field(b, off, 8));
    let u32_at = |off: usize| Value::Uint(field(b, off, 4));
    let mode = field(b, offset_of!(libc::stat, st_mode), 4);
    let kind = mode & libc::S_IFMT as u64;
    let second = if kind == libc::S_IFCHR as u64 || kind == libc::S_IFBLK as u64 {
        ("st_rdev", makedev(field(b, offset_of!(libc::stat, st_rdev), 8)))
    } else {
        ("st_size", Value::Int(field(b, offset_of!(libc::stat, st_size), 8) as i64))
    };
    if !verbose {
        return Value::Struct { fields: vec![("st_mode", Value::FileMode(mode)), second], more: true };
    }
    let fields = vec![
        ("st_dev", makedev(field(b, offset_of!(libc::stat, st_dev), 8))),
        ("st_ino", u(offset_of!(libc::stat, st_ino))),
        ("st_mode", Value::FileMode(mode)),
        ("st_nlink", u(offset_of!(libc::stat, st_nlink))),
        ("st_uid", u32_at(offset_of!(libc::stat, st_uid))),
        ("st_gid", u32_at(offset_of!(libc::stat, st_gid))),
        ("st_blksize", u(offset_of!(libc::stat, st_blksize))),
        ("st_blocks", u(offset_of!(libc::stat, st_blocks))),
        second,
        ("st_atime", time_field(b, offset_of!(libc::stat, st_atime), offset_of!(libc::stat, st_atime_nsec))),
        ("st_atime_nsec", u(offset_of!(libc::stat, st_atime_nsec))),
        ("st_mtime", time_field(b, offset_of!(libc::stat, st_mtime), offset_of!(libc::stat, st_mtime_nsec))),
        ("st_mtime_nsec", u(offset_of!(libc::stat, st_mtime_nsec))),
        ("st_ctime", time_field(b, offset_of!(libc::stat, st_ctime), offset_of!(libc::stat, st_ctime_nsec))),
        ("st_ctime_nsec", u(offset_of!(libc::stat, st_ctime_nsec))),
    ];
    Value::Struct { fields, more: false }
}

/// `struct statx` (include/uapi/linux/stat.h): mask, attributes, mode and size; with `verbose`
/// every field the mask says is filled, as strace -v.
fn statx(b: &[u8], verbose: bool) -> Value {
    let mask = field(b, 0, 4);
    let has = |bit: u32| mask & u64::from(bit) != 0;
    let u = |off: usize, len: usize| Value::Uint(field(b, off, len));
    let mut fields = vec![("stx_mask", flags(mask, table::STATX_MASK, "0"))];
    if verbose {
        fields.push(("stx_blksize", u(4, 4)));
    }
    fields.push(("stx_attributes", flags(field(b, 8, 8), table::STATX_ATTR, "0")));
    if verbose {
        for (bit, name, off) in
            [(libc::STATX_NLINK, "stx_nlink", 16), (libc::STATX_UID, "stx_uid", 20), (libc::STATX_GID, "stx_gid", 24)]
        {
            if has(bit) {
                fields.push((name, u(off, 4)));
            }
        }
    }
    if has(libc::STATX_TYPE | libc::STATX_MODE) {
        fields.push(("stx_mode", Value::FileMode(field(b, 28, 2))));
    }
    if verbose && has(libc::STATX_INO) {
        fields.push(("stx_ino", u(32, 8)));
    }
    if has(libc::STATX_SIZE) {
        fields.push(("stx_size", u(40, 8)));
    }
    if !verbose {
        return Value::Struct { fields, more: true };
    }
    if has(libc::STATX_BLOCKS) {
        fields.push(("stx_blocks", u(48, 8)));
    }
    fields.push(("stx_attributes_mask", flags(field(b, 56, 8), table::STATX_ATTR, "0")));
    let stamp = |off: usize| {
        let (secs, nsec) = (field(b, off, 8) as i64, field(b, off + 8, 4));
        let t =
            Value::Struct { fields: vec![("tv_sec", Value::Int(secs)), ("tv_nsec", Value::Uint(nsec))], more: false };
        dated(t, iso_time(secs, Some(nsec)))
    };
    for (bit, name, off) in [
        (libc::STATX_ATIME, "stx_atime", 64),
        (libc::STATX_BTIME, "stx_btime", 80),
        (libc::STATX_CTIME, "stx_ctime", 96),
        (libc::STATX_MTIME, "stx_mtime", 112),
    ] {
        if has(bit) {
            fields.push((name, stamp(off)));
        }
    }
    for (name, off) in
        [("stx_rdev_major", 128), ("stx_rdev_minor", 132), ("stx_dev_major", 136), ("stx_dev_minor", 140)]
    {
        fields.push((name, u(off, 4)));
    }
    if has(libc::STATX_MNT_ID) {
        fields.push(("stx_mnt_id", Value::Hex(field(b, 144, 8))));
    }
    if has(0x2000) {
        // STATX_DIOALIGN
        fields.push(("stx_dio_mem_align", u(152, 4)));
        fields.push(("stx_dio_offset_align", u(156, 4)));
    }
    Value::Struct { fields, more: false }
}

/// `struct rusage`: the two times, and with `verbose` every counter.
fn rusage(b: &[u8], verbose: bool) -> Value {
    let mut fields = vec![("ru_utime", time_pair(b, 0, "tv_usec")), ("ru_stime", time_pair(b, 16, "tv_usec"))];
    if verbose {
        let names = [
            "ru_maxrss",
            "ru_ixrss",
            "ru_idrss",
            "ru_isrss",
            "ru_minflt",
            "ru_majflt",
            "ru_nswap",
            "ru_inblock",
            "ru_oublock",
            "ru_msgsnd",
            "ru_msgrcv",
            "ru_nsignals",
            "ru_nvcsw",
            "ru_nivcsw",
        ];
        fields.extend(names.iter().enumerate().map(|(i, n)| (*n, Value::Int(field(b, 32 + 8 * i, 8) as i64))));
    }
    Value::Struct { fields, more: !verbose }
}

/// `struct sysinfo`, every field.
fn sysinfo(b: &[u8]) -> Value {
    use std::mem::offset_of;
    let u = |off: usize| Value::Uint(field(b, off, 8));
    let loads = offset_of!(libc::sysinfo, loads);
    Value::Struct {
        fields: vec![
            ("uptime", Value::Int(field(b, offset_of!(libc::sysinfo, uptime), 8) as i64)),
            ("loads", Value::Array((0..3).map(|i| u(loads + 8 * i)).collect())),
            ("totalram", u(offset_of!(libc::sysinfo, totalram))),
            ("freeram", u(offset_of!(libc::sysinfo, freeram))),
            ("sharedram", u(offset_of!(libc::sysinfo, sharedram))),
            ("bufferram", u(offset_of!(libc::sysinfo, bufferram))),
            ("totalswap", u(offset_of!(libc::sysinfo, totalswap))),
            ("freeswap", u(offset_of!(libc::sysinfo, freeswap))),
            ("procs", Value::Uint(field(b, offset_of!(libc::sysinfo, procs), 2))),
            ("totalhigh", u(offset_of!(libc::sysinfo, totalhigh))),
            ("freehigh", u(offset_of!(libc::sysinfo, freehigh))),
            ("mem_unit", Value::Uint(field(b, offset_of!(libc::sysinfo, mem_unit), 4))),
        ],
        more: false,
    }
}

/// clone(flags, stack, parent_tid, child_tid, tls) (x86_64's order; aarch64 swaps the last
/// two) as strace shows it: by name, the stack first, the tids and tls only when the flags use
/// them.
fn clone_call(args: &[u64; 6]) -> Vec<Value> {
    let at = |i: usize| args.get(i).copied().unwrap_or(0);
    let a = |i: usize| match i {
        3 if cfg!(target_arch = "aarch64") => at(4),
        4 if cfg!(target_arch = "aarch64") => at(3),
        _ => at(i),
    };
    let labeled = |name, v| Value::Labeled(name, Box::new(v));
    let f = a(0) as i32;
    let mut out = vec![labeled("child_stack", Value::Ptr(a(1))), labeled("flags", clone_flags(a(0)))];
    if f & libc::CLONE_PARENT_SETTID != 0 {
        out.push(labeled("parent_tid", Value::Ptr(a(2))));
    }
    if f & (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) != 0 {
        out.push(labeled("child_tidptr", Value::Ptr(a(3))));
    }
    if f & libc::CLONE_SETTLS != 0 {
        out.push(labeled("tls", Value::Ptr(a(4))));
    }
    out
}

/// Decodes a syscall: its arguments read from the stopped tracee `pid` as strace shows them,
/// and with `ret` (at exit) what it returned. Arguments the call fills (a `struct stat`, a read
/// buffer) are decoded only at a successful exit.
pub fn decode_call(pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) -> Call {
    decode_call_styled(pid, name, args, ret, Style::default())
}

/// [`decode_call`] with strace's options of `style` (`-s`, `-xx`, `-v`).
pub fn decode_call_styled(pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>, style: Style) -> Call {
    let ctx = Ctx { pid, name, args, ret, style };
    let values = if name == "clone" {
        clone_call(args)
    } else {
        let sig = signature(name);
        let shown = shown_args(name, args, sig.len());
        sig.iter()
            .enumerate()
            .filter(|(i, _)| shown & (1 << i) != 0)
            .map(|(i, kind)| ctx.decode(*kind, ctx.arg(i)))
            .collect()
    };
    let ret = ret.map(|r| match (name, ctx.arg(1) as i32) {
        // `= 0x1 (flags FD_CLOEXEC)`, `= 0x8002 (flags O_RDWR|O_LARGEFILE)`.
        ("fcntl", libc::F_GETFD) if r > 0 => Ret::Flags(r as u64, flags(r as u64, table::FD_FLAGS, "0")),
        ("fcntl", libc::F_GETFL) if r >= 0 => Ret::Flags(r as u64, open_flags(r as u64)),
        // `= 0x2 (F_UNLCK)`, `= 1 (SIGHUP)`.
        ("fcntl", libc::F_GETLEASE) if r >= 0 => Ret::HexNote(r as u64, value(r as u64, table::LOCK_TYPE, "F_???")),
        ("fcntl", table::F_GETSIG) if r > 0 => Ret::Note(r, Value::Name(signal_name(r as i32))),
        ("poll" | "ppoll" | "select" | "pselect6", _) if r == 0 => Ret::Note(0, Value::Name("Timeout".into())),
        ("poll" | "ppoll", _) if r > 0 => match read_struct(pid, ctx.arg(0), 8) {
            // `= 1 ([{fd=3, revents=POLLIN}])`: the descriptors with events (read one by one, up
            // to the first unreadable).
            Some(_) => {
                let n = (ctx.arg(1) & 0xffff_ffff).min(1 << 20);
                let mut fired: Vec<Value> = (0..n)
                    .map_while(|i| read_struct(pid, ctx.arg(0).wrapping_add(8 * i), 8))
                    .filter(|c| field(c, 6, 2) != 0)
                    .map(|c| pollfd(&c, "revents", 6))
                    .collect();
                if fired.len() > ctx.style.string_limit {
                    fired.truncate(ctx.style.string_limit);
                    fired.push(Value::Name("...".into()));
                }
                let fired = Value::Array(fired);
                // ppoll: and the time left (`, left {tv_sec=1, tv_nsec=5}`).
                match (name, read_struct(pid, ctx.arg(2), 16)) {
                    ("ppoll", Some(t)) if ctx.arg(2) != 0 => {
                        Ret::Note(r, Value::Name(format!("{fired}, left {}", time_pair(&t, 0, "tv_nsec")).into()))
                    }
                    _ => Ret::Note(r, fired),
                }
            }
            None => Ret::Int(r),
        },
        ("umask", _) => Ret::Octal(r as u64),
        ("select" | "pselect6", _) if r > 0 => Ret::Note(r, Value::Name(select_left(&ctx).into())),
        ("rt_sigtimedwait", _) if r > 0 => Ret::Note(r, Value::Name(signal_name(r as i32))),
        ("time", _)
            if r >= 0
                && let Some(t) = iso_time(r, None) =>
        {
            Ret::Note(r, Value::Name(t.into()))
        }
        _ => ret_of(name, r),
    });
    Call { name: name.to_owned(), args: values, ret }
}

/// `v` with the date strace comments it with, if any.
fn dated(v: Value, date: Option<String>) -> Value {
    match date {
        Some(d) => Value::Commented(Box::new(v), d),
        None => v,
    }
}

/// A time as strace comments it, in UTC: `2017-04-16T16:05:06+0000`, with nanoseconds when given
/// (`…06.123456789+0000`).
/// `None` where strace prints no date: for 0, or nanoseconds out of range.
pub fn iso_time(secs: i64, nsec: Option<u64>) -> Option<String> {
    if (secs == 0 && nsec.unwrap_or(0) == 0) || nsec.is_some_and(|n| n > 999_999_999) {
        return None;
    }
    // Days to civil date (Howard Hinnant's algorithm).
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The C library's `struct tm` holds the year in an int: strace prints no date beyond.
    if i32::try_from(year - 1900).is_err() {
        return None;
    }
    let frac = nsec.filter(|&n| n > 0).map_or(String::new(), |n| format!(".{n:09}"));
    Some(format!("{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}{frac}+0000", rem / 3600, rem / 60 % 60, rem % 60))
}

/// Decodes a syscall at its exit as strace shows it, with `entry`, the same call decoded at its
/// entry (`decode_call(…, None)`): what the call only reads (paths, buffers written, timeouts,
/// socket addresses given, argv) is shown as it was at the entry, since the call may have changed
/// the memory since (select's timeout) or replaced it (execve); what it reads and updates shows
/// both (`[110 => 24]`).
pub fn decode_exit(pid: Pid, name: &str, args: &[u64; 6], ret: i64, entry: &Call, style: Style) -> Call {
    let mut call = decode_call_styled(pid, name, args, Some(ret), style);
    if name == "clone" || name.starts_with("execve") {
        // Every argument is an input; execve's are gone once it succeeded.
        call.args.clone_from(&entry.args);
        return call;
    }
    let sig = signature(name);
    let shown = shown_args(name, args, sig.len());
    let kinds = sig.iter().enumerate().filter(|(i, _)| shown & (1 << i) != 0);
    for (j, (i, kind)) in kinds.enumerate() {
        let (Some(before), Some(after)) = (entry.args.get(j), call.args.get_mut(j)) else { continue };
        if table::is_input(name, i, *kind) {
            after.clone_from(before);
        } else if let SockAddrOut(len_idx) = kind
            && let Some(Value::Array(given)) = entry.args.get(*len_idx)
            && let Some(Value::Uint(given)) = given.first()
            && matches!(after, Value::Struct { .. })
        {
            // What the call wrote is cut to the buffer's size the caller gave.
            let ctx = Ctx { pid, name, args, ret: Some(ret), style };
            let len = read_struct(pid, ctx.arg(*len_idx), 4).map_or(0, |b| field(&b, 0, 4));
            *after = ctx.sockaddr(ctx.arg(i), len.min(*given) as usize);
        } else if before != after {
            match (kind, before, &mut *after) {
                // `[110 => 24]`
                (SockLen, Value::Array(b), Value::Array(a)) if let ([b], [a]) = (b.as_slice(), a.as_slice()) => {
                    let changed = Value::Changed(Box::new(b.clone()), Box::new(a.clone()));
                    *after = Value::Array(vec![changed]);
                }
                // `[0] => [4096]`
                (OffsetInOut, Value::Array(_), Value::Array(_)) => {
                    *after = Value::Changed(Box::new(before.clone()), Box::new(after.clone()));
                }
                _ => {}
            }
        }
    }
    call
}

/// What a raw return value means, as strace shows it.
fn ret_of(name: &str, r: i64) -> Ret {
    if (-4095..0).contains(&r) {
        let e = -r as i32;
        if restart_errno(e).is_some() { Ret::Restart(e) } else { Ret::Error(e) }
    } else if matches!(name, "mmap" | "brk" | "mremap") {
        Ret::Addr(r as u64)
    } else {
        Ret::Int(r)
    }
}

/// The files a syscall names, for `strace -P`: its path arguments as the tracee passed them, and
/// the files its descriptor arguments are open on (`/proc/PID/fd/N`), as strace's pathtrace.c
/// selects them. Call it at the syscall's entry, while the descriptors are open.
pub fn paths_of(pid: Pid, name: &str, args: &[u64; 6]) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    let sig = signature(name);
    let fds = table::fd_args(name);
    let mut out = Vec::new();
    for (i, &v) in args.iter().enumerate() {
        let kind = sig.get(i).copied();
        if kind == Some(Path) {
            out.extend(read_string(pid, v, 4096).map(|(b, _)| b));
        } else if fds & (1 << i) != 0 || (kind == Some(AtFd) && v as i32 != libc::AT_FDCWD) {
            let link = std::fs::read_link(format!("/proc/{pid}/fd/{}", v as i32));
            out.extend(link.ok().map(|p| p.into_os_string().into_vec()));
        }
    }
    out
}

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

/// A signal by any of strace's spellings (`SIGUSR1`, `USR1`, `usr1`, `10`, `SIGRTMIN`, `RT_1`).
pub fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = name.to_ascii_uppercase();
    let bare = up.strip_prefix("SIG").unwrap_or(&up);
    (1..=64).find(|&s| signal_name(s).strip_prefix("SIG") == Some(bare))
}

/// Renders `name(args…)`; with `ret`, adds ` = ret` (or ` = -1 ENOENT (…)`) as strace does.
pub fn format_call(pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) -> String {
    decode_call(pid, name, args, ret).to_string()
}

/// Like [`format_call`], appending to `out`.
pub fn write_call(out: &mut String, pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>) {
    let _ = write!(out, "{}", decode_call(pid, name, args, ret));
}

/// Appends ` = value` (hex for mmap/brk, `-1 ERRNO (strerror text)` for errors, `? ERESTARTSYS
/// (…)` for the kernel's restart codes), as strace does.
pub fn format_ret(out: &mut String, name: &str, r: i64) {
    let _ = write!(out, " = {}", ret_of(name, r));
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn flags_and_quotes() {
        let o = (libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64;
        assert_eq!(open_flags(o).to_string(), "O_WRONLY|O_CREAT|O_CLOEXEC");
        assert_eq!(open_flags(0).to_string(), "O_RDONLY");
        let mut s = String::new();
        quote(&mut s, b"a\n\"\x01", true);
        assert_eq!(s, "\"a\\n\\\"\\1\"...");
        // strace: three octal digits when an octal digit follows, \v and \f by name.
        let mut s = String::new();
        quote(&mut s, b"\x0123\x0b\x0c\x009\x7f\xff8\x1b[", false);
        assert_eq!(s, r#""\00123\v\f\09\177\3778\33[""#);
        let ret = |name, r| {
            let mut s = String::new();
            format_ret(&mut s, name, r);
            s
        };
        assert_eq!(ret("close", -libc::EBADF as i64), " = -1 EBADF (Bad file descriptor)");
        assert_eq!(ret("ioctl", -libc::ENOTTY as i64), " = -1 ENOTTY (Inappropriate ioctl for device)");
        assert_eq!(ret("read", -512), " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        assert_eq!(ret("openat", -2), " = -1 ENOENT (No such file or directory)");
        assert_eq!(ret("mmap", 0x7f00_0000_1000), " = 0x7f0000001000");
        assert_eq!(errno_name(600), "600");
        assert_eq!(errno_name(2), "ENOENT");
        let prot = (libc::PROT_READ | libc::PROT_WRITE) as u64;
        assert_eq!(flags(prot, table::PROT, "PROT_NONE").to_string(), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0, table::PROT, "PROT_NONE").to_string(), "PROT_NONE");
        assert_eq!(flags(0x1_0000_0000 | 1, table::PROT, "PROT_NONE").to_string(), "PROT_READ|0x100000000");
        assert_eq!(flags(0, table::AT, "0").to_string(), "0");
    }

    /// Values whose rendering strace fixes: octal modes, unknown constants, signal sets,
    /// clone's exit signal, rlimits, futex operations.
    #[test]
    fn values_render_as_strace() {
        assert_eq!(Value::Octal(0o644).to_string(), "0644");
        assert_eq!(Value::Octal(0).to_string(), "000");
        assert_eq!(Value::FileMode(0o100_755).to_string(), "S_IFREG|0755");
        assert_eq!(Value::FileMode(0o41_777).to_string(), "S_IFDIR|01777");
        assert_eq!(value(0x3001, table::ARCH_PRCTL, "ARCH_???").to_string(), "0x3001 /* ARCH_??? */");
        assert_eq!(value(2, table::SIG_HOW, "SIG_???").to_string(), "SIG_SETMASK");
        assert_eq!(sigset(0).to_string(), "[]");
        assert_eq!(sigset((1 << 16) | (1 << 1)).to_string(), "[INT CHLD]");
        assert_eq!(sigset(!((1 << 31) | (1 << 32))).to_string(), "~[RTMIN RT_1]");
        assert_eq!(clone_flags(libc::SIGCHLD as u64).to_string(), "SIGCHLD");
        let f = (libc::CLONE_CHILD_CLEARTID | libc::CLONE_CHILD_SETTID | libc::SIGCHLD) as u64;
        assert_eq!(clone_flags(f).to_string(), "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD");
        assert_eq!(Value::Rlimit(8 << 20).to_string(), "8192*1024");
        assert_eq!(Value::Rlimit(u64::MAX).to_string(), "RLIM64_INFINITY");
        assert_eq!(Value::Rlimit(1000).to_string(), "1000");
        let ctx = Ctx { pid: Pid::from_raw(0), name: "futex", args: &[0; 6], ret: None, style: Style::default() };
        assert_eq!(ctx.decode(FutexOp, 128 | 1).to_string(), "FUTEX_WAKE_PRIVATE");
        assert_eq!(ctx.decode(FutexOp, 256 | 128 | 9).to_string(), "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME");
        assert_eq!(
            ctx.decode(SockType, (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64).to_string(),
            "SOCK_STREAM|SOCK_CLOEXEC"
        );
        assert_eq!(ctx.decode(Long, -559_038_737i64 as u64).to_string(), "-559038737");
        assert_eq!(ctx.decode(Long, 0xdead_beef_dead_beef).to_string(), (0xdead_beef_dead_beef_u64 as i64).to_string());
        assert_eq!(Value::WaitStatus(0x0100).to_string(), "[{WIFEXITED(s) && WEXITSTATUS(s) == 1}]");
        assert_eq!(Value::WaitStatus(libc::SIGPIPE).to_string(), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE}]");
        // open's mode only with O_CREAT; futex's arguments by operation.
        let creat = [0, libc::O_CREAT as u64, 0o600, 0, 0, 0];
        assert_eq!(shown_args("open", &creat, 3), 0b111);
        assert_eq!(shown_args("open", &[0; 6], 3), 0b11);
        assert_eq!(shown_args("futex", &[0, 129, 0, 0, 0, 0], 6), 0b111);
        assert_eq!(signal_number("SIGUSR1"), Some(libc::SIGUSR1));
        assert_eq!(signal_number("cont"), Some(libc::SIGCONT));
        assert_eq!(signal_number("RT_1"), Some(33));
        assert_eq!(signal_number("9"), Some(9));
        assert_eq!(signal_number("SIGBOGUS"), None);
    }

    /// The decoders added for strace's own test suite, on this process's real memory (read
    /// through process_vm_readv as for a tracee).
    #[test]
    fn suite_decoders_on_real_memory() {
        let me = Pid::this();
        let style = Style::default();
        let ctx = |name: &'static str, args: &'static [u64; 6], ret| Ctx { pid: me, name, args, ret, style };
        // Constants and flags are C ints: the upper half of the register is ignored.
        let c = ctx("faccessat", &[0; 6], None);
        assert_eq!(c.decode(AccessMode, 0xdefa_ced0_0000_0000).to_string(), "F_OK");
        assert_eq!(c.decode(AccessMode, 8).to_string(), "0x8 /* ?_OK */");
        assert_eq!(c.decode(AtFlags, 0x8000).to_string(), "AT_RECURSIVE");
        assert_eq!(c.decode(Uid, u64::from(u32::MAX)).to_string(), "-1");
        assert_eq!(c.decode(Uid, 0xffff_0000).to_string(), "4294901760");
        assert_eq!(c.decode(Mode, 0xdefa_ced0_0000_0000).to_string(), "000");
        assert_eq!(c.decode(MmapFlags, 0x22).to_string(), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(c.decode(MmapFlags, 0).to_string(), "MAP_FILE");
        assert_eq!(open_flags(0x10_0000).to_string(), "O_RDONLY|__O_SYNC");
        assert_eq!(open_flags(libc::O_SYNC as u64).to_string(), "O_RDONLY|O_SYNC");
        // An iovec array: written data whole, read data up to the return value.
        let data: &'static [u8] = b"abcdefgh";
        let iov: &'static [u64; 2] = Box::leak(Box::new([data.as_ptr() as u64, 8]));
        let args: &'static [u64; 6] = Box::leak(Box::new([0, iov.as_ptr() as u64, 1, 0, 0, 0]));
        assert_eq!(
            ctx("writev", args, None).decode(Iovec(true), args[1]).to_string(),
            r#"[{iov_base="abcdefgh", iov_len=8}]"#
        );
        assert_eq!(
            ctx("readv", args, Some(3)).decode(Iovec(false), args[1]).to_string(),
            r#"[{iov_base="abc", iov_len=8}]"#
        );
        assert_eq!(
            io_dump("readv", &io_data(me, "readv", args, 3).unwrap().2),
            " * 3 bytes in buffer 0\n | 00000  61 62 63                                          abc              |\n"
        );
        // A socket address length the call changed: `[110 => 24]`.
        let len: &'static mut u32 = Box::leak(Box::new(110u32));
        let addr = std::ptr::from_mut(len) as u64;
        let args: &'static [u64; 6] = Box::leak(Box::new([3, 0, addr, 0, 0, 0]));
        let entry = decode_call(me, "getsockname", args, None);
        *len = 24;
        let exit = decode_exit(me, "getsockname", args, 0, &entry, style);
        assert_eq!(exit.args[2].to_string(), "[110 => 24]");
        // fcntl's lock structure.
        let mut fl = [0u8; 32];
        fl[16..24].copy_from_slice(&4096i64.to_ne_bytes());
        let fl: &'static [u8; 32] = Box::leak(Box::new(fl));
        let args: &'static [u64; 6] = Box::leak(Box::new([0, libc::F_SETLK as u64, fl.as_ptr() as u64, 0, 0, 0]));
        assert_eq!(
            decode_call(me, "fcntl", args, Some(0)).to_string(),
            "fcntl(0, F_SETLK, {l_type=F_RDLCK, l_whence=SEEK_SET, l_start=0, l_len=4096}) = 0"
        );
        // -P: a descriptor's file.
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f) as u64;
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(paths_of(me, "fstat", &[fd, 0, 0, 0, 0, 0]), vec![exe.as_os_str().as_bytes().to_vec()]);
        // -xx and -s.
        let hex = Style { hex_strings: true, string_limit: 2, ..Style::default() };
        let c = Ctx { pid: me, name: "write", args: &[0; 6], ret: None, style: hex };
        assert_eq!(c.buffer(data.as_ptr() as u64, 8).to_string(), r#""\x61\x62"..."#);
    }

    /// Dates, dumps and siginfo as strace prints them.
    #[test]
    fn dates_dumps_siginfo() {
        assert_eq!(iso_time(1_492_358_706, Some(123_456_789)).as_deref(), Some("2017-04-16T16:05:06.123456789+0000"));
        assert_eq!(iso_time(-10_843, Some(135)).as_deref(), Some("1969-12-31T20:59:17.000000135+0000"));
        assert_eq!(iso_time(1_795_959_417, None).as_deref(), Some("2026-11-29T13:36:57+0000"));
        assert_eq!(iso_time(0, Some(0)), None);
        assert_eq!(iso_time(-3_819_351_491_602_432_273, Some(0)), None);
        assert_eq!(
            hexdump(b"0123456789abcdefg"),
            " | 00000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  0123456789abcdef |\n | 00010  67                                                g                |\n"
        );
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&libc::SIGCHLD.to_ne_bytes());
        b[8..12].copy_from_slice(&libc::CLD_EXITED.to_ne_bytes());
        b[16..20].copy_from_slice(&42i32.to_ne_bytes());
        b[24..28].copy_from_slice(&3i32.to_ne_bytes());
        assert_eq!(
            siginfo(&b).to_string(),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=42, si_uid=0, si_status=3, si_utime=0, si_stime=0}"
        );
        let mut k = [0u8; 128];
        k[0..4].copy_from_slice(&libc::SIGALRM.to_ne_bytes());
        k[8..12].copy_from_slice(&libc::SI_KERNEL.to_ne_bytes());
        assert_eq!(siginfo(&k).to_string(), "{si_signo=SIGALRM, si_code=SI_KERNEL}");
        assert_eq!(siginfo(&[0; 128]).to_string(), "{}");
        let op = (1 << 28) | (2 << 12) | (4 << 24) | 3;
        assert_eq!(futex_wake_op(op).to_string(), "FUTEX_OP_ADD<<28|0x2<<12|FUTEX_OP_CMP_GT<<24|0x3");
        assert_eq!(futex_wake_op(7 << 28).to_string(), "0x7<<28 /* FUTEX_OP_??? */|0<<12|FUTEX_OP_CMP_EQ<<24|0");
    }
}
