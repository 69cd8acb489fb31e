//! Flags and constants by name (`O_RDONLY|O_CLOEXEC`, `EINTR`), and strace's string quoting.

use super::*;

/// Appends strace's quoting of `b` to `out` (see [`Value::Str`]): printable ASCII as is, `\n`
/// and friends escaped, other bytes in octal; `...` after when `truncated`.
pub fn quote(out: &mut String, b: &[u8], truncated: bool) {
    let _ = value::write_quoted(out, b, truncated);
}

/// Flag bits by name in `table`'s order (composites first), then the bits left; `zero` when none.
pub(super) fn flags(v: u64, table: Names, zero: &'static str) -> Value {
    if v == 0 {
        return if zero == "0" { Value::Flags { names: Vec::new(), rest: 0 } } else { Value::Name(zero.into()) };
    }
    let mut rest = v;
    let mut names = Vec::new();
    for &(bit, name) in table {
        if bit != 0 && rest & bit == bit {
            names.push(Cow::Borrowed(name));
            rest &= !bit;
        }
    }
    Value::Flags { names, rest }
}

/// An argument of flag bits: as [`flags`], and when no bit has a name, hexadecimal with strace's
/// comment for the family (`0x8 /* ?_OK */`, `0x1 /* AT_??? */`).
pub(super) fn flags_arg(v: u64, table: Names, zero: &'static str) -> Value {
    match flags(v, table, zero) {
        Value::Flags { names, rest } if names.is_empty() && rest != 0 => {
            let unknown = match table.first().map(|(_, n)| *n) {
                Some("R_OK") => "?_OK".to_owned(),
                Some(n) => format!("{}_???", n.trim_start_matches('_').split('_').next().unwrap_or(n)),
                None => "???".to_owned(),
            };
            Value::Commented(Box::new(Value::Hex(rest)), unknown)
        }
        other => other,
    }
}

/// A value field's name followed by flag bits: `O_WRONLY|O_CREAT`, `SOCK_STREAM|SOCK_CLOEXEC`.
pub(super) fn value_and_flags(head: Value, v: u64, table: Names) -> Value {
    let mut names = match head {
        Value::Name(n) => vec![n],
        other => vec![Cow::Owned(other.to_string())],
    };
    if let Value::Flags { names: more, rest } = flags(v, table, "0") {
        names.extend(more);
        return Value::Flags { names, rest };
    }
    Value::Flags { names, rest: 0 }
}

/// `open(2)` flags as strace prints them (`O_WRONLY|O_CREAT|O_CLOEXEC`; unknown bits in hex).
pub fn open_flags(v: u64) -> Value {
    let mode = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    value_and_flags(Value::Name(mode.into()), v & !3, table::OPEN)
}

/// One of `names`, else hexadecimal with strace's comment for an unknown value.
pub(super) fn value(v: u64, names: Names, unknown: &str) -> Value {
    match names.iter().find(|(n, _)| *n == v) {
        Some((_, name)) => Value::Name(Cow::Borrowed(name)),
        None => Value::Commented(Box::new(Value::Hex(v)), unknown.to_owned()),
    }
}

/// Clone flags and the exit signal in the low byte: `CLONE_VM|…|SIGCHLD`.
pub(super) fn clone_flags(v: u64) -> Value {
    let sig = v & 0xff;
    match flags(v & !0xff, table::CLONE, "0") {
        Value::Flags { mut names, rest } if sig != 0 => {
            names.push(signal_name(sig as i32));
            Value::Flags { names, rest }
        }
        other => other,
    }
}

/// The kernel's internal restart codes a syscall-exit stop can show (include/linux/errno.h), with
/// strace's texts for them: strace prints them as `= ? ERESTARTSYS (To be restarted if SA_RESTART
/// is set)`, since the tracee never sees them.
pub(super) fn restart_errno(e: i32) -> Option<(&'static str, &'static str)> {
    match e {
        512 => Some(("ERESTARTSYS", "To be restarted if SA_RESTART is set")),
        513 => Some(("ERESTARTNOINTR", "To be restarted")),
        514 => Some(("ERESTARTNOHAND", "To be restarted if no handler")),
        516 => Some(("ERESTART_RESTARTBLOCK", "Interrupted by signal")),
        _ => None,
    }
}

/// The errno name for a positive errno (`ENOENT`), as strace prints it: the kernel's restart codes
/// by their kernel names, an errno without a name as its number.
pub fn errno_name(e: i32) -> String {
    match (restart_errno(e), nix::errno::Errno::from_raw(e)) {
        (Some((name, _)), _) => name.to_owned(),
        (None, nix::errno::Errno::UnknownErrno) => e.to_string(),
        (None, known) => format!("{known:?}"),
    }
}

/// FUTEX_WAKE_OP's encoded operation as strace spells it:
/// `FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0x2`.
pub(super) fn futex_wake_op(v: u32) -> Value {
    let named = |names: &[&str], x: u32, unknown: &str| match names.get(x as usize) {
        Some(n) => (*n).to_owned(),
        None => format!("{x:#x}<<{{}} /* {unknown} */"),
    };
    let op = named(
        &["FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR", "FUTEX_OP_ANDN", "FUTEX_OP_XOR"],
        (v >> 28) & 7,
        "FUTEX_OP_???",
    );
    let cmp = named(
        &[
            "FUTEX_OP_CMP_EQ",
            "FUTEX_OP_CMP_NE",
            "FUTEX_OP_CMP_LT",
            "FUTEX_OP_CMP_LE",
            "FUTEX_OP_CMP_GT",
            "FUTEX_OP_CMP_GE",
        ],
        (v >> 24) & 0xf,
        "FUTEX_OP_CMP_???",
    );
    // `NAME<<28`, or for an unknown one `0x7<<28 /* FUTEX_OP_??? */` (the shift inside).
    let shifted = |text: String, by: u32| {
        if text.contains("<<{}") { text.replace("<<{}", &format!("<<{by}")) } else { format!("{text}<<{by}") }
    };
    let hex = |x: u32| if x == 0 { "0".to_owned() } else { format!("{x:#x}") };
    let shift = if (v >> 28) & 8 != 0 { "FUTEX_OP_OPARG_SHIFT<<28|" } else { "" };
    Value::Name(
        format!("{shift}{}|{}<<12|{}|{}", shifted(op, 28), hex((v >> 12) & 0xfff), shifted(cmp, 24), hex(v & 0xfff))
            .into(),
    )
}
