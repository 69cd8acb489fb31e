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

mod ring;
mod stream;
pub use ring::ftrace_bin_from_pages;
pub use stream::{BlkItem, FtraceBinRecords, Records, per_cpu_files, sequence_gaps};

#[cfg(test)]
pub(crate) mod tests;
