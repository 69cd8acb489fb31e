//! What strace knows per syscall, as data: each syscall's argument kinds, and the named values and
//! flag bits of the arguments (from libc's constants where libc has them).

use super::Arg::{self, *};

/// The argument kinds of a syscall, by name (six raw hex words for one not listed).
pub(super) fn signature(name: &str) -> &'static [Arg] {
    match name {
        "read" => &[Int, BufOut, Uint],
        "pread64" => &[Int, BufOut, Uint, Long],
        "write" => &[Int, BufIn(2), Uint],
        "pwrite64" => &[Int, BufIn(2), Uint, Long],
        "open" => &[Path, OpenFlags, Mode],
        "openat" => &[AtFd, Path, OpenFlags, Mode],
        "creat" => &[Path, Mode],
        "close" | "fsync" | "fdatasync" | "dup" | "fchdir" | "syncfs" => &[Int],
        "dup2" => &[Int, Int],
        "dup3" => &[Int, Int, OpenFlags0],
        "stat" | "lstat" => &[Path, Stat],
        "fstat" => &[Int, Stat],
        "newfstatat" => &[AtFd, Path, Stat, AtFlags],
        "statx" => &[AtFd, Path, StatxFlags, Named(STATX_MASK, "0"), Statx],
        "access" => &[Path, AccessMode],
        "faccessat" => &[AtFd, Path, AccessMode],
        "faccessat2" => &[AtFd, Path, AccessMode, AtFlags],
        "readlink" => &[Path, BufOut, Uint],
        "readlinkat" => &[AtFd, Path, BufOut, Uint],
        "unlink" | "rmdir" | "chdir" | "chroot" | "acct" | "swapoff" => &[Path],
        "unlinkat" => &[AtFd, Path, AtFlags],
        "mkdir" | "chmod" => &[Path, Mode],
        "mkdirat" | "fchmodat" => &[AtFd, Path, Mode],
        "fchmod" => &[Int, Mode],
        "umask" => &[Mode],
        "chown" | "lchown" => &[Path, Uid, Uid],
        "fchown" => &[Int, Uid, Uid],
        "fchownat" => &[AtFd, Path, Uid, Uid, AtFlags],
        "truncate" => &[Path, Long],
        "ftruncate" => &[Int, Long],
        "rename" | "symlink" | "link" => &[Path, Path],
        "symlinkat" => &[Path, AtFd, Path],
        "renameat" => &[AtFd, Path, AtFd, Path],
        "renameat2" => &[AtFd, Path, AtFd, Path, Named(RENAME, "0")],
        "linkat" => &[AtFd, Path, AtFd, Path, AtFlags],
        "getxattr" | "lgetxattr" => &[Path, Path, BufOut, Uint],
        "fgetxattr" => &[Int, Path, BufOut, Uint],
        "execve" => &[Path, Argv, Envp],
        "execveat" => &[AtFd, Path, Argv, Envp, AtFlags],
        "mmap" => &[Ptr, Uint, Named(PROT, "PROT_NONE"), MmapFlags, Int, Hex],
        "mprotect" => &[Ptr, Uint, Named(PROT, "PROT_NONE")],
        "munmap" => &[Ptr, Uint],
        "madvise" => &[Ptr, Uint, Value(MADV, "MADV_???")],
        "fadvise64" => &[Int, Long, Long, Value(FADV, "POSIX_FADV_???")],
        "brk" | "set_tid_address" | "shmdt" => &[Ptr],
        "lseek" => &[Int, Long, Value(SEEK, "SEEK_???")],
        "getdents64" | "getdents" => &[Int, Dirents, U32],
        "ioctl" => &[Int, IoctlReq, IoctlThird],
        "fcntl" => &[Int, Value(FCNTL, "F_???"), FcntlThird],
        "kill" | "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, SigAction, SigAction, Uint],
        "rt_sigprocmask" => &[Value(SIG_HOW, "SIG_???"), SigSet, SigSet, Uint],
        "exit" | "exit_group" => &[Int],
        "wait4" => &[Int, WaitStatus, Named(WAIT, "0"), Rusage],
        "clone3" => &[CloneArgs, Uint],
        "socket" => &[Value(AF, "AF_???"), SockType, SockProto],
        "connect" | "bind" => &[Int, SockAddr(2), Uint],
        "sendto" => &[Int, BufIn(2), Uint, Named(MSG, "0"), SockAddr(5), Uint],
        "nanosleep" => &[Timespec, TimespecRem],
        "clock_nanosleep" => &[Value(CLOCK, "CLOCK_???"), Named(TIMER, "0"), Timespec, TimespecRem],
        "pipe" => &[PipeFds],
        "pipe2" => &[PipeFds, OpenFlags0],
        "getcwd" => &[Cwd, Uint],
        "sysinfo" => &[Sysinfo],
        "arch_prctl" => &[Value(ARCH_PRCTL, "ARCH_???"), ArchPrctlAddr],
        "set_robust_list" => &[Ptr, Uint],
        "rseq" => &[Ptr, Hex, Int, Hex],
        "prlimit64" => &[Int, Value(RLIMIT, "RLIMIT_???"), Rlimit, Rlimit],
        "getrlimit" | "setrlimit" => &[Value(RLIMIT, "RLIMIT_???"), Rlimit],
        "getrandom" => &[BufOut, Uint, Named(GRND, "0")],
        "futex" => &[Ptr, FutexOp, U32, FutexArg4, Ptr, FutexVal3],
        "copy_file_range" => &[Int, Ptr, Int, Ptr, Uint, Uint],
        "sendfile" => &[Int, Int, OffsetInOut, Uint],
        "sched_getaffinity" => &[Int, Uint, CpuSet],
        "getppid" | "getpid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid" | "sched_yield" | "vfork"
        | "fork" | "getpgrp" | "setsid" | "sync" | "pause" => &[],
        "getsid" | "getpgid" => &[Int],
        "setuid" | "setgid" | "setfsuid" | "setfsgid" => &[Uid],
        "setpgid" => &[Int, Int],
        "getgroups" | "setgroups" => &[Int, Gids],
        "epoll_create1" => &[Named(EPOLL_FLAGS, "0")],
        "epoll_create" => &[Int],
        "epoll_ctl" => &[Int, Value(EPOLL_CTL, "EPOLL_CTL_???"), Int, EpollEvent],
        "poll" => &[PollFds, U32, Int],
        "ppoll" => &[PollFds, U32, Timespec, SigSet, Uint],
        "select" => &[Int, FdSet, FdSet, FdSet, Timeval],
        "pselect6" => &[Int, FdSet, FdSet, FdSet, Timespec, Ptr],
        "uname" => &[Utsname],
        "utimensat" => &[AtFd, Path, Timespec2, AtFlags],
        "statfs" => &[Path, Statfs],
        "fstatfs" => &[Int, Statfs],
        "sethostname" => &[BufIn(1), Uint],
        "listen" => &[Int, Int],
        "accept" | "getsockname" | "getpeername" => &[Int, SockAddrOut(2), SockLen],
        "accept4" => &[Int, SockAddrOut(2), SockLen, Named(SOCK_FLAGS, "0")],
        "shutdown" => &[Int, Value(SHUT, "SHUT_???")],
        "recvfrom" => &[Int, BufOut, Uint, Named(MSG, "0"), SockAddrOut(5), SockLen],
        "socketpair" => &[Value(AF, "AF_???"), SockType, Int, PipeFds],
        "eventfd2" => &[U32, Named(EFD, "0")],
        "memfd_create" => &[Path, Named(MFD, "0")],
        "flock" => &[Int, Named(LOCK, "0")],
        "mremap" => &[Ptr, Uint, Uint, Named(MREMAP, "0"), Ptr],
        "msync" => &[Ptr, Uint, Named(MS, "0")],
        "mlock" | "munlock" => &[Ptr, Uint],
        "sched_setaffinity" => &[Int, Uint, CpuSetIn],
        "sched_getparam" | "sched_getscheduler" => &[Int, Ptr],
        "setresuid" | "setresgid" => &[Uid, Uid, Uid],
        "setreuid" | "setregid" => &[Uid, Uid],
        "getresuid" | "getresgid" => &[UidOut, UidOut, UidOut],
        "prctl" => &[Value(PR, "PR_???"), PrctlSecond, Hex, Hex, Hex],
        "rt_sigsuspend" => &[SigSet, Uint],
        "rt_sigpending" => &[SigSet, Uint],
        "sigaltstack" => &[Ptr, Ptr],
        "alarm" => &[Uint],
        "setitimer" | "getitimer" => &[Int, Ptr, Ptr],
        "clock_gettime" | "clock_getres" | "clock_settime" => &[Value(CLOCK, "CLOCK_???"), Timespec],
        "gettimeofday" => &[Timeval, Timezone],
        "time" => &[TimeOut],
        "times" => &[Ptr],
        "getrusage" => &[Value(RUSAGE, "RUSAGE_???"), Rusage],
        "inotify_init1" => &[Named(IN_FLAGS, "0")],
        "inotify_add_watch" => &[Int, Path, Hex],
        "inotify_rm_watch" => &[Int, Int],
        "timerfd_create" => &[Value(CLOCK, "CLOCK_???"), Named(TFD, "0")],
        "signalfd4" => &[Int, SigSet, Uint, Named(SFD, "0")],
        "pidfd_open" => &[Int, Hex],
        "mount" => &[Path, Path, Path, Hex, Ptr],
        "umount2" => &[Path, Hex],
        "pivot_root" => &[Path, Path],
        "fallocate" => &[Int, Named(FALLOC, "0"), Long, Long],
        "sync_file_range" => &[Int, Long, Long, Hex],
        "splice" => &[Int, Ptr, Int, Ptr, Uint, Hex],
        "tee" => &[Int, Int, Uint, Hex],
        "readv" => &[Int, Iovec(false), Uint],
        "writev" => &[Int, Iovec(true), Uint],
        "preadv" => &[Int, Iovec(false), Uint, Long],
        "pwritev" => &[Int, Iovec(true), Uint, Long],
        "membarrier" => &[Int, Hex, Int],
        "personality" => &[Hex],
        "getpriority" => &[Value(PRIO, "PRIO_???"), Int],
        "setpriority" => &[Value(PRIO, "PRIO_???"), Int, Int],
        "capget" | "capset" => &[Ptr, Ptr],
        "unshare" => &[Named(CLONE, "0")],
        "setns" => &[Int, Named(CLONE, "0")],
        "kcmp" => &[Int, Int, Int, Hex, Hex],
        "rt_sigreturn" => &[SigreturnMask],
        "restart_syscall" | "munlockall" | "vhangup" | "inotify_init" => &[],
        "mincore" => &[Ptr, Uint, Ptr],
        "shmget" => &[Hex, Uint, Hex],
        "shmat" => &[Int, Ptr, Hex],
        "shmctl" | "msgctl" => &[Int, Int, Ptr],
        "semget" => &[Hex, Int, Hex],
        "semop" => &[Int, Ptr, Uint],
        "semtimedop" => &[Int, Ptr, Uint, Timespec],
        "semctl" => &[Int, Int, Int, Hex],
        "msgget" => &[Hex, Hex],
        "msgsnd" => &[Int, Ptr, Uint, Hex],
        "msgrcv" => &[Int, Ptr, Uint, Long, Hex],
        "sendmsg" | "recvmsg" => &[Int, Ptr, Hex],
        "sendmmsg" => &[Int, Ptr, Uint, Hex],
        "recvmmsg" => &[Int, Ptr, Uint, Hex, Timespec],
        "setsockopt" => &[Int, Int, Int, Ptr, Uint],
        "getsockopt" => &[Int, Int, Int, Ptr, Ptr],
        "ptrace" => &[Long, Int, Ptr, Ptr],
        "syslog" => &[Int, Ptr, Int],
        "timer_getoverrun" | "timer_delete" | "pkey_free" | "iopl" => &[Int],
        "rt_sigtimedwait" => &[SigSet, SigInfoOut, Timespec, Uint],
        "rt_sigqueueinfo" => &[Int, Signal, Ptr],
        "rt_tgsigqueueinfo" => &[Int, Int, Signal, Ptr],
        "utime" | "utimes" => &[Path, Ptr],
        "futimesat" => &[AtFd, Path, Ptr],
        "mknod" => &[Path, FileMode, Hex],
        "mknodat" => &[AtFd, Path, FileMode, Hex],
        "sched_setparam" | "sched_rr_get_interval" => &[Int, Ptr],
        "sched_setscheduler" => &[Int, Int, Ptr],
        "sched_get_priority_max" | "sched_get_priority_min" => &[Int],
        "sched_setattr" => &[Int, Ptr, Hex],
        "sched_getattr" => &[Int, Ptr, Uint, Hex],
        "mlockall" => &[Named(MCL, "0")],
        "io_destroy" | "memfd_secret" => &[Hex],
        "mlock2" => &[Ptr, Uint, Hex],
        "settimeofday" => &[Timeval, Timezone],
        "adjtimex" => &[Ptr],
        "clock_adjtime" => &[Value(CLOCK, "CLOCK_???"), Ptr],
        "swapon" => &[Path, Hex],
        "reboot" => &[Hex, Hex, Hex, Ptr],
        "setdomainname" => &[BufIn(1), Uint],
        "ioperm" => &[Uint, Uint, Int],
        "init_module" => &[Ptr, Uint, Path],
        "finit_module" => &[Int, Path, Hex],
        "delete_module" => &[Path, Hex],
        "readahead" => &[Int, Long, Uint],
        "setxattr" | "lsetxattr" => &[Path, Path, BufIn(3), Uint, Hex],
        "fsetxattr" => &[Int, Path, BufIn(3), Uint, Hex],
        "listxattr" | "llistxattr" => &[Path, Ptr, Uint],
        "flistxattr" => &[Int, Ptr, Uint],
        "removexattr" | "lremovexattr" => &[Path, Path],
        "fremovexattr" => &[Int, Path],
        "io_setup" => &[Uint, Ptr],
        "io_getevents" => &[Hex, Long, Long, Ptr, Timespec],
        "io_submit" => &[Hex, Long, Ptr],
        "io_cancel" => &[Hex, Ptr, Ptr],
        "timer_create" => &[Value(CLOCK, "CLOCK_???"), Ptr, Ptr],
        "timer_settime" | "timerfd_settime" => &[Int, Hex, Ptr, Ptr],
        "timer_gettime" | "timerfd_gettime" => &[Int, Ptr],
        "epoll_wait" => &[Int, Ptr, Int, Int],
        "epoll_pwait" => &[Int, Ptr, Int, Int, SigSet, Uint],
        "epoll_pwait2" => &[Int, Ptr, Int, Timespec, SigSet, Uint],
        "mq_open" => &[Path, OpenFlags, Mode, Ptr],
        "mq_unlink" => &[Path],
        "mq_timedsend" => &[Int, BufIn(2), Uint, Uint, Timespec],
        "mq_timedreceive" => &[Int, BufOut, Uint, Ptr, Timespec],
        "mq_notify" => &[Int, Ptr],
        "mq_getsetattr" => &[Int, Ptr, Ptr],
        "waitid" => &[Value(IDTYPE, "P_???"), Int, SigInfoOut, Named(WAIT, "0"), Rusage],
        "ioprio_set" => &[Int, Int, Int],
        "ioprio_get" => &[Int, Int],
        "get_robust_list" => &[Int, LongOut(true), LongOut(false)],
        "vmsplice" => &[Int, Ptr, Uint, Hex],
        "signalfd" => &[Int, SigSet, Uint],
        "eventfd" => &[U32],
        "perf_event_open" => &[Ptr, Int, Int, Int, Hex],
        "getcpu" => &[Ptr, Ptr, Ptr],
        "process_vm_readv" | "process_vm_writev" => &[Int, Ptr, Uint, Ptr, Uint, Hex],
        "seccomp" => &[Uint, Hex, Ptr],
        "bpf" => &[Int, Ptr, Uint],
        "userfaultfd" => &[Named(OPEN, "0")],
        "pkey_mprotect" => &[Ptr, Uint, Named(PROT, "PROT_NONE"), Int],
        "pkey_alloc" => &[Hex, Hex],
        "pidfd_send_signal" => &[Int, Signal, Ptr, Hex],
        "pidfd_getfd" => &[Int, Int, Hex],
        "process_mrelease" | "landlock_restrict_self" => &[Int, Hex],
        "process_madvise" => &[Int, Ptr, Uint, Value(MADV, "MADV_???"), Hex],
        "io_uring_setup" => &[Uint, Ptr],
        "io_uring_enter" => &[Int, Uint, Uint, Hex, Ptr, Uint],
        "io_uring_register" => &[Int, Uint, Ptr, Uint],
        "close_range" => &[Uint, Uint, Hex],
        "openat2" => &[AtFd, Path, Ptr, Uint],
        "open_tree" | "fspick" => &[AtFd, Path, Hex],
        "move_mount" => &[AtFd, Path, AtFd, Path, Hex],
        "fsopen" => &[Path, Hex],
        "fsconfig" => &[Int, Int, Path, Ptr, Int],
        "fsmount" => &[Int, Hex, Hex],
        "mount_setattr" => &[AtFd, Path, AtFlags, Ptr, Uint],
        "quotactl" => &[Hex, Path, Int, Ptr],
        "quotactl_fd" => &[Int, Hex, Int, Ptr],
        "remap_file_pages" => &[Ptr, Uint, Hex, Uint, Hex],
        "modify_ldt" => &[Int, Ptr, Uint],
        "set_thread_area" | "get_thread_area" => &[Ptr],
        "lookup_dcookie" => &[Hex, Ptr, Uint],
        "add_key" => &[Path, Path, BufIn(3), Uint, Int],
        "request_key" => &[Path, Path, Path, Int],
        "keyctl" => &[Int, Hex, Hex, Hex, Hex],
        "fanotify_init" => &[Hex, Hex],
        "fanotify_mark" => &[Int, Hex, Hex, AtFd, Path],
        "name_to_handle_at" => &[AtFd, Path, Ptr, Ptr, AtFlags],
        "open_by_handle_at" => &[Int, Ptr, OpenFlags],
        "mbind" => &[Ptr, Uint, Int, Ptr, Uint, Hex],
        "set_mempolicy" => &[Int, Ptr, Uint],
        "get_mempolicy" => &[Ptr, Ptr, Uint, Ptr, Hex],
        "migrate_pages" => &[Int, Uint, Ptr, Ptr],
        "move_pages" => &[Int, Uint, Ptr, Ptr, Ptr, Hex],
        "set_mempolicy_home_node" => &[Ptr, Uint, Uint, Hex],
        "kexec_load" => &[Hex, Uint, Ptr, Hex],
        "kexec_file_load" => &[Int, Int, Uint, Path, Hex],
        "landlock_create_ruleset" => &[Ptr, Uint, Hex],
        "landlock_add_rule" => &[Int, Int, Ptr, Hex],
        "futex_waitv" => &[Ptr, Uint, Hex, Timespec, Value(CLOCK, "CLOCK_???")],
        _ => &[Hex, Hex, Hex, Hex, Hex, Hex],
    }
}

/// A table of named values or flag bits, in strace's order.
pub(super) type Names = &'static [(u64, &'static str)];

/// One entry of [`table!`]: a libc constant by its name, or `(value, "NAME")` for one libc lacks.
macro_rules! entry {
    ($c:ident) => {
        (libc::$c as u64, stringify!($c))
    };
    (($v:expr, $n:literal)) => {
        ($v, $n)
    };
}

macro_rules! table {
    ($($e:tt),* $(,)?) => { &[$(entry!($e)),*] };
}

pub(super) const RENAME: Names = table!(RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);
pub(super) const SEEK: Names = table!(SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);
pub(super) const SIG_HOW: Names = table!(SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK);
pub(super) const MADV: Names = table!(
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_REMOVE,
    MADV_DONTFORK,
    MADV_DOFORK,
    MADV_MERGEABLE,
    MADV_UNMERGEABLE,
    MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
    MADV_DONTDUMP,
    MADV_DODUMP,
    MADV_HWPOISON
);
pub(super) const FADV: Names = table!(
    POSIX_FADV_NORMAL,
    POSIX_FADV_RANDOM,
    POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED,
    POSIX_FADV_DONTNEED,
    POSIX_FADV_NOREUSE
);
pub(super) const IOCTL: Names = table!(
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, FIONREAD, FIONBIO, FIOCLEX,
    FIONCLEX, TIOCSCTTY, TIOCNOTTY
);
/// FICLONE, which strace names with btrfs's older name for the same number.
pub(super) const FICLONE: (u64, &str) = (0x4004_9409, "BTRFS_IOC_CLONE or FICLONE");
pub(super) const FCNTL: Names = table!(
    F_DUPFD,
    F_GETFD,
    F_SETFD,
    F_GETFL,
    F_SETFL,
    F_GETLK,
    F_SETLK,
    F_SETLKW,
    F_SETOWN,
    F_GETOWN,
    (10, "F_SETSIG"),
    (11, "F_GETSIG"),
    (15, "F_SETOWN_EX"),
    (16, "F_GETOWN_EX"),
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
    F_SETLEASE,
    F_GETLEASE,
    F_NOTIFY,
    F_DUPFD_CLOEXEC,
    F_SETPIPE_SZ,
    F_GETPIPE_SZ,
    F_ADD_SEALS,
    F_GET_SEALS
);
pub(super) const AF: Names = table!(AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET);
pub(super) const SOCK_TYPE: Names = table!(SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET);
pub(super) const SOCK_FLAGS: Names = table!(SOCK_CLOEXEC, SOCK_NONBLOCK);
pub(super) const ARCH_PRCTL: Names = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (0x2001, "ARCH_MAP_VDSO_X32"),
    (0x2002, "ARCH_MAP_VDSO_32"),
    (0x2003, "ARCH_MAP_VDSO_64"),
];
pub(super) const RLIMIT: Names = table!(
    RLIMIT_CPU,
    RLIMIT_FSIZE,
    RLIMIT_DATA,
    RLIMIT_STACK,
    RLIMIT_CORE,
    RLIMIT_RSS,
    RLIMIT_NPROC,
    RLIMIT_NOFILE,
    RLIMIT_MEMLOCK,
    RLIMIT_AS,
    RLIMIT_LOCKS,
    RLIMIT_SIGPENDING,
    RLIMIT_MSGQUEUE,
    RLIMIT_NICE,
    RLIMIT_RTPRIO,
    RLIMIT_RTTIME
);
pub(super) const GRND: Names = table!(GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE);
pub(super) const WAIT: Names = &[
    (libc::WNOHANG as u64, "WNOHANG"),
    (libc::WEXITED as u64, "WEXITED"),
    (libc::WUNTRACED as u64, "WSTOPPED"),
    (libc::WCONTINUED as u64, "WCONTINUED"),
    (libc::WNOWAIT as u64, "WNOWAIT"),
    (libc::__WCLONE as u32 as u64, "__WCLONE"),
    (libc::__WALL as u32 as u64, "__WALL"),
    (libc::__WNOTHREAD as u32 as u64, "__WNOTHREAD"),
];
pub(super) const ACCESS: Names = table!(R_OK, W_OK, X_OK);
/// The `AT_*` flags of the *at syscalls (AT_EACCESS shares AT_REMOVEDIR's bit: faccessat2 alone).
pub(super) const AT: Names =
    table!(AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH, AT_RECURSIVE);
pub(super) const AT_ACCESS: Names = table!(AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH);
/// `sa_flags` in strace's order (SA_RESTORER is not in libc for every target).
pub(super) const SA: Names = &[
    (SA_RESTORER, "SA_RESTORER"),
    (libc::SA_ONSTACK as u64, "SA_ONSTACK"),
    (libc::SA_RESTART as u64, "SA_RESTART"),
    (libc::SA_NODEFER as u64, "SA_NODEFER"),
    (libc::SA_RESETHAND as u64, "SA_RESETHAND"),
    (libc::SA_SIGINFO as u64, "SA_SIGINFO"),
    (libc::SA_NOCLDSTOP as u64, "SA_NOCLDSTOP"),
    (libc::SA_NOCLDWAIT as u64, "SA_NOCLDWAIT"),
];
pub(super) const FUTEX_CMD: Names = &[
    (0, "FUTEX_WAIT"),
    (1, "FUTEX_WAKE"),
    (2, "FUTEX_FD"),
    (3, "FUTEX_REQUEUE"),
    (4, "FUTEX_CMP_REQUEUE"),
    (5, "FUTEX_WAKE_OP"),
    (6, "FUTEX_LOCK_PI"),
    (7, "FUTEX_UNLOCK_PI"),
    (8, "FUTEX_TRYLOCK_PI"),
    (9, "FUTEX_WAIT_BITSET"),
    (10, "FUTEX_WAKE_BITSET"),
    (11, "FUTEX_WAIT_REQUEUE_PI"),
    (12, "FUTEX_CMP_REQUEUE_PI"),
    (13, "FUTEX_LOCK_PI2"),
];
/// File types of `st_mode`.
pub(super) const S_IF: Names = table!(S_IFREG, S_IFDIR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFLNK, S_IFSOCK);

/// Which of the signature's arguments strace shows for these argument values, a bit each: the
/// mode of open only with O_CREAT or O_TMPFILE, fcntl's third only for commands that take one,
/// futex's by operation.
pub(super) fn shown_args(name: &str, args: &[u64; 6], n: usize) -> u8 {
    // strace shows the mode with O_CREAT or __O_TMPFILE (O_TMPFILE without O_DIRECTORY).
    let creat = |f: u64| f & ((libc::O_CREAT | libc::O_TMPFILE) & !libc::O_DIRECTORY) as u64 != 0;
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    match name {
        "open" if !creat(a(1)) => 0b11,
        "openat" if !creat(a(2)) => 0b111,
        "fcntl"
            if matches!(
                a(1) as i32,
                libc::F_GETFD
                    | libc::F_GETFL
                    | libc::F_GETPIPE_SZ
                    | libc::F_GET_SEALS
                    | libc::F_GETLEASE
                    | F_GETSIG
                    | libc::F_GETOWN
            ) =>
        {
            0b11
        }
        "prctl" if matches!(a(0) as i32, libc::PR_SET_NAME | libc::PR_GET_NAME) => 0b11,
        // ARCH_GET_CPUID takes no second argument.
        "arch_prctl" if a(0) & 0xffff_ffff == 0x1011 => 0b1,
        // The new address only with MREMAP_FIXED.
        "mremap" if a(3) & 2 == 0 => 0b1111,
        // futex's arguments by command (strace's futex.c).
        "futex" => match a(1) & 0x7f {
            // FUTEX_WAIT: the count and the timeout.
            0 => 0b1111,
            // FUTEX_WAKE, FUTEX_FD: the count.
            1 | 2 => 0b111,
            // FUTEX_REQUEUE, FUTEX_WAIT_REQUEUE_PI: and the second address.
            3 | 11 => 0b1_1111,
            // FUTEX_LOCK_PI, FUTEX_LOCK_PI2: the timeout only.
            6 | 13 => 0b1011,
            // FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI: nothing more.
            7 | 8 => 0b11,
            // FUTEX_WAIT_BITSET: no second address; FUTEX_WAKE_BITSET: no timeout either.
            9 => 0b10_1111,
            10 => 0b10_0111,
            _ => 0b11_1111,
        },
        _ => ((1u16 << n) - 1) as u8,
    }
}
/// The kernel's O_LARGEFILE (libc's is 0 on 64-bit targets, where the kernel sets it itself).
const O_LARGEFILE: u64 = if cfg!(target_arch = "aarch64") { 0o400_000 } else { 0o100_000 };

/// Open flags past the access mode in strace's order (xlat/open_mode_flags.in: composites before their
/// parts, so O_SYNC before O_DSYNC; O_LARGEFILE is the kernel's bit, 0 in x86_64's libc).
pub(super) const OPEN: Names = &[
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_APPEND as u64, "O_APPEND"),
    (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
    (libc::O_SYNC as u64, "O_SYNC"),
    ((libc::O_SYNC & !libc::O_DSYNC) as u64, "__O_SYNC"),
    (libc::O_DSYNC as u64, "O_DSYNC"),
    (libc::O_DIRECT as u64, "O_DIRECT"),
    (O_LARGEFILE, "O_LARGEFILE"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_NOATIME as u64, "O_NOATIME"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
    (libc::O_TMPFILE as u64, "O_TMPFILE"),
    ((libc::O_TMPFILE & !libc::O_DIRECTORY) as u64, "__O_TMPFILE"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
    (libc::O_ASYNC as u64, "FASYNC"),
];
pub(super) const CLONE: Names = table!(
    CLONE_VM,
    CLONE_FS,
    CLONE_FILES,
    CLONE_SIGHAND,
    CLONE_PIDFD,
    CLONE_PTRACE,
    CLONE_VFORK,
    CLONE_PARENT,
    CLONE_THREAD,
    CLONE_NEWNS,
    CLONE_SYSVSEM,
    CLONE_SETTLS,
    CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID,
    CLONE_DETACHED,
    CLONE_UNTRACED,
    CLONE_CHILD_SETTID,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
    CLONE_IO
);
pub(super) const STATX_SYNC: Names = table!(AT_STATX_SYNC_AS_STAT, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC);
/// statx's mask bits (STATX_BASIC_STATS, a composite, first).
pub(super) const STATX_MASK: Names = table!(
    STATX_ALL,
    STATX_BASIC_STATS,
    STATX_TYPE,
    STATX_MODE,
    STATX_NLINK,
    STATX_UID,
    STATX_GID,
    STATX_ATIME,
    STATX_MTIME,
    STATX_CTIME,
    STATX_INO,
    STATX_SIZE,
    STATX_BLOCKS,
    STATX_BTIME,
    STATX_MNT_ID,
    STATX_DIOALIGN
);
pub(super) const STATX_ATTR: Names = table!(
    STATX_ATTR_COMPRESSED,
    STATX_ATTR_IMMUTABLE,
    STATX_ATTR_APPEND,
    STATX_ATTR_NODUMP,
    STATX_ATTR_ENCRYPTED,
    STATX_ATTR_AUTOMOUNT,
    STATX_ATTR_MOUNT_ROOT,
    STATX_ATTR_VERITY,
    STATX_ATTR_DAX
);
pub(super) const PROT: Names = table!(PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP);
pub(super) const MAP: Names = table!(
    MAP_SHARED_VALIDATE,
    MAP_SHARED,
    MAP_PRIVATE,
    MAP_FIXED,
    MAP_ANONYMOUS,
    MAP_32BIT,
    MAP_GROWSDOWN,
    MAP_DENYWRITE,
    MAP_EXECUTABLE,
    MAP_LOCKED,
    MAP_NORESERVE,
    MAP_POPULATE,
    MAP_NONBLOCK,
    MAP_STACK,
    MAP_HUGETLB,
    MAP_SYNC,
    MAP_FIXED_NOREPLACE
);
pub(super) const FD_FLAGS: Names = table!(FD_CLOEXEC);
/// `SA_RESTORER`, which libc does not define for every target.
pub(super) const SA_RESTORER: u64 = 0x0400_0000;
pub(super) const EPOLL_FLAGS: Names = table!(EPOLL_CLOEXEC);
pub(super) const EPOLL_CTL: Names = table!(EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD);
pub(super) const EPOLL_EVENTS: Names = table!(
    EPOLLIN,
    EPOLLPRI,
    EPOLLOUT,
    EPOLLERR,
    EPOLLHUP,
    EPOLLRDNORM,
    EPOLLRDBAND,
    EPOLLWRNORM,
    EPOLLWRBAND,
    EPOLLMSG,
    EPOLLRDHUP,
    EPOLLEXCLUSIVE,
    EPOLLWAKEUP,
    EPOLLONESHOT,
    EPOLLET
);
pub(super) const POLL: Names = table!(
    POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP
);
pub(super) const SHUT: Names = table!(SHUT_RD, SHUT_WR, SHUT_RDWR);
pub(super) const EFD: Names = table!(EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK);
pub(super) const MFD: Names = table!(MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB);
pub(super) const LOCK: Names = table!(LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN);
pub(super) const MREMAP: Names = table!(MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP);
pub(super) const MS: Names = table!(MS_ASYNC, MS_INVALIDATE, MS_SYNC);
pub(super) const IN_FLAGS: Names = table!(IN_NONBLOCK, IN_CLOEXEC);
pub(super) const TFD: Names = table!(TFD_NONBLOCK, TFD_CLOEXEC);
pub(super) const SFD: Names = table!(SFD_NONBLOCK, SFD_CLOEXEC);
pub(super) const CLOCK: Names = table!(
    CLOCK_REALTIME,
    CLOCK_MONOTONIC,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_THREAD_CPUTIME_ID,
    CLOCK_MONOTONIC_RAW,
    CLOCK_REALTIME_COARSE,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_BOOTTIME,
    CLOCK_REALTIME_ALARM,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_TAI
);
pub(super) const PR: Names = table!(
    PR_SET_PDEATHSIG,
    PR_GET_PDEATHSIG,
    PR_GET_DUMPABLE,
    PR_SET_DUMPABLE,
    PR_SET_NAME,
    PR_GET_NAME,
    PR_SET_SECCOMP,
    PR_GET_SECCOMP,
    PR_CAPBSET_READ,
    PR_CAPBSET_DROP,
    PR_SET_NO_NEW_PRIVS,
    PR_GET_NO_NEW_PRIVS,
    PR_SET_CHILD_SUBREAPER,
    PR_GET_CHILD_SUBREAPER,
    PR_SET_VMA,
    PR_CAP_AMBIENT
);
/// Protocols of AF_INET and AF_INET6 sockets.
pub(super) const IPPROTO: Names =
    table!(IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_RAW);
/// Filesystem magic numbers of `struct statfs`'s f_type.
pub(super) const FS_MAGIC: Names = &[
    (0xef53, "EXT2_SUPER_MAGIC"),
    (0x0102_1994, "TMPFS_MAGIC"),
    (0x9fa0, "PROC_SUPER_MAGIC"),
    (0x6265_6572, "SYSFS_MAGIC"),
    (0x794c_7630, "OVERLAYFS_SUPER_MAGIC"),
    (0x9123_683e, "BTRFS_SUPER_MAGIC"),
    (0x5846_5342, "XFS_SUPER_MAGIC"),
    (0x6367_7270, "CGROUP2_SUPER_MAGIC"),
    (0x1cd1, "DEVPTS_SUPER_MAGIC"),
    (0x7472_6163, "TRACEFS_MAGIC"),
    (0x6462_6720, "DEBUGFS_MAGIC"),
    (0x6969, "NFS_SUPER_MAGIC"),
    (0x7371_7368, "SQUASHFS_MAGIC"),
    (0x0102_1997, "V9FS_MAGIC"),
    (0x6573_5546, "FUSE_SUPER_MAGIC"),
];
pub(super) const ST: Names = table!(
    ST_RDONLY,
    ST_NOSUID,
    ST_NODEV,
    ST_NOEXEC,
    ST_SYNCHRONOUS,
    ST_MANDLOCK,
    ST_WRITE,
    ST_APPEND,
    ST_IMMUTABLE,
    ST_NOATIME,
    ST_NODIRATIME,
    ST_RELATIME
);
/// `ST_VALID`, which libc does not define.
pub(super) const ST_VALID: (u64, &str) = (0x20, "ST_VALID");
pub(super) const IDTYPE: Names = table!(P_ALL, P_PID, P_PGID, P_PIDFD);
pub(super) const TERM_IFLAGS: Names = table!(
    IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP, INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8
);
/// c_oflag's delay fields, each a mask and its values.
pub(super) const TERM_OFIELDS: &[(u64, Names)] = &[
    (libc::NLDLY as u64, table!(NL0, NL1)),
    (libc::CRDLY as u64, table!(CR0, CR1, CR2, CR3)),
    (libc::TABDLY as u64, table!(TAB0, TAB1, TAB2, TAB3)),
    (libc::BSDLY as u64, table!(BS0, BS1)),
    (libc::VTDLY as u64, table!(VT0, VT1)),
    (libc::FFDLY as u64, table!(FF0, FF1)),
];
pub(super) const TERM_OFLAGS: Names = table!(OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, OFILL, OFDEL);
/// c_cflag's speed and character size.
pub(super) const TERM_CFIELDS: &[(u64, Names)] = &[
    (
        libc::CBAUD as u64,
        table!(
            B0, B50, B75, B110, B134, B150, B200, B300, B600, B1200, B1800, B2400, B4800, B9600, B19200, B38400,
            B57600, B115200, B230400, B460800, B500000, B576000, B921600, B1000000, B1152000, B1500000, B2000000,
            B2500000, B3000000, B3500000, B4000000
        ),
    ),
    (libc::CSIZE as u64, table!(CS5, CS6, CS7, CS8)),
];
pub(super) const TERM_CFLAGS: Names = table!(CSTOPB, CREAD, PARENB, PARODD, HUPCL, CLOCAL, CMSPAR, CRTSCTS);
/// c_lflag in strace's order.
pub(super) const TERM_LFLAGS: Names = table!(
    ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, IEXTEN, ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, TOSTOP,
    EXTPROC
);

/// The arguments that are descriptors (bit i for argument i), for `strace -P`: strace's
/// pathtrace.c, which checks the first argument of calls on a descriptor and a few others more.
pub(super) fn fd_args(name: &str) -> u8 {
    match name {
        "dup2" | "dup3" | "sendfile" | "tee" => 0b11,
        "splice" | "copy_file_range" => 0b101,
        "mmap" => 0b1_0000,
        "epoll_ctl" => 0b101,
        "read" | "write" | "pread64" | "pwrite64" | "readv" | "writev" | "preadv" | "pwritev" | "preadv2"
        | "pwritev2" | "close" | "fstat" | "fstatfs" | "fsync" | "fdatasync" | "fchdir" | "fchmod" | "fchown"
        | "ftruncate" | "fallocate" | "getdents64" | "getdents" | "lseek" | "fcntl" | "flock" | "ioctl" | "dup"
        | "epoll_wait" | "epoll_pwait" | "epoll_pwait2" | "connect" | "bind" | "accept" | "accept4" | "listen"
        | "sendto" | "recvfrom" | "sendmsg" | "recvmsg" | "sendmmsg" | "recvmmsg" | "shutdown" | "getsockname"
        | "getpeername" | "setsockopt" | "getsockopt" | "readahead" | "fadvise64" | "sync_file_range" | "syncfs"
        | "fsetxattr" | "fgetxattr" | "flistxattr" | "fremovexattr" | "inotify_add_watch" | "inotify_rm_watch"
        | "timerfd_settime" | "timerfd_gettime" | "vmsplice" | "finit_module" | "fanotify_mark" => 0b1,
        _ => 0,
    }
}

/// The calls whose constant and flag arguments are C `long`s (all 64 bits shown).
pub(super) fn long_flags(name: &str) -> bool {
    matches!(name, "mmap" | "mremap" | "msync" | "prctl" | "personality" | "mlock2" | "pkey_mprotect" | "mprotect")
}

/// Which argument is the size of a call's signal set (the kernel wants exactly 8 bytes).
pub(super) fn sigset_size_arg(name: &str) -> Option<usize> {
    match name {
        "rt_sigprocmask" | "rt_sigtimedwait" => Some(3),
        "rt_sigsuspend" | "rt_sigpending" => Some(1),
        "signalfd" | "signalfd4" => Some(2),
        "ppoll" => Some(4),
        "epoll_pwait" | "epoll_pwait2" => Some(5),
        _ => None,
    }
}

pub(super) const PRIO: Names = table!(PRIO_PROCESS, PRIO_PGRP, PRIO_USER);
pub(super) const TIMER: Names = table!(TIMER_ABSTIME);
/// `send`/`recv` flags (strace's xlat/msg_flags.in order).
pub(super) const MSG: Names = table!(
    MSG_OOB,
    MSG_PEEK,
    MSG_DONTROUTE,
    MSG_CTRUNC,
    (0x10, "MSG_PROXY"),
    MSG_TRUNC,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_WAITALL,
    MSG_FIN,
    MSG_SYN,
    MSG_CONFIRM,
    MSG_RST,
    MSG_ERRQUEUE,
    MSG_NOSIGNAL,
    MSG_MORE,
    MSG_WAITFORONE,
    (0x40000, "MSG_BATCH"),
    MSG_ZEROCOPY,
    MSG_FASTOPEN,
    MSG_CMSG_CLOEXEC
);

/// mmap's mapping types (the low four bits of its flags).
pub(super) const MAP_TYPE: Names =
    &[(0, "MAP_FILE"), (1, "MAP_SHARED"), (2, "MAP_PRIVATE"), (3, "MAP_SHARED_VALIDATE")];
/// fallocate's modes (strace's xlat/falloc_flags.in order).
pub(super) const FALLOC: Names = &[
    (1, "FALLOC_FL_KEEP_SIZE"),
    (2, "FALLOC_FL_PUNCH_HOLE"),
    (4, "FALLOC_FL_NO_HIDE_STALE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"),
    (0x10, "FALLOC_FL_ZERO_RANGE"),
    (0x20, "FALLOC_FL_INSERT_RANGE"),
    (0x40, "FALLOC_FL_UNSHARE_RANGE"),
];

/// Whether argument `i` (of kind `kind`) of `name` is only read by the call: shown as it was at
/// the call's entry.
pub(super) fn is_input(name: &str, i: usize, kind: Arg) -> bool {
    match kind {
        Path | BufIn(_) | Iovec(true) | Argv | Envp | SockAddr(_) | Timespec2 | PollFds | EpollEvent | CpuSetIn
        | FdSet => true,
        Timespec => !matches!(name, "clock_gettime" | "clock_getres"),
        Timeval => name != "gettimeofday",
        SigSet => !matches!((name, i), ("rt_sigprocmask", 2) | ("rt_sigpending", 0)),
        SigAction => i == 1,
        Rlimit => matches!((name, i), ("prlimit64", 2) | ("setrlimit", 1)),
        _ => false,
    }
}

/// getrusage's `who` (RUSAGE_CHILDREN is -1, as a 32-bit value).
pub(super) const RUSAGE: Names = &[(0, "RUSAGE_SELF"), (0xffff_ffff, "RUSAGE_CHILDREN"), (1, "RUSAGE_THREAD")];

pub(super) const MCL: Names = table!(MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT);

/// A signal's `si_code` by name: the generic codes, then those of the signal (strace's
/// xlat/siginfo_codes.in and its per-signal lists).
pub(super) fn si_code(signo: i32, code: i32) -> Option<&'static str> {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -2 => Some("SI_TIMER"),
        -3 => Some("SI_MESGQ"),
        -4 => Some("SI_ASYNCIO"),
        -5 => Some("SI_SIGIO"),
        -6 => Some("SI_TKILL"),
        -7 => Some("SI_DETHREAD"),
        -60 => Some("SI_ASYNCNL"),
        _ => None,
    };
    if code <= 0 || code == 0x80 {
        return generic;
    }
    let names: &[&str] = match signo {
        libc::SIGCHLD => &["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"],
        libc::SIGSEGV => &[
            "SEGV_MAPERR",
            "SEGV_ACCERR",
            "SEGV_BNDERR",
            "SEGV_PKUERR",
            "SEGV_ACCADI",
            "SEGV_ADIDERR",
            "SEGV_ADIPERR",
            "SEGV_MTEAERR",
            "SEGV_MTESERR",
            "SEGV_CPERR",
        ],
        libc::SIGBUS => &["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
        libc::SIGILL => &[
            "ILL_ILLOPC",
            "ILL_ILLOPN",
            "ILL_ILLADR",
            "ILL_ILLTRP",
            "ILL_PRVOPC",
            "ILL_PRVREG",
            "ILL_COPROC",
            "ILL_BADSTK",
            "ILL_BADIADDR",
        ],
        libc::SIGFPE => &[
            "FPE_INTDIV",
            "FPE_INTOVF",
            "FPE_FLTDIV",
            "FPE_FLTOVF",
            "FPE_FLTUND",
            "FPE_FLTRES",
            "FPE_FLTINV",
            "FPE_FLTSUB",
            "FPE_FLTUNK",
            "FPE_CONDTRAP",
        ],
        libc::SIGTRAP => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"],
        libc::SIGPOLL => &["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"],
        libc::SIGSYS => &["SYS_SECCOMP", "SYS_USER_DISPATCH"],
        _ => &[],
    };
    names.get(code as usize - 1).copied().or(generic)
}

/// Lock types (struct flock's l_type, F_SETLEASE, F_GETLEASE).
pub(super) const LOCK_TYPE: Names = table!(F_RDLCK, F_WRLCK, F_UNLCK);
/// struct f_owner_ex's type.
pub(super) const OWNER: Names = &[(0, "F_OWNER_TID"), (1, "F_OWNER_PID"), (2, "F_OWNER_PGRP")];
/// F_NOTIFY's events.
pub(super) const DN: Names = &[
    (1, "DN_ACCESS"),
    (2, "DN_MODIFY"),
    (4, "DN_CREATE"),
    (8, "DN_DELETE"),
    (0x10, "DN_RENAME"),
    (0x20, "DN_ATTRIB"),
    (0x8000_0000, "DN_MULTISHOT"),
];
/// fcntl's commands libc does not name (asm-generic/fcntl.h).
pub(super) const F_SETSIG: i32 = 10;
pub(super) const F_GETSIG: i32 = 11;
pub(super) const F_SETOWN_EX: i32 = 15;
pub(super) const F_GETOWN_EX: i32 = 16;
