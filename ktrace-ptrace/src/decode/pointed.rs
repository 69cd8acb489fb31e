//! Arguments read through a pointer with the call's context: ioctl arguments, socket
//! addresses, `struct flock`, iovecs and `struct clone_args`.

use super::*;

impl Ctx<'_> {
    /// An ioctl's third argument for the requests strace decodes: terminal attributes, window
    /// sizes, an int (`[7731]`); what a "get" request fills only when it succeeded.
    pub(super) fn ioctl_arg(&self, v: u64) -> Value {
        let req = self.arg(1);
        let get = matches!(req, libc::TCGETS | libc::TIOCGWINSZ | libc::TIOCGPGRP | libc::FIONREAD);
        if req == table::FICLONE.0 {
            return Value::Int((v as i32).into());
        }
        if v == 0 || (get && !self.succeeded()) {
            return Value::Ptr(v);
        }
        let decoded = match req {
            libc::TCGETS | libc::TCSETS | libc::TCSETSW | libc::TCSETSF => {
                read_struct(self.pid, v, 16).map(|b| termios(&b))
            }
            libc::TIOCGWINSZ | libc::TIOCSWINSZ => read_struct(self.pid, v, 8).map(|b| Value::Struct {
                fields: ["ws_row", "ws_col", "ws_xpixel", "ws_ypixel"]
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| (n, Value::Uint(field(&b, 2 * i, 2))))
                    .collect(),
                more: false,
            }),
            libc::TIOCGPGRP | libc::TIOCSPGRP | libc::FIONREAD | libc::FIONBIO => {
                read_struct(self.pid, v, 4).map(|b| Value::Array(vec![Value::Int((field(&b, 0, 4) as i32).into())]))
            }
            _ => None,
        };
        decoded.unwrap_or(Value::Ptr(v))
    }

    pub(super) fn sockaddr(&self, v: u64, len: usize) -> Value {
        // strace's decode_sockaddr: the length given (at most a sockaddr_storage) read whole.
        let Some(b) = (len >= 2).then(|| read_struct(self.pid, v, len.min(128))).flatten() else {
            return Value::Ptr(v);
        };
        let family = field(&b, 0, 2);
        let rest = b.get(2..).unwrap_or_default();
        let fam = value(family, table::AF, "AF_???");
        // Each family's decoder wants at least its structure's size (unix: one byte of path,
        // inet6: up to sin6_addr); shorter, or a family not decoded, is `sa_data` raw.
        let min = match family as i32 {
            libc::AF_UNIX => 1,
            libc::AF_INET => 14,
            libc::AF_INET6 => 22,
            libc::AF_NETLINK => 10,
            libc::AF_IPX | libc::AF_AX25 => 14,
            libc::AF_X25 => 16,
            libc::AF_PACKET => 18,
            // Bluetooth's addresses by their length (hci, sco, rc, l2).
            libc::AF_BLUETOOTH if matches!(len, 4 | 6 | 8 | 9 | 10 | 12 | 14) => 0,
            _ => usize::MAX,
        };
        let fields = match (family as i32, rest) {
            // Only the family fits in the length given.
            (_, []) => Vec::new(),
            _ if rest.len() < min => {
                vec![("sa_data", Value::Str { bytes: rest.to_vec(), truncated: false })]
            }
            (libc::AF_BLUETOOTH, _) => return Value::Struct { fields: vec![("sa_family", fam)], more: true },
            (libc::AF_IPX, _) => sockaddr::ipx(rest).unwrap_or_default(),
            (libc::AF_X25, _) => sockaddr::x25(rest).unwrap_or_default(),
            (libc::AF_PACKET, _) => sockaddr::packet(rest).unwrap_or_default(),
            (libc::AF_AX25, _) => {
                let (f, more) = sockaddr::ax25(rest).unwrap_or_default();
                let mut all = vec![("sa_family", fam)];
                all.extend(f);
                return Value::Struct { fields: all, more };
            }
            // strace's print_sockaddr_data_un: a path up to its NUL (at most sun_path's 108
            // bytes); an abstract name (a leading NUL) as `@"…"` with every byte of the length.
            (libc::AF_UNIX, _) => {
                let path = rest.get(..rest.len().min(108)).unwrap_or(rest);
                let shown = match path.split_first() {
                    Some((0, name)) => {
                        let mut s = String::from("@");
                        let _ = value::write_quoted(&mut s, name, false);
                        Value::Name(s.into())
                    }
                    _ => {
                        let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                        Value::Str { bytes: path.get(..end).unwrap_or_default().to_vec(), truncated: false }
                    }
                };
                vec![("sun_path", shown)]
            }
            // sin6_port, sin6_flowinfo, the address (`inet_pton(AF_INET6, "::1", &sin6_addr)`),
            // and the scope id when the length includes it.
            (libc::AF_INET6, _) if rest.len() >= 22 => {
                let mut c = Cursor::new(rest);
                let (Ok(port), Ok(flow), Ok(addr)) = (c.u16_be(), c.u32_be(), c.array::<16>("sin6_addr")) else {
                    return Value::Ptr(v);
                };
                let text = std::net::Ipv6Addr::from(addr).to_string();
                let mut f = vec![
                    ("sin6_port", Value::Call("htons", vec![Value::Uint(port.into())])),
                    ("sin6_flowinfo", Value::Call("htonl", vec![Value::Uint(flow.into())])),
                    (
                        "",
                        Value::Call(
                            "inet_pton",
                            vec![
                                Value::Name("AF_INET6".into()),
                                Value::Str { bytes: text.into_bytes(), truncated: false },
                                Value::Name("&sin6_addr".into()),
                            ],
                        ),
                    ),
                ];
                if let Ok(scope) = c.u32() {
                    // A link-local address's scope is an interface: by name when there is one.
                    let link_local = matches!(addr, [0xfe, b, ..] if b & 0xc0 == 0x80)
                        || matches!(addr, [0xff, b, ..] if b & 0xf == 2);
                    let shown = match crate::sys::if_name(scope) {
                        Some(n) if link_local => {
                            Value::Call("if_nametoindex", vec![Value::Str { bytes: n.into_bytes(), truncated: false }])
                        }
                        _ => Value::Uint(scope.into()),
                    };
                    f.push(("sin6_scope_id", shown));
                }
                f
            }
            // `nl_pad` only when set, `nl_pid`, `nl_groups` as C's `%#08x`.
            (libc::AF_NETLINK, _) if rest.len() >= 10 => {
                let mut c = Cursor::new(rest);
                let (Ok(pad), Ok(pid), Ok(groups)) = (c.u16(), c.u32(), c.u32()) else { return Value::Ptr(v) };
                let mut f = Vec::new();
                if pad != 0 {
                    f.push(("nl_pad", Value::Hex(pad.into())));
                }
                f.push(("nl_pid", Value::Int(pid.into())));
                let groups = if groups == 0 { "00000000".to_owned() } else { format!("{groups:#08x}") };
                f.push(("nl_groups", Value::Name(groups.into())));
                f
            }
            (libc::AF_INET, [p0, p1, a, b, c, d, ..]) => vec![
                ("sin_port", Value::Call("htons", vec![Value::Uint(u16::from_be_bytes([*p0, *p1]).into())])),
                (
                    "sin_addr",
                    Value::Call(
                        "inet_addr",
                        vec![Value::Str { bytes: format!("{a}.{b}.{c}.{d}").into_bytes(), truncated: false }],
                    ),
                ),
            ],
            _ => vec![("sa_data", Value::Str { bytes: rest.to_vec(), truncated: false })],
        };
        let mut all = vec![("sa_family", fam)];
        all.extend(fields);
        Value::Struct { fields: all, more: false }
    }

    /// A `struct flock` (with its `l_pid` when `with_pid`, as F_GETLK returns it).
    pub(super) fn flock(&self, v: u64, with_pid: bool) -> Value {
        let Some(b) = read_struct(self.pid, v, 32) else { return Value::Ptr(v) };
        let mut fields = vec![
            ("l_type", value(field(&b, 0, 2), table::LOCK_TYPE, "F_???")),
            ("l_whence", value(field(&b, 2, 2), table::SEEK, "SEEK_???")),
            ("l_start", Value::Int(field(&b, 8, 8) as i64)),
            ("l_len", Value::Int(field(&b, 16, 8) as i64)),
        ];
        if with_pid {
            fields.push(("l_pid", Value::Int((field(&b, 24, 4) as i32).into())));
        }
        Value::Struct { fields, more: false }
    }

    /// A `struct f_owner_ex`: `{type=F_OWNER_TID, pid=5}`.
    pub(super) fn owner_ex(&self, v: u64) -> Value {
        let Some(b) = read_struct(self.pid, v, 8) else { return Value::Ptr(v) };
        let fields = vec![
            ("type", value(field(&b, 0, 4), table::OWNER, "F_OWNER_???")),
            ("pid", Value::Int((field(&b, 4, 4) as i32).into())),
        ];
        Value::Struct { fields, more: false }
    }

    /// An iovec array as strace shows it: `[{iov_base="…", iov_len=8}]`, at most -s elements.
    /// Data read is shown up to what the call returned (addresses when it failed).
    pub(super) fn iovec(&self, v: u64, written: bool) -> Value {
        let n = (self.arg(2) & 0xffff_ffff).min(1 << 20);
        let mut left = if written { u64::MAX } else { self.ret.unwrap_or(0).max(0) as u64 };
        let failed = !written && !self.succeeded();
        let mut items = Vec::new();
        for i in 0..n {
            let at = v.wrapping_add(16 * i);
            let Some(b) = read_struct(self.pid, at, 16) else {
                if i == 0 {
                    return Value::Ptr(v);
                }
                items.push(Value::Name(format!("... /* {at:#x} */").into()));
                break;
            };
            if i as usize >= self.style.string_limit {
                items.push(Value::Name("...".into()));
                break;
            }
            let (base, len) = (field(&b, 0, 8), field(&b, 8, 8));
            let shown = len.min(left);
            left -= shown;
            let data = if failed || base == 0 { Value::Ptr(base) } else { self.buffer(base, shown as usize) };
            items.push(Value::Struct { fields: vec![("iov_base", data), ("iov_len", Value::Uint(len))], more: false });
        }
        Value::Array(items)
    }

    /// clone3's `struct clone_args` as strace shows it: the fields the flags use, and at exit
    /// the parent's copy of the child's tid (`=> {parent_tid=[1234]}`).
    pub(super) fn clone_args(&self, v: u64) -> Value {
        let Some(b) = read_struct(self.pid, v, 64) else { return Value::Ptr(v) };
        let f = |i: usize| field(&b, 8 * i, 8);
        let fl = f(0) as i32;
        let mut fields = vec![("flags", flags(f(0), table::CLONE, "0"))];
        if fl & libc::CLONE_PIDFD != 0 {
            fields.push(("pidfd", Value::Ptr(f(1))));
        }
        if fl & (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) != 0 {
            fields.push(("child_tid", Value::Ptr(f(2))));
        }
        if fl & libc::CLONE_PARENT_SETTID != 0 {
            fields.push(("parent_tid", Value::Ptr(f(3))));
        }
        fields.push(("exit_signal", if f(4) == 0 { Value::Int(0) } else { Value::Name(signal_name(f(4) as i32)) }));
        fields.extend([("stack", Value::Ptr(f(5))), ("stack_size", Value::Hex(f(6)))]);
        if fl & libc::CLONE_SETTLS != 0 {
            fields.push(("tls", Value::Ptr(f(7))));
        }
        let entry = Value::Struct { fields, more: false };
        match read_struct(self.pid, f(3), 4) {
            Some(t) if fl & libc::CLONE_PARENT_SETTID != 0 && self.succeeded() => {
                let tid = Value::Array(vec![Value::Int((field(&t, 0, 4) as i32).into())]);
                Value::Changed(
                    Box::new(entry),
                    Box::new(Value::Struct { fields: vec![("parent_tid", tid)], more: false }),
                )
            }
            _ => entry,
        }
    }
}
