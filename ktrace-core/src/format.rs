//! The tracefs event `format` language: `events/<system>/<event>/format`.
//!
//! ```text
//! name: sched_switch
//! ID: 316
//! format:
//!     field:unsigned short common_type;    offset:0;    size:2;    signed:0;
//!     ...
//!     field:char prev_comm[16];    offset:8;    size:16;    signed:0;
//! print fmt: "prev_comm=%s ..."
//! ```
//!
//! A parsed [`EventFormat`] resolves names to [`Field`] accessors once; decoding an event with a
//! `Field` does no string work. Minimum kernel: 2.6.31 (`format` files); `__rel_loc`: 5.19.

use std::sync::Arc;

use crate::error::{ParseError, Result};
use crate::raw::{Endian, RawData};

/// What kind of value a field holds, derived from its declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldKind {
    /// An integer (or `bool`, `pid_t`, enum…) of `size` bytes.
    Int,
    /// A pointer-sized value declared with `*`.
    Pointer,
    /// A fixed array of `count` elements of `elem_size` bytes (`u64 args[6]`).
    Array {
        /// Element count.
        count: usize,
        /// Element size in bytes.
        elem_size: usize,
    },
    /// A fixed `char` array holding a NUL-padded string (`char comm[16]`).
    CharArray,
    /// `__data_loc`: a u32 at the field's offset with the data's offset (low 16 bits) and length
    /// (high 16 bits) from the start of the record.
    DataLoc {
        /// The element type is `char` (a string).
        string: bool,
        /// Element size in bytes.
        elem_size: usize,
    },
    /// `__rel_loc`: like `__data_loc` but the offset counts from the end of this field (5.19+).
    RelLoc {
        /// The element type is `char` (a string).
        string: bool,
        /// Element size in bytes.
        elem_size: usize,
    },
}

/// One field of an event format, with everything needed to read it from a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name.
    pub name: String,
    /// The declared C type, as written (`unsigned long`, `__data_loc char[]`, `char[16]`…).
    pub type_name: String,
    /// Byte offset in the record.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Whether the kernel says the type is signed.
    pub signed: bool,
    /// What kind of value it is.
    pub kind: FieldKind,
}

/// A decoded field value, borrowing from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// An unsigned integer or a pointer.
    Unsigned(u64),
    /// A signed integer.
    Signed(i64),
    /// A string (up to its NUL; may be non-UTF-8).
    Str(&'a [u8]),
    /// Array bytes (elements in the record's byte order); see [`Field::kind`] for the element size.
    Array(RawData<'a>),
}

impl Field {
    /// Reads the field as an unsigned integer (zero-extended; for arrays, the first element).
    #[inline]
    pub fn u64(&self, rec: RawData<'_>, e: Endian) -> Result<u64> {
        let size = match self.kind {
            FieldKind::Array { elem_size, .. } => elem_size,
            _ => self.size,
        };
        rec.uint(self.offset, size, e)
    }

    /// Reads the field as a signed integer (sign-extended from its size).
    #[inline]
    pub fn i64(&self, rec: RawData<'_>, e: Endian) -> Result<i64> {
        rec.int(self.offset, self.size, e)
    }

    /// The bytes of a dynamic (`__data_loc`/`__rel_loc`) or fixed-array field.
    #[inline]
    pub fn bytes<'a>(&self, rec: RawData<'a>, e: Endian) -> Result<RawData<'a>> {
        match self.kind {
            FieldKind::DataLoc { .. } | FieldKind::RelLoc { .. } => {
                let v = rec.u32(self.offset, e)?;
                let mut off = (v & 0xffff) as usize;
                let len = (v >> 16) as usize;
                if matches!(self.kind, FieldKind::RelLoc { .. }) {
                    off += self.offset + self.size;
                }
                rec.slice(off, len)
            }
            // A flexible array member (`char buf[]`, size 0) runs to the end of the record.
            _ if self.size == 0 => rec.slice(self.offset, rec.len().saturating_sub(self.offset)),
            _ => rec.slice(self.offset, self.size),
        }
    }

    /// Reads a string field (`char[N]`, or a dynamic `char[]`), up to the first NUL.
    #[inline]
    pub fn str<'a>(&self, rec: RawData<'a>, e: Endian) -> Result<&'a [u8]> {
        let b = self.bytes(rec, e)?;
        match b.as_slice() {
            Some(s) => Ok(s.iter().position(|&c| c == 0).map_or(s, |n| s.get(..n).unwrap_or_default())),
            None => Err(ParseError::BadValue {
                offset: self.offset,
                what: "string field",
                expected: "contiguous bytes",
                found: b.len() as u64,
            }),
        }
    }

    /// Reads the field as whatever its kind says.
    #[inline]
    pub fn value<'a>(&self, rec: RawData<'a>, e: Endian) -> Result<Value<'a>> {
        Ok(match self.kind {
            FieldKind::Int if self.signed => Value::Signed(self.i64(rec, e)?),
            FieldKind::Int | FieldKind::Pointer => Value::Unsigned(self.u64(rec, e)?),
            FieldKind::CharArray | FieldKind::DataLoc { string: true, .. } | FieldKind::RelLoc { string: true, .. } => {
                Value::Str(self.str(rec, e)?)
            }
            FieldKind::Array { .. } | FieldKind::DataLoc { .. } | FieldKind::RelLoc { .. } => {
                Value::Array(self.bytes(rec, e)?)
            }
        })
    }
}

/// A parsed `format` file.
#[doc(alias = "format")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFormat {
    /// The system (directory) name, when the caller knows it (`sched`); the file itself does not say.
    pub system: String,
    /// The event name (`sched_switch`).
    pub name: String,
    /// The event id (`common_type`).
    pub id: u16,
    /// The `common_*` fields.
    pub common_fields: Vec<Field>,
    /// The event's own fields.
    pub fields: Vec<Field>,
    /// The `print fmt:` text, unparsed.
    pub print_fmt: String,
}

/// Where the common fields are in every trace event record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonFields {
    /// `common_type` offset (u16).
    pub type_offset: usize,
    /// `common_flags` offset (u8).
    pub flags_offset: usize,
    /// `common_preempt_count` offset (u8).
    pub preempt_offset: usize,
    /// `common_pid` offset (i32).
    pub pid_offset: usize,
}

impl Default for CommonFields {
    fn default() -> Self {
        CommonFields { type_offset: 0, flags_offset: 2, preempt_offset: 3, pid_offset: 4 }
    }
}

impl EventFormat {
    /// Parses the text of a `format` file. `system` is recorded as given.
    pub fn parse(system: &str, text: &str) -> Result<EventFormat> {
        const WHAT: &str = "event format";
        let mut name = None;
        let mut id = None;
        let mut common_fields = Vec::new();
        let mut fields = Vec::new();
        let mut print_fmt = String::new();
        let mut in_fields = false;
        let mut after_blank = false;
        for (i, raw_line) in text.lines().enumerate() {
            let line = raw_line.trim();
            let n = i + 1;
            if let Some(v) = line.strip_prefix("name:") {
                name = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("ID:") {
                let v = v.trim();
                id = Some(v.parse::<u16>().map_err(|_| ParseError::text(WHAT, n, "an ID from 0 to 65535", v))?);
            } else if line == "format:" {
                in_fields = true;
            } else if let Some(v) = line.strip_prefix("print fmt:") {
                print_fmt = v.trim().to_owned();
                in_fields = false;
            } else if line.is_empty() {
                after_blank = in_fields && !common_fields.is_empty();
            } else if in_fields && line.starts_with("field") {
                let f = parse_field_line(line, n, WHAT)?;
                if !after_blank && f.name.starts_with("common_") {
                    common_fields.push(f);
                } else {
                    fields.push(f);
                }
            } else if !print_fmt.is_empty() {
                // A print fmt continued over lines.
                print_fmt.push('\n');
                print_fmt.push_str(raw_line);
            } else {
                return Err(ParseError::text(WHAT, n, "name:, ID:, format:, field: or print fmt:", line));
            }
        }
        Ok(EventFormat {
            system: system.to_owned(),
            name: name.ok_or_else(|| ParseError::text(WHAT, 0, "a name: line", ""))?,
            id: id.ok_or_else(|| ParseError::text(WHAT, 0, "an ID: line", ""))?,
            common_fields,
            fields,
            print_fmt,
        })
    }

    /// Looks up an event field (not a common one) by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Looks up a field by name, common fields included, or says which is missing.
    pub fn require(&self, name: &str) -> Result<&Field> {
        self.fields
            .iter()
            .chain(&self.common_fields)
            .find(|f| f.name == name)
            .ok_or_else(|| ParseError::NoField { event: self.name.clone(), field: name.to_owned() })
    }

    /// The offsets of the common fields (they are the same for every event of a kernel).
    pub fn common(&self) -> CommonFields {
        let mut c = CommonFields::default();
        for f in &self.common_fields {
            match f.name.as_str() {
                "common_type" => c.type_offset = f.offset,
                "common_flags" => c.flags_offset = f.offset,
                "common_preempt_count" => c.preempt_offset = f.offset,
                "common_pid" => c.pid_offset = f.offset,
                _ => {}
            }
        }
        c
    }
}

/// Parses `field:TYPE NAME[N];\toffset:O;\tsize:S;\tsigned:G;` (`signed` may be absent in old kernels).
pub(crate) fn parse_field_line(line: &str, n: usize, what: &'static str) -> Result<Field> {
    let mut decl = None;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for part in line.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once(':').ok_or_else(|| ParseError::text(what, n, "key:value", part))?;
        match k.trim() {
            "field" | "field special" => decl = Some(v.trim()),
            "offset" => offset = Some(parse_num(v, n, what)?),
            "size" => size = Some(parse_num(v, n, what)?),
            "signed" => signed = parse_num(v, n, what)? != 0,
            _ => {}
        }
    }
    let decl = decl.ok_or_else(|| ParseError::text(what, n, "field:", line))?;
    let offset = offset.ok_or_else(|| ParseError::text(what, n, "offset:", line))?;
    let size = size.ok_or_else(|| ParseError::text(what, n, "size:", line))?;
    let (type_name, name, array) = split_decl(decl).ok_or_else(|| ParseError::text(what, n, "TYPE NAME", decl))?;
    let kind = classify(&type_name, array, size);
    Ok(Field { name: name.to_owned(), type_name, offset, size, signed, kind })
}

fn parse_num(v: &str, n: usize, what: &'static str) -> Result<usize> {
    let v = v.trim();
    v.parse::<usize>().map_err(|_| ParseError::text(what, n, "a decimal number", v))
}

/// Splits `unsigned long args[6]` into (`unsigned long[6]`-ish type, `args`, Some("6")).
fn split_decl(decl: &str) -> Option<(String, &str, Option<&str>)> {
    let (head, array) = match decl.strip_suffix(']') {
        Some(d) => {
            let open = d.rfind('[')?;
            // `__data_loc char[] name` has the brackets on the type, not the name.
            (d.get(..open)?, Some(d.get(open + 1..)?))
        }
        None => (decl, None),
    };
    let head = head.trim_end();
    let split = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let name = head.get(split + 1..)?;
    if name.is_empty() {
        return None;
    }
    let ty = head.get(..split + 1)?.trim();
    let ty = match array {
        Some(a) => format!("{ty}[{a}]"),
        None => ty.to_owned(),
    };
    Some((ty, name, array))
}

fn classify(ty: &str, array: Option<&str>, size: usize) -> FieldKind {
    let elem = |base: &str| -> (bool, usize) {
        let b = base.trim().trim_end_matches("[]").trim();
        let string = b == "char" || b == "const char" || b == "signed char";
        let es = match b.rsplit(' ').next().unwrap_or(b) {
            _ if b.ends_with('*') => 8,
            "char" | "u8" | "s8" | "__u8" | "bool" => 1,
            "short" | "u16" | "s16" | "__u16" => 2,
            "int" | "u32" | "s32" | "__u32" | "pid_t" => 4,
            "long" | "u64" | "s64" | "__u64" => 8,
            _ => 1,
        };
        (string, es)
    };
    if let Some(rest) = ty.strip_prefix("__data_loc") {
        let (string, elem_size) = elem(rest);
        return FieldKind::DataLoc { string, elem_size };
    }
    if let Some(rest) = ty.strip_prefix("__rel_loc") {
        let (string, elem_size) = elem(rest);
        return FieldKind::RelLoc { string, elem_size };
    }
    if let Some(a) = array {
        let base = ty.get(..ty.len().saturating_sub(a.len() + 2)).unwrap_or(ty).trim();
        let (string, _) = elem(base);
        if string {
            return FieldKind::CharArray;
        }
        let count = a.trim().parse::<usize>().ok().filter(|&c| c > 0);
        let elem_size = match count {
            Some(c) if size.is_multiple_of(c) => size / c,
            _ => elem(base).1,
        };
        let count = size.checked_div(elem_size).unwrap_or(0);
        return FieldKind::Array { count, elem_size };
    }
    if ty.ends_with('*') {
        return FieldKind::Pointer;
    }
    FieldKind::Int
}

/// A loader of `(system, format text)` by event id.
pub type FormatLoader = dyn FnMut(u16) -> Option<(String, String)> + Send;

/// Maps event ids to formats, loading each lazily through a loader the facade supplies.
///
/// Lookup is an index into a table by id: no hashing and no string work per event.
pub struct FormatRegistry {
    by_id: Vec<Option<Arc<EventFormat>>>,
    tried: Vec<bool>,
    loader: Option<Box<FormatLoader>>,
}

impl std::fmt::Debug for FormatRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormatRegistry").field("known", &self.by_id.iter().flatten().count()).finish()
    }
}

impl Default for FormatRegistry {
    fn default() -> Self {
        FormatRegistry::new()
    }
}

impl FormatRegistry {
    /// An empty registry with no loader.
    pub fn new() -> FormatRegistry {
        FormatRegistry { by_id: Vec::new(), tried: Vec::new(), loader: None }
    }

    /// A registry that asks `loader(id)` for `(system, format text)` the first time an id is seen.
    pub fn with_loader(loader: impl FnMut(u16) -> Option<(String, String)> + Send + 'static) -> FormatRegistry {
        FormatRegistry { by_id: Vec::new(), tried: Vec::new(), loader: Some(Box::new(loader)) }
    }

    /// Parses and adds a format; returns it.
    pub fn add_text(&mut self, system: &str, text: &str) -> Result<Arc<EventFormat>> {
        let f = Arc::new(EventFormat::parse(system, text)?);
        self.insert(f.clone());
        Ok(f)
    }

    /// Adds a parsed format.
    pub fn insert(&mut self, f: Arc<EventFormat>) {
        let i = f.id as usize;
        if self.by_id.len() <= i {
            self.by_id.resize(i + 1, None);
            self.tried.resize(i + 1, false);
        }
        if let (Some(slot), Some(t)) = (self.by_id.get_mut(i), self.tried.get_mut(i)) {
            *slot = Some(f);
            *t = true;
        }
    }

    /// The format for `id`, loading it on first use. Returns `None` for ids nobody knows.
    #[inline]
    pub fn get(&mut self, id: u16) -> Option<&Arc<EventFormat>> {
        let i = id as usize;
        if !self.tried.get(i).copied().unwrap_or(false) {
            self.load(id);
        }
        self.by_id.get(i).and_then(Option::as_ref)
    }

    /// The format for `id` if already loaded (no loading; usable through `&self`).
    #[inline]
    pub fn peek(&self, id: u16) -> Option<&Arc<EventFormat>> {
        self.by_id.get(id as usize).and_then(Option::as_ref)
    }

    /// Finds a loaded format by system and name.
    pub fn by_name(&self, system: &str, name: &str) -> Option<&Arc<EventFormat>> {
        self.by_id.iter().flatten().find(|f| f.name == name && (system.is_empty() || f.system == system))
    }

    /// All loaded formats.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<EventFormat>> {
        self.by_id.iter().flatten()
    }

    #[cold]
    fn load(&mut self, id: u16) {
        let i = id as usize;
        if self.by_id.len() <= i {
            self.by_id.resize(i + 1, None);
            self.tried.resize(i + 1, false);
        }
        if let Some(t) = self.tried.get_mut(i) {
            *t = true;
        }
        let Some(loader) = self.loader.as_mut() else {
            return;
        };
        if let Some((sys, text)) = loader(id)
            && let Ok(f) = EventFormat::parse(&sys, &text)
            && f.id == id
        {
            self.insert(Arc::new(f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SCHED_SWITCH: &str = "name: sched_switch\nID: 316\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\nprint fmt: \"prev_comm=%s prev_pid=%d\", REC->prev_comm, REC->prev_pid\n";

    #[test]
    fn parses_sched_switch() {
        let f = EventFormat::parse("sched", SCHED_SWITCH).unwrap();
        assert_eq!((f.name.as_str(), f.id), ("sched_switch", 316));
        assert_eq!(f.common_fields.len(), 4);
        assert_eq!(f.fields.len(), 7);
        let c = f.field("prev_comm").unwrap();
        assert_eq!((c.offset, c.size, c.kind), (8, 16, FieldKind::CharArray));
        let p = f.field("prev_state").unwrap();
        assert_eq!((p.kind, p.signed), (FieldKind::Int, true));
        assert!(f.print_fmt.starts_with("\"prev_comm"));
        assert_eq!(f.common(), CommonFields::default());
    }

    #[test]
    fn dynamic_and_arrays() {
        let text = "name: x\nID: 7\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__data_loc char[] name;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n\tfield:__rel_loc u8[] blob;\toffset:64;\tsize:4;\tsigned:0;\n\tfield:void * ptr;\toffset:68;\tsize:8;\tsigned:0;\n\nprint fmt: \"\"\n";
        let f = EventFormat::parse("s", text).unwrap();
        assert_eq!(f.field("name").unwrap().kind, FieldKind::DataLoc { string: true, elem_size: 1 });
        assert_eq!(f.field("args").unwrap().kind, FieldKind::Array { count: 6, elem_size: 8 });
        assert_eq!(f.field("blob").unwrap().kind, FieldKind::RelLoc { string: false, elem_size: 1 });
        assert_eq!(f.field("ptr").unwrap().kind, FieldKind::Pointer);
        // A record: name at 76 len 3 ("hi\0"), blob rel_loc 2 bytes at 68+? (end of field = 68 + off)
        let mut rec = vec![0u8; 84];
        rec[8..12].copy_from_slice(&((3u32 << 16) | 76).to_le_bytes());
        rec[16..24].copy_from_slice(&42u64.to_le_bytes());
        rec[64..68].copy_from_slice(&((2u32 << 16) | 11).to_le_bytes());
        rec[76..79].copy_from_slice(b"hi\0");
        rec[79..81].copy_from_slice(&[0xaa, 0xbb]);
        let r = RawData::Single(&rec);
        let e = Endian::Little;
        assert_eq!(f.field("name").unwrap().value(r, e).unwrap(), Value::Str(b"hi"));
        assert_eq!(f.field("args").unwrap().u64(r, e).unwrap(), 42);
        assert_eq!(f.field("blob").unwrap().value(r, e).unwrap(), Value::Array(RawData::Single(&[0xaa, 0xbb])));
        // A data_loc pointing past the end is an error, not a panic.
        rec[8..12].copy_from_slice(&((300u32 << 16) | 76).to_le_bytes());
        assert!(f.field("name").unwrap().str(RawData::Single(&rec), e).is_err());
    }

    #[test]
    fn bad_text_is_an_error_with_a_line() {
        let e = EventFormat::parse("s", "name: a\nID: 99999\n").unwrap_err();
        assert!(matches!(e, ParseError::Text { line: 2, .. }), "{e}");
        let e = EventFormat::parse("s", "name: a\nID: 1\nformat:\n\tfield:int;\toffset:0;\tsize:4;\n").unwrap_err();
        assert!(matches!(e, ParseError::Text { line: 4, .. }), "{e}");
        assert!(EventFormat::parse("s", "ID: 1\n").is_err());
    }

    #[test]
    fn registry_loads_lazily_once() {
        let mut calls = 0u32;
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c2 = counter.clone();
        let mut r = FormatRegistry::with_loader(move |id| {
            c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (id == 316).then(|| ("sched".to_owned(), SCHED_SWITCH.to_owned()))
        });
        assert_eq!(r.get(316).unwrap().name, "sched_switch");
        assert!(r.get(5).is_none());
        assert!(r.get(316).is_some() && r.get(5).is_none());
        calls += counter.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(calls, 2);
        assert!(r.by_name("sched", "sched_switch").is_some());
    }
}
