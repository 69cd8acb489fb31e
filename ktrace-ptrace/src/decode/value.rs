//! Decoded syscalls as values: what each argument is (a string, flags by name, a structure…) and
//! what the call returned, rendered by `Display` as strace prints them.

use std::borrow::Cow;
use std::fmt::{self, Display, Write};

/// One decoded argument, or one field of a decoded structure.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value {
    /// A signed number, in decimal.
    Int(i64),
    /// An unsigned number, in decimal.
    Uint(u64),
    /// A number in hexadecimal, as C's `%#x` (`0` for zero).
    Hex(u64),
    /// An address: `NULL`, or hexadecimal.
    Ptr(u64),
    /// Permission bits in octal, as C's `%#03o` (`0644`, `000`).
    Octal(u64),
    /// A file type and its permissions (`S_IFREG|0644`).
    FileMode(u64),
    /// A named constant (`AT_FDCWD`, `SEEK_SET`, `SIGCHLD`).
    Name(Cow<'static, str>),
    /// A file descriptor with what it is open on, as strace -y and -yy show it
    /// (`3</etc/hostname>`, `4<pipe:[51712]>`, `5<TCP:[127.0.0.1:41234->127.0.0.1:80]>`,
    /// `6</dev/null<char 1:3>>`).
    #[doc(alias = "strace -y")]
    #[doc(alias = "strace -yy")]
    Fd {
        /// The descriptor.
        fd: i64,
        /// What it is open on.
        target: super::FdTarget,
    },
    /// Flag bits by name, then the bits no name covers (`O_RDONLY|O_CLOEXEC`; `0` for neither).
    Flags {
        /// The names of the bits (or of a value field, such as `O_RDONLY`), in strace's order.
        names: Vec<Cow<'static, str>>,
        /// The bits no name covers, shown in hexadecimal after the names.
        rest: u64,
    },
    /// Bytes from the tracee (a path, a buffer): quoted as strace quotes them.
    Str {
        /// The bytes read.
        bytes: Vec<u8>,
        /// Whether there was more than was read (`"…"...`).
        truncated: bool,
    },
    /// Bytes from the tracee with every byte in hexadecimal, as strace -xx shows them
    /// (`"\x2f\x74"`).
    HexStr {
        /// The bytes read.
        bytes: Vec<u8>,
        /// Whether there was more than was read (`"…"...`).
        truncated: bool,
    },
    /// A value with strace's comment after it (`0x3001 /* ARCH_??? */`, `0x7ffd… /* 23 vars */`).
    Commented(Box<Value>, String),
    /// An array: `[3, 4]`.
    Array(Vec<Value>),
    /// A set, blank-separated: `[0 1]` (CPUs), `[INT QUIT]` (signals); `~[…]` for the complement.
    Set {
        /// The members (or, with `complement`, the non-members).
        items: Vec<Cow<'static, str>>,
        /// Whether `items` lists what the set leaves out.
        complement: bool,
    },
    /// A structure's fields by name; `more` when the rest are left out (`, ...`).
    Struct {
        /// The fields shown.
        fields: Vec<(&'static str, Value)>,
        /// Whether strace leaves further fields out.
        more: bool,
    },
    /// An argument shown by name (`child_stack=NULL`), as strace shows clone's.
    Labeled(&'static str, Box<Value>),
    /// A macro-like expression: `makedev(0x1, 0x3)`, `htons(80)`, `inet_addr("127.0.0.1")`.
    Call(&'static str, Vec<Value>),
    /// A resource limit: `RLIM64_INFINITY`, `8192*1024`, `100`.
    Rlimit(u64),
    /// A wait status: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
    WaitStatus(i32),
    /// A structure or buffer whose exit value is shown after the entry one (`{…} => {…}`).
    Changed(Box<Value>, Box<Value>),
}

/// What a syscall returned, as strace shows it after ` = `.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ret {
    /// A number in decimal.
    Int(i64),
    /// An address in hexadecimal (mmap, brk).
    Addr(u64),
    /// A failure: `-1 ENOENT (No such file or directory)`.
    Error(i32),
    /// One of the kernel's restart codes the tracee never sees: `? ERESTARTSYS (…)`.
    Restart(i32),
    /// Flags returned: `0x1 (flags FD_CLOEXEC)`.
    Flags(u64, Value),
    /// A number in hexadecimal with strace's note on it: `0x2 (F_UNLCK)`.
    HexNote(u64, Value),
    /// A number with strace's note on it: `0 (Timeout)`, `1 ([{fd=3, revents=POLLIN}])`.
    Note(i64, Value),
    /// A file mode in octal (umask): `022`.
    Octal(u64),
    /// No return (exit, exit_group, an execve that replaced the tracer's view): `?`.
    None,
    /// A new file descriptor with what it is open on (strace -y): `3</etc/hostname>`.
    Fd(Value),
}

/// A decoded syscall: its name, arguments as strace shows them, and what it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The syscall's name.
    pub name: String,
    /// The arguments strace shows (some calls show fewer than they take, as `openat` without
    /// `O_CREAT` shows no mode).
    pub args: Vec<Value>,
    /// What the call returned; `None` when decoded at its entry.
    pub ret: Option<Ret>,
}

/// strace's quoting (`string_quote()` in strace's util.c): printable ASCII as is; `\" \\ \f \n \r
/// \t \v` escaped; other bytes in octal, in the fewest digits unless the next byte shown is an
/// octal digit, when all three are needed to keep it unambiguous (`\1` + `23` is `\00123`, not
/// `\123`).
pub(super) fn write_quoted(out: &mut impl Write, b: &[u8], truncated: bool) -> fmt::Result {
    out.write_char('"')?;
    write_escaped(out, b, b"")?;
    out.write_char('"')?;
    if truncated {
        out.write_str("...")?;
    }
    Ok(())
}

/// [`write_quoted`]'s escapes without the quotes, the printable bytes of `also` in octal too (the
/// `<` and `>` of a path strace shows in angle brackets).
pub(super) fn write_escaped(out: &mut impl Write, b: &[u8], also: &[u8]) -> fmt::Result {
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'"' => out.write_str("\\\"")?,
            b'\\' => out.write_str("\\\\")?,
            0x0c => out.write_str("\\f")?,
            b'\n' => out.write_str("\\n")?,
            b'\r' => out.write_str("\\r")?,
            b'\t' => out.write_str("\\t")?,
            0x0b => out.write_str("\\v")?,
            0x20..=0x7e if !also.contains(&c) => out.write_char(c as char)?,
            _ if matches!(b.get(i + 1), Some(b'0'..=b'7')) => write!(out, "\\{c:03o}")?,
            _ => write!(out, "\\{c:o}")?,
        }
    }
    Ok(())
}

/// C's `%#x`: `0` for zero, else `0x…`.
fn hex(f: &mut fmt::Formatter<'_>, v: u64) -> fmt::Result {
    if v == 0 { f.write_char('0') } else { write!(f, "{v:#x}") }
}

/// Writes `items` with `sep` between them.
fn list<T: Display>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        x.fmt(f)?;
    }
    Ok(())
}

impl Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Uint(v) => write!(f, "{v}"),
            Value::Hex(v) => hex(f, *v),
            Value::Ptr(0) => f.write_str("NULL"),
            Value::Ptr(v) => hex(f, *v),
            Value::Octal(v) => write!(f, "0{v:02o}"),
            Value::Fd { fd, target } => write!(f, "{fd}{target}"),
            Value::FileMode(m) => {
                let kind = m & libc::S_IFMT as u64;
                match super::table::S_IF.iter().find(|(k, _)| *k == kind) {
                    Some((_, n)) => f.write_str(n)?,
                    None => hex(f, kind)?,
                }
                // strace's print_symbolic_mode_t: the set-id and sticky bits by name.
                for (bit, name) in [(libc::S_ISUID, "S_ISUID"), (libc::S_ISGID, "S_ISGID"), (libc::S_ISVTX, "S_ISVTX")]
                {
                    if m & bit as u64 != 0 {
                        write!(f, "|{name}")?;
                    }
                }
                write!(f, "|0{:03o}", m & 0o777)
            }
            Value::Name(n) => f.write_str(n),
            Value::Flags { names, rest } => {
                list(f, names, "|")?;
                match (names.is_empty(), *rest) {
                    (true, r) => hex(f, r),
                    (false, 0) => Ok(()),
                    (false, r) => write!(f, "|{r:#x}"),
                }
            }
            Value::Str { bytes, truncated } => write_quoted(f, bytes, *truncated),
            Value::HexStr { bytes, truncated } => {
                f.write_char('"')?;
                for c in bytes {
                    write!(f, "\\x{c:02x}")?;
                }
                f.write_str(if *truncated { "\"..." } else { "\"" })
            }
            Value::Commented(v, c) => write!(f, "{v} /* {c} */"),
            Value::Array(items) => {
                f.write_char('[')?;
                list(f, items, ", ")?;
                f.write_char(']')
            }
            Value::Set { items, complement } => {
                f.write_str(if *complement { "~[" } else { "[" })?;
                list(f, items, " ")?;
                f.write_char(']')
            }
            Value::Struct { fields, more } => {
                f.write_char('{')?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    f.write_str(if i > 0 { ", " } else { "" })?;
                    // A field shown without its name (`inet_pton(AF_INET6, "::1", &sin6_addr)`).
                    if name.is_empty() { write!(f, "{v}")? } else { write!(f, "{name}={v}")? }
                }
                if *more {
                    f.write_str(if fields.is_empty() { "..." } else { ", ..." })?;
                }
                f.write_char('}')
            }
            Value::Labeled(name, v) => write!(f, "{name}={v}"),
            Value::Call(name, args) => {
                write!(f, "{name}(")?;
                list(f, args, ", ")?;
                f.write_char(')')
            }
            Value::Rlimit(u64::MAX) => f.write_str("RLIM64_INFINITY"),
            Value::Rlimit(v) if *v > 0 && v % 1024 == 0 => write!(f, "{}*1024", v / 1024),
            Value::Rlimit(v) => write!(f, "{v}"),
            Value::WaitStatus(s) => {
                let s = *s;
                if libc::WIFEXITED(s) {
                    write!(f, "[{{WIFEXITED(s) && WEXITSTATUS(s) == {}}}]", libc::WEXITSTATUS(s))
                } else if libc::WIFSIGNALED(s) {
                    let core = if libc::WCOREDUMP(s) { " && WCOREDUMP(s)" } else { "" };
                    write!(f, "[{{WIFSIGNALED(s) && WTERMSIG(s) == {}{core}}}]", super::signal_name(libc::WTERMSIG(s)))
                } else if libc::WIFCONTINUED(s) {
                    f.write_str("[{WIFCONTINUED(s)}]")
                } else if libc::WIFSTOPPED(s) {
                    write!(f, "[{{WIFSTOPPED(s) && WSTOPSIG(s) == {}}}]", super::signal_name(libc::WSTOPSIG(s)))
                } else {
                    write!(f, "[{s:#x}]")
                }
            }
            Value::Changed(a, b) => write!(f, "{a} => {b}"),
        }
    }
}

impl Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ret::Int(v) => write!(f, "{v}"),
            Ret::Addr(v) => write!(f, "{v:#x}"),
            // The C library's message, as strace prints it (nix's own table has older texts:
            // "Bad file number" for EBADF, "Not a typewriter" for ENOTTY).
            Ret::Error(e) => write!(f, "-1 {} ({})", super::errno_name(*e), crate::sys::strerror(*e)),
            Ret::Restart(e) => {
                let (name, text) = super::restart_errno(*e).unwrap_or(("ERESTART?", "?"));
                write!(f, "? {name} ({text})")
            }
            Ret::Flags(v, flags) => {
                hex(f, *v)?;
                write!(f, " (flags {flags})")
            }
            Ret::Note(v, note) => write!(f, "{v} ({note})"),
            Ret::HexNote(v, note) => {
                hex(f, *v)?;
                write!(f, " ({note})")
            }
            Ret::Octal(v) => write!(f, "0{v:02o}"),
            Ret::None => f.write_char('?'),
            Ret::Fd(v) => write!(f, "{v}"),
        }
    }
}

impl Display for Call {
    /// `name(args…) = ret` as strace prints it (without strace's padding before ` = `).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        list(f, &self.args, ", ")?;
        f.write_char(')')?;
        match &self.ret {
            Some(r) => write!(f, " = {r}"),
            None => Ok(()),
        }
    }
}
