//! The ptrace(2), seccomp(2) and memory-reading calls, and the /proc reads that explain a refusal.
//! The only module with `unsafe`.
#![allow(unsafe_code, reason = "ptrace requests without a nix wrapper and seccomp(2) need raw calls")]

use nix::unistd::Pid;

use crate::info::{SYSCALL_INFO_SIZE, SyscallInfo};
use crate::seccomp::SockFilter;

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const PTRACE_LISTEN: libc::c_uint = 0x4208;

/// PTRACE_GET_SYSCALL_INFO (5.3+). `Err(EIO)` on older kernels.
pub(crate) fn syscall_info(pid: Pid) -> nix::Result<SyscallInfo> {
    let mut buf = [0u8; SYSCALL_INFO_SIZE];
    // SAFETY: the kernel writes at most `SYSCALL_INFO_SIZE` bytes (the size we pass) into `buf`.
    let r = unsafe {
        libc::ptrace(PTRACE_GET_SYSCALL_INFO, pid.as_raw(), SYSCALL_INFO_SIZE as *mut libc::c_void, buf.as_mut_ptr())
    };
    if r < 0 {
        return Err(nix::errno::Errno::last());
    }
    Ok(SyscallInfo::parse(buf.get(..(r as usize).min(SYSCALL_INFO_SIZE)).unwrap_or_default()))
}

/// `CLOCK_MONOTONIC` now, in ns (clock_gettime(2)): the clock a stop is stamped on.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for clock_gettime to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64)
}

/// PTRACE_LISTEN: leave a group-stopped tracee stopped but let it be woken by SIGCONT.
pub(crate) fn listen(pid: Pid) -> nix::Result<()> {
    // SAFETY: PTRACE_LISTEN takes no pointers.
    let r = unsafe { libc::ptrace(PTRACE_LISTEN, pid.as_raw(), 0usize, 0usize) };
    if r < 0 { Err(nix::errno::Errno::last()) } else { Ok(()) }
}

/// Installs a seccomp filter in the calling process (used in the child before exec).
/// Async-signal-safe: only prctl(2) and seccomp(2).
pub(crate) fn install_seccomp(prog: &[SockFilter]) -> std::io::Result<()> {
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const SockFilter,
    }
    let fprog = SockFprog { len: prog.len() as u16, filter: prog.as_ptr() };
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog as *const SockFprog) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Stops the calling process with SIGSTOP (in the child before exec, so the parent can seize it).
pub(crate) fn stop_self() -> std::io::Result<()> {
    // SAFETY: raise(3) is async-signal-safe.
    if unsafe { libc::raise(libc::SIGSTOP) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads tracee memory: process_vm_readv, falling back to /proc/PID/mem.
pub(crate) fn read_mem(pid: Pid, addr: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    use nix::sys::uio::{RemoteIoVec, process_vm_readv};
    let remote = [RemoteIoVec { base: addr as usize, len: buf.len() }];
    match process_vm_readv(pid, &mut [std::io::IoSliceMut::new(buf)], &remote) {
        Ok(n) => Ok(n),
        Err(nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM) => {
            use std::os::unix::fs::FileExt;
            let f = std::fs::File::open(format!("/proc/{pid}/mem"))?;
            f.read_at(buf, addr)
        }
        Err(e) => Err(e.into()),
    }
}

/// Puts the calling (child) process's signal state back to what a program expects at exec, as
/// `std::process::Command` does: the Rust runtime ignores SIGPIPE (an ignored signal stays ignored
/// across execve(2), so `yes | head -1` would leave `yes` failing with EPIPE instead of dying by
/// SIGPIPE), and the tracer's threads may block signals (the mask is inherited too). Handlers need
/// no reset: execve(2) resets caught signals to SIG_DFL. Async-signal-safe: sigaction(2) and
/// sigprocmask(2) only.
fn reset_signals_for_exec() {
    // SAFETY: sigemptyset/sigprocmask on a local set, and sigaction to SIG_DFL (no handler runs).
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Forks a child that installs the optional seccomp program, stops itself with SIGSTOP (so the
/// parent can seize it before anything runs) and then execs `path` with `argv` with default
/// SIGPIPE handling and an empty signal mask (as `std::process::Command` and strace start a
/// program). Everything the child needs is prepared before the fork; after it, the child makes
/// only async-signal-safe calls.
pub(crate) fn fork_exec_stopped(
    path: &std::ffi::CStr,
    argv: &[std::ffi::CString],
    seccomp: Option<&[SockFilter]>,
    stdout_null: bool,
    cpu: Option<usize>,
) -> std::io::Result<Pid> {
    let cpuset = match cpu {
        Some(c) => {
            let mut set = nix::sched::CpuSet::new();
            set.set(c).map_err(std::io::Error::from)?;
            Some(set)
        }
        None => None,
    };
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let devnull = if stdout_null { Some(std::fs::OpenOptions::new().write(true).open("/dev/null")?) } else { None };
    let devnull_fd = devnull.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
    // SAFETY: fork(2) in a possibly multi-threaded process: the child only calls async-signal-safe
    // functions (sigprocmask, sigaction, dup2, prctl, seccomp, raise, execv, _exit) on memory
    // prepared before the fork.
    match unsafe { nix::unistd::fork() }.map_err(std::io::Error::from)? {
        nix::unistd::ForkResult::Parent { child } => Ok(child),
        nix::unistd::ForkResult::Child => {
            reset_signals_for_exec();
            if let Some(fd) = devnull_fd {
                // SAFETY: dup2 on valid fds.
                unsafe { libc::dup2(fd, 1) };
            }
            if let Some(set) = &cpuset {
                let _ = nix::sched::sched_setaffinity(Pid::from_raw(0), set);
            }
            let _ = stop_self();
            // After the stop, once the tracer has seized us with PTRACE_O_TRACESECCOMP: a filter
            // installed earlier would fail the stop's own syscalls (and execve) with ENOSYS when
            // they are among the traced ones, as SECCOMP_RET_TRACE does without a tracer.
            if let Some(p) = seccomp
                && install_seccomp(p).is_err()
            {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(126) };
            }
            // SAFETY: `path` and `ptrs` (NULL-terminated) point at CStrings that outlive the call.
            unsafe {
                libc::execv(path.as_ptr(), ptrs.as_ptr());
                libc::_exit(127)
            }
        }
    }
}

/// strerror(3): the C library's message for errno `e` ("Bad file descriptor"; "Unknown error N"
/// for a number it does not know), the text strace prints.
pub(crate) fn strerror(e: i32) -> String {
    let mut buf = [0u8; 128];
    // SAFETY: the XSI strerror_r (what the libc crate binds on glibc and musl) writes at most
    // `buf.len()` bytes, NUL included, into `buf`.
    let r = unsafe { libc::strerror_r(e, buf.as_mut_ptr().cast(), buf.len()) };
    let text = std::ffi::CStr::from_bytes_until_nul(&buf).map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    if r != 0 && text.is_empty() { format!("Unknown error {e}") } else { text }
}

/// The CPU the calling thread runs on now.
pub(crate) fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu has no arguments.
    let c = unsafe { libc::sched_getcpu() };
    usize::try_from(c).ok()
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin_self(cpu: usize) -> std::io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).map_err(std::io::Error::from)?;
    nix::sched::sched_setaffinity(Pid::from_raw(0), &set).map_err(std::io::Error::from)
}

/// The current value of a sysctl (`kernel.yama.ptrace_scope`), trimmed; `None` when absent.
pub(crate) fn sysctl(name: &str) -> Option<String> {
    std::fs::read_to_string(ktrace_core::hint::Sysctl::path(name)).ok().map(|v| v.trim().to_owned())
}

/// The pid tracing `tid` (`TracerPid:` in `/proc/TID/status`; 0 when none).
pub(crate) fn tracer_pid(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("TracerPid:")).and_then(|v| v.trim().parse().ok())
}

/// The raw `siginfo_t` (128 bytes) of the signal a tracee is stopped with (PTRACE_GETSIGINFO).
pub(crate) fn siginfo_bytes(pid: Pid) -> Option<[u8; 128]> {
    let mut buf = [0u8; 128];
    // SAFETY: PTRACE_GETSIGINFO writes one siginfo_t (128 bytes on Linux) to `buf`, which is
    // 128 bytes and lives across the call.
    let r = unsafe {
        libc::ptrace(libc::PTRACE_GETSIGINFO, pid.as_raw(), std::ptr::null_mut::<libc::c_void>(), buf.as_mut_ptr())
    };
    (r == 0).then_some(buf)
}

/// What `/proc/PID/fd/FD` links to (`/etc/hostname`, `pipe:[51712]`, `socket:[51713]`), as bytes.
pub(crate) fn fd_path(pid: Pid, fd: i32) -> std::io::Result<Vec<u8>> {
    proc_link(pid, &format!("fd/{fd}"))
}

/// What `/proc/PID/NAME` links to (`cwd`, `exe`, `fd/3`), as bytes.
pub(crate) fn proc_link(pid: Pid, name: &str) -> std::io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    Ok(std::fs::read_link(format!("/proc/{pid}/{name}"))?.into_os_string().into_vec())
}

/// Whether `/proc/PID/fd/FD` is still the file `path` names (the kernel appends ` (deleted)` to
/// the link of an unlinked file; a file really named so is the same inode).
pub(crate) fn same_file(pid: Pid, fd: i32, path: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::metadata(format!("/proc/{pid}/fd/{fd}"));
    let named = std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(path));
    matches!((link, named), (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev())
}

/// A device file's type and number: `Some((block, major, minor))` for a character or block
/// device, from stat(2) of `path`.
pub(crate) fn device_of(path: &[u8]) -> Option<(bool, u32, u32)> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(std::ffi::OsStr::from_bytes(path)).ok()?;
    let t = m.file_type();
    (t.is_char_device() || t.is_block_device())
        .then(|| (t.is_block_device(), libc::major(m.rdev()), libc::minor(m.rdev())))
}

/// The pid a pidfd refers to (`Pid:` of `/proc/PID/fdinfo/FD`; 5.3+).
pub(crate) fn pidfd_pid(pid: Pid, fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    info.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse().ok())
}

/// A socket's protocol name (`TCP`, `UDPv6`, `UNIX-STREAM`, `NETLINK`): the
/// `system.sockprotoname` extended attribute of `/proc/PID/fd/FD` (getxattr(2), 3.0+).
pub(crate) fn sock_proto_name(pid: Pid, fd: i32) -> Option<String> {
    let path = std::ffi::CString::new(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let mut buf = [0u8; 256];
    // SAFETY: both names are NUL-terminated; the kernel writes at most `buf.len()` bytes to `buf`.
    let r = unsafe {
        libc::getxattr(path.as_ptr(), c"system.sockprotoname".as_ptr(), buf.as_mut_ptr().cast(), buf.len() - 1)
    };
    let n = usize::try_from(r).ok().filter(|&n| n > 0)?;
    let name = buf.get(..n)?;
    let name = name.split(|&c| c == 0).next().unwrap_or(name);
    Some(String::from_utf8_lossy(name).into_owned())
}

/// A `NETLINK_SOCK_DIAG` socket (sock_diag(7), 3.3+): requests go to the kernel, answers come
/// back as datagrams of netlink messages. Closed on drop.
pub(crate) struct DiagSocket(std::os::fd::OwnedFd);

impl DiagSocket {
    pub(crate) fn open() -> std::io::Result<DiagSocket> {
        use std::os::fd::FromRawFd;
        // SAFETY: socket(2) with integer arguments.
        let fd =
            unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(DiagSocket(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    /// Sends one request to the kernel (an unconnected netlink socket sends to port 0).
    pub(crate) fn send(&self, req: &[u8]) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: `req` is valid for `req.len()` bytes during the call.
            let r = unsafe { libc::send(self.0.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
            if r >= 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Receives one datagram of answers into `buf`; `wait: false` fails with `WouldBlock` when
    /// none is queued.
    pub(crate) fn recv(&self, buf: &mut [u8], wait: bool) -> std::io::Result<usize> {
        use std::os::fd::AsRawFd;
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: the kernel writes at most `buf.len()` bytes to `buf`.
            let r = unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
            if let Ok(n) = usize::try_from(r) {
                return Ok(n);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// The name of network interface `index` (if_indextoname(3)); `None` when there is none.
pub(crate) fn if_name(index: u32) -> Option<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes, NUL included, to `buf`.
    let r = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if r.is_null() {
        return None;
    }
    std::ffi::CStr::from_bytes_until_nul(&buf).ok().map(|c| c.to_string_lossy().into_owned())
}

/// The registers a stack walk starts from: instruction, stack and frame pointer, and rdi (where
/// `__vfork` keeps its return address across the syscall). PTRACE_GETREGS; x86_64 only, ENOSYS
/// elsewhere.
#[cfg(feature = "stack")]
pub(crate) fn stack_regs(pid: Pid) -> nix::Result<[u64; 4]> {
    #[cfg(target_arch = "x86_64")]
    {
        let r = nix::sys::ptrace::getregs(pid)?;
        Ok([r.rip, r.rsp, r.rbp, r.rdi])
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = pid;
        Err(nix::errno::Errno::ENOSYS)
    }
}

/// `/proc/PID/maps` of a task, as text.
#[cfg(feature = "stack")]
pub(crate) fn proc_maps(pid: i32) -> std::io::Result<String> {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
}

/// The thread group (process) of task `tid` (`Tgid:` in `/proc/TID/status`).
#[cfg(feature = "stack")]
pub(crate) fn tgid(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// Opens a mapped object to read its unwind tables; anything but a regular file (a device a
/// process mapped, a FIFO) is refused before it is read.
#[cfg(feature = "stack")]
pub(crate) fn open_regular(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: a FIFO put at a mapped file's path does not block the open.
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "empty file"));
    }
    Ok(f)
}
