//! `struct blk_io_trace` records (blktrace_api.h, version 7) and `struct blk_io_trace2` records
//! (version 8: a 64-bit action, 64-byte header; Linux 6.19+ with `BLKTRACESETUP2`, and its ftrace
//! `blk` tracer): parsing, typed actions, streams. A stream may mix neither: each record says its
//! version in its magic word and is read by it.

use bitflags::bitflags;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

use ktrace_core::{Cursor, ParseError, Timestamped};

/// `BLK_IO_TRACE_MAGIC`.
pub const MAGIC: u32 = 0x6561_7400;
/// `BLK_IO_TRACE_VERSION`: `struct blk_io_trace`.
pub const VERSION: u8 = 0x07;
/// `BLK_IO_TRACE2_VERSION`: `struct blk_io_trace2`.
pub const VERSION2: u8 = 0x08;

/// Header sizes of the two versions.
const LEN_V7: usize = 48;
const LEN_V8: usize = 64;

/// `struct blk_io_trace` (48 bytes, native byte order of the traced machine).
#[doc(alias = "blk_io_trace")]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BlkIoTraceRaw {
    magic: [u8; 4],
    sequence: [u8; 4],
    time: [u8; 8],
    sector: [u8; 8],
    bytes: [u8; 4],
    action: [u8; 4],
    pid: [u8; 4],
    device: [u8; 4],
    cpu: [u8; 4],
    error: [u8; 2],
    pdu_len: [u8; 2],
}
const _: () = assert!(size_of::<BlkIoTraceRaw>() == 48);

/// `struct blk_io_trace2` (64 bytes, version 8: the action widened to 64 bits, after the pid).
#[doc(alias = "blk_io_trace2")]
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct BlkIoTrace2Raw {
    head: Trace2Head,
    error: [u8; 2],
    pdu_len: [u8; 2],
    pad: [u8; 12],
}

/// The first 48 bytes of `struct blk_io_trace2`: all of it that Linux 7.x's ftrace `blk` tracer
/// writes under a v7 magic (see [`FtraceBinRecords`]).
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct Trace2Head {
    magic: [u8; 4],
    sequence: [u8; 4],
    time: [u8; 8],
    sector: [u8; 8],
    bytes: [u8; 4],
    pid: [u8; 4],
    action: [u8; 8],
    device: [u8; 4],
    cpu: [u8; 4],
}
const _: () = assert!(size_of::<BlkIoTrace2Raw>() == LEN_V8);
const _: () = assert!(size_of::<Trace2Head>() == LEN_V7);
const _: () = assert!(std::mem::offset_of!(Trace2Head, pid) == 28);
const _: () = assert!(std::mem::offset_of!(Trace2Head, action) == 32);
const _: () = assert!(std::mem::offset_of!(BlkIoTrace2Raw, pdu_len) == 50);
const _: () = assert!(std::mem::offset_of!(BlkIoTraceRaw, action) == 28);
const _: () = assert!(std::mem::offset_of!(BlkIoTraceRaw, pdu_len) == 46);

bitflags! {
    /// `BLK_TC_*` categories (the action's top 16 bits). Unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Category: u16 {
        /// BLK_TC_READ
        const READ = 1 << 0;
        /// BLK_TC_WRITE
        const WRITE = 1 << 1;
        /// BLK_TC_FLUSH
        const FLUSH = 1 << 2;
        /// BLK_TC_SYNC
        const SYNC = 1 << 3;
        /// BLK_TC_QUEUE
        const QUEUE = 1 << 4;
        /// BLK_TC_REQUEUE
        const REQUEUE = 1 << 5;
        /// BLK_TC_ISSUE
        const ISSUE = 1 << 6;
        /// BLK_TC_COMPLETE
        const COMPLETE = 1 << 7;
        /// BLK_TC_FS
        const FS = 1 << 8;
        /// BLK_TC_PC
        const PC = 1 << 9;
        /// BLK_TC_NOTIFY
        const NOTIFY = 1 << 10;
        /// BLK_TC_AHEAD
        const AHEAD = 1 << 11;
        /// BLK_TC_META
        const META = 1 << 12;
        /// BLK_TC_DISCARD
        const DISCARD = 1 << 13;
        /// BLK_TC_DRV_DATA
        const DRV_DATA = 1 << 14;
        /// BLK_TC_FUA
        const FUA = 1 << 15;
        const _ = !0;
    }
}

/// `__BLK_TA_*` action codes (low 16 bits); for notify records, `__BLK_TN_*`.
#[doc(alias = "BLK_TA_QUEUE")]
#[doc(alias = "BLK_TA_COMPLETE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(pub u16);

macro_rules! actions {
    ($($name:ident = $v:expr => $letter:expr),* $(,)?) => {
        impl Action {
            $(#[doc = concat!("`__BLK_TA_", stringify!($name), "`")] pub const $name: Action = Action($v);)*
            /// blkparse's one-letter code (`Q`, `G`, `I`, `D`, `C`, `M`, `F`…), `?` if unknown.
            pub fn letter(self) -> &'static str {
                match self.0 & 0xff { $($v => $letter,)* _ => "?" }
            }
        }
    };
}
actions! {
    QUEUE = 1 => "Q", BACKMERGE = 2 => "M", FRONTMERGE = 3 => "F", GETRQ = 4 => "G", SLEEPRQ = 5 => "S",
    REQUEUE = 6 => "R", ISSUE = 7 => "D", COMPLETE = 8 => "C", PLUG = 9 => "P", UNPLUG_IO = 10 => "U",
    UNPLUG_TIMER = 11 => "UT", INSERT = 12 => "I", SPLIT = 13 => "X", BOUNCE = 14 => "B", REMAP = 15 => "A",
    ABORT = 16 => "K", DRV_DATA = 17 => "DD", ZONE_PLUG = 18 => "ZP", ZONE_UNPLUG = 19 => "ZU",
}

/// `BLK_TC_ZONE_APPEND`: the first category past the 16 of v7 (in [`BlkRecord::category_bits`],
/// v8 records only): a completion of a zone append write.
pub const CATEGORY_ZONE_APPEND: u64 = 1 << 16;

/// A record's header, read in place by [`parse_at`].
#[derive(Debug, Clone, Copy)]
enum Head<'a> {
    /// `blk_io_trace` (48 bytes).
    V7(&'a BlkIoTraceRaw),
    /// `blk_io_trace2` (64 bytes).
    V8(&'a BlkIoTrace2Raw),
    /// A 48-byte v7 header whose fields sit where `blk_io_trace2` has them (the ftrace blk
    /// tracer's `bin` output on Linux 7.x, seen on 7.2: see [`FtraceBinRecords`]); it has no
    /// room for the error field.
    V2Fields(&'a Trace2Head),
}

fn ne16(b: [u8; 2]) -> u16 {
    u16::from_ne_bytes(b)
}
fn ne32(b: [u8; 4]) -> u32 {
    u32::from_ne_bytes(b)
}
fn ne64(b: [u8; 8]) -> u64 {
    u64::from_ne_bytes(b)
}

/// The bytes before the first NUL (all of them if there is none).
fn until_nul(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or(b)
}

/// One record and its payload, borrowed from the buffer.
#[derive(Debug, Clone, Copy)]
pub struct BlkRecord<'a> {
    /// The header: 48 bytes (v7) or 64 (v8).
    head: Head<'a>,
    /// The payload (`pdu_len` bytes): a process name, a message, remap data, a PC command…
    pub pdu: &'a [u8],
    /// Byte offset of the record in its buffer.
    pub offset: usize,
}

impl<'a> BlkRecord<'a> {
    /// The header with fields at `blk_io_trace2` places (`Err`: at `blk_io_trace` places).
    fn fields(&self) -> Result<&'a Trace2Head, &'a BlkIoTraceRaw> {
        match self.head {
            Head::V7(h) => Err(h),
            Head::V8(h) => Ok(&h.head),
            Head::V2Fields(h) => Ok(h),
        }
    }
    /// The record's version: 7 (`blk_io_trace`) or 8 (`blk_io_trace2`), as its header says.
    pub fn version(&self) -> u8 {
        if let Head::V8(_) = self.head { VERSION2 } else { VERSION }
    }
    /// Sequence number (per CPU; 0 from the ftrace `blk` tracer).
    pub fn sequence(&self) -> u32 {
        ne32(self.fields().map_or_else(|h| h.sequence, |h| h.sequence))
    }
    /// Time in ns since tracing started (or on the trace clock for the ftrace path).
    pub fn time(&self) -> u64 {
        ne64(self.fields().map_or_else(|h| h.time, |h| h.time))
    }
    /// First sector.
    pub fn sector(&self) -> u64 {
        ne64(self.fields().map_or_else(|h| h.sector, |h| h.sector))
    }
    /// Bytes.
    pub fn bytes(&self) -> u32 {
        ne32(self.fields().map_or_else(|h| h.bytes, |h| h.bytes))
    }
    /// The whole action word: code in the low 16 bits, categories above (32 bits in v7, 64 in v8).
    pub fn action_bits(&self) -> u64 {
        self.fields().map_or_else(|h| u64::from(ne32(h.action)), |h| ne64(h.action))
    }
    /// The action code.
    pub fn action(&self) -> Action {
        Action((self.action_bits() & 0xffff) as u16)
    }
    /// The categories of blktrace's first 16 (`BLK_TC_*` up to `FUA`).
    pub fn category(&self) -> Category {
        Category::from_bits_retain((self.action_bits() >> 16) as u16)
    }
    /// All category bits (v8 has room for 48; categories past `FUA`, such as zone appends, are
    /// only there).
    pub fn category_bits(&self) -> u64 {
        self.action_bits() >> 16
    }
    /// A zone append completion (`BLK_TA_ZONE_APPEND`, v8 records, 6.19+).
    pub fn is_zone_append(&self) -> bool {
        self.category_bits() & CATEGORY_ZONE_APPEND != 0
    }
    /// Task id.
    pub fn pid(&self) -> u32 {
        ne32(self.fields().map_or_else(|h| h.pid, |h| h.pid))
    }
    /// Device (`dev_t` in the kernel encoding: major << 20 | minor).
    pub fn device(&self) -> u32 {
        ne32(self.fields().map_or_else(|h| h.device, |h| h.device))
    }
    /// (major, minor).
    pub fn dev_major_minor(&self) -> (u32, u32) {
        (self.device() >> 20, self.device() & 0xfffff)
    }
    /// CPU.
    pub fn cpu(&self) -> u32 {
        ne32(self.fields().map_or_else(|h| h.cpu, |h| h.cpu))
    }
    /// Completion error (0 for a Linux 7.x ftrace record with `blk_io_trace2` fields under a v7
    /// magic: its 48 bytes end before the error field).
    pub fn error(&self) -> i16 {
        match self.head {
            Head::V7(h) => ne16(h.error) as i16,
            Head::V8(h) => ne16(h.error) as i16,
            Head::V2Fields(_) => 0,
        }
    }
    /// True for notify records (process name, timestamp, message).
    pub fn is_notify(&self) -> bool {
        self.category().contains(Category::NOTIFY)
    }
    /// blkparse's RWBS text (`WS`, `R`, `FWFS`, `N`…).
    pub fn rwbs(&self) -> String {
        let c = self.category();
        let mut s = String::new();
        if c.contains(Category::FLUSH) {
            s.push('F');
        }
        if c.contains(Category::DISCARD) {
            s.push('D');
        } else if c.contains(Category::WRITE) {
            s.push('W');
        } else if self.bytes() != 0 {
            s.push('R');
        } else {
            s.push('N');
        }
        if c.contains(Category::FUA) {
            s.push('F');
        }
        if c.contains(Category::AHEAD) {
            s.push('A');
        }
        if c.contains(Category::SYNC) {
            s.push('S');
        }
        if c.contains(Category::META) {
            s.push('M');
        }
        s
    }
    /// The v7 header as a struct (`None` for a v8 record, or a v7 header with v8 field places).
    pub fn raw(&self) -> Option<&'a BlkIoTraceRaw> {
        if let Head::V7(h) = self.head { Some(h) } else { None }
    }
    /// The v8 header as a struct (`None` for a v7 record).
    pub fn raw2(&self) -> Option<&'a BlkIoTrace2Raw> {
        if let Head::V8(h) = self.head { Some(h) } else { None }
    }
    /// The header's bytes (48 or 64).
    pub fn header_bytes(&self) -> &'a [u8] {
        match self.head {
            Head::V7(h) => h.as_bytes(),
            Head::V8(h) => h.as_bytes(),
            Head::V2Fields(h) => h.as_bytes(),
        }
    }
    /// Total bytes of the record (header + pdu).
    pub fn len(&self) -> usize {
        self.header_bytes().len() + self.pdu.len()
    }
    /// Never empty (a header is 48 or 64 bytes).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The payload of a record, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload<'a> {
    /// No payload (most IO records).
    None,
    /// `__BLK_TN_PROCESS`: the name of the process with this pid.
    Process(&'a [u8]),
    /// `__BLK_TN_TIMESTAMP`: wall-clock seconds and nanoseconds at trace start.
    Timestamp {
        /// Seconds.
        sec: u32,
        /// Nanoseconds.
        nsec: u32,
    },
    /// `__BLK_TN_MESSAGE`: a text message (`blk_add_trace_msg`).
    Message(&'a [u8]),
    /// `__BLK_TA_REMAP`: the IO was remapped from another device and sector (big-endian
    /// `struct blk_io_trace_remap`).
    Remap {
        /// Original device.
        dev_from: u32,
        /// New device.
        dev_to: u32,
        /// Original sector.
        sector_from: u64,
    },
    /// Any other payload (SCSI command bytes for PC requests, driver data…).
    Raw(&'a [u8]),
}

impl<'a> BlkRecord<'a> {
    /// The cgroup id, when the record carries one (`__BLK_TA_CGROUP` / `__BLK_TN_CGROUP`: the
    /// payload starts with it).
    pub fn cgroup_id(&self) -> Option<u64> {
        if self.action().0 & 0x100 == 0 {
            return None;
        }
        Cursor::new(self.pdu).u64().ok()
    }

    /// The typed payload.
    pub fn payload(&self) -> Payload<'a> {
        let body = match self.cgroup_id() {
            Some(_) => self.pdu.split_at_checked(8).map_or(self.pdu, |(_, rest)| rest),
            None => self.pdu,
        };
        let mut c = Cursor::new(body);
        if self.is_notify() {
            return match self.action().0 & 0xff {
                0 => Payload::Process(until_nul(body)),
                1 => match (c.u32(), c.u32()) {
                    (Ok(sec), Ok(nsec)) => Payload::Timestamp { sec, nsec },
                    _ => Payload::Raw(body),
                },
                2 => Payload::Message(until_nul(body)),
                _ => Payload::Raw(body),
            };
        }
        if self.action().0 & 0xff == Action::REMAP.0
            && let (Ok(dev_from), Ok(dev_to), Ok(sector_from)) = (c.u32_be(), c.u32_be(), c.u64_be())
        {
            return Payload::Remap { dev_from, dev_to, sector_from };
        }
        if body.is_empty() { Payload::None } else { Payload::Raw(body) }
    }
}

impl Timestamped for BlkRecord<'_> {
    fn timestamp_ns(&self) -> u64 {
        self.time()
    }
}

/// Parses one record at `off` of `buf` (version 7 or 8, by its magic word).
pub fn parse_at(buf: &[u8], off: usize) -> Result<BlkRecord<'_>, ParseError> {
    let mut c = Cursor::at(buf, off).map_err(|_| ParseError::Truncated {
        offset: off,
        wanted: 4,
        available: 0,
        what: "blk_io_trace magic",
    })?;
    let mut peek = c;
    let magic = peek.u32().map_err(|e| e.reading("blk_io_trace magic"))?;
    if magic & 0xffff_ff00 != MAGIC {
        return Err(ParseError::BadValue {
            offset: off,
            what: "blk_io_trace magic",
            expected: "0x656174xx",
            found: magic as u64,
        });
    }
    let (head, plen) = match (magic & 0xff) as u8 {
        VERSION => {
            let h = c.read_ref::<BlkIoTraceRaw>("blk_io_trace")?;
            (Head::V7(h), ne16(h.pdu_len))
        }
        VERSION2 => {
            let h = c.read_ref::<BlkIoTrace2Raw>("blk_io_trace2")?;
            (Head::V8(h), ne16(h.pdu_len))
        }
        v => {
            return Err(ParseError::BadValue {
                offset: off,
                what: "blk_io_trace version",
                expected: "7 or 8",
                found: v as u64,
            });
        }
    };
    let pdu = c.bytes(plen as usize).map_err(|e| e.reading("blk_io_trace pdu"))?;
    Ok(BlkRecord { head, pdu, offset: off })
}

/// Records of a blktrace stream (a relay file or a `<dev>.blktrace.<cpu>` file). Yields `Result`;
/// stops after the first error.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Bytes before each record that are not part of it.
    prefix: usize,
}

impl<'a> Records<'a> {
    /// Records of `buf`.
    pub fn new(buf: &'a [u8]) -> Records<'a> {
        Records { buf, pos: 0, prefix: 0 }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<BlkRecord<'a>, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        match parse_at(self.buf, self.pos + self.prefix) {
            Ok(r) => {
                self.pos += self.prefix + r.len();
                Some(Ok(r))
            }
            Err(e) => {
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

/// An item of the ftrace `blk` tracer's binary stream: a record, or the kernel's notice that the
/// ring buffer dropped events before the next record.
#[derive(Debug, Clone, Copy)]
pub enum BlkItem<'a> {
    /// A record.
    Record(BlkRecord<'a>),
    /// Events the ftrace ring buffer of `cpu` dropped (`count` is `None` when the kernel does not
    /// say how many); `timestamp_ns` is the next record's ftrace time (0 at the end).
    Lost(ktrace_core::Lost),
}

impl<'a> BlkItem<'a> {
    /// The record, if this is one.
    pub fn record(self) -> Option<BlkRecord<'a>> {
        match self {
            BlkItem::Record(r) => Some(r),
            BlkItem::Lost(_) => None,
        }
    }
}

/// The ftrace `blk` tracer's binary output (`trace_pipe` with the `bin` option): each record is
/// prefixed by 16 bytes (pid u32, cpu u32, ts u64) that blkparse does not expect. When the ring
/// buffer dropped events, the kernel writes a text line before the next record, binary mode or
/// not (`print_trace_line()` in kernel/trace/trace.c): `CPU:%d [LOST %lu EVENTS]\n`, or
/// `CPU:%d [LOST EVENTS]\n` when the count is unknown; it becomes a [`BlkItem::Lost`] and
/// reading goes on. (As a prefix, `CPU:` would be a pid of 978,670,659, above any `pid_max`.)
#[derive(Debug, Clone)]
pub struct FtraceBinRecords<'a>(Records<'a>);

impl<'a> FtraceBinRecords<'a> {
    /// Records of `buf`.
    pub fn new(buf: &'a [u8]) -> FtraceBinRecords<'a> {
        FtraceBinRecords(Records { buf, pos: 0, prefix: 16 })
    }

    /// All records and all losses, in stream order each; the first error stops.
    pub fn split(self) -> Result<(Vec<BlkRecord<'a>>, Vec<ktrace_core::Lost>), ParseError> {
        let (mut recs, mut lost) = (Vec::new(), Vec::new());
        for item in self {
            match item? {
                BlkItem::Record(r) => recs.push(r),
                BlkItem::Lost(l) => lost.push(l),
            }
        }
        Ok((recs, lost))
    }

    /// Parses the kernel's lost-events line at the current position, if one starts there.
    fn lost_line(&mut self) -> Option<Result<ktrace_core::Lost, ParseError>> {
        let start = self.0.pos;
        let rest = self.0.buf.get(start..)?;
        if !rest.starts_with(b"CPU:") {
            return None;
        }
        let bad = |found: &[u8]| ParseError::Text {
            what: "ftrace lost-events line",
            line: 1,
            expected: "CPU:<cpu> [LOST <count> EVENTS] or CPU:<cpu> [LOST EVENTS]",
            found: String::from_utf8_lossy(found.get(..80).unwrap_or(found)).into_owned(),
        };
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            self.0.pos = self.0.buf.len();
            return Some(Err(bad(rest)));
        };
        let line = rest.get(..nl).unwrap_or_default();
        let parsed = std::str::from_utf8(line).ok().and_then(|l| {
            let (cpu, tail) = l.strip_prefix("CPU:")?.split_once(" [LOST ")?;
            let cpu = cpu.parse::<u32>().ok()?;
            let count = match tail.strip_suffix("EVENTS]")?.trim_end() {
                "" => None,
                n => Some(n.parse::<u64>().ok()?),
            };
            Some((cpu, count))
        });
        let Some((cpu, count)) = parsed else {
            self.0.pos = self.0.buf.len();
            return Some(Err(bad(line)));
        };
        self.0.pos = start + nl + 1;
        // The next record's ftrace prefix: pid u32, cpu u32, ts u64 (none at the end: 0).
        let ts = if self.0.pos >= self.0.buf.len() {
            0
        } else {
            match Cursor::at(self.0.buf, self.0.pos + 8).and_then(|mut c| c.u64()) {
                Ok(ts) => ts,
                Err(e) => {
                    self.0.pos = self.0.buf.len();
                    return Some(Err(e.reading("ftrace blk prefix timestamp")));
                }
            }
        };
        Some(Ok(ktrace_core::Lost { source: ktrace_core::LostSource::Blktrace, cpu, count, timestamp_ns: ts }))
    }
}

impl<'a> Iterator for FtraceBinRecords<'a> {
    type Item = Result<BlkItem<'a>, ParseError>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(lost) = self.lost_line() {
            return Some(lost.map(BlkItem::Lost));
        }
        let mut r = match self.0.next()? {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        // The ftrace prefix names the task: in a v7 header its pid is at 32. Linux 7.x's blk
        // tracer writes `blk_io_trace2` fields under a v7 magic, pid at 28 and the action at 32
        // (seen on 7.2); read such records by those places.
        let ftrace_pid =
            r.offset.checked_sub(16).and_then(|o| Cursor::at(self.0.buf, o).and_then(|mut c| c.u32()).ok());
        if let Head::V7(h) = r.head {
            let as_v2: &Trace2Head = zerocopy::transmute_ref!(h);
            let (p28, p32) = (ne32(as_v2.pid), ne32(h.pid));
            if ftrace_pid == Some(p28) && p28 != p32 {
                r.head = Head::V2Fields(as_v2);
            }
        }
        Some(Ok(BlkItem::Record(r)))
    }
}

/// Losses a per-CPU relay stream shows as gaps in its sequence numbers (the ftrace `blk` tracer
/// sets no sequence numbers: its losses come through the ftrace ring's missed-events pages).
pub fn sequence_gaps<'a>(recs: impl Iterator<Item = BlkRecord<'a>>) -> Vec<ktrace_core::Lost> {
    let mut last: std::collections::BTreeMap<u32, u32> = Default::default();
    let mut out = Vec::new();
    for r in recs {
        if r.sequence() == 0 {
            continue;
        }
        if let Some(prev) = last.insert(r.cpu(), r.sequence())
            && r.sequence() > prev + 1
        {
            out.push(ktrace_core::Lost {
                source: ktrace_core::LostSource::Blktrace,
                cpu: r.cpu(),
                count: Some((r.sequence() - prev - 1) as u64),
                timestamp_ns: r.time(),
            });
        }
    }
    out
}

/// Splits records into per-CPU blktrace files' contents (`<dev>.blktrace.<cpu>`), as blkparse reads:
/// one entry for every CPU up to the last one that has records (empty where a CPU had none).
pub fn per_cpu_files<'a>(recs: impl Iterator<Item = BlkRecord<'a>>) -> std::collections::BTreeMap<u32, Vec<u8>> {
    let mut out: std::collections::BTreeMap<u32, Vec<u8>> = Default::default();
    for r in recs {
        let v = out.entry(r.cpu()).or_default();
        if let Head::V2Fields(_) = r.head {
            // A v8-fields-under-v7-magic record (Linux 7.x ftrace): written as the proper v7
            // record it claims to be, so blkparse reads it.
            v.extend_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
            v.extend_from_slice(&r.sequence().to_ne_bytes());
            v.extend_from_slice(&r.time().to_ne_bytes());
            v.extend_from_slice(&r.sector().to_ne_bytes());
            v.extend_from_slice(&r.bytes().to_ne_bytes());
            v.extend_from_slice(&(r.action_bits() as u32).to_ne_bytes());
            v.extend_from_slice(&r.pid().to_ne_bytes());
            v.extend_from_slice(&r.device().to_ne_bytes());
            v.extend_from_slice(&r.cpu().to_ne_bytes());
            v.extend_from_slice(&r.error().to_ne_bytes());
            v.extend_from_slice(&(r.pdu.len() as u16).to_ne_bytes());
        } else {
            v.extend_from_slice(r.header_bytes());
        }
        v.extend_from_slice(r.pdu);
    }
    // blkparse reads `<dev>.blktrace.0`, `.1`, … and stops at the first missing number: a CPU that
    // saw no IO gets an empty file, as blktrace writes one per CPU.
    // Bounded by the kernel's largest NR_CPUS (8192): a corrupted cpu number must not size the map.
    if let Some(&last) = out.keys().next_back().filter(|&&c| c < 8192) {
        for cpu in 0..last {
            out.entry(cpu).or_default();
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn rec(seq: u32, time: u64, sector: u64, bytes: u32, act: u32, cpu: u32, pdu: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&time.to_ne_bytes());
        v.extend_from_slice(&sector.to_ne_bytes());
        v.extend_from_slice(&bytes.to_ne_bytes());
        v.extend_from_slice(&act.to_ne_bytes());
        v.extend_from_slice(&42u32.to_ne_bytes());
        v.extend_from_slice(&((7u32 << 20) | 3).to_ne_bytes());
        v.extend_from_slice(&cpu.to_ne_bytes());
        v.extend_from_slice(&0u16.to_ne_bytes());
        v.extend_from_slice(&(pdu.len() as u16).to_ne_bytes());
        v.extend_from_slice(pdu);
        v
    }

    #[test]
    fn parses_and_rejects() {
        let q = (Action::QUEUE.0 as u32) | ((Category::QUEUE | Category::WRITE | Category::SYNC).bits() as u32) << 16;
        let mut buf = rec(1, 100, 8, 4096, q, 0, &[]);
        buf.extend(rec(2, 200, 0, 0, (Category::NOTIFY.bits() as u32) << 16, 0, b"bash\0"));
        let v: Vec<_> = Records::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].action(), v[0].rwbs().as_str(), v[0].sector(), v[0].dev_major_minor()),
            (Action::QUEUE, "WS", 8, (7, 3))
        );
        assert_eq!(v[0].action().letter(), "Q");
        assert!(v[1].is_notify());
        assert_eq!(v[1].pdu, b"bash\0");
        let mut bad = buf.clone();
        bad[0] ^= 0xff;
        assert!(matches!(Records::new(&bad).next(), Some(Err(ParseError::BadValue { offset: 0, .. }))));
        for cut in 0..buf.len() {
            let _ = Records::new(&buf[..cut]).count();
        }
        let files = per_cpu_files(v.clone().into_iter());
        assert_eq!(files[&0], buf);
        assert!(sequence_gaps(v.into_iter()).is_empty());
        let mut gap = rec(1, 100, 8, 4096, q, 0, &[]);
        gap.extend(rec(5, 200, 8, 4096, q, 0, &[]));
        let lost = sequence_gaps(Records::new(&gap).flatten());
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].count, Some(3));
    }

    /// A `blk_io_trace2` record (v8): 64-bit action after the pid, 12 bytes of padding.
    pub(crate) fn rec2(seq: u32, sector: u64, bytes: u32, act: u64, cpu: u32, pdu: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&(MAGIC | VERSION2 as u32).to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&1000u64.to_ne_bytes());
        v.extend_from_slice(&sector.to_ne_bytes());
        v.extend_from_slice(&bytes.to_ne_bytes());
        v.extend_from_slice(&42u32.to_ne_bytes()); // pid
        v.extend_from_slice(&act.to_ne_bytes());
        v.extend_from_slice(&((8u32 << 20) | 16).to_ne_bytes());
        v.extend_from_slice(&cpu.to_ne_bytes());
        v.extend_from_slice(&(-5i16).to_ne_bytes());
        v.extend_from_slice(&(pdu.len() as u16).to_ne_bytes());
        v.extend_from_slice(&[0; 12]);
        assert_eq!(v.len(), 64);
        v.extend_from_slice(pdu);
        v
    }

    #[test]
    fn version_8_records_and_mixed_streams() {
        let q = Action::COMPLETE.0 as u64 | (((Category::COMPLETE | Category::WRITE).bits() as u64) << 16) | (1 << 40);
        let mut buf = rec2(9, 2048, 8192, q, 1, &[]);
        buf.extend(rec(10, 5, 16, 512, Action::QUEUE.0 as u32, 1, &[]));
        buf.extend(rec2(11, 0, 0, (Category::NOTIFY.bits() as u64) << 16, 1, b"fio\0"));
        let v: Vec<_> = Records::new(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(v.len(), 3);
        let r = v[0];
        assert_eq!((r.version(), r.sequence(), r.sector(), r.bytes(), r.pid(), r.cpu()), (8, 9, 2048, 8192, 42, 1));
        assert_eq!(
            (r.action(), r.rwbs().as_str(), r.dev_major_minor(), r.error()),
            (Action::COMPLETE, "W", (8, 16), -5)
        );
        assert_eq!(r.category_bits() >> 24, 1, "a category past bit 15 of v8");
        assert!(!r.is_zone_append());
        let za = rec2(1, 0, 4096, Action::COMPLETE.0 as u64 | (CATEGORY_ZONE_APPEND << 16), 0, &[]);
        let z = parse_at(&za, 0).unwrap();
        assert!(z.is_zone_append() && z.action() == Action::COMPLETE);
        assert_eq!((Action(18).letter(), Action(19).letter()), ("ZP", "ZU"));
        assert!(r.raw().is_none() && r.raw2().is_some() && r.header_bytes().len() == 64 && r.len() == 64);
        assert_eq!((v[1].version(), v[1].action()), (7, Action::QUEUE));
        assert_eq!(v[2].payload(), Payload::Process(b"fio"));
        let files = per_cpu_files(v.into_iter());
        assert_eq!(files[&1], buf);
        // CPU 0 saw nothing: an empty file, so blkparse finds .0 before .1.
        assert!(files[&0].is_empty() && files.len() == 2);
        for cut in 0..buf.len() {
            let _ = Records::new(&buf[..cut]).count();
        }
        let mut bad = rec2(1, 0, 0, 0, 0, &[]);
        bad[0] = 9;
        match parse_at(&bad, 0) {
            Err(ParseError::BadValue { what: "blk_io_trace version", found: 9, .. }) => {}
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn ftrace_bin_records_with_v2_fields_under_a_v7_magic() {
        // As Linux 7.2's blk tracer writes them: 16-byte ftrace prefix (pid, cpu, ts), then 48
        // bytes holding blk_io_trace2's first 48 (pid at 28, u64 action at 32, device at 40).
        let mut buf = Vec::new();
        for (pid, act, sector) in [(117u32, 1u64 | (0x1a << 16), 0u64), (0, 8 | (0x18a << 16), 0)] {
            buf.extend_from_slice(&pid.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&5u64.to_ne_bytes());
            let v2 = rec2(0, sector, 4096, act, 0, &[]);
            let mut head = v2[..48].to_vec();
            head[0..4].copy_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
            head[28..32].copy_from_slice(&pid.to_ne_bytes());
            head[46..48].copy_from_slice(&[0, 0]);
            buf.extend_from_slice(&head);
        }
        let (v, lost) = FtraceBinRecords::new(&buf).split().unwrap();
        assert!(lost.is_empty());
        assert_eq!((v[0].action(), v[0].pid(), v[0].rwbs().as_str()), (Action::QUEUE, 117, "WS"));
        assert_eq!((v[1].action(), v[1].pid(), v[1].dev_major_minor()), (Action::COMPLETE, 0, (8, 16)));
        assert!(v.iter().all(|r| r.version() == 7 && r.raw().is_none()));
        // Written out as proper v7 records (as blkparse reads them).
        let files = per_cpu_files(v.iter().copied());
        let back: Vec<_> = Records::new(&files[&0]).collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), 2);
        assert!(back[0].raw().is_some());
        assert_eq!((back[0].action(), back[0].pid(), back[0].rwbs().as_str()), (Action::QUEUE, 117, "WS"));
        assert_eq!((back[1].action(), back[1].dev_major_minor()), (Action::COMPLETE, (8, 16)));
        // A proper v7 stream with its pid at 32 is read as v7.
        let mut ok = vec![0u8; 16];
        ok[0..4].copy_from_slice(&42u32.to_ne_bytes());
        ok.extend(rec(1, 100, 8, 4096, Action::ISSUE.0 as u32 | (1 << 22), 0, &[]));
        let r = FtraceBinRecords::new(&ok).next().unwrap().unwrap().record().unwrap();
        assert_eq!((r.action(), r.pid()), (Action::ISSUE, 42));
        assert!(r.raw().is_some());
    }

    /// What the kernel writes to `trace_pipe` (bin) when the ring dropped events: the text line
    /// of `print_trace_line()` between two prefixed records.
    #[test]
    fn ftrace_lost_events_lines_are_lost_items() {
        let prefixed = |pid: u32, cpu: u32, ts: u64, r: Vec<u8>| {
            let mut v = pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&cpu.to_ne_bytes());
            v.extend_from_slice(&ts.to_ne_bytes());
            v.extend(r);
            v
        };
        let q = Action::QUEUE.0 as u32;
        let mut buf = prefixed(42, 0, 100, rec(0, 100, 8, 4096, q, 0, &[]));
        buf.extend_from_slice(b"CPU:0 [LOST 572812 EVENTS]\n");
        buf.extend(prefixed(42, 0, 900, rec(0, 900, 16, 4096, q, 0, &[])));
        buf.extend_from_slice(b"CPU:1 [LOST EVENTS]\n");
        buf.extend(prefixed(43, 1, 950, rec(0, 950, 24, 4096, q, 1, b"x")));
        buf.extend_from_slice(b"CPU:1 [LOST 3 EVENTS]\n");
        let items: Vec<_> = FtraceBinRecords::new(&buf).collect::<Result<_, _>>().unwrap();
        let shape: Vec<String> = items
            .iter()
            .map(|i| match i {
                BlkItem::Record(r) => format!("rec {}", r.sector()),
                BlkItem::Lost(l) => format!("lost cpu {} {:?} at {}", l.cpu, l.count, l.timestamp_ns),
            })
            .collect();
        assert_eq!(
            shape,
            [
                "rec 8",
                "lost cpu 0 Some(572812) at 900",
                "rec 16",
                "lost cpu 1 None at 950",
                "rec 24",
                "lost cpu 1 Some(3) at 0"
            ]
        );
        let (recs, lost) = FtraceBinRecords::new(&buf).split().unwrap();
        assert_eq!((recs.len(), lost.iter().filter_map(|l| l.count).sum::<u64>()), (3, 572815));
        // Malformed or cut lines are errors naming the text, and the stream stops there.
        for bad in [&b"CPU:0 [LOST x EVENTS]\n"[..], b"CPU:0 [LOST 5 EVENTS]", b"CPU:zero [LOST EVENTS]\n"] {
            let mut b = prefixed(42, 0, 100, rec(0, 100, 8, 4096, q, 0, &[]));
            b.extend_from_slice(bad);
            b.extend(prefixed(42, 0, 900, rec(0, 900, 16, 4096, q, 0, &[])));
            let mut it = FtraceBinRecords::new(&b);
            assert!(matches!(it.next(), Some(Ok(BlkItem::Record(_)))));
            match it.next() {
                Some(Err(ParseError::Text { what: "ftrace lost-events line", .. })) => {}
                r => panic!("{:?}", r.map(|r| r.map(|i| i.record().is_some()))),
            }
            assert!(it.next().is_none());
        }
    }

    #[test]
    fn typed_payloads() {
        let notify = (Category::NOTIFY.bits() as u32) << 16;
        let mut buf = rec(1, 1, 0, 0, notify, 0, b"kworker\0");
        buf.extend(rec(2, 2, 0, 0, notify | 2, 0, b"hello\0"));
        buf.extend(rec(3, 3, 0, 0, notify | 1, 0, &[5, 0, 0, 0, 7, 0, 0, 0]));
        let mut remap = Vec::new();
        remap.extend_from_slice(&0x0080_0001u32.to_be_bytes());
        remap.extend_from_slice(&0x0080_0010u32.to_be_bytes());
        remap.extend_from_slice(&4096u64.to_be_bytes());
        buf.extend(rec(4, 4, 8, 4096, Action::REMAP.0 as u32 | ((Category::QUEUE.bits() as u32) << 16), 0, &remap));
        let mut cg = 77u64.to_ne_bytes().to_vec();
        cg.extend_from_slice(b"x\0");
        buf.extend(rec(5, 5, 0, 0, notify | 0x100 | 2, 0, &cg));
        buf.extend(rec(6, 6, 8, 4096, Action::QUEUE.0 as u32, 0, &[]));
        let p: Vec<_> = Records::new(&buf).map(|r| r.unwrap().payload()).collect();
        assert_eq!(p[0], Payload::Process(b"kworker"));
        assert_eq!(p[1], Payload::Message(b"hello"));
        assert_eq!(p[2], Payload::Timestamp { sec: 5, nsec: 7 });
        assert_eq!(p[3], Payload::Remap { dev_from: 0x0080_0001, dev_to: 0x0080_0010, sector_from: 4096 });
        assert_eq!(p[4], Payload::Message(b"x"));
        assert_eq!(Records::new(&buf).nth(4).unwrap().unwrap().cgroup_id(), Some(77));
        assert_eq!(p[5], Payload::None);
    }
}
