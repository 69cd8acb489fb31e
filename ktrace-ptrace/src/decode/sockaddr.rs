//! The socket address families strace decodes beyond unix, inet and netlink (its sockaddr.c):
//! IPX, X.25, AF_PACKET link-layer addresses and AX.25 callsigns with their digipeaters. Each
//! takes the bytes after `sa_family`, the whole address read (at most 128 bytes).

use super::*;

/// `htons(12345)`.
fn htons(v: u16) -> Value {
    Value::Call("htons", vec![Value::Uint(v.into())])
}

/// C's `%#04x` of a byte (`0x41`, and `0000` for zero, as `#` adds no `0x` to zero).
fn byte_0x(b: u8) -> Value {
    Value::Name(if b == 0 { "0000".into() } else { format!("{b:#04x}").into() })
}

/// `struct sockaddr_ipx`: port, network, node, type, and the padding byte when set.
pub(super) fn ipx(rest: &[u8]) -> Option<Vec<(&'static str, Value)>> {
    let mut c = Cursor::new(rest);
    let (port, net, node, kind, zero) =
        (c.u16_be().ok()?, c.u32_be().ok()?, c.array::<6>("sipx_node").ok()?, c.u8().ok()?, c.u8().ok()?);
    let mut f = vec![
        ("sipx_port", htons(port)),
        ("sipx_network", Value::Call("htonl", vec![Value::Hex(net.into())])),
        ("sipx_node", Value::Array(node.iter().map(|&b| byte_0x(b)).collect())),
        ("sipx_type", byte_0x(kind)),
    ];
    if zero != 0 {
        f.push(("sipx_zero", Value::Hex(zero.into())));
    }
    Some(f)
}

/// `struct sockaddr_x25`: the address as a C string of at most 15 characters.
pub(super) fn x25(rest: &[u8]) -> Option<Vec<(&'static str, Value)>> {
    let addr = Cursor::new(rest).bytes(16).ok()?;
    let (bytes, truncated) = match addr.iter().position(|&c| c == 0) {
        Some(n) => (addr.get(..n)?, false),
        None => (addr.get(..15)?, true),
    };
    let inner =
        Value::Struct { fields: vec![("x25_addr", Value::Str { bytes: bytes.to_vec(), truncated })], more: false };
    Some(vec![("sx25_addr", inner)])
}

/// Ethernet protocols by number (a few of strace's xlat/ethernet_protocols.in).
const ETH_P: Names = &[
    (0x0003, "ETH_P_ALL"),
    (0x0800, "ETH_P_IP"),
    (0x0806, "ETH_P_ARP"),
    (0x8100, "ETH_P_8021Q"),
    (0x86dd, "ETH_P_IPV6"),
    (0x88cc, "ETH_P_LLDP"),
];
/// ARP hardware types (a few of strace's xlat/arp_hardware_types.in).
const ARPHRD: Names = &[
    (0, "ARPHRD_NETROM"),
    (1, "ARPHRD_ETHER"),
    (772, "ARPHRD_LOOPBACK"),
    (776, "ARPHRD_SIT"),
    (0xfffe, "ARPHRD_NONE"),
];
/// Packet types (`PACKET_HOST`…).
const PACKET_TYPE: Names = &[
    (0, "PACKET_HOST"),
    (1, "PACKET_BROADCAST"),
    (2, "PACKET_MULTICAST"),
    (3, "PACKET_OTHERHOST"),
    (4, "PACKET_OUTGOING"),
    (5, "PACKET_LOOPBACK"),
    (6, "PACKET_USER"),
    (7, "PACKET_KERNEL"),
];

/// An interface index: `if_nametoindex("lo")` when the interface exists, else the number.
pub(super) fn ifindex(i: u32) -> Value {
    match sys::if_name(i) {
        Some(n) => Value::Call("if_nametoindex", vec![Value::Str { bytes: n.into_bytes(), truncated: false }]),
        None => Value::Uint(i.into()),
    }
}

/// `struct sockaddr_ll`: protocol, interface, hardware type, packet type and the hardware
/// address (as many bytes as `sll_halen` says, `...` past the length given).
pub(super) fn packet(rest: &[u8]) -> Option<Vec<(&'static str, Value)>> {
    let mut c = Cursor::new(rest);
    let (proto, index, hatype, pkttype, halen) =
        (c.u16_be().ok()?, c.u32().ok()?, c.u16().ok()?, c.u8().ok()?, c.u8().ok()?);
    let proto = value(proto.into(), ETH_P, "ETH_P_???");
    let mut f = vec![
        ("sll_protocol", Value::Call("htons", vec![proto])),
        ("sll_ifindex", ifindex(index)),
        ("sll_hatype", value(hatype.into(), ARPHRD, "ARPHRD_???")),
        ("sll_pkttype", value(pkttype.into(), PACKET_TYPE, "PACKET_???")),
        ("sll_halen", Value::Uint(halen.into())),
    ];
    if halen > 0 {
        let shown = c.remaining().min(8);
        let addr = c.bytes(shown).ok()?;
        let mut items: Vec<Value> = addr.iter().take(halen.into()).map(|&b| byte_0x(b)).collect();
        if usize::from(halen) > shown {
            items.push(Value::Name("...".into()));
        }
        f.push(("sll_addr", Value::Array(items)));
    }
    Some(f)
}

/// How strace shows an AX.25 callsign (its check_ax25_address): by name when sane, with the raw
/// bytes too when odd, only raw when not printable.
enum Ax25Style {
    Name,
    Both,
    Raw,
}

fn ax25_style(call: &[u8; 7]) -> Ax25Style {
    let (mut style, mut space, mut chars) = (Ax25Style::Name, false, false);
    for &b in call.iter().take(6) {
        if b & 1 != 0 {
            style = Ax25Style::Both;
        }
        let c = b >> 1;
        if c == b' ' {
            space = true;
        } else {
            chars = true;
        }
        if !(c.is_ascii_digit() || c.is_ascii_uppercase() || c == b' ') || (c != b' ' && space) {
            style = Ax25Style::Both;
        }
        if !(b' '..=0x7e).contains(&c) || c == b'*' || c == b'/' {
            return Ax25Style::Raw;
        }
    }
    if call[6] & !0x1e != 0 || (!chars && call[6] != 0) {
        style = Ax25Style::Both;
    }
    style
}

/// A callsign as text: the characters (shifted left by one on the air) without trailing blanks,
/// `-` and the SSID; `*` for an empty one with SSID 0.
fn ax25_text(call: &[u8; 7]) -> String {
    let chars: Vec<u8> = call.iter().take(6).map(|b| b >> 1).collect();
    let end = chars.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    let mut s: String = chars.iter().take(end).map(|&c| c as char).collect();
    let ssid = (call[6] >> 1) & 0xf;
    if s.is_empty() && ssid == 0 {
        return "*".into();
    }
    s.push_str(&format!("-{ssid}"));
    s
}

fn ax25_addr(call: &[u8; 7]) -> Value {
    let raw = || Value::Struct {
        fields: vec![("ax25_call", Value::HexStr { bytes: call.to_vec(), truncated: false })],
        more: false,
    };
    match ax25_style(call) {
        Ax25Style::Name => Value::Name(ax25_text(call).into()),
        Ax25Style::Both => Value::Commented(Box::new(raw()), ax25_text(call)),
        Ax25Style::Raw => raw(),
    }
}

/// `struct full_sockaddr_ax25`: the callsign and digipeater count, and with digipeaters (or a
/// length past `struct sockaddr_ax25`) the digipeaters the length holds.
pub(super) fn ax25(rest: &[u8]) -> Option<(Vec<(&'static str, Value)>, bool)> {
    let mut c = Cursor::new(rest);
    let call = c.array::<7>("sax25_call").ok()?;
    c.skip(3).ok()?;
    let ndigis = c.i32().ok()?;
    let head = vec![("sax25_call", ax25_addr(&call)), ("sax25_ndigis", Value::Int(ndigis.into()))];
    let len = rest.len() + 2;
    if ndigis == 0 && len <= 16 {
        return Some((head, false));
    }
    let mut f = vec![("fsa_ax25", Value::Struct { fields: head, more: false })];
    let has = ((len - 16) / 7).min(8);
    let want = usize::try_from(ndigis).unwrap_or(0).min(8);
    if want > 0 {
        let mut items = Vec::new();
        for _ in 0..has.min(want) {
            items.push(ax25_addr(&c.array::<7>("fsa_digipeater").ok()?));
        }
        if want > has {
            items.push(Value::Name("...".into()));
        }
        f.push(("fsa_digipeater", Value::Array(items)));
    }
    Some((f, len > has * 7 + 16))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
    use super::*;

    /// A callsign as sent on the air: each character shifted left by one, the SSID in bits 1-4.
    fn call(s: &[u8; 6], ssid: u8) -> [u8; 7] {
        let mut c = [0u8; 7];
        for (d, b) in c.iter_mut().zip(s) {
            *d = b << 1;
        }
        c[6] = ssid << 1;
        c
    }

    #[test]
    fn addresses_as_strace_shows_them() {
        assert_eq!(ax25_addr(&call(b"VALID ", 13)).to_string(), "VALID-13");
        assert_eq!(ax25_addr(&call(b"      ", 0)).to_string(), "*");
        // Blanks with an SSID: the raw bytes, the text as a comment.
        assert_eq!(
            ax25_addr(&call(b"      ", 2)).to_string(),
            r#"{ax25_call="\x40\x40\x40\x40\x40\x40\x04"} /* -2 */"#
        );
        let shown = |f: Vec<(&'static str, Value)>| Value::Struct { fields: f, more: false }.to_string();
        assert_eq!(shown(x25(b"0123456789abcdef").unwrap()), r#"{sx25_addr={x25_addr="0123456789abcde"...}}"#);
        let ipx_bytes = [0x30, 0x39, 0xfa, 0xce, 0xfe, 0xed, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0xff, 0];
        assert_eq!(
            shown(ipx(&ipx_bytes).unwrap()),
            "{sipx_port=htons(12345), sipx_network=htonl(0xfacefeed), \
             sipx_node=[0x41, 0x42, 0x43, 0x44, 0x45, 0x46], sipx_type=0xff}"
        );
    }
}
