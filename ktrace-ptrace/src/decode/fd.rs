//! Descriptors with what they are open on, as strace's `-y`, `-yy` and `--decode-fds` show them:
//! the file (`/proc/PID/fd/N`), a device's type and number, a socket's endpoints (asked of the
//! kernel through sock_diag(7), as strace's socketutils.c does), a pidfd's process.

use std::fmt::{self, Display, Write};
use std::net::SocketAddr;
use std::sync::Mutex;

use nix::unistd::Pid;

use crate::sock_diag::{self, DiagFamily, Found};
use crate::sys;

/// Which descriptors are shown with what they are open on: strace's `--decode-fds=SET` (`-y` is
/// [`DecodeFds::PATH`], `-yy` [`DecodeFds::ALL`]).
#[doc(alias = "decode-fds")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DecodeFds {
    /// Files by path (`3</etc/hostname>`), and anything else by its `/proc/PID/fd` link
    /// (`4<pipe:[51712]>`).
    pub path: bool,
    /// Sockets by protocol and endpoints (`3<TCP:[127.0.0.1:41234->127.0.0.1:80]>`).
    pub socket: bool,
    /// Device files with their type and number (`3</dev/null<char 1:3>>`).
    pub dev: bool,
    /// pidfds by the process they refer to (`3<pid:1234>`).
    pub pidfd: bool,
}

impl DecodeFds {
    /// Descriptors as bare numbers.
    pub const NONE: DecodeFds = DecodeFds { path: false, socket: false, dev: false, pidfd: false };
    /// strace's `-y`: paths only.
    pub const PATH: DecodeFds = DecodeFds { path: true, ..DecodeFds::NONE };
    /// strace's `-yy`: paths, sockets, devices and pidfds.
    pub const ALL: DecodeFds = DecodeFds { path: true, socket: true, dev: true, pidfd: true };

    /// Whether any descriptor is decoded.
    pub fn any(&self) -> bool {
        *self != DecodeFds::NONE
    }

    /// strace's `--decode-fds=` value: `all`, `none`, or a comma-separated list of `path`,
    /// `socket`, `dev`, `pidfd`. `None` for another word.
    pub fn parse(list: &str) -> Option<DecodeFds> {
        let mut d = DecodeFds::NONE;
        for w in list.split(',') {
            match w {
                "all" => d = DecodeFds::ALL,
                "none" => d = DecodeFds::NONE,
                "path" => d.path = true,
                "socket" => d.socket = true,
                "dev" => d.dev = true,
                "pidfd" => d.pidfd = true,
                _ => return None,
            }
        }
        Some(d)
    }
}

/// The endpoints of a socket, as sock_diag(7) reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketEndpoint {
    /// A TCP, UDP (or other inet_diag protocol) socket over IPv4 or IPv6: its local address and,
    /// when connected, the remote one. Shown `127.0.0.1:41234->127.0.0.1:80`, IPv6 addresses in
    /// brackets.
    Inet {
        /// The local address and port.
        local: SocketAddr,
        /// The peer's address and port, when there is one.
        remote: Option<SocketAddr>,
    },
    /// A unix domain socket: its peer's inode and its name (a leading NUL for an abstract name).
    /// Shown `->12346,"/path"` after the socket's own inode.
    Unix {
        /// The inode of the socket at the other end.
        peer: Option<u32>,
        /// The bound name (`sun_path`).
        path: Option<Vec<u8>>,
    },
    /// A netlink socket: its protocol (`NETLINK_ROUTE` is 0) and port id. Shown `ROUTE:1234`.
    Netlink {
        /// The `NETLINK_*` protocol.
        protocol: u8,
        /// The port id (for a user socket, usually its pid).
        portid: u32,
    },
}

impl Display for SocketEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketEndpoint::Inet { local, remote } => {
                write!(f, "{local}")?;
                match remote {
                    Some(r) => write!(f, "->{r}"),
                    None => Ok(()),
                }
            }
            SocketEndpoint::Unix { peer, path } => {
                if let Some(p) = peer {
                    write!(f, "->{p}")?;
                }
                if let Some(p) = path {
                    f.write_char(',')?;
                    // Up to the first NUL after the abstract name's leading one.
                    let (at, name) = match p.split_first() {
                        Some((0, rest)) => ("@", rest),
                        _ => ("", p.as_slice()),
                    };
                    let name = name.split(|&c| c == 0).next().unwrap_or(name);
                    f.write_str(at)?;
                    super::value::write_quoted(f, name, false)?;
                }
                Ok(())
            }
            SocketEndpoint::Netlink { protocol, portid } => {
                match super::table::NETLINK.iter().find(|(v, _)| *v == u64::from(*protocol)) {
                    Some((_, n)) => write!(f, "{}:{portid}", n.trim_start_matches("NETLINK_")),
                    None => write!(f, "{protocol}"),
                }
            }
        }
    }
}

/// What a descriptor is open on, as much as [`DecodeFds`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FdTarget {
    /// A file by path, or what `/proc/PID/fd/N` links to (`pipe:[51712]`,
    /// `anon_inode:[eventfd]`). Shown escaped as strace escapes it (`<` and `>` in octal).
    Path {
        /// The link's target.
        path: Vec<u8>,
        /// Whether the file was unlinked (shown `</tmp/f>(deleted)`).
        deleted: bool,
    },
    /// A character or block device: `/dev/null<char 1:3>`.
    Device {
        /// Its path.
        path: Vec<u8>,
        /// A block device (else a character device).
        block: bool,
        /// Its major number.
        major: u32,
        /// Its minor number.
        minor: u32,
    },
    /// A socket: `TCP:[127.0.0.1:41234->127.0.0.1:80]`, `UNIX-STREAM:[12345->12346]`; as
    /// `TCP:[12345]` (its inode) when the kernel reports no endpoints, and `socket:[12345]` when
    /// its protocol is not one sock_diag answers for.
    Socket {
        /// The socket's inode.
        inode: u64,
        /// The kernel's name of its protocol (`TCP`, `UDPv6`, `UNIX-STREAM`, `NETLINK`).
        protocol: Option<String>,
        /// Its endpoints, when known.
        endpoint: Option<SocketEndpoint>,
    },
    /// A pidfd: `pid:1234`.
    Pidfd(i32),
}

impl Display for FdTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FdTarget::Path { path, deleted } => {
                f.write_char('<')?;
                super::value::write_escaped(f, path, b"<>")?;
                f.write_str(if *deleted { ">(deleted)" } else { ">" })
            }
            FdTarget::Device { path, block, major, minor } => {
                f.write_char('<')?;
                super::value::write_escaped(f, path, b"<>")?;
                write!(f, "<{} {major}:{minor}>>", if *block { "block" } else { "char" })
            }
            FdTarget::Socket { inode, protocol, endpoint } => {
                match (protocol.as_deref().filter(|p| sock_diag::diag_family(p).is_some()), endpoint) {
                    (Some(p), Some(e @ SocketEndpoint::Unix { .. })) => write!(f, "<{p}:[{inode}{e}]>"),
                    (Some(p), Some(e)) => write!(f, "<{p}:[{e}]>"),
                    (Some(p), None) => write!(f, "<{p}:[{inode}]>"),
                    (None, _) => write!(f, "<socket:[{inode}]>"),
                }
            }
            FdTarget::Pidfd(pid) => write!(f, "<pid:{pid}>"),
        }
    }
}

/// The inode of a `socket:[12345]` link.
fn socket_inode(path: &[u8]) -> Option<u64> {
    let digits = path.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok().filter(|&i| i != 0)
}

/// What descriptor `fd` of `pid` is open on, as much as `what` asks for; `None` when nothing is
/// to be shown (a closed descriptor, a process gone, nothing asked for this kind).
///
/// Reads `/proc/PID/fd/FD` (and for a device stat(2)s it, for a pidfd reads
/// `/proc/PID/fdinfo/FD`); a socket's protocol is its `system.sockprotoname` attribute and its
/// endpoints are asked of sock_diag(7) (`NETLINK_SOCK_DIAG`, 3.3+; unix_diag by inode, inet_diag
/// and netlink_diag by a dump searched for the inode). Endpoints, once found, are remembered by
/// inode for the life of the process, as strace remembers them: a socket keeps showing the
/// endpoints of its first successful lookup (strace's lines, exactly).
#[doc(alias = "strace -yy")]
#[doc(alias = "sock_diag")]
pub fn fd_target(pid: Pid, fd: i32, what: DecodeFds) -> Option<FdTarget> {
    if fd < 0 || !what.any() {
        return None;
    }
    let mut path = sys::fd_path(pid, fd).ok()?;
    if what.socket
        && let Some(inode) = socket_inode(&path)
    {
        let protocol = sys::sock_proto_name(pid, fd);
        let endpoint = protocol.as_deref().and_then(sock_diag::diag_family).and_then(|fam| endpoint(fam, inode));
        return Some(FdTarget::Socket { inode, protocol, endpoint });
    }
    if what.dev
        && path.first() == Some(&b'/')
        && let Some((block, major, minor)) = sys::device_of(&path)
    {
        return Some(FdTarget::Device { path, block, major, minor });
    }
    if what.pidfd && path == b"anon_inode:[pidfd]" {
        if let Some(p) = sys::pidfd_pid(pid, fd) {
            return Some(FdTarget::Pidfd(p));
        }
        return Some(FdTarget::Path { path, deleted: false });
    }
    if !what.path {
        return None;
    }
    // An unlinked file's link ends in " (deleted)", unless the file is really named so.
    const DELETED: &[u8] = b" (deleted)";
    let mut deleted = false;
    if path.len() > DELETED.len() && path.ends_with(DELETED) && !sys::same_file(pid, fd, &path) {
        path.truncate(path.len() - DELETED.len());
        deleted = true;
    }
    Some(FdTarget::Path { path, deleted })
}

/// Endpoints found, by inode: strace's cache (socketutils.c), 1024 slots by the inode's low bits.
/// A socket shows the endpoints of its first successful lookup from then on, as under strace (a
/// UDP socket bound, shown, then connected still shows only its local address).
static CACHE: Mutex<Vec<Option<(u64, SocketEndpoint)>>> = Mutex::new(Vec::new());
const CACHE_SLOTS: usize = 1024;

/// The endpoints of socket `inode`: remembered, else asked of the kernel.
fn endpoint(family: DiagFamily, inode: u64) -> Option<SocketEndpoint> {
    let slot = (inode as usize) & (CACHE_SLOTS - 1);
    if let Ok(c) = CACHE.lock()
        && let Some(Some((i, e))) = c.get(slot)
        && *i == inode
    {
        return Some(e.clone());
    }
    let e = lookup(family, inode)?;
    if let Ok(mut c) = CACHE.lock() {
        c.resize(CACHE_SLOTS, None);
        if let Some(s) = c.get_mut(slot) {
            *s = Some((inode, e.clone()));
        }
    }
    Some(e)
}

/// Asks sock_diag for socket `inode`: one request, then its answers datagram by datagram (the
/// first waited for, the rest only while queued) until the socket or the end is found.
fn lookup(family: DiagFamily, inode: u64) -> Option<SocketEndpoint> {
    let s = sys::DiagSocket::open().ok()?;
    s.send(&sock_diag::request(family, inode)).ok()?;
    let mut buf = vec![0u8; 8192];
    let mut wait = true;
    loop {
        let n = s.recv(&mut buf, wait).ok()?;
        wait = false;
        match sock_diag::find(buf.get(..n)?, inode) {
            Found::Endpoint(e) => return Some(e),
            Found::More => {}
            Found::End => return None,
        }
    }
}
