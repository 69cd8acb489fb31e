//! A per-format field plan: how to read each field, resolved once per event id, so decoding every
//! field of an event is one `match` per field on a small step instead of the nested dispatch of
//! [`Field::value`] (kind, sign, size, split record, byte order).
//!
//! A step reads with a checked `get`; whatever it does not cover (dynamic `__data_loc` fields,
//! flexible arrays, odd sizes, a foreign byte order) and any read that falls outside the record
//! goes to [`Field::value`], so values and errors are exactly the same as field-by-field decoding.

use ktrace_core::format::{Field, FieldKind, Value};
use ktrace_core::{Endian, ParseError, RawData};

/// How to read one field of a record in the native byte order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    U8(usize),
    U16(usize),
    U32(usize),
    U64(usize),
    I8(usize),
    I16(usize),
    I32(usize),
    I64(usize),
    /// `char[len]` at the offset: a string up to its NUL.
    Chars(usize, usize),
    /// A fixed array of `len` bytes at the offset.
    Bytes(usize, usize),
    /// Anything else: [`Field::value`].
    Field,
}

impl Step {
    /// The step for `f` in records of byte order `endian`.
    fn of(f: &Field, endian: Endian) -> Step {
        if endian != Endian::NATIVE {
            return Step::Field;
        }
        let off = f.offset;
        match f.kind {
            FieldKind::Int if f.signed => match f.size {
                1 => Step::I8(off),
                2 => Step::I16(off),
                4 => Step::I32(off),
                8 => Step::I64(off),
                _ => Step::Field,
            },
            FieldKind::Int | FieldKind::Pointer => match f.size {
                1 => Step::U8(off),
                2 => Step::U16(off),
                4 => Step::U32(off),
                8 => Step::U64(off),
                _ => Step::Field,
            },
            FieldKind::CharArray if f.size > 0 => Step::Chars(off, f.size),
            FieldKind::Array { .. } if f.size > 0 => Step::Bytes(off, f.size),
            _ => Step::Field,
        }
    }

    /// The value of `f` (whose step this is) in `rec`: the step's fast read, or [`Field::value`]
    /// when the step does not apply or the read falls outside `rec`.
    #[inline(always)]
    pub(crate) fn value<'a>(self, f: &Field, rec: &'a [u8], endian: Endian) -> Result<Value<'a>, ParseError> {
        let fast = match self {
            Step::U8(o) => rec.get(o).map(|&b| Value::Unsigned(b.into())),
            Step::U16(o) => arr(rec, o).map(|b| Value::Unsigned(u16::from_ne_bytes(b).into())),
            Step::U32(o) => arr(rec, o).map(|b| Value::Unsigned(u32::from_ne_bytes(b).into())),
            Step::U64(o) => arr(rec, o).map(|b| Value::Unsigned(u64::from_ne_bytes(b))),
            Step::I8(o) => rec.get(o).map(|&b| Value::Signed((b as i8).into())),
            Step::I16(o) => arr(rec, o).map(|b| Value::Signed(i16::from_ne_bytes(b).into())),
            Step::I32(o) => arr(rec, o).map(|b| Value::Signed(i32::from_ne_bytes(b).into())),
            Step::I64(o) => arr(rec, o).map(|b| Value::Signed(i64::from_ne_bytes(b))),
            Step::Chars(o, n) => o
                .checked_add(n)
                .and_then(|end| rec.get(o..end))
                .map(|s| Value::Str(s.iter().position(|&c| c == 0).map_or(s, |z| s.get(..z).unwrap_or_default()))),
            Step::Bytes(o, n) => {
                o.checked_add(n).and_then(|end| rec.get(o..end)).map(|s| Value::Array(RawData::Single(s)))
            }
            Step::Field => None,
        };
        match fast {
            Some(v) => Ok(v),
            None => f.value(RawData::Single(rec), endian),
        }
    }
}

/// `N` bytes at `off` of `rec`, if there.
#[inline(always)]
pub(crate) fn arr<const N: usize>(rec: &[u8], off: usize) -> Option<[u8; N]> {
    rec.get(off..)?.first_chunk::<N>().copied()
}

/// The integer of `size` bytes (1, 2, 4 or 8; native byte order) at `off` of `rec`,
/// sign-extended when `signed`, else zero-extended: what [`Field::i64`] / [`Field::u64`] read
/// for an integer field, without their byte-order and split-record dispatch. `None` when the
/// size is another or the bytes are not all there (the caller then asks the field itself, for
/// the same error).
#[inline(always)]
pub(crate) fn int_at(rec: &[u8], off: usize, size: usize, signed: bool) -> Option<i64> {
    Some(match (size, signed) {
        (1, false) => (*rec.get(off)?).into(),
        (1, true) => (*rec.get(off)? as i8).into(),
        (2, false) => u16::from_ne_bytes(arr(rec, off)?).into(),
        (2, true) => i16::from_ne_bytes(arr(rec, off)?).into(),
        (4, false) => u32::from_ne_bytes(arr(rec, off)?).into(),
        (4, true) => i32::from_ne_bytes(arr(rec, off)?).into(),
        (8, _) => i64::from_ne_bytes(arr(rec, off)?),
        _ => return None,
    })
}

/// The steps of `fields`, in order.
pub(crate) fn plan(fields: &[Field], endian: Endian) -> Vec<Step> {
    fields.iter().map(|f| Step::of(f, endian)).collect()
}

/// A format with a field of every kind, and a record of it: what the direct reads of the plan
/// and of the typed views are tested against the fields' own reads on.
#[cfg(test)]
pub(crate) fn every_kind() -> (ktrace_core::EventFormat, Vec<u8>) {
    let text = "name: all\nID: 7\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:signed char c;\toffset:3;\tsize:1;\tsigned:1;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
        \tfield:short s;\toffset:8;\tsize:2;\tsigned:1;\n\
        \tfield:unsigned int u;\toffset:10;\tsize:4;\tsigned:0;\n\
        \tfield:long l;\toffset:16;\tsize:8;\tsigned:1;\n\
        \tfield:void * p;\toffset:24;\tsize:8;\tsigned:0;\n\
        \tfield:char comm[8];\toffset:32;\tsize:8;\tsigned:0;\n\
        \tfield:unsigned long args[6];\toffset:40;\tsize:48;\tsigned:0;\n\
        \tfield:__data_loc char[] name;\toffset:88;\tsize:4;\tsigned:0;\n\
        \tfield:u8 odd[3];\toffset:92;\tsize:3;\tsigned:0;\n\
        \tfield:char buf[];\toffset:96;\tsize:0;\tsigned:0;\n\
        \nprint fmt: \"\"\n";
    let fmt = ktrace_core::EventFormat::parse("test", text).unwrap();
    let mut rec: Vec<u8> = (0..104u8).map(|i| i.wrapping_mul(37) ^ 0x80).collect();
    rec[34] = 0; // a NUL inside comm
    rec[88..92].copy_from_slice(&((4u32 << 16) | 96).to_ne_bytes());
    (fmt, rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of field, over records of every length up to past the end: the plan's values
    /// and errors equal [`Field::value`]'s.
    #[test]
    fn plan_equals_field_value() {
        let (fmt, rec) = every_kind();
        for endian in [Endian::NATIVE, Endian::Big, Endian::Little] {
            let steps = plan(&fmt.fields, endian);
            for len in 0..=rec.len() {
                let r = &rec[..len];
                for (f, s) in fmt.fields.iter().zip(&steps) {
                    assert_eq!(s.value(f, r, endian), f.value(RawData::Single(r), endian), "{} at len {len}", f.name);
                }
            }
        }
    }
}
