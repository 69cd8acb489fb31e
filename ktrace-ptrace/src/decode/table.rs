//! What strace knows per syscall, as data: each syscall's argument kinds, and the named values and
//! flag bits of the arguments (from libc's constants where libc has them; those tables, and the
//! `table!` macro that builds them, are in `table/consts.rs`).

use super::Arg::{self, *};

mod consts;

pub(super) use consts::*;

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
        "pidfd_open" => &[Int, Named(PIDFD, "0")],
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
        "setsockopt" => &[Int, SockLevel, SockOptName, SockOptSet, Int],
        "getsockopt" => &[Int, SockLevel, SockOptName, Ptr, SockOptLen],
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
        "pidfd_getfd" => &[Int, Int, Hex32],
        "process_mrelease" => &[Int, Hex32],
        "landlock_restrict_self" => &[Int, Hex],
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

/// Whether the call returns a new descriptor (shown with its path under `-y`).
pub(super) fn returns_fd(name: &str) -> bool {
    matches!(
        name,
        "open"
            | "openat"
            | "openat2"
            | "creat"
            | "dup"
            | "dup2"
            | "dup3"
            | "socket"
            | "accept"
            | "accept4"
            | "epoll_create"
            | "epoll_create1"
            | "eventfd"
            | "eventfd2"
            | "signalfd"
            | "signalfd4"
            | "timerfd_create"
            | "memfd_create"
            | "inotify_init"
            | "inotify_init1"
            | "fanotify_init"
            | "pidfd_open"
            | "pidfd_getfd"
            | "perf_event_open"
            | "userfaultfd"
            | "open_by_handle_at"
            | "open_tree"
            | "fsopen"
            | "fsmount"
            | "fspick"
            | "memfd_secret"
    )
}

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
        | "timerfd_settime" | "timerfd_gettime" | "vmsplice" | "finit_module" | "fanotify_mark" | "pidfd_getfd"
        | "pidfd_send_signal" | "process_mrelease" | "process_madvise" => 0b1,
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

/// Whether argument `i` (of kind `kind`) of `name` is only read by the call: shown as it was at
/// the call's entry.
pub(super) fn is_input(name: &str, i: usize, kind: Arg) -> bool {
    match kind {
        Path | BufIn(_) | Iovec(true) | Argv | Envp | SockAddr(_) | Timespec2 | PollFds | EpollEvent | CpuSetIn
        | FdSet | SockOptSet => true,
        Timespec => !matches!(name, "clock_gettime" | "clock_getres"),
        Timeval => name != "gettimeofday",
        SigSet => !matches!((name, i), ("rt_sigprocmask", 2) | ("rt_sigpending", 0)),
        SigAction => i == 1,
        Rlimit => matches!((name, i), ("prlimit64", 2) | ("setrlimit", 1)),
        _ => false,
    }
}

/// A signal's `si_code` by name: the generic codes, then those of the signal (strace's
/// xlat/siginfo_codes.in and its per-signal lists).
pub(crate) fn si_code(signo: i32, code: i32) -> Option<&'static str> {
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
