//! Probe hits printed as `perf script` and the tracefs `trace` file print them: `(55d0c2a1516f)
//! a=-500 s="text" x=0x1f arr={1,2}`, each value in the conversion the kernel wrote for its type
//! into the event's `print fmt` (`%Ld` for `s64`, `0x%x` for `x32`, `\"%s\"` for strings,
//! `{%u,%u}` for arrays; kernel `trace_probe.c`).
//!
//! The values are the kernel's: an `s8`/`s16` is printed negative where it is, as the `trace` file
//! does (libtraceevent, and so `perf script`, prints those zero-extended: `65036` for -500). The
//! head is `perf script`'s: the probed address in bare hex (`(55d0c2a1516f)`, or `(func <- ret)` in
//! a return probe), where the `trace` file writes `(0x55d0c2a1516f)`.
//!
//! ```
//! use ktrace_core::EventFormat;
//! use ktrace_kprobe::print::PrintFmt;
//! let format = EventFormat::parse("g", "name: e\nID: 9\nformat:\n\
//!     \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\
//!     \tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
//!     \tfield:s16 a;\toffset:16;\tsize:2;\tsigned:1;\n\
//!     print fmt: \"(%lx) a=%d\", REC->__probe_ip, REC->a\n")?;
//! let print = PrintFmt::parse(&format)?;
//! let mut rec = vec![0u8; 18];
//! rec[8..16].copy_from_slice(&0x1234u64.to_le_bytes());
//! rec[16..18].copy_from_slice(&(-500i16).to_le_bytes());
//! assert_eq!(print.render(&format, &rec, ktrace_core::Endian::Little)?, "(1234) a=-500");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write;

use ktrace_core::{Endian, EventFormat, Field, ParseError, RawData};

use crate::error::{Error, Result};

/// How one value is printed (a `printf` conversion of a probe event's `print fmt`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Conv {
    /// `%u`, `%Lu`, `%lu`: unsigned decimal.
    Unsigned,
    /// `%d`, `%Ld`, `%ld`: signed decimal.
    Signed,
    /// `0x%x`, `0x%Lx`: hex with `0x`.
    Hex,
    /// `%lx`, `%x`: bare hex (the head's address).
    BareHex,
    /// `\"%s\"`: a quoted string.
    Str,
    /// `'%c'`: a quoted character.
    Char,
    /// `%pS`, `%p`: an address (printed `0x…`; no symbol lookup).
    Pointer,
    /// `{C,C,…}`: an array of `n` elements each printed as `C`.
    Array(Box<Conv>, usize),
}

impl Conv {
    fn parse(s: &str) -> Option<Conv> {
        if let Some(inner) = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
            let elems: Vec<&str> = inner.split(',').collect();
            let first = Conv::parse(elems.first()?)?;
            return Some(Conv::Array(Box::new(first), elems.len()));
        }
        Some(match s {
            "%u" | "%Lu" | "%lu" | "%llu" => Conv::Unsigned,
            "%d" | "%Ld" | "%ld" | "%lld" | "%i" => Conv::Signed,
            "0x%x" | "0x%Lx" | "0x%lx" | "0x%llx" => Conv::Hex,
            "%lx" | "%x" | "%Lx" | "%llx" => Conv::BareHex,
            "\\\"%s\\\"" | "%s" => Conv::Str,
            "'%c'" | "%c" => Conv::Char,
            "%pS" | "%ps" | "%p" | "%pB" => Conv::Pointer,
            _ => return None,
        })
    }

    /// Writes the value of `field` (or of `size` bytes at `off` for an array element).
    fn write(&self, out: &mut String, f: &Field, rec: RawData<'_>, off: usize, size: usize, e: Endian) -> Res {
        let unsigned = || rec.uint(off, size, e);
        match self {
            Conv::Unsigned => write!(out, "{}", unsigned()?),
            Conv::Signed => write!(out, "{}", rec.int(off, size, e)?),
            Conv::Hex => write!(out, "{:#x}", unsigned()?),
            Conv::BareHex => write!(out, "{:x}", unsigned()?),
            Conv::Pointer => write!(out, "{:#x}", unsigned()?),
            Conv::Char => write!(out, "'{}'", char::from(rec.u8(off)?)),
            Conv::Str => write!(out, "\"{}\"", String::from_utf8_lossy(f.str(rec, e)?)),
            Conv::Array(elem, n) => {
                let es = if *n == 0 { 0 } else { f.size / n };
                out.push('{');
                for i in 0..*n {
                    if i > 0 {
                        out.push(',');
                    }
                    let at = i.checked_mul(es).and_then(|d| off.checked_add(d)).ok_or(ParseError::BadValue {
                        offset: off,
                        what: "probe array element",
                        expected: "an offset inside the record",
                        found: i as u64,
                    })?;
                    elem.write(out, f, rec, at, es, e)?;
                }
                out.push('}');
                Ok(())
            }
        }
        .map_err(|_| ParseError::BadValue {
            offset: off,
            what: "probe field",
            expected: "printable",
            found: size as u64,
        })
    }
}

type Res = std::result::Result<(), ParseError>;

/// The printing plan of one probe event (kprobe, uprobe, fprobe… made through tracefs), read once
/// from its `format` file's `print fmt`, then applied to each hit by [`PrintFmt::render`].
#[doc(alias = "print fmt")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintFmt {
    /// `(…)` parts: the `__probe_*` fields and how each prints.
    head: Vec<(usize, Conv)>,
    /// Head separators (`" <- "` between a return probe's two addresses).
    head_sep: String,
    /// `name=` parts: field index, conversion.
    args: Vec<(usize, Conv)>,
}

impl PrintFmt {
    /// Reads the plan from a probe event's format (`print fmt: "(%lx) a=%Ld s=\"%s\"", …`). An
    /// event whose print fmt is not a probe's (a conversion this does not know, a name that is no
    /// field) is [`Error::BadDefinition`] naming the part.
    pub fn parse(format: &EventFormat) -> Result<PrintFmt> {
        let bad = |what: &str| Error::BadDefinition { line: format.print_fmt.clone(), what: what.to_owned() };
        let text = quoted(&format.print_fmt).ok_or_else(|| bad("a quoted print fmt"))?;
        let index = |name: &str| format.fields.iter().position(|f| f.name == name);
        let (head_text, rest) = match text.strip_prefix('(').and_then(|t| t.split_once(')')) {
            Some((h, r)) => (Some(h), r),
            None => (None, text),
        };
        let mut head = Vec::new();
        let mut head_sep = String::new();
        if let Some(h) = head_text {
            let probe_fields = format.fields.iter().enumerate().filter(|(_, f)| f.name.starts_with("__probe_"));
            let convs: Vec<&str> = h.split(" <- ").collect();
            if convs.len() > 1 {
                head_sep = " <- ".into();
            }
            for ((i, _), c) in probe_fields.zip(&convs) {
                head.push((i, Conv::parse(c).ok_or_else(|| bad(&format!("a known conversion, not {c:?}")))?));
            }
        }
        let mut args = Vec::new();
        for word in rest.split_whitespace() {
            let (name, c) = word.split_once('=').ok_or_else(|| bad("NAME=CONVERSION"))?;
            let i = index(name).ok_or_else(|| bad(&format!("a field named {name:?}")))?;
            let conv = Conv::parse(c).ok_or_else(|| bad(&format!("a known conversion, not {c:?}")))?;
            args.push((i, conv));
        }
        Ok(PrintFmt { head, head_sep, args })
    }

    /// One hit's record (`ktrace_ftrace::Event::data`, with the event's format), printed as
    /// `perf script` prints its trace part: `(55d0c2a1516f) a=-500 s="text"`.
    pub fn render(&self, format: &EventFormat, record: &[u8], e: Endian) -> std::result::Result<String, ParseError> {
        let rec = RawData::Single(record);
        let field = |i: usize| {
            format.fields.get(i).ok_or(ParseError::BadValue {
                offset: 0,
                what: "probe field index",
                expected: "a field of the format",
                found: i as u64,
            })
        };
        let mut out = String::new();
        if !self.head.is_empty() {
            out.push('(');
            for (k, (i, c)) in self.head.iter().enumerate() {
                if k > 0 {
                    out.push_str(&self.head_sep);
                }
                let f = field(*i)?;
                c.write(&mut out, f, rec, f.offset, f.size, e)?;
            }
            out.push(')');
        }
        for (i, c) in &self.args {
            let f = field(*i)?;
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&f.name);
            out.push('=');
            c.write(&mut out, f, rec, f.offset, f.size, e)?;
        }
        Ok(out)
    }
}

/// The text between the print fmt's first `"` and its closing one (escapes kept).
fn quoted(print_fmt: &str) -> Option<&str> {
    let body = print_fmt.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return body.get(..i),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format this kernel (6.18) wrote for `p:… /tmp/t:0x116f a=%dx:s64 s=+0(%cx):ustring
    /// x=%ax:x32 u=%ax:u16 arr=+0(%cx):u8[3] neg=%dx:s16 xn=%dx:x64`, with the record of its first hit.
    #[test]
    fn renders_like_the_trace_file() {
        let text = "name: tick2\nID: 2327\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:s64 a;\toffset:16;\tsize:8;\tsigned:1;\n\
\tfield:__data_loc char[] s;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:u32 x;\toffset:28;\tsize:4;\tsigned:0;\n\
\tfield:u16 u;\toffset:32;\tsize:2;\tsigned:0;\n\
\tfield:u8 arr[];\toffset:34;\tsize:3;\tsigned:0;\n\
\tfield:s16 neg;\toffset:37;\tsize:2;\tsigned:1;\n\
\tfield:u64 xn;\toffset:39;\tsize:8;\tsigned:0;\n\n\
print fmt: \"(%lx) a=%Ld s=\\\"%s\\\" x=0x%x u=%u arr={%u,%u,%u} neg=%d xn=0x%Lx\", REC->__probe_ip, REC->a, \
__get_str(s), REC->x, REC->u, REC->arr[0], REC->arr[1], REC->arr[2], REC->neg, REC->xn\n";
        let format = EventFormat::parse("g", text).unwrap();
        let mut rec = vec![0u8; 52];
        rec[8..16].copy_from_slice(&0x55edd323c16fu64.to_le_bytes());
        rec[16..24].copy_from_slice(&(-500i64).to_le_bytes());
        rec[24..28].copy_from_slice(&((5u32 << 16) | 47).to_le_bytes());
        rec[28..32].copy_from_slice(&0x1fu32.to_le_bytes());
        rec[32..34].copy_from_slice(&7u16.to_le_bytes());
        rec[34..37].copy_from_slice(b"tex");
        rec[37..39].copy_from_slice(&(-500i16).to_le_bytes());
        rec[39..47].copy_from_slice(&(-500i64).to_le_bytes());
        rec[47..52].copy_from_slice(b"text\0");
        let p = PrintFmt::parse(&format).unwrap();
        assert_eq!(
            p.render(&format, &rec, Endian::Little).unwrap(),
            "(55edd323c16f) a=-500 s=\"text\" x=0x1f u=7 arr={116,101,120} neg=-500 xn=0xfffffffffffffe0c"
        );
        // A record cut short is an error naming the offset, not a panic.
        assert!(p.render(&format, &rec[..30], Endian::Little).is_err());
    }

    #[test]
    fn return_probe_head_and_unknown_conversions() {
        let text = "name: r\nID: 3\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\
\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:s32 rv;\toffset:24;\tsize:4;\tsigned:1;\n\n\
print fmt: \"(%lx <- %lx) rv=%d\", REC->__probe_func, REC->__probe_ret_ip, REC->rv\n";
        let format = EventFormat::parse("g", text).unwrap();
        let mut rec = vec![0u8; 28];
        rec[8] = 0x10;
        rec[16] = 0x20;
        rec[24..28].copy_from_slice(&(-2i32).to_le_bytes());
        let p = PrintFmt::parse(&format).unwrap();
        assert_eq!(p.render(&format, &rec, Endian::Little).unwrap(), "(10 <- 20) rv=-2");
        let mut odd = format.clone();
        odd.print_fmt = "\"(%lx <- %lx) rv=%q\", REC->rv".into();
        assert!(PrintFmt::parse(&odd).unwrap_err().to_string().contains("%q"));
    }
}
