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
        "statfs" => &[Path, Ptr],
        "fstatfs" => &[Int, Ptr],
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
        "chown" | "lchown" => &[Path, Int, Int],
        "fchown" => &[Int, Int, Int],
        "fchownat" => &[AtFd, Path, Int, Int, AtFlags],
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
        "mmap" => &[Ptr, Uint, Named(PROT, "PROT_NONE"), Named(MAP, "0"), Int, Hex],
        "mprotect" => &[Ptr, Uint, Named(PROT, "PROT_NONE")],
        "munmap" => &[Ptr, Uint],
        "madvise" => &[Ptr, Uint, Value(MADV, "MADV_???")],
        "fadvise64" => &[Int, Long, Long, Value(FADV, "POSIX_FADV_???")],
        "brk" | "set_tid_address" | "shmdt" => &[Ptr],
        "lseek" => &[Int, Long, Value(SEEK, "SEEK_???")],
        "getdents64" | "getdents" => &[Int, Dirents, Uint],
        "ioctl" => &[Int, Value(IOCTL, "_IOC(???)"), Ptr],
        "fcntl" => &[Int, Value(FCNTL, "F_???"), FcntlArg],
        "kill" | "tkill" => &[Int, Signal],
        "tgkill" => &[Int, Int, Signal],
        "rt_sigaction" => &[Signal, SigAction, SigAction, Uint],
        "rt_sigprocmask" => &[Value(SIG_HOW, "SIG_???"), SigSet, SigSet, Uint],
        "exit" | "exit_group" => &[Int],
        "wait4" => &[Int, WaitStatus, Named(WAIT, "0"), Ptr],
        "clone3" => &[CloneArgs, Uint],
        "socket" => &[Value(AF, "AF_???"), SockType, Int],
        "connect" | "bind" => &[Int, SockAddr(2), Uint],
        "sendto" => &[Int, BufIn(2), Uint, Hex, SockAddr(5), Uint],
        "nanosleep" => &[Timespec, Ptr],
        "clock_nanosleep" => &[Int, Hex, Timespec, Ptr],
        "pipe" => &[PipeFds],
        "pipe2" => &[PipeFds, OpenFlags0],
        "getcwd" => &[Cwd, Uint],
        "sysinfo" => &[Sysinfo],
        "arch_prctl" => &[Value(ARCH_PRCTL, "ARCH_???"), Ptr],
        "set_robust_list" => &[Ptr, Uint],
        "rseq" => &[Ptr, Hex, Int, Hex],
        "prlimit64" => &[Int, Value(RLIMIT, "RLIMIT_???"), Rlimit, Rlimit],
        "getrlimit" | "setrlimit" => &[Value(RLIMIT, "RLIMIT_???"), Rlimit],
        "getrandom" => &[BufOut, Uint, Named(GRND, "0")],
        "futex" => &[Ptr, FutexOp, Int, Timespec, Ptr, FutexVal3],
        "copy_file_range" => &[Int, Ptr, Int, Ptr, Uint, Uint],
        "sendfile" => &[Int, Int, Ptr, Uint],
        "sched_getaffinity" => &[Int, Uint, CpuSet],
        "getppid" | "getpid" | "gettid" | "getuid" | "geteuid" | "getgid" | "getegid" | "sched_yield" | "vfork"
        | "fork" | "getpgrp" | "setsid" | "sync" | "pause" => &[],
        "getsid" | "getpgid" | "setuid" | "setgid" => &[Int],
        "setpgid" => &[Int, Int],
        _ => &[Hex, Hex, Hex, Hex, Hex, Hex],
    }
}

/// A table of named values or flag bits, in strace's order.
pub(super) type Names = &'static [(u64, &'static str)];

macro_rules! table {
    ($($c:ident),* $(,)?) => { &[$((libc::$c as u64, stringify!($c))),*] };
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
pub(super) const FCNTL: Names = table!(
    F_DUPFD,
    F_GETFD,
    F_SETFD,
    F_GETFL,
    F_SETFL,
    F_GETLK,
    F_SETLK,
    F_SETLKW,
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
    (libc::WUNTRACED as u64, "WSTOPPED"),
    (libc::WEXITED as u64, "WEXITED"),
    (libc::WCONTINUED as u64, "WCONTINUED"),
    (libc::WNOWAIT as u64, "WNOWAIT"),
    (libc::__WNOTHREAD as u32 as u64, "__WNOTHREAD"),
    (libc::__WALL as u32 as u64, "__WALL"),
    (libc::__WCLONE as u32 as u64, "__WCLONE"),
];
pub(super) const ACCESS: Names = table!(R_OK, W_OK, X_OK);
/// The `AT_*` flags of the *at syscalls (AT_EACCESS shares AT_REMOVEDIR's bit: faccessat2 alone).
pub(super) const AT: Names = table!(
    AT_SYMLINK_NOFOLLOW,
    AT_REMOVEDIR,
    AT_SYMLINK_FOLLOW,
    AT_NO_AUTOMOUNT,
    AT_EMPTY_PATH,
    AT_STATX_FORCE_SYNC,
    AT_STATX_DONT_SYNC
);
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
    let creat = |f: u64| f & (libc::O_CREAT as u64) != 0 || f & (libc::O_TMPFILE as u64) == libc::O_TMPFILE as u64;
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    match name {
        "open" if !creat(a(1)) => 0b11,
        "openat" if !creat(a(2)) => 0b111,
        "fcntl" if matches!(a(1) as i32, libc::F_GETFD | libc::F_GETFL | libc::F_GETPIPE_SZ | libc::F_GET_SEALS) => {
            0b11
        }
        "futex" => match a(1) & 0x7f {
            // FUTEX_WAKE: address, op, count; FUTEX_WAIT: and the timeout.
            1 => 0b111,
            0 => 0b1111,
            // FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET: no second address.
            9 | 10 => 0b10_1111,
            _ => 0b11_1111,
        },
        _ => ((1u16 << n) - 1) as u8,
    }
}
/// Open flags past the access mode (O_TMPFILE includes O_DIRECTORY and O_SYNC includes O_DSYNC:
/// composites first; O_LARGEFILE is the kernel's bit, 0 in x86_64's libc).
pub(super) const OPEN: Names = &[
    (libc::O_TMPFILE as u64, "O_TMPFILE"),
    (libc::O_SYNC as u64, "O_SYNC"),
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_APPEND as u64, "O_APPEND"),
    (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
    (libc::O_DSYNC as u64, "O_DSYNC"),
    (libc::O_ASYNC as u64, "O_ASYNC"),
    (libc::O_DIRECT as u64, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_NOATIME as u64, "O_NOATIME"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
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
