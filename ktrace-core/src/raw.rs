//! [`RawData`]: a record's bytes as one slice, or two where the record wraps a ring buffer.

use crate::error::{ParseError, Result};

/// Byte order of the kernel that wrote a buffer.
///
/// Trace data is in the writing kernel's native order; a trace.dat or a capture from a big-endian
/// machine must be read with [`Endian::Big`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Endian {
    /// Little-endian (x86, arm64, riscv…).
    #[default]
    Little,
    /// Big-endian (s390x, some powerpc and mips).
    Big,
}

impl Endian {
    /// The byte order of the machine this code runs on.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };

    #[inline]
    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    #[inline]
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    #[inline]
    pub(crate) fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
}

/// Reads a fixed-size array at `off` from a slice, or says what was missing.
#[inline]
pub(crate) fn array_at<const N: usize>(buf: &[u8], off: usize, what: &'static str) -> Result<[u8; N]> {
    match off.checked_add(N).and_then(|end| buf.get(off..end)) {
        Some(s) => {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            Ok(a)
        }
        None => Err(ParseError::truncated(what, off, N, buf.len().saturating_sub(off))),
    }
}

/// The bytes of one record: one slice, or two where the record wraps around the end of a ring.
///
/// All readers are bounds-checked and return [`ParseError::Truncated`] naming the offset, the
/// wanted size and what was available. Nothing is copied unless the caller asks ([`RawData::to_vec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawData<'a> {
    /// Contiguous bytes.
    Single(&'a [u8]),
    /// Bytes split at the ring's wrap point: the first part ends the data area, the second starts it.
    Split(&'a [u8], &'a [u8]),
}

impl<'a> From<&'a [u8]> for RawData<'a> {
    fn from(s: &'a [u8]) -> Self {
        RawData::Single(s)
    }
}

impl<'a> From<&'a Vec<u8>> for RawData<'a> {
    fn from(s: &'a Vec<u8>) -> Self {
        RawData::Single(s)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for RawData<'a> {
    fn from(s: &'a [u8; N]) -> Self {
        RawData::Single(s)
    }
}

impl<'a> RawData<'a> {
    /// Total length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            RawData::Single(a) => a.len(),
            RawData::Split(a, b) => a.len() + b.len(),
        }
    }

    /// True when there are no bytes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as one slice when they are contiguous.
    #[inline]
    pub fn as_slice(&self) -> Option<&'a [u8]> {
        match *self {
            RawData::Single(a) => Some(a),
            RawData::Split(a, []) => Some(a),
            RawData::Split([], b) => Some(b),
            RawData::Split(..) => None,
        }
    }

    /// Copies `N` bytes at `off`.
    #[inline]
    pub fn array<const N: usize>(&self, off: usize, what: &'static str) -> Result<[u8; N]> {
        match *self {
            RawData::Single(a) => array_at(a, off, what),
            RawData::Split(..) => {
                let mut out = [0u8; N];
                self.copy_into(off, &mut out, what)?;
                Ok(out)
            }
        }
    }

    /// Copies `out.len()` bytes starting at `off` into `out`.
    pub fn copy_into(&self, off: usize, out: &mut [u8], what: &'static str) -> Result<()> {
        let n = out.len();
        let len = self.len();
        if off.checked_add(n).is_none_or(|end| end > len) {
            return Err(ParseError::truncated(what, off, n, len.saturating_sub(off)));
        }
        match *self {
            RawData::Single(a) => {
                if let Some(src) = a.get(off..off + n) {
                    out.copy_from_slice(src);
                }
            }
            RawData::Split(a, b) => {
                let first = a.len().saturating_sub(off).min(n);
                if let (Some(dst), Some(src)) =
                    (out.get_mut(..first), a.get(off.min(a.len())..off.min(a.len()) + first))
                {
                    dst.copy_from_slice(src);
                }
                let boff = off.saturating_sub(a.len());
                if let (Some(dst), Some(src)) = (out.get_mut(first..), b.get(boff..boff + (n - first))) {
                    dst.copy_from_slice(src);
                }
            }
        }
        Ok(())
    }

    /// Reads a `u8` at `off`.
    #[inline]
    pub fn u8(&self, off: usize) -> Result<u8> {
        Ok(self.array::<1>(off, "u8")?[0])
    }
    /// Reads a `u16` at `off` in byte order `e`.
    #[inline]
    pub fn u16(&self, off: usize, e: Endian) -> Result<u16> {
        Ok(e.u16(self.array(off, "u16")?))
    }
    /// Reads a `u32` at `off` in byte order `e`.
    #[inline]
    pub fn u32(&self, off: usize, e: Endian) -> Result<u32> {
        Ok(e.u32(self.array(off, "u32")?))
    }
    /// Reads a `u64` at `off` in byte order `e`.
    #[inline]
    pub fn u64(&self, off: usize, e: Endian) -> Result<u64> {
        Ok(e.u64(self.array(off, "u64")?))
    }

    /// Reads an unsigned integer of `size` (1, 2, 4 or 8) bytes at `off`, zero-extended.
    #[inline(always)]
    pub fn uint(&self, off: usize, size: usize, e: Endian) -> Result<u64> {
        match size {
            1 => self.u8(off).map(u64::from),
            2 => self.u16(off, e).map(u64::from),
            4 => self.u32(off, e).map(u64::from),
            8 => self.u64(off, e),
            _ => Err(ParseError::BadValue {
                offset: off,
                what: "integer size",
                expected: "1, 2, 4 or 8",
                found: size as u64,
            }),
        }
    }

    /// Reads a signed integer of `size` (1, 2, 4 or 8) bytes at `off`, sign-extended.
    #[inline]
    pub fn int(&self, off: usize, size: usize, e: Endian) -> Result<i64> {
        let v = self.uint(off, size, e)?;
        let shift = 64 - 8 * size as u32;
        Ok(((v << shift) as i64) >> shift)
    }

    /// The sub-range `off..off+len` (still possibly split).
    #[inline]
    pub fn slice(&self, off: usize, len: usize) -> Result<RawData<'a>> {
        let total = self.len();
        let end = match off.checked_add(len) {
            Some(e) if e <= total => e,
            _ => {
                return Err(ParseError::truncated("sub-slice", off, len, total.saturating_sub(off)));
            }
        };
        Ok(match *self {
            RawData::Single(a) => RawData::Single(a.get(off..end).unwrap_or_default()),
            RawData::Split(a, b) => {
                let al = a.len();
                if end <= al {
                    RawData::Single(a.get(off..end).unwrap_or_default())
                } else if off >= al {
                    RawData::Single(b.get(off - al..end - al).unwrap_or_default())
                } else {
                    RawData::Split(a.get(off..).unwrap_or_default(), b.get(..end - al).unwrap_or_default())
                }
            }
        })
    }

    /// A NUL-terminated string starting at `off`, at most `max` bytes long, without the NUL.
    ///
    /// Returns the bytes up to the first NUL or up to `max`/the end, whichever comes first.
    /// When the string straddles the wrap point it cannot be borrowed; use [`RawData::to_vec`].
    pub fn c_str(&self, off: usize, max: usize) -> Result<&'a [u8]> {
        let len = self.len();
        if off > len {
            return Err(ParseError::truncated("C string", off, 1, 0));
        }
        let avail = (len - off).min(max);
        let part = self.slice(off, avail)?;
        match part.as_slice() {
            Some(s) => Ok(s.iter().position(|&c| c == 0).map_or(s, |n| s.get(..n).unwrap_or_default())),
            None => Err(ParseError::BadValue {
                offset: off,
                what: "C string",
                expected: "contiguous bytes",
                found: avail as u64,
            }),
        }
    }

    /// Copies the bytes out (the caller's explicit choice to own them).
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            RawData::Single(a) => a.to_vec(),
            RawData::Split(a, b) => {
                let mut v = Vec::with_capacity(a.len() + b.len());
                v.extend_from_slice(a);
                v.extend_from_slice(b);
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_reads_and_bounds() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        let r = RawData::Single(&b);
        assert_eq!(r.u16(0, Endian::Little).unwrap(), 0x0201);
        assert_eq!(r.u16(0, Endian::Big).unwrap(), 0x0102);
        assert_eq!(r.u64(1, Endian::Little).unwrap(), 0x0908070605040302);
        let e = r.u64(2, Endian::Little).unwrap_err();
        assert_eq!(e, ParseError::Truncated { offset: 2, wanted: 8, available: 7, what: "u64" });
        assert!(r.u8(usize::MAX).is_err());
    }

    #[test]
    fn split_reads_across_the_wrap() {
        let a = [1u8, 2, 3];
        let b = [4u8, 5, 6, 7];
        let r = RawData::Split(&a, &b);
        assert_eq!(r.len(), 7);
        assert_eq!(r.u32(1, Endian::Little).unwrap(), 0x05040302);
        assert_eq!(r.u32(3, Endian::Little).unwrap(), 0x07060504);
        assert_eq!(r.slice(1, 4).unwrap(), RawData::Split(&a[1..], &b[..2]));
        assert_eq!(r.slice(4, 2).unwrap(), RawData::Single(&b[1..3]));
        assert_eq!(r.to_vec(), vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(r.u32(4, Endian::Little).is_err());
    }

    #[test]
    fn signed_and_strings() {
        let b = [0xffu8, 0xfe, b'h', b'i', 0, b'x'];
        let r = RawData::Single(&b);
        assert_eq!(r.int(0, 1, Endian::Little).unwrap(), -1);
        assert_eq!(r.int(0, 2, Endian::Little).unwrap(), -257);
        assert_eq!(r.c_str(2, 16).unwrap(), b"hi");
        assert_eq!(r.c_str(5, 16).unwrap(), b"x");
        assert!(r.uint(0, 3, Endian::Little).is_err());
    }
}
