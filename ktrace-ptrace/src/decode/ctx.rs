//! The syscall being decoded ([`Ctx`]) and the decoding of one argument by its kind.

use super::*;

/// The syscall being decoded: its tracee, name, raw arguments and (at exit) return value.
pub(super) struct Ctx<'a> {
    pub(super) pid: Pid,
    pub(super) name: &'a str,
    pub(super) args: &'a [u64; 6],
    pub(super) ret: Option<i64>,
    pub(super) style: Style,
}

impl Ctx<'_> {
    pub(super) fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }

    /// Whether the call has returned successfully (structures it fills can be read).
    pub(super) fn succeeded(&self) -> bool {
        self.ret.is_some_and(|r| r >= 0)
    }

    /// Bytes read from the tracee, quoted as the style says.
    pub(super) fn text(&self, bytes: Vec<u8>, truncated: bool) -> Value {
        if self.style.hex_strings { Value::HexStr { bytes, truncated } } else { Value::Str { bytes, truncated } }
    }

    pub(super) fn string(&self, v: u64, max: usize) -> Value {
        match read_string(self.pid, v, max) {
            Some((bytes, truncated)) => self.text(bytes, truncated),
            None => Value::Ptr(v),
        }
    }

    pub(super) fn buffer(&self, v: u64, len: usize) -> Value {
        let limit = self.style.string_limit;
        match read_bytes(self.pid, v, len.min(limit)) {
            // Random bytes: strace shows them in hexadecimal whatever the style.
            Some(bytes) if self.name == "getrandom" => Value::HexStr { bytes, truncated: len > limit },
            Some(bytes) => self.text(bytes, len > limit),
            None => Value::Ptr(v),
        }
    }

    /// Decodes one argument of kind `kind` whose raw value is `v`.
    pub(super) fn decode(&self, kind: Arg, v: u64) -> Value {
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
            Hex32 => Value::Hex(v & 0xffff_ffff),
            Ptr => Value::Ptr(v),
            AtFd if v as i32 == libc::AT_FDCWD && self.style.decode_fds.path => {
                // strace -y: the directory it stands for, `AT_FDCWD</home/me>`.
                match sys::proc_link(self.pid, "cwd") {
                    Ok(path) => Value::Name(format!("AT_FDCWD{}", FdTarget::Path { path, deleted: false }).into()),
                    Err(_) => Value::Name("AT_FDCWD".into()),
                }
            }
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
            // ARCH_GET_XCOMP_SUPP/PERM/GUEST_PERM: the components' mask, named in a comment
            // (`[0x7 /* XFEATURE_MASK_FPSSE|XFEATURE_MASK_YMM */]`).
            ArchPrctlAddr if matches!(self.arg(0) & 0xffff_ffff, 0x1021 | 0x1022 | 0x1024) => {
                match (self.ret, read_struct(pid, v, 8)) {
                    (Some(0), Some(b)) => {
                        let mask = field(&b, 0, 8);
                        let shown = match flags(mask, table::XFEATURE_MASKS, "0") {
                            _ if mask == 0 => Value::Hex(0),
                            Value::Flags { names, .. } if names.is_empty() => {
                                Value::Commented(Box::new(Value::Hex(mask)), "XFEATURE_MASK_???".into())
                            }
                            named => Value::Commented(Box::new(Value::Hex(mask)), named.to_string()),
                        };
                        Value::Array(vec![shown])
                    }
                    _ => Value::Ptr(v),
                }
            }
            // ARCH_REQ_XCOMP_PERM/GUEST_PERM: a component number (`0xf /* XFEATURE_LBR */`).
            ArchPrctlAddr if matches!(self.arg(0) & 0xffff_ffff, 0x1023 | 0x1025) => {
                let name = table::XFEATURES.iter().find(|(n, _)| *n == v).map_or("XFEATURE_???", |(_, s)| *s);
                Value::Commented(Box::new(Value::Hex(v)), name.into())
            }
            ArchPrctlAddr if matches!(self.arg(0) & 0xffff_ffff, 0x1003 | 0x1004) => match self.ret {
                Some(0) => self.decode(LongOut(true), v),
                _ => Value::Ptr(v),
            },
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
            SockLevel => self.sockopt_level(v),
            SockOptName => self.sockopt_name(v),
            SockOptSet => self.setsockopt_val(v),
            SockOptLen => read_struct(pid, v, 4)
                .map_or(Value::Ptr(v), |b| Value::Array(vec![Value::Int((field(&b, 0, 4) as i32).into())])),
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
                libc::AF_NETLINK => value(v, table::NETLINK, "NETLINK_???"),
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
                Some(b) => Value::Array(
                    [0, 4]
                        .map(|off| {
                            let fd = i64::from(field(&b, off, 4) as i32);
                            with_fd_target(pid, fd, Value::Int(fd), self.style.decode_fds)
                        })
                        .to_vec(),
                ),
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
}
