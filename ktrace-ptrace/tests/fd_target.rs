//! `decode::fd_target` on this process's own descriptors: the typed endpoints of TCP, UDP and
//! unix sockets as sock_diag(7) reports them agree with what the sockets say of
//! themselves (getsockname/getpeername through std), devices carry their numbers, files their
//! paths. (Netlink sockets: examples/tests/strace_lines.rs against strace -yy.)
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::os::fd::AsRawFd;

use ktrace_ptrace::decode::{DecodeFds, FdTarget, SocketEndpoint, fd_target};
use nix::unistd::Pid;

fn target(fd: &impl AsRawFd) -> FdTarget {
    fd_target(Pid::this(), fd.as_raw_fd(), DecodeFds::ALL).unwrap()
}

#[test]
fn tcp_connection_has_both_ends() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    let FdTarget::Socket { protocol, endpoint, .. } = target(&c) else { panic!("not a socket") };
    assert_eq!(protocol.as_deref(), Some("TCP"));
    let want = SocketEndpoint::Inet { local: c.local_addr().unwrap(), remote: Some(c.peer_addr().unwrap()) };
    assert_eq!(endpoint, Some(want));
    // The accepted end, rendered as strace -yy shows it.
    let (local, peer) = (s.local_addr().unwrap(), s.peer_addr().unwrap());
    assert_eq!(target(&s).to_string(), format!("<TCP:[{local}->{peer}]>"));
    assert_eq!(target(&l).to_string(), format!("<TCP:[{}]>", l.local_addr().unwrap()));
}

#[test]
fn udp_v6_and_unix() {
    if let Ok(u) = std::net::UdpSocket::bind("[::1]:0") {
        let FdTarget::Socket { protocol, endpoint, .. } = target(&u) else { panic!("not a socket") };
        assert_eq!(protocol.as_deref(), Some("UDPv6"));
        assert_eq!(endpoint, Some(SocketEndpoint::Inet { local: u.local_addr().unwrap(), remote: None }));
    }
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (FdTarget::Socket { inode: ia, endpoint: ea, .. }, FdTarget::Socket { inode: ib, endpoint: eb, .. }) =
        (target(&a), target(&b))
    else {
        panic!("not sockets")
    };
    assert_eq!(ea, Some(SocketEndpoint::Unix { peer: Some(ib as u32), path: None }));
    assert_eq!(eb, Some(SocketEndpoint::Unix { peer: Some(ia as u32), path: None }));
    assert_eq!(target(&a).to_string(), format!("<UNIX-STREAM:[{ia}->{ib}]>"));
    let dir = std::env::temp_dir().join(format!("ktrace-fd-target-{}", std::process::id()));
    let l = std::os::unix::net::UnixListener::bind(&dir).unwrap();
    let FdTarget::Socket { endpoint, .. } = target(&l) else { panic!("not a socket") };
    assert_eq!(endpoint, Some(SocketEndpoint::Unix { peer: None, path: Some(dir.to_str().unwrap().into()) }));
    std::fs::remove_file(&dir).unwrap();
}

#[test]
fn devices_and_files() {
    let null = std::fs::File::open("/dev/null").unwrap();
    assert_eq!(target(&null), FdTarget::Device { path: b"/dev/null".to_vec(), block: false, major: 1, minor: 3 });
    assert_eq!(target(&null).to_string(), "</dev/null<char 1:3>>");
    // -y alone: the path only.
    let path_only = fd_target(Pid::this(), null.as_raw_fd(), DecodeFds::PATH).unwrap();
    assert_eq!(path_only.to_string(), "</dev/null>");
    // `<` and `>` in a path are escaped in octal (three digits before an octal digit, as strace); an
    // unlinked file is `(deleted)`.
    let name = std::env::temp_dir().join(format!("ktrace <{}>", std::process::id()));
    let f = std::fs::File::create(&name).unwrap();
    std::fs::remove_file(&name).unwrap();
    let shown = target(&f).to_string();
    let pid = std::process::id().to_string();
    let lt = if pid.starts_with(['0', '1', '2', '3', '4', '5', '6', '7']) { "\\074" } else { "\\74" };
    assert!(shown.ends_with(&format!("ktrace {lt}{pid}\\76>(deleted)")), "{shown}");
    assert_eq!(fd_target(Pid::this(), f.as_raw_fd(), DecodeFds::NONE), None);
}
