//! The ftrace ring-buffer sub-buffer ("page") format.
//!
//! A page as read from `per_cpu/cpuN/trace_pipe_raw` (or stored in trace.dat) starts with a header
//! described by `events/header_page` (a 64-bit timestamp, then the commit word whose low 27 bits are
//! the number of data bytes and whose bits 31 and 30 flag missed events), followed by events whose
//! 4-byte headers are described by `events/header_event` (`type_len:5, time_delta:27`).
//! See the kernel's `kernel/trace/ring_buffer.c` and `include/linux/ring_buffer.h`.
//!
//! Minimum kernel: 2.6.28 (ring buffer); absolute `TIME_STAMP` records with shared top bits: 5.12;
//! configurable sub-buffer sizes (`buffer_subbuf_size_kb`): 6.8.

use crate::error::{ParseError, Result};
use crate::lost::Lost;
use crate::raw::{Endian, array_at};
use crate::time::Timestamped;

/// Commit-word flag: events were lost before this page (`RB_MISSED_EVENTS`).
pub const RB_MISSED_EVENTS: u64 = 1 << 31;
/// Commit-word flag: the number of lost events is stored after the data (`RB_MISSED_STORED`).
pub const RB_MISSED_STORED: u64 = 1 << 30;
/// Mask of the data-size bits of the commit word.
const COMMIT_MASK: u64 = (1 << 27) - 1;

/// `type_len` of a padding or discarded event (`RINGBUF_TYPE_PADDING`).
pub const TYPE_PADDING: u32 = 29;
/// `type_len` of a time extension (`RINGBUF_TYPE_TIME_EXTEND`).
pub const TYPE_TIME_EXTEND: u32 = 30;
/// `type_len` of an absolute time stamp (`RINGBUF_TYPE_TIME_STAMP`).
pub const TYPE_TIME_STAMP: u32 = 31;
/// Largest `type_len` that encodes a data length directly (`RINGBUF_TYPE_DATA_TYPE_LEN_MAX`).
pub const TYPE_DATA_MAX: u32 = 28;
const TS_SHIFT: u32 = 27;
const TS_MSB: u64 = 0xf8 << 56;

/// Where the page header's fields are, from `events/header_page`.
#[doc(alias = "header_page")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLayout {
    /// Offset of the page timestamp (u64).
    pub timestamp_offset: usize,
    /// Offset of the commit word.
    pub commit_offset: usize,
    /// Size of the commit word: 8 on 64-bit kernels, 4 on 32-bit.
    pub commit_size: usize,
    /// Offset of the first event.
    pub data_offset: usize,
    /// Byte order of the kernel that wrote the page.
    pub endian: Endian,
}

impl Default for PageLayout {
    fn default() -> Self {
        PageLayout::LE64
    }
}

impl PageLayout {
    /// The layout of a 64-bit little-endian kernel (x86_64, arm64).
    pub const LE64: PageLayout =
        PageLayout { timestamp_offset: 0, commit_offset: 8, commit_size: 8, data_offset: 16, endian: Endian::Little };

    /// Parses the text of `events/header_page`.
    ///
    /// ```
    /// use ktrace_core::{Endian, PageLayout};
    /// let text = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\
    ///             \tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\
    ///             \tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\
    ///             \tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
    /// let l = PageLayout::from_header_page(text, Endian::Little).unwrap();
    /// assert_eq!(l, PageLayout::LE64);
    /// ```
    pub fn from_header_page(text: &str, endian: Endian) -> Result<PageLayout> {
        let mut ts = None;
        let mut commit = None;
        let mut data = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let f = crate::format::parse_field_line(line, i + 1, "header_page")?;
            match f.name.as_str() {
                "timestamp" => ts = Some((f.offset, f.size)),
                "commit" => commit = Some((f.offset, f.size)),
                "data" => data = Some(f.offset),
                _ => {}
            }
        }
        let (timestamp_offset, ts_size) =
            ts.ok_or_else(|| ParseError::text("header_page", 0, "a timestamp field", ""))?;
        let (commit_offset, commit_size) =
            commit.ok_or_else(|| ParseError::text("header_page", 0, "a commit field", ""))?;
        let data_offset = data.ok_or_else(|| ParseError::text("header_page", 0, "a data field", ""))?;
        if ts_size != 8 {
            return Err(ParseError::BadValue {
                offset: timestamp_offset,
                what: "header_page timestamp size",
                expected: "8",
                found: ts_size as u64,
            });
        }
        if commit_size != 4 && commit_size != 8 {
            return Err(ParseError::BadValue {
                offset: commit_offset,
                what: "header_page commit size",
                expected: "4 or 8",
                found: commit_size as u64,
            });
        }
        if data_offset < commit_offset + commit_size || data_offset > 64 {
            return Err(ParseError::BadValue {
                offset: data_offset,
                what: "header_page data offset",
                expected: "after the commit word, at most 64",
                found: data_offset as u64,
            });
        }
        Ok(PageLayout { timestamp_offset, commit_offset, commit_size, data_offset, endian })
    }
}

/// Checks the text of `events/header_event` describes the event header this parser knows
/// (`type_len: 5 bits`, `time_delta: 27 bits`, padding 29, time_extend 30, time_stamp 31, data max 28).
///
/// Kernels since 2.6.30 print the same text; an unexpected one is an error rather than a misparse.
#[doc(alias = "header_event")]
pub fn check_header_event(text: &str) -> Result<()> {
    let want: [(&str, &str); 6] = [
        ("type_len", "5 bits"),
        ("time_delta", "27 bits"),
        ("padding", "== 29"),
        ("time_extend", "== 30"),
        ("time_stamp", "== 31"),
        ("data max type_len", "== 28"),
    ];
    for (key, val) in want {
        let found = text.lines().enumerate().find(|(_, l)| {
            let l = l.trim();
            l.starts_with(key) && l.get(key.len()..).is_some_and(|r| r.starts_with([' ', ':', '\t']))
        });
        match found {
            Some((i, l)) => {
                let norm: String = l.split_whitespace().collect::<Vec<_>>().join(" ");
                if !norm.ends_with(val) {
                    return Err(ParseError::text("header_event", i + 1, val, l));
                }
            }
            None => return Err(ParseError::text("header_event", 0, key, "")),
        }
    }
    Ok(())
}

/// One event from a page: its absolute timestamp and its payload bytes (which start with the
/// `common_type` u16 id for trace events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEvent<'a> {
    /// Absolute timestamp in trace-clock units (ns for most clocks).
    pub timestamp: u64,
    /// The CPU whose buffer held the event.
    pub cpu: u32,
    /// Byte offset of the event header within its page.
    pub offset: usize,
    /// The payload (possibly with up to 3 bytes of alignment padding at the end).
    pub data: &'a [u8],
}

impl<'a> RawEvent<'a> {
    /// The event id (`common_type`, the first u16 of the payload).
    #[inline]
    pub fn id(&self, endian: Endian) -> Result<u16> {
        array_at::<2>(self.data, 0, "common_type").map(|b| endian.u16(b))
    }
}

impl Timestamped for RawEvent<'_> {
    fn timestamp_ns(&self) -> u64 {
        self.timestamp
    }
}

/// An item of a page: an event, or the notice that events were lost before the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageItem<'a> {
    /// An event.
    Event(RawEvent<'a>),
    /// Events the kernel dropped before this page.
    Lost(Lost),
}

impl Timestamped for PageItem<'_> {
    fn timestamp_ns(&self) -> u64 {
        match self {
            PageItem::Event(e) => e.timestamp,
            PageItem::Lost(l) => l.timestamp_ns,
        }
    }
}

/// A parsed page header with its events still to be read.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    bytes: &'a [u8],
    layout: PageLayout,
    cpu: u32,
    /// The page's base timestamp.
    pub timestamp: u64,
    /// Data bytes in the page (the commit size, without the flags).
    pub size: usize,
    /// `Some` when the kernel flagged missed events before this page (with the count when stored).
    pub missed: Option<Option<u64>>,
}

impl<'a> Page<'a> {
    /// Parses the header of one page (`bytes` may be longer than the data; it is one sub-buffer).
    pub fn parse(bytes: &'a [u8], layout: &PageLayout, cpu: u32) -> Result<Page<'a>> {
        let e = layout.endian;
        let timestamp = e.u64(array_at(bytes, layout.timestamp_offset, "page timestamp")?);
        let commit = if layout.commit_size == 8 {
            e.u64(array_at(bytes, layout.commit_offset, "page commit")?)
        } else {
            e.u32(array_at(bytes, layout.commit_offset, "page commit")?) as u64
        };
        let size = (commit & COMMIT_MASK) as usize;
        let end = layout.data_offset + size;
        if end > bytes.len() {
            return Err(ParseError::BadValue {
                offset: layout.commit_offset,
                what: "page commit size",
                expected: "data that fits in the page",
                found: size as u64,
            });
        }
        let missed = if commit & RB_MISSED_EVENTS != 0 {
            if commit & RB_MISSED_STORED != 0 {
                let n = if layout.commit_size == 8 {
                    e.u64(array_at(bytes, end, "missed-events count")?)
                } else {
                    e.u32(array_at(bytes, end, "missed-events count")?) as u64
                };
                Some(Some(n))
            } else {
                Some(None)
            }
        } else {
            None
        };
        Ok(Page { bytes, layout: *layout, cpu, timestamp, size, missed })
    }

    /// True when the page holds no data.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The items of the page: a [`PageItem::Lost`] first when the page says events were missed,
    /// then the events in order.
    pub fn items(&self) -> PageItems<'a> {
        let data = self.bytes.get(self.layout.data_offset..self.layout.data_offset + self.size).unwrap_or_default();
        PageItems {
            data,
            pos: 0,
            base: self.layout.data_offset,
            ts: self.timestamp,
            endian: self.layout.endian,
            cpu: self.cpu,
            pending_lost: self.missed.map(|count| Lost {
                source: crate::LostSource::FtraceRing,
                cpu: self.cpu,
                count,
                timestamp_ns: self.timestamp,
            }),
        }
    }
}

/// Iterator over one page's items. Yields `Result`; after an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct PageItems<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    ts: u64,
    endian: Endian,
    cpu: u32,
    pending_lost: Option<Lost>,
}

impl<'a> PageItems<'a> {
    #[inline]
    fn word(&self, off: usize, what: &'static str) -> Result<u32> {
        match self.data.get(off..off + 4) {
            Some(&[a, b, c, d]) => Ok(self.endian.u32([a, b, c, d])),
            _ => Err(ParseError::truncated(what, self.base + off, 4, self.data.len().saturating_sub(off))),
        }
    }

    #[inline]
    fn fail(&mut self, e: ParseError) -> Option<Result<PageItem<'a>>> {
        self.pos = self.data.len();
        Some(Err(e))
    }
}

impl<'a> Iterator for PageItems<'a> {
    type Item = Result<PageItem<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pending_lost.is_some()
            && let Some(l) = self.pending_lost.take()
        {
            return Some(Ok(PageItem::Lost(l)));
        }
        loop {
            let pos = self.pos;
            let rest = self.data.get(pos..).unwrap_or_default();
            let Some((hb, body)) = rest.split_first_chunk::<4>() else {
                if rest.is_empty() {
                    return None;
                }
                let e = ParseError::truncated("event header", self.base + pos, 4, rest.len());
                return self.fail(e);
            };
            let hdr = self.endian.u32(*hb);
            let (type_len, delta) = match self.endian {
                Endian::Little => (hdr & 31, (hdr >> 5) as u64),
                Endian::Big => (hdr >> 27, (hdr & ((1 << 27) - 1)) as u64),
            };
            match type_len {
                1..=TYPE_DATA_MAX => {
                    let len = type_len as usize * 4;
                    let Some((payload, _)) = body.split_at_checked(len) else {
                        let e = ParseError::truncated("event payload", self.base + pos + 4, len, body.len());
                        return self.fail(e);
                    };
                    self.ts = self.ts.wrapping_add(delta);
                    self.pos = pos + 4 + len;
                    return Some(Ok(PageItem::Event(RawEvent {
                        timestamp: self.ts,
                        cpu: self.cpu,
                        offset: self.base + pos,
                        data: payload,
                    })));
                }
                0 => {
                    let len = match self.word(pos + 4, "event length") {
                        Ok(l) => l as usize,
                        Err(e) => return self.fail(e),
                    };
                    if len < 4 {
                        return self.fail(ParseError::BadValue {
                            offset: self.base + pos + 4,
                            what: "event length",
                            expected: "at least 4",
                            found: len as u64,
                        });
                    }
                    let plen = (len - 4 + 3) & !3;
                    let start = pos + 8;
                    let Some(payload) = start.checked_add(plen).and_then(|end| self.data.get(start..end)) else {
                        let avail = self.data.len().saturating_sub(start);
                        return self.fail(ParseError::truncated("event payload", self.base + start, plen, avail));
                    };
                    self.ts = self.ts.wrapping_add(delta);
                    self.pos = start + plen;
                    return Some(Ok(PageItem::Event(RawEvent {
                        timestamp: self.ts,
                        cpu: self.cpu,
                        offset: self.base + pos,
                        data: payload,
                    })));
                }
                TYPE_PADDING => {
                    if delta == 0 {
                        // A null event: the rest of the page is unused.
                        self.pos = self.data.len();
                        return None;
                    }
                    // A discarded event: skip it (its delta still counts, as libtraceevent does).
                    let len = match self.word(pos + 4, "padding length") {
                        Ok(l) => l as usize,
                        Err(e) => return self.fail(e),
                    };
                    self.ts = self.ts.wrapping_add(delta);
                    self.pos = pos.saturating_add(4).saturating_add(len.max(4));
                }
                TYPE_TIME_EXTEND => {
                    let ext = match self.word(pos + 4, "time extend") {
                        Ok(l) => l as u64,
                        Err(e) => return self.fail(e),
                    };
                    self.ts = self.ts.wrapping_add((ext << TS_SHIFT) + delta);
                    self.pos = pos + 8;
                }
                _ => {
                    // TYPE_TIME_STAMP: an absolute timestamp; the top bits come from the current time.
                    let ext = match self.word(pos + 4, "time stamp") {
                        Ok(l) => l as u64,
                        Err(e) => return self.fail(e),
                    };
                    let mut abs = (ext << TS_SHIFT) | delta;
                    if self.ts & TS_MSB != 0 {
                        abs |= self.ts & TS_MSB;
                        if abs < self.ts {
                            abs = abs.wrapping_add(1 << 59);
                        }
                    }
                    self.ts = abs;
                    self.pos = pos + 8;
                }
            }
        }
    }
}

/// Iterator over the items of consecutive pages of `page_size` bytes (as read from
/// `trace_pipe_raw` or a trace.dat CPU section). Yields `Result`; stops after the first error.
#[derive(Debug, Clone)]
pub struct Pages<'a> {
    buf: &'a [u8],
    page_size: usize,
    layout: PageLayout,
    cpu: u32,
    next_page: usize,
    cur: PageItems<'a>,
}

impl<'a> Pages<'a> {
    /// Reads `buf` as pages of `page_size` bytes (a trailing partial page is an error).
    pub fn new(buf: &'a [u8], page_size: usize, layout: PageLayout, cpu: u32) -> Pages<'a> {
        Pages {
            buf,
            page_size: page_size.max(layout.data_offset + 8),
            layout,
            cpu,
            next_page: 0,
            cur: PageItems { data: &[], pos: 0, base: 0, ts: 0, endian: layout.endian, cpu, pending_lost: None },
        }
    }
}

impl<'a> Iterator for Pages<'a> {
    type Item = Result<PageItem<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.cur.next() {
                Some(Err(e)) => {
                    self.next_page = self.buf.len();
                    return Some(Err(e));
                }
                Some(ok) => return Some(ok),
                None => {}
            }
            let start = self.next_page;
            if start >= self.buf.len() {
                return None;
            }
            let Some(bytes) = self.buf.get(start..start + self.page_size) else {
                self.next_page = self.buf.len();
                return Some(Err(ParseError::truncated("page", start, self.page_size, self.buf.len() - start)));
            };
            self.next_page = start + self.page_size;
            match Page::parse(bytes, &self.layout, self.cpu) {
                Ok(p) => self.cur = p.items(),
                Err(e) => {
                    self.next_page = self.buf.len();
                    return Some(Err(offset_by(e, start)));
                }
            }
        }
    }
}

/// Shifts the offset in an error by `base` (errors inside a page name page-relative offsets).
fn offset_by(e: ParseError, base: usize) -> ParseError {
    match e {
        ParseError::Truncated { offset, wanted, available, what } => {
            ParseError::Truncated { offset: offset + base, wanted, available, what }
        }
        ParseError::BadValue { offset, what, expected, found } => {
            ParseError::BadValue { offset: offset + base, what, expected, found }
        }
        other => other,
    }
}

#[cfg(test)]
pub(crate) mod tests;
