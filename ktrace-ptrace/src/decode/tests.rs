//! Decoding tests: flags and quoting, rendering, and decoders on this process's memory.

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
    assert_eq!(Value::FileMode(0o41_777).to_string(), "S_IFDIR|S_ISVTX|0777");
    assert_eq!(Value::FileMode(0o106_755).to_string(), "S_IFREG|S_ISUID|S_ISGID|0755");
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
