//! The named values and flag bits of syscall arguments, in strace's order (from libc's constants
//! where libc has them), and the [`table!`] macro that builds them.

/// A table of named values or flag bits, in strace's order.
pub(in crate::decode) type Names = &'static [(u64, &'static str)];

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

pub(in crate::decode) const RENAME: Names = table!(RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT);
pub(in crate::decode) const SEEK: Names = table!(SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE);
pub(in crate::decode) const SIG_HOW: Names = table!(SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK);
pub(in crate::decode) const MADV: Names = table!(
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
pub(in crate::decode) const FADV: Names = table!(
    POSIX_FADV_NORMAL,
    POSIX_FADV_RANDOM,
    POSIX_FADV_SEQUENTIAL,
    POSIX_FADV_WILLNEED,
    POSIX_FADV_DONTNEED,
    POSIX_FADV_NOREUSE
);
pub(in crate::decode) const IOCTL: Names = table!(
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, FIONREAD, FIONBIO, FIOCLEX,
    FIONCLEX, TIOCSCTTY, TIOCNOTTY
);
/// FICLONE, which strace names with btrfs's older name for the same number.
pub(in crate::decode) const FICLONE: (u64, &str) = (0x4004_9409, "BTRFS_IOC_CLONE or FICLONE");
pub(in crate::decode) const FCNTL: Names = table!(
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
/// Address families (strace's xlat/addrfams.in).
pub(in crate::decode) const AF: Names = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (3, "AF_AX25"),
    (4, "AF_IPX"),
    (5, "AF_APPLETALK"),
    (6, "AF_NETROM"),
    (7, "AF_BRIDGE"),
    (8, "AF_ATMPVC"),
    (9, "AF_X25"),
    (10, "AF_INET6"),
    (11, "AF_ROSE"),
    (12, "AF_DECnet"),
    (13, "AF_NETBEUI"),
    (14, "AF_SECURITY"),
    (15, "AF_KEY"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (18, "AF_ASH"),
    (19, "AF_ECONET"),
    (20, "AF_ATMSVC"),
    (21, "AF_RDS"),
    (22, "AF_SNA"),
    (23, "AF_IRDA"),
    (24, "AF_PPPOX"),
    (25, "AF_WANPIPE"),
    (26, "AF_LLC"),
    (27, "AF_IB"),
    (28, "AF_MPLS"),
    (29, "AF_CAN"),
    (30, "AF_TIPC"),
    (31, "AF_BLUETOOTH"),
    (32, "AF_IUCV"),
    (33, "AF_RXRPC"),
    (34, "AF_ISDN"),
    (35, "AF_PHONET"),
    (36, "AF_IEEE802154"),
    (37, "AF_CAIF"),
    (38, "AF_ALG"),
    (39, "AF_NFC"),
    (40, "AF_VSOCK"),
    (41, "AF_KCM"),
    (42, "AF_QIPCRTR"),
    (43, "AF_SMC"),
    (44, "AF_XDP"),
    (45, "AF_MCTP"),
];
pub(in crate::decode) const SOCK_TYPE: Names = table!(SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET);
pub(in crate::decode) const SOCK_FLAGS: Names = table!(SOCK_CLOEXEC, SOCK_NONBLOCK);
/// x86 extended-state components as masks (arch_prctl's ARCH_GET_XCOMP_*), composites first as
/// in strace's xlat/x86_xfeatures.in (from the kernel's asm/fpu/types.h).
pub(in crate::decode) const XFEATURE_MASKS: Names = &[
    (0x3, "XFEATURE_MASK_FPSSE"),
    (0x1, "XFEATURE_MASK_FP"),
    (0x2, "XFEATURE_MASK_SSE"),
    (0x4, "XFEATURE_MASK_YMM"),
    (0x8, "XFEATURE_MASK_BNDREGS"),
    (0x10, "XFEATURE_MASK_BNDCSR"),
    (0xe0, "XFEATURE_MASK_AVX512"),
    (0x20, "XFEATURE_MASK_OPMASK"),
    (0x40, "XFEATURE_MASK_ZMM_Hi256"),
    (0x80, "XFEATURE_MASK_Hi16_ZMM"),
    (0x100, "XFEATURE_MASK_PT"),
    (0x200, "XFEATURE_MASK_PKRU"),
    (0x400, "XFEATURE_MASK_PASID"),
    (0x8000, "XFEATURE_MASK_LBR"),
    (0x60000, "XFEATURE_MASK_XTILE"),
    (0x20000, "XFEATURE_MASK_XTILE_CFG"),
    (0x40000, "XFEATURE_MASK_XTILE_DATA"),
];
/// x86 extended-state component numbers (ARCH_REQ_XCOMP_PERM's argument).
pub(in crate::decode) const XFEATURES: Names = &[
    (0, "XFEATURE_FP"),
    (1, "XFEATURE_SSE"),
    (2, "XFEATURE_YMM"),
    (3, "XFEATURE_BNDREGS"),
    (4, "XFEATURE_BNDCSR"),
    (5, "XFEATURE_OPMASK"),
    (6, "XFEATURE_ZMM_Hi256"),
    (7, "XFEATURE_Hi16_ZMM"),
    (8, "XFEATURE_PT_UNIMPLEMENTED_SO_FAR"),
    (9, "XFEATURE_PKRU"),
    (10, "XFEATURE_PASID"),
    (15, "XFEATURE_LBR"),
    (17, "XFEATURE_XTILE_CFG"),
    (18, "XFEATURE_XTILE_DATA"),
];
pub(in crate::decode) const ARCH_PRCTL: Names = &[
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
pub(in crate::decode) const RLIMIT: Names = table!(
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
pub(in crate::decode) const GRND: Names = table!(GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE);
pub(in crate::decode) const WAIT: Names = &[
    (libc::WNOHANG as u64, "WNOHANG"),
    (libc::WEXITED as u64, "WEXITED"),
    (libc::WUNTRACED as u64, "WSTOPPED"),
    (libc::WCONTINUED as u64, "WCONTINUED"),
    (libc::WNOWAIT as u64, "WNOWAIT"),
    (libc::__WCLONE as u32 as u64, "__WCLONE"),
    (libc::__WALL as u32 as u64, "__WALL"),
    (libc::__WNOTHREAD as u32 as u64, "__WNOTHREAD"),
];
pub(in crate::decode) const ACCESS: Names = table!(R_OK, W_OK, X_OK);
/// The `AT_*` flags of the *at syscalls (AT_EACCESS shares AT_REMOVEDIR's bit: faccessat2 alone).
pub(in crate::decode) const AT: Names =
    table!(AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH, AT_RECURSIVE);
pub(in crate::decode) const AT_ACCESS: Names = table!(AT_SYMLINK_NOFOLLOW, AT_EACCESS, AT_EMPTY_PATH);
/// `sa_flags` in strace's order (SA_RESTORER is not in libc for every target).
pub(in crate::decode) const SA: Names = &[
    (SA_RESTORER, "SA_RESTORER"),
    (libc::SA_ONSTACK as u64, "SA_ONSTACK"),
    (libc::SA_RESTART as u64, "SA_RESTART"),
    (libc::SA_NODEFER as u64, "SA_NODEFER"),
    (libc::SA_RESETHAND as u64, "SA_RESETHAND"),
    (libc::SA_SIGINFO as u64, "SA_SIGINFO"),
    (libc::SA_NOCLDSTOP as u64, "SA_NOCLDSTOP"),
    (libc::SA_NOCLDWAIT as u64, "SA_NOCLDWAIT"),
];
pub(in crate::decode) const FUTEX_CMD: Names = &[
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
pub(in crate::decode) const S_IF: Names = table!(S_IFREG, S_IFDIR, S_IFCHR, S_IFBLK, S_IFIFO, S_IFLNK, S_IFSOCK);

/// The kernel's O_LARGEFILE (libc's is 0 on 64-bit targets, where the kernel sets it itself).
const O_LARGEFILE: u64 = if cfg!(target_arch = "aarch64") { 0o400_000 } else { 0o100_000 };

/// Open flags past the access mode in strace's order (xlat/open_mode_flags.in: composites before their
/// parts, so O_SYNC before O_DSYNC; O_LARGEFILE is the kernel's bit, 0 in x86_64's libc).
pub(in crate::decode) const OPEN: Names = &[
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
pub(in crate::decode) const CLONE: Names = table!(
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
pub(in crate::decode) const STATX_SYNC: Names = table!(AT_STATX_SYNC_AS_STAT, AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC);
/// statx's mask bits (STATX_BASIC_STATS, a composite, first).
pub(in crate::decode) const STATX_MASK: Names = table!(
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
pub(in crate::decode) const STATX_ATTR: Names = table!(
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
pub(in crate::decode) const PROT: Names = table!(PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP);
pub(in crate::decode) const MAP: Names = table!(
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
pub(in crate::decode) const FD_FLAGS: Names = table!(FD_CLOEXEC);
/// `SA_RESTORER`, which libc does not define for every target.
pub(in crate::decode) const SA_RESTORER: u64 = 0x0400_0000;
pub(in crate::decode) const EPOLL_FLAGS: Names = table!(EPOLL_CLOEXEC);
pub(in crate::decode) const EPOLL_CTL: Names = table!(EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD);
pub(in crate::decode) const EPOLL_EVENTS: Names = table!(
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
pub(in crate::decode) const POLL: Names = table!(
    POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP
);
pub(in crate::decode) const SHUT: Names = table!(SHUT_RD, SHUT_WR, SHUT_RDWR);
pub(in crate::decode) const EFD: Names = table!(EFD_SEMAPHORE, EFD_CLOEXEC, EFD_NONBLOCK);
pub(in crate::decode) const MFD: Names = table!(MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB);
pub(in crate::decode) const LOCK: Names = table!(LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN);
pub(in crate::decode) const MREMAP: Names = table!(MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP);
pub(in crate::decode) const MS: Names = table!(MS_ASYNC, MS_INVALIDATE, MS_SYNC);
pub(in crate::decode) const IN_FLAGS: Names = table!(IN_NONBLOCK, IN_CLOEXEC);
pub(in crate::decode) const TFD: Names = table!(TFD_NONBLOCK, TFD_CLOEXEC);
pub(in crate::decode) const SFD: Names = table!(SFD_NONBLOCK, SFD_CLOEXEC);
pub(in crate::decode) const CLOCK: Names = table!(
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
pub(in crate::decode) const PR: Names = table!(
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
pub(in crate::decode) const IPPROTO: Names =
    table!(IPPROTO_IP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_RAW);
/// Protocols of AF_NETLINK sockets (strace's netlink_protocols).
pub(in crate::decode) const NETLINK: Names = table!(
    NETLINK_ROUTE,
    NETLINK_UNUSED,
    NETLINK_USERSOCK,
    NETLINK_FIREWALL,
    NETLINK_SOCK_DIAG,
    NETLINK_NFLOG,
    NETLINK_XFRM,
    NETLINK_SELINUX,
    NETLINK_ISCSI,
    NETLINK_AUDIT,
    NETLINK_FIB_LOOKUP,
    NETLINK_CONNECTOR,
    NETLINK_NETFILTER,
    NETLINK_IP6_FW,
    NETLINK_DNRTMSG,
    NETLINK_KOBJECT_UEVENT,
    NETLINK_GENERIC,
    NETLINK_SCSITRANSPORT,
    NETLINK_ECRYPTFS,
    NETLINK_RDMA,
    NETLINK_CRYPTO,
    (22, "NETLINK_SMC")
);
/// pidfd_open's flags.
pub(in crate::decode) const PIDFD: Names = &[(libc::O_NONBLOCK as u64, "PIDFD_NONBLOCK")];
/// Filesystem magic numbers of `struct statfs`'s f_type.
pub(in crate::decode) const FS_MAGIC: Names = &[
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
pub(in crate::decode) const ST: Names = table!(
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
pub(in crate::decode) const ST_VALID: (u64, &str) = (0x20, "ST_VALID");
pub(in crate::decode) const IDTYPE: Names = table!(P_ALL, P_PID, P_PGID, P_PIDFD);
pub(in crate::decode) const TERM_IFLAGS: Names = table!(
    IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP, INLCR, IGNCR, ICRNL, IUCLC, IXON, IXANY, IXOFF, IMAXBEL, IUTF8
);
/// c_oflag's delay fields, each a mask and its values.
pub(in crate::decode) const TERM_OFIELDS: &[(u64, Names)] = &[
    (libc::NLDLY as u64, table!(NL0, NL1)),
    (libc::CRDLY as u64, table!(CR0, CR1, CR2, CR3)),
    (libc::TABDLY as u64, table!(TAB0, TAB1, TAB2, TAB3)),
    (libc::BSDLY as u64, table!(BS0, BS1)),
    (libc::VTDLY as u64, table!(VT0, VT1)),
    (libc::FFDLY as u64, table!(FF0, FF1)),
];
pub(in crate::decode) const TERM_OFLAGS: Names = table!(OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET, OFILL, OFDEL);
/// c_cflag's speed and character size.
pub(in crate::decode) const TERM_CFIELDS: &[(u64, Names)] = &[
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
pub(in crate::decode) const TERM_CFLAGS: Names = table!(CSTOPB, CREAD, PARENB, PARODD, HUPCL, CLOCAL, CMSPAR, CRTSCTS);
/// c_lflag in strace's order.
pub(in crate::decode) const TERM_LFLAGS: Names = table!(
    ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, IEXTEN, ECHOCTL, ECHOPRT, ECHOKE, FLUSHO, PENDIN, TOSTOP,
    EXTPROC
);

pub(in crate::decode) const PRIO: Names = table!(PRIO_PROCESS, PRIO_PGRP, PRIO_USER);
pub(in crate::decode) const TIMER: Names = table!(TIMER_ABSTIME);
/// `send`/`recv` flags (strace's xlat/msg_flags.in order).
pub(in crate::decode) const MSG: Names = table!(
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
pub(in crate::decode) const MAP_TYPE: Names =
    &[(0, "MAP_FILE"), (1, "MAP_SHARED"), (2, "MAP_PRIVATE"), (3, "MAP_SHARED_VALIDATE")];
/// fallocate's modes (strace's xlat/falloc_flags.in order).
pub(in crate::decode) const FALLOC: Names = &[
    (1, "FALLOC_FL_KEEP_SIZE"),
    (2, "FALLOC_FL_PUNCH_HOLE"),
    (4, "FALLOC_FL_NO_HIDE_STALE"),
    (8, "FALLOC_FL_COLLAPSE_RANGE"),
    (0x10, "FALLOC_FL_ZERO_RANGE"),
    (0x20, "FALLOC_FL_INSERT_RANGE"),
    (0x40, "FALLOC_FL_UNSHARE_RANGE"),
];

/// getrusage's `who` (RUSAGE_CHILDREN is -1, as a 32-bit value).
pub(in crate::decode) const RUSAGE: Names =
    &[(0, "RUSAGE_SELF"), (0xffff_ffff, "RUSAGE_CHILDREN"), (1, "RUSAGE_THREAD")];

pub(in crate::decode) const MCL: Names = table!(MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT);

/// Lock types (struct flock's l_type, F_SETLEASE, F_GETLEASE).
pub(in crate::decode) const LOCK_TYPE: Names = table!(F_RDLCK, F_WRLCK, F_UNLCK);
/// struct f_owner_ex's type.
pub(in crate::decode) const OWNER: Names = &[(0, "F_OWNER_TID"), (1, "F_OWNER_PID"), (2, "F_OWNER_PGRP")];
/// F_NOTIFY's events.
pub(in crate::decode) const DN: Names = &[
    (1, "DN_ACCESS"),
    (2, "DN_MODIFY"),
    (4, "DN_CREATE"),
    (8, "DN_DELETE"),
    (0x10, "DN_RENAME"),
    (0x20, "DN_ATTRIB"),
    (0x8000_0000, "DN_MULTISHOT"),
];
/// fcntl's commands libc does not name (asm-generic/fcntl.h).
pub(in crate::decode) const F_SETSIG: i32 = 10;
pub(in crate::decode) const F_GETSIG: i32 = 11;
pub(in crate::decode) const F_SETOWN_EX: i32 = 15;
pub(in crate::decode) const F_GETOWN_EX: i32 = 16;
