//! getsockopt(2) and setsockopt(2) as strace's net.c shows them: the level and option by name,
//! the value as an `int` (`[1]`) for the options that hold one, else by the length given.

use super::*;

/// Socket option levels (strace's xlat/socketlayers.in).
const SOL: Names = &[
    (0, "SOL_IP"),
    (1, "SOL_SOCKET"),
    (6, "SOL_TCP"),
    (17, "SOL_UDP"),
    (40, "AF_VSOCK"),
    (41, "SOL_IPV6"),
    (58, "SOL_ICMPV6"),
    (100, "SOL_CAN_BASE"),
    (101, "SOL_CAN_RAW"),
    (132, "SOL_SCTP"),
    (136, "SOL_UDPLITE"),
    (255, "SOL_RAW"),
    (256, "SOL_IPX"),
    (257, "SOL_AX25"),
    (258, "SOL_ATALK"),
    (259, "SOL_NETROM"),
    (260, "SOL_ROSE"),
    (261, "SOL_DECNET"),
    (262, "SOL_X25"),
    (263, "SOL_PACKET"),
    (264, "SOL_ATM"),
    (265, "SOL_AAL"),
    (266, "SOL_IRDA"),
    (267, "SOL_NETBEUI"),
    (268, "SOL_LLC"),
    (269, "SOL_DCCP"),
    (270, "SOL_NETLINK"),
    (271, "SOL_TIPC"),
    (272, "SOL_RXRPC"),
    (273, "SOL_PPPOL2TP"),
    (274, "SOL_BLUETOOTH"),
    (275, "SOL_PNPIPE"),
    (276, "SOL_RDS"),
    (277, "SOL_IUCV"),
    (278, "SOL_CAIF"),
    (279, "SOL_ALG"),
    (280, "SOL_NFC"),
    (281, "SOL_KCM"),
    (282, "SOL_TLS"),
    (283, "SOL_XDP"),
];

/// `SOL_SOCKET` options (asm-generic/socket.h numbering: x86_64, aarch64); 26 is
/// `SO_ATTACH_FILTER` to setsockopt and `SO_GET_FILTER` to getsockopt.
const SO: &[&str] = &[
    "",
    "SO_DEBUG",
    "SO_REUSEADDR",
    "SO_TYPE",
    "SO_ERROR",
    "SO_DONTROUTE",
    "SO_BROADCAST",
    "SO_SNDBUF",
    "SO_RCVBUF",
    "SO_KEEPALIVE",
    "SO_OOBINLINE",
    "SO_NO_CHECK",
    "SO_PRIORITY",
    "SO_LINGER",
    "SO_BSDCOMPAT",
    "SO_REUSEPORT",
    "SO_PASSCRED",
    "SO_PEERCRED",
    "SO_RCVLOWAT",
    "SO_SNDLOWAT",
    "SO_RCVTIMEO_OLD",
    "SO_SNDTIMEO_OLD",
    "SO_SECURITY_AUTHENTICATION",
    "SO_SECURITY_ENCRYPTION_TRANSPORT",
    "SO_SECURITY_ENCRYPTION_NETWORK",
    "SO_BINDTODEVICE",
    "SO_ATTACH_FILTER",
    "SO_DETACH_FILTER",
    "SO_PEERNAME",
    "SO_TIMESTAMP_OLD",
    "SO_ACCEPTCONN",
    "SO_PEERSEC",
    "SO_SNDBUFFORCE",
    "SO_RCVBUFFORCE",
    "SO_PASSSEC",
    "SO_TIMESTAMPNS_OLD",
    "SO_MARK",
    "SO_TIMESTAMPING_OLD",
    "SO_PROTOCOL",
    "SO_DOMAIN",
    "SO_RXQ_OVFL",
    "SO_WIFI_STATUS",
    "SO_PEEK_OFF",
    "SO_NOFCS",
    "SO_LOCK_FILTER",
    "SO_SELECT_ERR_QUEUE",
    "SO_BUSY_POLL",
    "SO_MAX_PACING_RATE",
    "SO_BPF_EXTENSIONS",
    "SO_INCOMING_CPU",
    "SO_ATTACH_BPF",
    "SO_ATTACH_REUSEPORT_CBPF",
    "SO_ATTACH_REUSEPORT_EBPF",
    "SO_CNX_ADVICE",
    "",
    "SO_MEMINFO",
    "SO_INCOMING_NAPI_ID",
    "SO_COOKIE",
    "",
    "SO_PEERGROUPS",
    "SO_ZEROCOPY",
    "SO_TXTIME",
    "SO_BINDTOIFINDEX",
    "SO_TIMESTAMP_NEW",
    "SO_TIMESTAMPNS_NEW",
    "SO_TIMESTAMPING_NEW",
    "SO_RCVTIMEO_NEW",
    "SO_SNDTIMEO_NEW",
    "SO_DETACH_REUSEPORT_BPF",
    "SO_PREFER_BUSY_POLL",
    "SO_BUSY_POLL_BUDGET",
    "SO_NETNS_COOKIE",
    "SO_BUF_LOCK",
    "SO_RESERVE_MEM",
    "SO_TXREHASH",
    "SO_RCVMARK",
];

/// `SOL_TCP` options (linux/tcp.h), the first of them.
const TCP: &[&str] = &[
    "",
    "TCP_NODELAY",
    "TCP_MAXSEG",
    "TCP_CORK",
    "TCP_KEEPIDLE",
    "TCP_KEEPINTVL",
    "TCP_KEEPCNT",
    "TCP_SYNCNT",
    "TCP_LINGER2",
    "TCP_DEFER_ACCEPT",
    "TCP_WINDOW_CLAMP",
    "TCP_INFO",
    "TCP_QUICKACK",
    "TCP_CONGESTION",
];

/// The `SOL_SOCKET` options that hold an `int` (strace's "all known int-like options").
const INT_LIKE: &[u64] = &[
    1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 18, 19, 27, 29, 30, 32, 33, 34, 35, 36, 37, 40, 41, 42, 43, 44, 45,
    46, 49, 53, 56, 60, 63, 64, 65, 68, 69, 70, 73, 75,
];
const SO_TXREHASH: u64 = 74;
const SO_ERROR: u64 = 4;
const SO_LINGER: u64 = 13;
const SO_PEERCRED: u64 = 17;
/// `SO_TXREHASH`'s values.
const TXREHASH: Names = &[(0, "SOCK_TXREHASH_DISABLED"), (1, "SOCK_TXREHASH_ENABLED"), (255, "SOCK_TXREHASH_DEFAULT")];

impl Ctx<'_> {
    fn level(&self) -> u64 {
        self.arg(1) & 0xffff_ffff
    }

    /// The level by name (`SOL_SOCKET`).
    pub(super) fn sockopt_level(&self, v: u64) -> Value {
        value(v & 0xffff_ffff, SOL, "SOL_??")
    }

    /// The option by name for the levels strace names (`SO_REUSEADDR`, `TCP_NODELAY`), else
    /// the number.
    pub(super) fn sockopt_name(&self, v: u64) -> Value {
        let v = v & 0xffff_ffff;
        let named = |list: &'static [&'static str], unknown: &str| match list.get(v as usize).filter(|n| !n.is_empty())
        {
            Some(n) => Value::Name(Cow::Borrowed(n)),
            None => Value::Commented(Box::new(Value::Hex(v)), unknown.to_owned()),
        };
        match self.level() {
            1 if v == 26 && self.name == "getsockopt" => Value::Name("SO_GET_FILTER".into()),
            1 => named(SO, "SO_???"),
            6 => named(TCP, "TCP_???"),
            _ => Value::Uint(v),
        }
    }

    /// An `int` at `v` (`[5]`), or its address when unreadable.
    fn int_at(&self, v: u64) -> Value {
        read_struct(self.pid, v, 4)
            .map_or(Value::Ptr(v), |b| Value::Array(vec![Value::Int((field(&b, 0, 4) as i32).into())]))
    }

    /// `len` bytes at `v` quoted (at most -s of them), or the address when unreadable.
    fn bytes_at(&self, v: u64, len: i32, hex: bool) -> Value {
        let Ok(n) = usize::try_from(len) else { return Value::Ptr(v) };
        let limit = self.style.string_limit;
        match read_struct(self.pid, v, n.min(limit)) {
            Some(bytes) if hex => Value::HexStr { bytes, truncated: n > limit },
            Some(bytes) => self.text(bytes, n > limit),
            None => Value::Ptr(v),
        }
    }

    /// SO_TXREHASH's value: `[SOCK_TXREHASH_ENABLED]`, `[2 /* SOCK_TXREHASH_??? */]`.
    fn txrehash(&self, v: u64) -> Value {
        match read_struct(self.pid, v, 4) {
            Some(b) => {
                let x = field(&b, 0, 4) as i32;
                match TXREHASH.iter().find(|(n, _)| *n as i32 == x) {
                    Some((_, n)) => Value::Array(vec![Value::Name(Cow::Borrowed(n))]),
                    None => Value::Array(vec![Value::Commented(
                        Box::new(Value::Int(x.into())),
                        "SOCK_TXREHASH_???".to_owned(),
                    )]),
                }
            }
            None => Value::Ptr(v),
        }
    }

    /// A structure of `int`-sized fields (`struct linger`, `struct ucred`) of which the kernel
    /// filled `len` bytes: the fields it filled whole by value, one it cut short in hexadecimal
    /// (strace's MAYBE_PRINT_FIELD_LEN).
    fn int_fields(&self, v: u64, len: i32, names: &[&'static str], ids: bool) -> Value {
        let len = usize::try_from(len).unwrap_or(0).min(4 * names.len());
        let Some(b) = read_struct(self.pid, v, len) else { return Value::Ptr(v) };
        let fields = names
            .iter()
            .enumerate()
            .take_while(|(i, _)| len > 4 * i)
            .map(|(i, name)| {
                let v = field(&b, 4 * i, 4);
                let shown = if len < 4 * i + 4 {
                    let part =
                        Cursor::at(&b[..], 4 * i).and_then(|mut c| c.bytes(len - 4 * i)).unwrap_or_default().to_vec();
                    Value::HexStr { bytes: part, truncated: false }
                } else if ids && i > 0 {
                    self.decode(Uid, v)
                } else {
                    Value::Int((v as i32).into())
                };
                (*name, shown)
            })
            .collect();
        Value::Struct { fields, more: false }
    }

    /// setsockopt's value, `len` bytes at `v`.
    pub(super) fn setsockopt_val(&self, v: u64) -> Value {
        let len = self.arg(4) as i32;
        if v == 0 {
            return Value::Ptr(0);
        }
        match (self.level(), self.arg(2) & 0xffff_ffff) {
            (1, SO_LINGER) if len < 8 => Value::Ptr(v),
            (1, SO_LINGER) => self.int_fields(v, 8, &["l_onoff", "l_linger"], false),
            (1, n) if INT_LIKE.contains(&n) || n == SO_TXREHASH => {
                if len < 4 {
                    Value::Ptr(v)
                } else if n == SO_TXREHASH {
                    self.txrehash(v)
                } else {
                    self.int_at(v)
                }
            }
            (270, _) if len < 4 => Value::Ptr(v),
            (270, _) => self.int_at(v),
            _ if len == 4 => self.int_at(v),
            _ => self.bytes_at(v, len, false),
        }
    }

    /// getsockopt's value at its exit, `rlen` of the `ulen` bytes at `v` filled.
    pub(super) fn getsockopt_val(&self, v: u64, ulen: i32, rlen: i32) -> Value {
        if ulen <= 0 || rlen <= 0 || v == 0 {
            return Value::Ptr(v);
        }
        match (self.level(), self.arg(2) & 0xffff_ffff) {
            (1, SO_LINGER) => self.int_fields(v, rlen, &["l_onoff", "l_linger"], false),
            (1, SO_PEERCRED) => self.int_fields(v, rlen, &["pid", "uid", "gid"], true),
            (1, SO_ERROR) if rlen < 4 => self.bytes_at(v, rlen, true),
            // `[ECONNREFUSED]`, `[0]`.
            (1, SO_ERROR) => match read_struct(self.pid, v, 4) {
                Some(b) => {
                    let e = field(&b, 0, 4);
                    let shown = match i32::try_from(e) {
                        Ok(e) if e > 0 => Value::Name(errno_name(e).into()),
                        _ => Value::Uint(e),
                    };
                    Value::Array(vec![shown])
                }
                None => Value::Ptr(v),
            },
            (1, SO_TXREHASH) if rlen < 4 => self.bytes_at(v, rlen, true),
            (1, SO_TXREHASH) => self.txrehash(v),
            (1, n) if INT_LIKE.contains(&n) && rlen >= 4 => self.int_at(v),
            (1, n) if INT_LIKE.contains(&n) => self.bytes_at(v, rlen, true),
            _ if rlen == 4 => self.int_at(v),
            _ => self.bytes_at(v, rlen, false),
        }
    }
}

/// getsockopt at its exit as strace shows it, from its optlen as given at the entry (`ulen`):
/// the value and `[ulen => rlen]` when the call succeeded, else the address and `[ulen]`.
pub(super) fn getsockopt_exit(ctx: &Ctx<'_>, entry: &Call, call: &mut Call) {
    let ulen = match entry.args.get(4) {
        Some(Value::Array(a)) if let [Value::Int(u)] = a.as_slice() => *u as i32,
        // optlen unreadable at the entry: both as addresses.
        _ => return,
    };
    let rlen = read_struct(ctx.pid, ctx.arg(4), 4).map(|b| field(&b, 0, 4) as i32);
    let (val, len) = match rlen {
        Some(r) if ctx.succeeded() => {
            let len = if r == ulen {
                Value::Array(vec![Value::Int(r.into())])
            } else {
                Value::Array(vec![Value::Changed(Box::new(Value::Int(ulen.into())), Box::new(Value::Int(r.into())))])
            };
            (ctx.getsockopt_val(ctx.arg(3), ulen, r), len)
        }
        _ => (Value::Ptr(ctx.arg(3)), Value::Array(vec![Value::Int(ulen.into())])),
    };
    if let Some(a3) = call.args.get_mut(3) {
        *a3 = val;
    }
    if let Some(a4) = call.args.get_mut(4) {
        *a4 = len;
    }
}
