//! Ring-buffer pages built byte by byte, as the kernel fills them (`PageLayout::LE64`: 8-byte
//! timestamp, 8-byte commit word, then 4-byte record headers `type_len:5, time_delta:27`), for
//! parser tests that need pages no kernel wrote.
#![allow(clippy::indexing_slicing, reason = "test support: a page too small for what a test pushes is the test's bug")]

/// Builds one little-endian 64-bit page from records.
#[derive(Debug, Clone)]
pub struct PageBuilder {
    buf: Vec<u8>,
    size: usize,
}

impl PageBuilder {
    /// An empty page of `size` bytes whose first record is timed from `ts`.
    pub fn new(ts: u64, size: usize) -> Self {
        let mut buf = vec![0u8; size];
        buf[..8].copy_from_slice(&ts.to_le_bytes());
        PageBuilder { buf, size: 16 }
    }

    /// Bytes used so far, the 16-byte header included.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether no record was added.
    pub fn is_empty(&self) -> bool {
        self.size == 16
    }

    /// Raw bytes after what is there (e.g. a record header the kernel never writes).
    pub fn push(&mut self, b: &[u8]) {
        self.buf[self.size..self.size + b.len()].copy_from_slice(b);
        self.size += b.len();
    }

    /// A data record `delta` after the previous one (its length in `type_len` up to 112 bytes,
    /// else in a length word), padded to 4 bytes.
    pub fn event(&mut self, delta: u32, payload: &[u8]) -> &mut Self {
        let padded = payload.len().div_ceil(4) * 4;
        if padded <= 112 && !payload.is_empty() {
            self.push(&((delta << 5) | (padded / 4) as u32).to_le_bytes());
        } else {
            self.push(&(delta << 5).to_le_bytes());
            self.push(&((payload.len() + 4) as u32).to_le_bytes());
        }
        self.push(payload);
        self.push(&vec![0u8; padded - payload.len()]);
        self
    }

    /// A time extend (`type_len` 30) of `delta`.
    pub fn extend(&mut self, delta: u64) -> &mut Self {
        self.push(&((((delta & ((1 << 27) - 1)) as u32) << 5) | 30).to_le_bytes());
        self.push(&((delta >> 27) as u32).to_le_bytes());
        self
    }

    /// An absolute time stamp (`type_len` 31).
    pub fn absolute(&mut self, ts: u64) -> &mut Self {
        self.push(&((((ts & ((1 << 27) - 1)) as u32) << 5) | 31).to_le_bytes());
        self.push(&((ts >> 27) as u32).to_le_bytes());
        self
    }

    /// A discarded record (`type_len` 29) of `len` bytes.
    pub fn discard(&mut self, delta: u32, len: u32) -> &mut Self {
        self.push(&((delta << 5) | 29).to_le_bytes());
        self.push(&len.to_le_bytes());
        self.push(&vec![0u8; len as usize - 4]);
        self
    }

    /// The page, its commit word the data size with `flags`; `missed` stored after the data.
    pub fn finish(&mut self, flags: u64, missed: Option<u64>) -> Vec<u8> {
        let commit = (self.size as u64 - 16) | flags;
        self.buf[8..16].copy_from_slice(&commit.to_le_bytes());
        if let Some(m) = missed {
            let s = self.size;
            self.buf[s..s + 8].copy_from_slice(&m.to_le_bytes());
        }
        self.buf.clone()
    }
}
