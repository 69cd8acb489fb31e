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
//! values and flag bits from libc's constants); reading and decoding is here and in the
//! submodules by concern (`ctx.rs` decodes one argument by its kind; `mem.rs`, `names.rs`,
//! `signals.rs`, `structs.rs`, `pointed.rs`, `time.rs`, `dump.rs`), rendering in `value.rs`.

use ktrace_core::Cursor;
use std::borrow::Cow;
use std::fmt::Write;

use nix::unistd::Pid;

use crate::sys::{self, read_mem};

mod ctx;
mod dump;
mod fd;
mod mem;
mod names;
mod pointed;
mod signals;
mod sockaddr;
mod sockopt;
mod structs;
pub(crate) mod table;
#[cfg(test)]
mod tests;
mod time;
mod value;

use table::{Names, shown_args, signature};
pub use value::{Call, Ret, Value};

use ctx::*;
pub use dump::{IoBuffer, hexdump, io_data, io_dump};
pub use fd::{DecodeFds, FdTarget, SocketEndpoint, fd_target};
pub use mem::read_string;
use mem::*;
use names::*;
pub use names::{errno_name, open_flags, quote};
use signals::*;
pub use signals::{pending_siginfo, signal_name, signal_number};
use structs::*;
pub use time::iso_time;
use time::*;
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
    /// A C `unsigned int` in hexadecimal (flags no name is known for).
    Hex32,
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
    /// A socket option level (`SOL_SOCKET`).
    SockLevel,
    /// A socket option, named for the level of the argument before.
    SockOptName,
    /// setsockopt's value, as its option holds it (`[1]`).
    SockOptSet,
    /// getsockopt's length: `[4]` at the entry (the value and the length at the exit are
    /// decoded by `decode_exit` from it).
    SockOptLen,
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
    /// Descriptors with what they are open on (`-y`, `-yy`, `--decode-fds`):
    /// `read(3</etc/hostname>, …)`, `sendto(4<TCP:[127.0.0.1:41234->127.0.0.1:80]>, …)`, and the
    /// new descriptor an `openat` or `socket` returns (`= 3</etc/hostname>`). Read from
    /// `/proc/PID/fd/N` (and for sockets asked of sock_diag(7)) when decoded: decode a call that
    /// closes its descriptor at its entry.
    pub decode_fds: DecodeFds,
}

impl Default for Style {
    fn default() -> Self {
        Style { string_limit: STRING_LIMIT, hex_strings: false, verbose: false, decode_fds: DecodeFds::NONE }
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
    decode_with(pid, name, args, ret, style, true)
}

/// [`decode_call_styled`]; the descriptor arguments with what they are open on only with
/// `fd_args` (at an exit they are the entry's).
fn decode_with(pid: Pid, name: &str, args: &[u64; 6], ret: Option<i64>, style: Style, fd_args: bool) -> Call {
    let ctx = Ctx { pid, name, args, ret, style };
    let values = if name == "clone" {
        clone_call(args)
    } else {
        let sig = signature(name);
        let shown = shown_args(name, args, sig.len());
        sig.iter()
            .enumerate()
            .filter(|(i, _)| shown & (1 << i) != 0)
            .map(|(i, kind)| {
                let (v, arg) = (ctx.decode(*kind, ctx.arg(i)), ctx.arg(i));
                if fd_args && style.decode_fds.any() && is_fd_arg(name, i, Some(*kind), arg) {
                    with_fd_target(pid, arg as i32 as i64, v, style.decode_fds)
                } else if fd_args && style.decode_fds.any() && (name, i) == ("pidfd_getfd", 1) {
                    // A descriptor of the process the pidfd refers to.
                    match sys::pidfd_pid(pid, ctx.arg(0) as i32) {
                        Some(p) => with_fd_target(Pid::from_raw(p), arg as i32 as i64, v, style.decode_fds),
                        None => v,
                    }
                } else {
                    v
                }
            })
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
        _ if style.decode_fds.any()
            && r >= 0
            && (table::returns_fd(name)
                || (name == "fcntl" && matches!(ctx.arg(1) as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC))) =>
        {
            match with_fd_target(pid, r, Value::Int(r), style.decode_fds) {
                v @ Value::Fd { .. } => Ret::Fd(v),
                _ => ret_of(name, r),
            }
        }
        _ => ret_of(name, r),
    });
    Call { name: name.to_owned(), args: values, ret }
}

/// Decodes a syscall at its exit as strace shows it, with `entry`, the same call decoded at its
/// entry (`decode_call(…, None)`): what the call only reads (paths, buffers written, timeouts,
/// socket addresses given, argv) is shown as it was at the entry, since the call may have changed
/// the memory since (select's timeout) or replaced it (execve); what it reads and updates shows
/// both (`[110 => 24]`).
pub fn decode_exit(pid: Pid, name: &str, args: &[u64; 6], ret: i64, entry: &Call, style: Style) -> Call {
    let mut call = decode_with(pid, name, args, Some(ret), style, false);
    if name == "clone" || name.starts_with("execve") {
        // Every argument is an input; execve's are gone once it succeeded.
        call.args.clone_from(&entry.args);
        return call;
    }
    if name == "getsockopt" {
        let ctx = Ctx { pid, name, args, ret: Some(ret), style };
        sockopt::getsockopt_exit(&ctx, entry, &mut call);
    }
    let sig = signature(name);
    let shown = shown_args(name, args, sig.len());
    let kinds = sig.iter().enumerate().filter(|(i, _)| shown & (1 << i) != 0);
    for (j, (i, kind)) in kinds.enumerate() {
        let (Some(before), Some(after)) = (entry.args.get(j), call.args.get_mut(j)) else { continue };
        // A descriptor as at the entry (strace prints arguments then): close(3</x>) closes it,
        // dup2(3</x>, 1) opens 1.
        if table::is_input(name, i, *kind) || matches!(before, Value::Fd { .. }) || matches!(after, Value::Fd { .. }) {
            after.clone_from(before);
        } else if let SockAddrOut(len_idx) = kind
            && let Some(Value::Array(given)) = entry.args.get(*len_idx)
            && let Some(Value::Uint(given)) = given.first()
            && ret >= 0
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

/// Whether argument `i` (of `kind`, value `v`) of `name` is a descriptor: one of strace's
/// pathtrace.c descriptor arguments, or a `*at` directory other than `AT_FDCWD`.
fn is_fd_arg(name: &str, i: usize, kind: Option<Arg>, v: u64) -> bool {
    table::fd_args(name) & (1 << i) != 0 || (kind == Some(AtFd) && v as i32 != libc::AT_FDCWD)
}

/// `fd` as [`Value::Fd`] with what it is open on in `pid` (as much as `what` asks for), or `v`
/// when there is nothing to show (a closed descriptor, a process gone).
fn with_fd_target(pid: Pid, fd: i64, v: Value, what: DecodeFds) -> Value {
    match i32::try_from(fd).ok().and_then(|n| fd_target(pid, n, what)) {
        Some(target) => Value::Fd { fd, target },
        None => v,
    }
}

/// The files a syscall names, for `strace -P`: its path arguments as the tracee passed them, and
/// the files its descriptor arguments are open on (`/proc/PID/fd/N`), as strace's pathtrace.c
/// selects them. Call it at the syscall's entry, while the descriptors are open.
pub fn paths_of(pid: Pid, name: &str, args: &[u64; 6]) -> Vec<Vec<u8>> {
    let sig = signature(name);
    let mut out = Vec::new();
    for (i, &v) in args.iter().enumerate() {
        let kind = sig.get(i).copied();
        if kind == Some(Path) {
            out.extend(read_string(pid, v, 4096).map(|(b, _)| b));
        } else if is_fd_arg(name, i, kind, v) {
            out.extend(sys::fd_path(pid, v as i32).ok());
        }
    }
    out
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
