//! [`Cursor`]: the one checked reader of kernel bytes. Every parser in every ktrace crate reads
//! through it, through [`RawData`]'s offset readers, or through a zerocopy struct.
//!
//! Reads advance, are bounds-checked and never default: input that ends early is a
//! [`ParseError::Truncated`] naming the offset where the read started, the bytes wanted and the
//! bytes that were there. The cursor works on one slice and on [`RawData`]'s two-slice (wrapped)
//! form alike. Its design follows gimli's `Reader` (one trait behind every DWARF parser) and the
//! bytes crate's `try_get_*` (an error saying what was requested and what was available).
//!
//! ```
//! use ktrace_core::{Cursor, Endian, ParseError};
//!
//! let bytes = [7u8, 0, 0, 0, 0x12, 0x34, b'h', b'i', 0, 9];
//! let mut c = Cursor::new(&bytes[..]).with_endian(Endian::Little);
//! assert_eq!(c.u32()?, 7);
//! assert_eq!(c.u16_be()?, 0x1234);
//! assert_eq!(c.cstr()?, b"hi");
//! assert_eq!((c.offset(), c.remaining()), (9, 1));
//! // Short input is an error naming the offset, never a 0.
//! assert_eq!(
//!     c.u32(),
//!     Err(ParseError::Truncated { offset: 9, wanted: 4, available: 1, what: "u32" })
//! );
//! # Ok::<(), ParseError>(())
//! ```

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::error::{ParseError, Result};
use crate::raw::{Endian, RawData};

/// An advancing, bounds-checked reader over one slice or a wrapped [`RawData`].
///
/// Integers are read in the cursor's byte order (the machine's own unless set with
/// [`Cursor::with_endian`], e.g. for a trace.dat from a big-endian machine); the `_le`/`_be`
/// variants read a fixed order whatever it is. A failed read leaves the position where it was.
///
/// Offsets in errors (and [`Cursor::offset`]) count from the start of the data the cursor was
/// made on, plus the base given to [`Cursor::with_base`], so a cursor over a field of a larger
/// buffer can report offsets in that buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor<'a> {
    data: RawData<'a>,
    pos: usize,
    base: usize,
    endian: Endian,
}

macro_rules! ints {
    ($($ty:ident $n:literal $ne:ident $le:ident $be:ident;)*) => {$(
        #[doc = concat!("Reads a `", stringify!($ty), "` in the cursor's byte order and advances past it.")]
        #[inline]
        pub fn $ne(&mut self) -> Result<$ty> {
            let b = self.array::<$n>(stringify!($ty))?;
            Ok(match self.endian {
                Endian::Little => $ty::from_le_bytes(b),
                Endian::Big => $ty::from_be_bytes(b),
            })
        }
        #[doc = concat!("Reads a little-endian `", stringify!($ty), "` and advances past it.")]
        #[inline]
        pub fn $le(&mut self) -> Result<$ty> {
            self.array::<$n>(stringify!($ty)).map($ty::from_le_bytes)
        }
        #[doc = concat!("Reads a big-endian `", stringify!($ty), "` and advances past it.")]
        #[inline]
        pub fn $be(&mut self) -> Result<$ty> {
            self.array::<$n>(stringify!($ty)).map($ty::from_be_bytes)
        }
    )*};
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data` (a `&[u8]` or a [`RawData`]), in the machine's byte order.
    #[inline]
    pub fn new(data: impl Into<RawData<'a>>) -> Cursor<'a> {
        Cursor { data: data.into(), pos: 0, base: 0, endian: Endian::NATIVE }
    }

    /// A cursor at `offset` of `data`; an offset past the end is [`ParseError::Truncated`].
    pub fn at(data: impl Into<RawData<'a>>, offset: usize) -> Result<Cursor<'a>> {
        let mut c = Cursor::new(data);
        c.seek(offset)?;
        Ok(c)
    }

    /// The same cursor reading integers in byte order `e`.
    #[inline]
    #[must_use]
    pub fn with_endian(mut self, e: Endian) -> Cursor<'a> {
        self.endian = e;
        self
    }

    /// The same cursor reporting offsets as if its data started at `base` (its place in a larger
    /// buffer).
    #[inline]
    #[must_use]
    pub fn with_base(mut self, base: usize) -> Cursor<'a> {
        self.base = base;
        self
    }

    /// The byte order integers are read in.
    #[inline]
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The offset of the next read (from the data's start, plus the base).
    #[inline]
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Bytes left to read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// True when nothing is left.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without advancing.
    pub fn rest(&self) -> RawData<'a> {
        self.data.slice(self.pos, self.remaining()).unwrap_or(RawData::Single(&[]))
    }

    /// Moves to `offset` of the data (counted without the base); past the end is a
    /// [`ParseError::BadValue`].
    pub fn seek(&mut self, offset: usize) -> Result<()> {
        let len = self.data.len();
        if offset > len {
            return Err(ParseError::BadValue {
                offset: self.base.saturating_add(len),
                what: "offset",
                expected: "an offset inside the data",
                found: offset as u64,
            });
        }
        self.pos = offset;
        Ok(())
    }

    /// The error for a read of `wanted` bytes at the current position.
    fn short(&self, what: &'static str, wanted: usize) -> ParseError {
        ParseError::truncated(what, self.offset(), wanted, self.remaining())
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        if n > self.remaining() {
            return Err(self.short("skipped bytes", n));
        }
        self.pos += n;
        Ok(())
    }

    /// Reads `N` bytes as an array.
    #[inline]
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let a = self.data.array::<N>(self.pos, what).map_err(|_| self.short(what, N))?;
        self.pos += N;
        Ok(a)
    }

    /// Reads a `u8`.
    #[inline]
    pub fn u8(&mut self) -> Result<u8> {
        self.array::<1>("u8").map(|[b]| b)
    }

    /// Reads an `i8`.
    #[inline]
    pub fn i8(&mut self) -> Result<i8> {
        self.array::<1>("i8").map(i8::from_ne_bytes)
    }

    ints! {
        u16 2 u16 u16_le u16_be;
        i16 2 i16 i16_le i16_be;
        u32 4 u32 u32_le u32_be;
        i32 4 i32 i32_le i32_be;
        u64 8 u64 u64_le u64_be;
        i64 8 i64 i64_le i64_be;
    }

    /// The next `n` bytes, possibly split at the wrap point.
    pub fn raw(&mut self, n: usize) -> Result<RawData<'a>> {
        let r = self.data.slice(self.pos, n).map_err(|_| self.short("bytes", n))?;
        self.pos += n;
        Ok(r)
    }

    /// The next `n` bytes as one borrowed slice. Bytes that straddle the wrap point of a split
    /// [`RawData`] cannot be borrowed as one: that is a [`ParseError::BadValue`] (use
    /// [`Cursor::raw`] for them).
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let at = self.offset();
        let r = self.data.slice(self.pos, n).map_err(|_| self.short("bytes", n))?;
        let s = r.as_slice().ok_or(ParseError::BadValue {
            offset: at,
            what: "bytes",
            expected: "bytes not split by the ring's wrap",
            found: n as u64,
        })?;
        self.pos += n;
        Ok(s)
    }

    /// A sub-cursor over the next `n` bytes (same byte order, offsets still counted in this
    /// cursor's terms); this cursor advances past them.
    pub fn split(&mut self, n: usize) -> Result<Cursor<'a>> {
        let at = self.offset();
        let data = self.raw(n)?;
        Ok(Cursor { data, pos: 0, base: at, endian: self.endian })
    }

    /// A NUL-terminated string: the bytes before the NUL; the cursor advances past the NUL.
    /// No NUL before the end is [`ParseError::Truncated`].
    pub fn cstr(&mut self) -> Result<&'a [u8]> {
        let rest = self.rest();
        let (a, b) = match rest {
            RawData::Single(a) => (a, &[][..]),
            RawData::Split(a, b) => (a, b),
        };
        let n = a
            .iter()
            .chain(b)
            .position(|&c| c == 0)
            .ok_or_else(|| self.short("NUL-terminated string", self.remaining() + 1))?;
        let s = self.bytes(n)?;
        self.pos += 1;
        Ok(s)
    }

    /// A fixed-size string field of `n` bytes (like `char comm[16]`): the bytes before the first
    /// NUL, or all `n` if there is none; the cursor advances by `n`.
    pub fn cstr_in(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.bytes(n)?;
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        Ok(s.split_at(end).0)
    }

    /// A zerocopy struct borrowed in place (`#[repr(C)]`, unaligned fields); the cursor advances
    /// past it. Short input is [`ParseError::Truncated`] naming `what`.
    pub fn read_ref<T>(&mut self, what: &'static str) -> Result<&'a T>
    where
        T: FromBytes + KnownLayout + Immutable + Unaligned,
    {
        let n = size_of::<T>();
        let at = self.offset();
        let s = self.bytes(n).map_err(|e| match e {
            ParseError::Truncated { wanted, available, .. } => ParseError::truncated(what, at, wanted, available),
            e => e,
        })?;
        T::ref_from_bytes(s).map_err(|_| ParseError::truncated(what, at, n, s.len()))
    }
}

/// Names the field a failed read was for: `c.u32().reading("blk_io_trace magic")?`.
pub trait Reading<T> {
    /// The same result, its error naming `what` (see [`ParseError::reading`]).
    fn reading(self, what: &'static str) -> Result<T>;
}

impl<T> Reading<T> for Result<T> {
    #[inline]
    fn reading(self, what: &'static str) -> Result<T> {
        self.map_err(|e| e.reading(what))
    }
}

impl ParseError {
    /// The same error naming `what` as the thing being read (for a [`Cursor`] read of a named
    /// field, e.g. `c.u32().map_err(|e| e.reading("blk_io_trace magic"))`).
    #[must_use]
    pub fn reading(self, what: &'static str) -> ParseError {
        match self {
            ParseError::Truncated { offset, wanted, available, .. } => {
                ParseError::Truncated { offset, wanted, available, what }
            }
            ParseError::BadValue { offset, expected, found, .. } => {
                ParseError::BadValue { offset, what, expected, found }
            }
            e => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktrace_testing::Rng;

    #[test]
    fn reads_advance_in_every_order() {
        let b: Vec<u8> = (1..=16).collect();
        let mut c = Cursor::new(&b[..]).with_endian(Endian::Little);
        assert_eq!(c.u8().unwrap(), 1);
        assert_eq!(c.u16().unwrap(), 0x0302);
        assert_eq!(c.u32_be().unwrap(), 0x0405_0607);
        assert_eq!(c.offset(), 7);
        assert_eq!(c.u64_le().unwrap(), 0x0f0e_0d0c_0b0a_0908);
        assert_eq!((c.remaining(), c.u8().unwrap(), c.is_empty()), (1, 16, true));
        let mut c = Cursor::new(&[0xffu8, 0xfe, 0xff, 0xff, 0xff, 0xff][..]).with_endian(Endian::Big);
        assert_eq!((c.i8().unwrap(), c.i8().unwrap(), c.i32().unwrap()), (-1, -2, -1));
        let mut c = Cursor::new(&[0xfeu8, 0xff][..]);
        assert_eq!(c.i16_le().unwrap(), -2);
        let ne = 0x1122_3344_5566_7788u64.to_ne_bytes();
        assert_eq!(Cursor::new(&ne[..]).u64().unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(Cursor::new(&ne[..]).i64().unwrap(), 0x1122_3344_5566_7788);
    }

    #[test]
    fn short_input_names_the_offset_and_does_not_advance() {
        let b = [1u8, 2, 3, 4, 5, 6];
        let mut c = Cursor::new(&b[..]).with_base(100);
        c.skip(2).unwrap();
        assert_eq!(c.u64(), Err(ParseError::Truncated { offset: 102, wanted: 8, available: 4, what: "u64" }));
        assert_eq!(c.offset(), 102);
        assert_eq!(
            c.u64().reading("magic").unwrap_err().to_string(),
            "truncated at offset 102: wanted 8 bytes for magic, 4 available"
        );
        assert!(c.skip(5).is_err());
        assert!(c.bytes(usize::MAX).is_err());
        assert!(Cursor::at(&b[..], 7).is_err());
        assert_eq!(Cursor::at(&b[..], 6).unwrap().remaining(), 0);
        assert!(c.seek(6).is_ok() && c.u8().is_err());
    }

    #[test]
    fn strings_and_sub_cursors() {
        let b = b"abc\0de\0\0\0\0xyz";
        let mut c = Cursor::new(&b[..]);
        assert_eq!(c.cstr().unwrap(), b"abc");
        assert_eq!(c.cstr_in(5).unwrap(), b"de");
        let mut s = c.split(3).unwrap();
        assert_eq!((s.offset(), s.bytes(3).unwrap(), c.offset()), (9, &b"\0xy"[..], 12));
        assert!(s.u8().is_err());
        assert_eq!(
            c.cstr(),
            Err(ParseError::Truncated { offset: 12, wanted: 2, available: 1, what: "NUL-terminated string" })
        );
        assert_eq!(c.cstr_in(1).unwrap(), b"z");
    }

    #[test]
    fn wrapped_data_reads_across_the_split() {
        let (a, b) = ([1u8, 2, 3], [4u8, 0, 6, 7, 8]);
        let mut c = Cursor::new(RawData::Split(&a, &b)).with_endian(Endian::Little);
        c.skip(1).unwrap();
        assert_eq!(c.u32().unwrap(), 0x0004_0302);
        assert_eq!(c.bytes(2).unwrap(), [6, 7]);
        let mut c = Cursor::new(RawData::Split(&a, &b));
        assert_eq!(
            c.cstr().unwrap_err(),
            ParseError::BadValue { offset: 0, what: "bytes", expected: "bytes not split by the ring's wrap", found: 4 }
        );
        assert_eq!(c.raw(4).unwrap(), RawData::Split(&a, &b[..1]));
        assert_eq!(c.rest(), RawData::Single(&b[1..]));
    }

    #[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
    #[repr(C)]
    struct Pair {
        a: [u8; 2],
        b: [u8; 4],
    }

    #[test]
    fn zerocopy_structs_in_place() {
        let b = [1u8, 0, 2, 0, 0, 0, 9];
        let mut c = Cursor::new(&b[..]);
        let p = c.read_ref::<Pair>("pair").unwrap();
        assert_eq!((p.a, p.b, c.offset()), ([1, 0], [2, 0, 0, 0], 6));
        assert_eq!(
            c.read_ref::<Pair>("pair").err(),
            Some(ParseError::Truncated { offset: 6, wanted: 6, available: 1, what: "pair" })
        );
    }

    /// Fuzz-style: every cut of random bytes, single and split at every point, read with random
    /// operations. No panics, every error names an offset inside the input, and a cursor over a
    /// split agrees with one over the same bytes joined.
    #[test]
    fn random_cuts_never_panic_and_agree_across_the_wrap() {
        let mut rng = Rng::new(0x0c0f_fee5);
        for _ in 0..300 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| if rng.below(4) == 0 { 0 } else { rng.next() as u8 }).collect();
            let cut = rng.below(len + 1);
            let (a, b) = bytes.split_at(cut);
            let ops: Vec<usize> = (0..12).map(|_| rng.below(10)).collect();
            let run = |data: RawData<'_>| {
                let mut c = Cursor::new(data);
                let mut out = Vec::new();
                for &op in &ops {
                    let r = match op {
                        0 => c.u8().map(u64::from),
                        1 => c.u16_be().map(u64::from),
                        2 => c.u32().map(u64::from),
                        3 => c.u64_le(),
                        4 => c.i64().map(|v| v as u64),
                        5 => c.skip(3).map(|_| 0),
                        6 => c.raw(5).map(|r| r.to_vec().len() as u64),
                        7 => c.split(2).map(|s| s.offset() as u64),
                        8 => c.i16().map(|v| v as u64),
                        _ => c.i32_le().map(|v| v as u64),
                    };
                    if let Err(e) = &r {
                        let ParseError::Truncated { offset, .. } = e else { panic!("{e:?}") };
                        assert!(*offset <= len, "{e:?} past {len}");
                    }
                    out.push((r, c.offset()));
                }
                out
            };
            assert_eq!(run(RawData::Split(a, b)), run(RawData::Single(&bytes)), "{bytes:?} cut at {cut}");
            // Strings: same result unless the string straddles the cut.
            let mut c = Cursor::new(RawData::Split(a, b));
            while let Ok(s) = c.cstr() {
                assert!(!s.contains(&0));
            }
        }
    }
}
