//! sock_diag(7) messages: the requests that ask the kernel for one socket's endpoints
//! (`NETLINK_SOCK_DIAG`: inet_diag for TCP/UDP over IPv4 and IPv6, unix_diag, netlink_diag) and
//! the parsing of its answers into a [`SocketEndpoint`]. Bytes only: the netlink socket that
//! carries them is in `sys.rs`.
//!
//! The layouts are the kernel's uapi `<linux/sock_diag.h>`, `<linux/inet_diag.h>`,
//! `<linux/unix_diag.h>` and `<linux/netlink_diag.h>`, all since Linux 3.3 (netlink_diag 3.10).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ktrace_core::Cursor;
use zerocopy::byteorder::{BigEndian, NativeEndian, U16, U32};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use crate::decode::SocketEndpoint;

type Ne32 = U32<NativeEndian>;
type Ne16 = U16<NativeEndian>;

/// `SOCK_DIAG_BY_FAMILY`: the message type of every request and answer.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
const UDIAG_SHOW_NAME: u32 = 1;
const UDIAG_SHOW_PEER: u32 = 4;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
/// netlink_diag's "every protocol".
const NDIAG_PROTO_ALL: u8 = 255;
/// `sizeof(sun_path)`.
const UNIX_PATH_MAX: usize = 108;

/// `struct nlmsghdr`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct NlMsgHdr {
    len: Ne32,
    kind: Ne16,
    flags: Ne16,
    seq: Ne32,
    pid: Ne32,
}

/// `struct inet_diag_sockid`: ports and addresses in network order.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct InetDiagSockId {
    sport: U16<BigEndian>,
    dport: U16<BigEndian>,
    src: [u8; 16],
    dst: [u8; 16],
    interface: Ne32,
    cookie: [Ne32; 2],
}

/// `struct inet_diag_req_v2`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct InetDiagReqV2 {
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8,
    states: Ne32,
    id: InetDiagSockId,
}

/// `struct inet_diag_msg`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct InetDiagMsg {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    id: InetDiagSockId,
    expires: Ne32,
    rqueue: Ne32,
    wqueue: Ne32,
    uid: Ne32,
    inode: Ne32,
}

/// `struct unix_diag_req`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct UnixDiagReq {
    family: u8,
    protocol: u8,
    pad: Ne16,
    states: Ne32,
    ino: Ne32,
    show: Ne32,
    cookie: [Ne32; 2],
}

/// `struct unix_diag_msg`, followed by `rtattr`s.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct UnixDiagMsg {
    family: u8,
    kind: u8,
    state: u8,
    pad: u8,
    ino: Ne32,
    cookie: [Ne32; 2],
}

/// `struct netlink_diag_req`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct NetlinkDiagReq {
    family: u8,
    protocol: u8,
    pad: Ne16,
    ino: Ne32,
    show: Ne32,
    cookie: [Ne32; 2],
}

/// `struct netlink_diag_msg`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct NetlinkDiagMsg {
    family: u8,
    kind: u8,
    protocol: u8,
    state: u8,
    portid: Ne32,
    dst_portid: Ne32,
    dst_group: Ne32,
    ino: Ne32,
    cookie: [Ne32; 2],
}

/// `struct rtattr`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RtAttr {
    len: Ne16,
    kind: Ne16,
}

const _: () = {
    assert!(size_of::<NlMsgHdr>() == 16);
    assert!(size_of::<InetDiagSockId>() == 48);
    assert!(size_of::<InetDiagReqV2>() == 56);
    assert!(size_of::<InetDiagMsg>() == 72);
    assert!(size_of::<UnixDiagReq>() == 24);
    assert!(size_of::<UnixDiagMsg>() == 16);
    assert!(size_of::<NetlinkDiagReq>() == 20);
    assert!(size_of::<NetlinkDiagMsg>() == 28);
    assert!(size_of::<RtAttr>() == 4);
};

/// Which sock_diag family answers for a socket, from its protocol's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DiagFamily {
    /// inet_diag: `AF_INET`/`AF_INET6` and an `IPPROTO_*`.
    Inet(u8, u8),
    Unix,
    Netlink,
}

/// The protocol names of `getxattr(…, "system.sockprotoname")` strace resolves, and how.
pub(crate) fn diag_family(proto: &str) -> Option<DiagFamily> {
    let (v4, v6) = (libc::AF_INET as u8, libc::AF_INET6 as u8);
    let inet = |fam, p: i32| Some(DiagFamily::Inet(fam, p as u8));
    match proto {
        "UNIX" | "UNIX-STREAM" => Some(DiagFamily::Unix),
        "NETLINK" => Some(DiagFamily::Netlink),
        "TCP" => inet(v4, libc::IPPROTO_TCP),
        "UDP" => inet(v4, libc::IPPROTO_UDP),
        "UDPLITE" => inet(v4, libc::IPPROTO_UDPLITE),
        "DCCP" => inet(v4, libc::IPPROTO_DCCP),
        "SCTP" => inet(v4, libc::IPPROTO_SCTP),
        "L2TP/IP" => inet(v4, 115),
        "PING" => inet(v4, libc::IPPROTO_ICMP),
        "RAW" => inet(v4, libc::IPPROTO_RAW),
        "TCPv6" => inet(v6, libc::IPPROTO_TCP),
        "UDPv6" => inet(v6, libc::IPPROTO_UDP),
        "UDPLITEv6" => inet(v6, libc::IPPROTO_UDPLITE),
        "DCCPv6" => inet(v6, libc::IPPROTO_DCCP),
        "SCTPv6" => inet(v6, libc::IPPROTO_SCTP),
        "L2TP/IPv6" => inet(v6, 115),
        "PINGv6" => inet(v6, libc::IPPROTO_ICMP),
        "RAWv6" => inet(v6, libc::IPPROTO_RAW),
        _ => None,
    }
}

/// `nlmsghdr` + `body` as one request message.
fn message(body: &[u8], flags: u16) -> Vec<u8> {
    let hdr = NlMsgHdr {
        len: Ne32::new((size_of::<NlMsgHdr>() + body.len()) as u32),
        kind: Ne16::new(SOCK_DIAG_BY_FAMILY),
        flags: Ne16::new(NLM_F_REQUEST | flags),
        seq: Ne32::new(0),
        pid: Ne32::new(0),
    };
    let mut out = hdr.as_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// The request that finds socket `inode` of `family`: unix_diag asks for the one inode (its name
/// and peer); inet_diag and netlink_diag dump every socket of the protocol (they cannot look up
/// by inode), which [`find`] then searches.
pub(crate) fn request(family: DiagFamily, inode: u64) -> Vec<u8> {
    let zero_id = || InetDiagSockId {
        sport: U16::new(0),
        dport: U16::new(0),
        src: [0; 16],
        dst: [0; 16],
        interface: Ne32::new(0),
        cookie: [Ne32::new(0); 2],
    };
    match family {
        DiagFamily::Inet(fam, protocol) => {
            let req =
                InetDiagReqV2 { family: fam, protocol, ext: 0, pad: 0, states: Ne32::new(u32::MAX), id: zero_id() };
            message(req.as_bytes(), NLM_F_DUMP)
        }
        DiagFamily::Unix => {
            let req = UnixDiagReq {
                family: libc::AF_UNIX as u8,
                protocol: 0,
                pad: Ne16::new(0),
                states: Ne32::new(u32::MAX),
                ino: Ne32::new(inode as u32),
                show: Ne32::new(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER),
                cookie: [Ne32::new(u32::MAX); 2],
            };
            message(req.as_bytes(), 0)
        }
        DiagFamily::Netlink => {
            let req = NetlinkDiagReq {
                family: libc::AF_NETLINK as u8,
                protocol: NDIAG_PROTO_ALL,
                pad: Ne16::new(0),
                ino: Ne32::new(0),
                show: Ne32::new(0),
                cookie: [Ne32::new(0); 2],
            };
            message(req.as_bytes(), NLM_F_DUMP)
        }
    }
}

/// What one datagram of answers says about the socket looked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// Its endpoints.
    Endpoint(SocketEndpoint),
    /// Not in this datagram: read the next one (of a dump).
    More,
    /// The answers ended (`NLMSG_DONE`, an error) or say nothing strace would show.
    End,
}

/// Searches one datagram of sock_diag answers for socket `inode`, as strace's socketutils.c
/// reads them: answers of another type end the search, and so do a unix socket with neither a
/// peer nor a name and an inet socket of another family.
pub fn find(buf: &[u8], inode: u64) -> Found {
    let mut c = Cursor::new(buf);
    let mut any = false;
    while let Ok(h) = c.read_ref::<NlMsgHdr>("nlmsghdr") {
        let len = h.len.get() as usize;
        let Some(body_len) = len.checked_sub(size_of::<NlMsgHdr>()) else { return Found::End };
        if h.kind.get() != SOCK_DIAG_BY_FAMILY {
            return Found::End;
        }
        let Ok(body) = c.bytes(body_len) else { return Found::End };
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        let _ = c.skip(len.next_multiple_of(4) - len);
        any = true;
        match parse_one(body, inode) {
            Found::More => {}
            other => return other,
        }
    }
    if any { Found::More } else { Found::End }
}

/// One answer: the endpoint when it is socket `inode`'s.
fn parse_one(body: &[u8], inode: u64) -> Found {
    let Some(&family) = body.first() else { return Found::End };
    let mut c = Cursor::new(body);
    match i32::from(family) {
        libc::AF_INET | libc::AF_INET6 => {
            let Ok(m) = c.read_ref::<InetDiagMsg>("inet_diag_msg") else { return Found::End };
            if u64::from(m.inode.get()) != inode {
                return Found::More;
            }
            let addr = |b: &[u8; 16]| -> IpAddr {
                if i32::from(family) == libc::AF_INET {
                    IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
                } else {
                    IpAddr::V6(Ipv6Addr::from(*b))
                }
            };
            let local = SocketAddr::new(addr(&m.id.src), m.id.sport.get());
            let dst = addr(&m.id.dst);
            let remote =
                (m.id.dport.get() != 0 || !dst.is_unspecified()).then(|| SocketAddr::new(dst, m.id.dport.get()));
            Found::Endpoint(SocketEndpoint::Inet { local, remote })
        }
        libc::AF_UNIX => {
            let Ok(m) = c.read_ref::<UnixDiagMsg>("unix_diag_msg") else { return Found::End };
            if u64::from(m.ino.get()) != inode {
                return Found::More;
            }
            let (mut peer, mut path) = (None, None::<Vec<u8>>);
            while let Ok(a) = c.read_ref::<RtAttr>("rtattr") {
                let Some(n) = (a.len.get() as usize).checked_sub(size_of::<RtAttr>()) else { break };
                let Ok(data) = c.bytes(n) else { break };
                let _ = c.skip((n + 4).next_multiple_of(4) - n - 4);
                match a.kind.get() {
                    UNIX_DIAG_NAME if path.is_none() => {
                        let name = data.get(..data.len().min(UNIX_PATH_MAX)).unwrap_or(data);
                        // A path ends at its NUL (the kernel keeps the one a bind's length
                        // included); an abstract name (a leading NUL) is every byte.
                        let name = match name.split_first() {
                            Some((0, _)) => name,
                            _ => name.split(|&c| c == 0).next().unwrap_or(name),
                        };
                        path = Some(name.to_vec());
                    }
                    UNIX_DIAG_PEER => {
                        peer = Cursor::new(data).u32().ok().filter(|&p| p != 0);
                    }
                    _ => {}
                }
            }
            if peer.is_none() && path.as_ref().is_none_or(Vec::is_empty) {
                return Found::End;
            }
            Found::Endpoint(SocketEndpoint::Unix { peer, path: path.filter(|p| !p.is_empty()) })
        }
        libc::AF_NETLINK => {
            let Ok(m) = c.read_ref::<NetlinkDiagMsg>("netlink_diag_msg") else { return Found::End };
            if u64::from(m.ino.get()) != inode {
                return Found::More;
            }
            Found::Endpoint(SocketEndpoint::Netlink { protocol: m.protocol, portid: m.portid.get() })
        }
        _ => Found::End,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]
    use super::*;
    use zerocopy::FromZeros;

    fn answer(body: &[u8]) -> Vec<u8> {
        message(body, 0)
    }

    #[test]
    fn inet_answer_names_both_ends() {
        let mut m = InetDiagMsg::new_zeroed();
        m.family = libc::AF_INET as u8;
        m.inode = Ne32::new(42);
        m.id.sport = U16::new(80);
        m.id.dport = U16::new(41234);
        m.id.src[..4].copy_from_slice(&[127, 0, 0, 1]);
        m.id.dst[..4].copy_from_slice(&[127, 0, 0, 1]);
        let mut other = InetDiagMsg::new_zeroed();
        other.family = libc::AF_INET as u8;
        other.inode = Ne32::new(7);
        let mut buf = answer(other.as_bytes());
        buf.extend(answer(m.as_bytes()));
        let Found::Endpoint(e) = find(&buf, 42) else { panic!() };
        assert_eq!(e.to_string(), "127.0.0.1:80->127.0.0.1:41234");
        assert_eq!(find(&buf, 9), Found::More);
        // A listener: no remote end.
        m.id.dport = U16::new(0);
        m.id.dst = [0; 16];
        let Found::Endpoint(e) = find(&answer(m.as_bytes()), 42) else { panic!() };
        assert_eq!(e.to_string(), "127.0.0.1:80");
    }

    /// A unix_diag answer for inode 5 with a UNIX_DIAG_NAME (padded to 4) and a
    /// UNIX_DIAG_PEER when given.
    fn unix_answer(name: Option<&[u8]>, peer: Option<u32>) -> Vec<u8> {
        let mut m = UnixDiagMsg::new_zeroed();
        m.family = libc::AF_UNIX as u8;
        m.ino = Ne32::new(5);
        let mut body = m.as_bytes().to_vec();
        if let Some(n) = name {
            body.extend(RtAttr { len: Ne16::new(4 + n.len() as u16), kind: Ne16::new(UNIX_DIAG_NAME) }.as_bytes());
            body.extend(n);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        if let Some(p) = peer {
            body.extend(RtAttr { len: Ne16::new(8), kind: Ne16::new(UNIX_DIAG_PEER) }.as_bytes());
            body.extend(p.to_ne_bytes());
        }
        answer(&body)
    }

    #[test]
    fn unix_answer_with_peer_and_abstract_name() {
        let Found::Endpoint(e) = find(&unix_answer(Some(b"\0ab"), Some(6)), 5) else { panic!() };
        assert_eq!(e, SocketEndpoint::Unix { peer: Some(6), path: Some(b"\0ab".to_vec()) });
        assert_eq!(e.to_string(), "->6,@\"ab\"");
        // A path ends at the NUL the kernel keeps.
        let Found::Endpoint(e) = find(&unix_answer(Some(b"/s\0"), None), 5) else { panic!() };
        assert_eq!(e.to_string(), ",\"/s\"");
        // Neither: nothing to show.
        assert_eq!(find(&unix_answer(None, None), 5), Found::End);
    }

    /// Every prefix of an answer, and the answer with any one byte changed, parses without a
    /// panic (lengths that overrun, attributes cut short, unknown families).
    #[test]
    fn damaged_answers_do_not_panic() {
        let buf = unix_answer(Some(b"/s"), Some(6));
        for n in 0..=buf.len() {
            let _ = find(&buf[..n], 5);
        }
        for i in 0..buf.len() {
            for v in [0u8, 1, 2, 0x7f, 0xff] {
                let mut b = buf.clone();
                b[i] = v;
                let _ = find(&b, 5);
            }
        }
    }

    #[test]
    fn netlink_answer_and_done() {
        let mut m = NetlinkDiagMsg::new_zeroed();
        m.family = libc::AF_NETLINK as u8;
        m.ino = Ne32::new(3);
        m.portid = Ne32::new(1234);
        let Found::Endpoint(e) = find(&answer(m.as_bytes()), 3) else { panic!() };
        assert_eq!(e.to_string(), "ROUTE:1234");
        // NLMSG_DONE ends a dump; truncated input ends it too.
        let mut done = answer(&[0; 4]);
        done[4] = 3;
        assert_eq!(find(&done, 3), Found::End);
        assert_eq!(find(&answer(m.as_bytes())[..20], 3), Found::End);
    }
}
