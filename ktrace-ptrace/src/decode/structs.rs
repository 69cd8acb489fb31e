//! Structures the kernel fills: `struct stat`, `statx`, `statfs`, `rusage`, `sysinfo`,
//! `termios`, poll and select sets, CPU sets.

use super::*;

/// The kernel's `struct termios` (its four flag words) as strace abbreviates it.
pub(super) fn termios(b: &[u8]) -> Value {
    let w = |i: usize| field(b, 4 * i, 4);
    // Multi-bit fields are values (NL0, CR3, B38400, CS8), then the flags.
    let fields_then_flags = |v: u64, fields: &[(u64, Names)], flag_names: Names| {
        let mut names = Vec::new();
        let mut rest = v;
        for &(mask, vals) in fields {
            match vals.iter().find(|(n, _)| *n == v & mask) {
                Some((_, name)) => names.push(Cow::Borrowed(*name)),
                None => names.push(format!("{:#x}", v & mask).into()),
            }
            rest &= !mask;
        }
        if let Value::Flags { names: more, rest: r } = flags(rest, flag_names, "0") {
            names.extend(more);
            rest = r;
        }
        Value::Flags { names, rest }
    };
    Value::Struct {
        fields: vec![
            ("c_iflag", flags(w(0), table::TERM_IFLAGS, "0")),
            ("c_oflag", fields_then_flags(w(1), table::TERM_OFIELDS, table::TERM_OFLAGS)),
            ("c_cflag", fields_then_flags(w(2), table::TERM_CFIELDS, table::TERM_CFLAGS)),
            ("c_lflag", flags(w(3), table::TERM_LFLAGS, "0")),
        ],
        more: true,
    }
}

/// What select left at its exit (strace: `in [3], out [4], left {tv_sec=0, tv_usec=5}`): the
/// descriptors of each set still in it, then the time left.
pub(super) fn select_left(ctx: &Ctx<'_>) -> String {
    let n = (ctx.arg(0) as i32).clamp(0, 65_536) as usize;
    let mut parts = Vec::new();
    for (i, name) in [(1, "in"), (2, "out"), (3, "except")] {
        let v = ctx.arg(i);
        if v == 0 {
            continue;
        }
        if let Some(b) = read_struct(ctx.pid, v, n.div_ceil(64) * 8)
            && let set = fd_set(&b, n)
            && matches!(&set, Value::Set { items, .. } if !items.is_empty())
        {
            parts.push(format!("{name} {set}"));
        }
    }
    let t = ctx.arg(4);
    if t != 0
        && let Some(b) = read_struct(ctx.pid, t, 16)
    {
        parts.push(format!("left {}", time_pair(&b, 0, if ctx.name == "select" { "tv_usec" } else { "tv_nsec" })));
    }
    parts.join(", ")
}

/// A CPU set: the CPUs in it, `[0 1]`.
pub(super) fn cpu_set(b: &[u8]) -> Value {
    Value::Set {
        items: (0..b.len() * 8)
            .filter(|i| b.get(i / 8).is_some_and(|c| c & (1 << (i % 8)) != 0))
            .map(|cpu| cpu.to_string().into())
            .collect(),
        complement: false,
    }
}

/// One `struct pollfd` (fd, events, revents) with the events of the half at `off`, by `name`.
pub(super) fn pollfd(c: &[u8], name: &'static str, off: usize) -> Value {
    let fd = field(c, 0, 4) as i32;
    if fd < 0 {
        // The kernel ignores a negative descriptor's events: strace leaves them out.
        return Value::Struct { fields: vec![("fd", Value::Int(fd.into()))], more: false };
    }
    Value::Struct {
        fields: vec![
            ("fd", Value::Int((field(c, 0, 4) as i32).into())),
            (name, flags(field(c, off, 2), table::POLL, "0")),
        ],
        more: false,
    }
}

/// An `fd_set` of `n` descriptors: the ones set, `[3 4]`.
pub(super) fn fd_set(b: &[u8], n: usize) -> Value {
    let items = (0..n).filter(|i| b.get(i / 8).is_some_and(|c| c & (1 << (i % 8)) != 0)).map(|i| i.to_string().into());
    Value::Set { items: items.collect(), complement: false }
}

/// `("name", Value::Uint(..))` for the unsigned field `name` of the C struct `ty` in `b` (8 bytes
/// unless a size is given).
macro_rules! uint {
    ($b:expr, $ty:ty, $f:ident) => {
        uint!($b, $ty, $f, 8)
    };
    ($b:expr, $ty:ty, $f:ident, $size:expr) => {
        (stringify!($f), Value::Uint(field($b, std::mem::offset_of!($ty, $f), $size)))
    };
}

/// [`uint!`] for several 8-byte fields in a row, as an array.
macro_rules! uints {
    ($b:expr, $ty:ty; $($f:ident),+) => {
        [$(uint!($b, $ty, $f)),+]
    };
}

/// `struct statfs`: every field, the type and flags by name.
pub(super) fn statfs(b: &[u8]) -> Value {
    use std::mem::offset_of;
    let fsid = offset_of!(libc::statfs, f_fsid);
    // f_flags follows f_frsize (libc does not name it).
    let fl = field(b, offset_of!(libc::statfs, f_frsize) + 8, 8);
    let mut f_flags = flags(fl & !table::ST_VALID.0, table::ST, "0");
    if let Value::Flags { names, .. } = &mut f_flags
        && fl & table::ST_VALID.0 != 0
    {
        // strace lists ST_VALID after the mount flags below it.
        let at = names.iter().position(|n| {
            !matches!(n.as_ref(), "ST_RDONLY" | "ST_NOSUID" | "ST_NODEV" | "ST_NOEXEC" | "ST_SYNCHRONOUS")
        });
        names.insert(at.unwrap_or(names.len()), table::ST_VALID.1.into());
    }
    let f_type = value(field(b, offset_of!(libc::statfs, f_type), 8), table::FS_MAGIC, "???");
    let mut fields = vec![("f_type", f_type)];
    fields.extend(uints!(b, libc::statfs; f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree));
    fields.extend([
        (
            "f_fsid",
            Value::Struct {
                fields: vec![(
                    "val",
                    Value::Array(vec![Value::Hex(field(b, fsid, 4)), Value::Hex(field(b, fsid + 4, 4))]),
                )],
                more: false,
            },
        ),
        uint!(b, libc::statfs, f_namelen),
        uint!(b, libc::statfs, f_frsize),
        ("f_flags", f_flags),
    ]);
    Value::Struct { fields, more: false }
}

/// `makedev(0x1, 0x3)` for a device number.
pub(super) fn makedev(dev: u64) -> Value {
    Value::Call("makedev", vec![Value::Hex(libc::major(dev).into()), Value::Hex(libc::minor(dev).into())])
}

/// `struct stat`: the file type and mode, then the size (a device's number for devices); with
/// `verbose` every field, as strace -v.
pub(super) fn stat(b: &[u8], verbose: bool) -> Value {
    use std::mem::offset_of;
    let u = |off: usize| Value::Uint(field(b, off, 8));
    let u32_at = |off: usize| Value::Uint(field(b, off, 4));
    let mode = field(b, offset_of!(libc::stat, st_mode), 4);
    let kind = mode & libc::S_IFMT as u64;
    let second = if kind == libc::S_IFCHR as u64 || kind == libc::S_IFBLK as u64 {
        ("st_rdev", makedev(field(b, offset_of!(libc::stat, st_rdev), 8)))
    } else {
        ("st_size", Value::Int(field(b, offset_of!(libc::stat, st_size), 8) as i64))
    };
    if !verbose {
        return Value::Struct { fields: vec![("st_mode", Value::FileMode(mode)), second], more: true };
    }
    let fields = vec![
        ("st_dev", makedev(field(b, offset_of!(libc::stat, st_dev), 8))),
        ("st_ino", u(offset_of!(libc::stat, st_ino))),
        ("st_mode", Value::FileMode(mode)),
        ("st_nlink", u(offset_of!(libc::stat, st_nlink))),
        ("st_uid", u32_at(offset_of!(libc::stat, st_uid))),
        ("st_gid", u32_at(offset_of!(libc::stat, st_gid))),
        ("st_blksize", u(offset_of!(libc::stat, st_blksize))),
        ("st_blocks", u(offset_of!(libc::stat, st_blocks))),
        second,
        ("st_atime", time_field(b, offset_of!(libc::stat, st_atime), offset_of!(libc::stat, st_atime_nsec))),
        ("st_atime_nsec", u(offset_of!(libc::stat, st_atime_nsec))),
        ("st_mtime", time_field(b, offset_of!(libc::stat, st_mtime), offset_of!(libc::stat, st_mtime_nsec))),
        ("st_mtime_nsec", u(offset_of!(libc::stat, st_mtime_nsec))),
        ("st_ctime", time_field(b, offset_of!(libc::stat, st_ctime), offset_of!(libc::stat, st_ctime_nsec))),
        ("st_ctime_nsec", u(offset_of!(libc::stat, st_ctime_nsec))),
    ];
    Value::Struct { fields, more: false }
}

/// `struct statx` (include/uapi/linux/stat.h): mask, attributes, mode and size; with `verbose`
/// every field the mask says is filled, as strace -v.
pub(super) fn statx(b: &[u8], verbose: bool) -> Value {
    let mask = field(b, 0, 4);
    let has = |bit: u32| mask & u64::from(bit) != 0;
    let u = |off: usize, len: usize| Value::Uint(field(b, off, len));
    let mut fields = vec![("stx_mask", flags(mask, table::STATX_MASK, "0"))];
    if verbose {
        fields.push(("stx_blksize", u(4, 4)));
    }
    fields.push(("stx_attributes", flags(field(b, 8, 8), table::STATX_ATTR, "0")));
    if verbose {
        for (bit, name, off) in
            [(libc::STATX_NLINK, "stx_nlink", 16), (libc::STATX_UID, "stx_uid", 20), (libc::STATX_GID, "stx_gid", 24)]
        {
            if has(bit) {
                fields.push((name, u(off, 4)));
            }
        }
    }
    if has(libc::STATX_TYPE | libc::STATX_MODE) {
        fields.push(("stx_mode", Value::FileMode(field(b, 28, 2))));
    }
    if verbose && has(libc::STATX_INO) {
        fields.push(("stx_ino", u(32, 8)));
    }
    if has(libc::STATX_SIZE) {
        fields.push(("stx_size", u(40, 8)));
    }
    if !verbose {
        return Value::Struct { fields, more: true };
    }
    if has(libc::STATX_BLOCKS) {
        fields.push(("stx_blocks", u(48, 8)));
    }
    fields.push(("stx_attributes_mask", flags(field(b, 56, 8), table::STATX_ATTR, "0")));
    let stamp = |off: usize| {
        let (secs, nsec) = (field(b, off, 8) as i64, field(b, off + 8, 4));
        let t =
            Value::Struct { fields: vec![("tv_sec", Value::Int(secs)), ("tv_nsec", Value::Uint(nsec))], more: false };
        dated(t, iso_time(secs, Some(nsec)))
    };
    for (bit, name, off) in [
        (libc::STATX_ATIME, "stx_atime", 64),
        (libc::STATX_BTIME, "stx_btime", 80),
        (libc::STATX_CTIME, "stx_ctime", 96),
        (libc::STATX_MTIME, "stx_mtime", 112),
    ] {
        if has(bit) {
            fields.push((name, stamp(off)));
        }
    }
    for (name, off) in
        [("stx_rdev_major", 128), ("stx_rdev_minor", 132), ("stx_dev_major", 136), ("stx_dev_minor", 140)]
    {
        fields.push((name, u(off, 4)));
    }
    if has(libc::STATX_MNT_ID) {
        fields.push(("stx_mnt_id", Value::Hex(field(b, 144, 8))));
    }
    if has(0x2000) {
        // STATX_DIOALIGN
        fields.push(("stx_dio_mem_align", u(152, 4)));
        fields.push(("stx_dio_offset_align", u(156, 4)));
    }
    Value::Struct { fields, more: false }
}

/// `struct rusage`: the two times, and with `verbose` every counter.
pub(super) fn rusage(b: &[u8], verbose: bool) -> Value {
    let mut fields = vec![("ru_utime", time_pair(b, 0, "tv_usec")), ("ru_stime", time_pair(b, 16, "tv_usec"))];
    if verbose {
        let names = [
            "ru_maxrss",
            "ru_ixrss",
            "ru_idrss",
            "ru_isrss",
            "ru_minflt",
            "ru_majflt",
            "ru_nswap",
            "ru_inblock",
            "ru_oublock",
            "ru_msgsnd",
            "ru_msgrcv",
            "ru_nsignals",
            "ru_nvcsw",
            "ru_nivcsw",
        ];
        fields.extend(names.iter().enumerate().map(|(i, n)| (*n, Value::Int(field(b, 32 + 8 * i, 8) as i64))));
    }
    Value::Struct { fields, more: !verbose }
}

/// `struct sysinfo`, every field.
pub(super) fn sysinfo(b: &[u8]) -> Value {
    use std::mem::offset_of;
    let u = |off: usize| Value::Uint(field(b, off, 8));
    let loads = offset_of!(libc::sysinfo, loads);
    let mut fields = vec![
        ("uptime", Value::Int(field(b, offset_of!(libc::sysinfo, uptime), 8) as i64)),
        ("loads", Value::Array((0..3).map(|i| u(loads + 8 * i)).collect())),
    ];
    fields.extend(uints!(b, libc::sysinfo; totalram, freeram, sharedram, bufferram, totalswap, freeswap));
    fields.extend([
        uint!(b, libc::sysinfo, procs, 2),
        uint!(b, libc::sysinfo, totalhigh),
        uint!(b, libc::sysinfo, freehigh),
        uint!(b, libc::sysinfo, mem_unit, 4),
    ]);
    Value::Struct { fields, more: false }
}
