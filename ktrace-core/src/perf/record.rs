//! Typed perf records: the second stage of reading a perf ring, [`RawPerfRecord::parse`].
//!
//! Layouts follow `enum perf_event_type` in `include/uapi/linux/perf_event.h`. Every read goes
//! through [`Cursor`]; offsets in errors count from the record's start (header included).

use bitflags::bitflags;

use crate::cursor::{Cursor, Reading};
use crate::error::{ParseError, Result};
use crate::lost::{Lost, LostSource};
use crate::perf::{PerfRecordType, RawPerfRecord};
use crate::raw::RawData;

/// Callchain entries at or above this are context markers (`PERF_CONTEXT_KERNEL`, `_USER`, …),
/// not addresses: `(u64)-4095` (`PERF_CONTEXT_MAX`).
pub const PERF_CONTEXT_MAX: u64 = (-4095i64) as u64;

/// `PERF_RECORD_MISC_COMM_EXEC` (COMM) / `PERF_RECORD_MISC_MMAP_DATA` (MMAP): bit 13 of `misc`.
const MISC_BIT13: u16 = 1 << 13;
/// `PERF_RECORD_MISC_MMAP_BUILD_ID`: an MMAP2 record carries a build id instead of the inode.
const MISC_MMAP_BUILD_ID: u16 = 1 << 14;

/// A `bitflags` set of `u64` kernel bits, each flag documented by its kernel name (`$prefix`
/// and the flag's), unknown bits kept.
macro_rules! kernel_flags {
    ($(#[$m:meta])* $name:ident, $prefix:literal: $($flag:ident = $bit:literal),* $(,)?) => {
        bitflags! {
            $(#[$m])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
            pub struct $name: u64 {
                $(#[doc = concat!("`", $prefix, stringify!($flag), "`")] const $flag = 1 << $bit;)*
                const _ = !0;
            }
        }
    };
}

kernel_flags! {
    /// `perf_event_attr.sample_type`: which fields a `PERF_RECORD_SAMPLE` carries (and, with
    /// `sample_id_all`, which trail every other record).
    #[doc(alias = "perf_event_sample_format")]
    SampleType, "PERF_SAMPLE_":
    IP = 0, TID = 1, TIME = 2, ADDR = 3, READ = 4, CALLCHAIN = 5, ID = 6, CPU = 7, PERIOD = 8, STREAM_ID = 9,
    RAW = 10, BRANCH_STACK = 11, REGS_USER = 12, STACK_USER = 13, WEIGHT = 14, DATA_SRC = 15, IDENTIFIER = 16,
    TRANSACTION = 17, REGS_INTR = 18, PHYS_ADDR = 19, AUX = 20, CGROUP = 21, DATA_PAGE_SIZE = 22,
    CODE_PAGE_SIZE = 23, WEIGHT_STRUCT = 24,
}

kernel_flags! {
    /// `perf_event_attr.read_format`: the layout of a read(2) of the event and of a sample's
    /// `PERF_SAMPLE_READ` values (`LOST`: Linux 6.0+).
    #[doc(alias = "perf_event_read_format")]
    ReadFormat, "PERF_FORMAT_":
    TOTAL_TIME_ENABLED = 0, TOTAL_TIME_RUNNING = 1, ID = 2, GROUP = 3, LOST = 4,
}

/// What a parser must know of the `perf_event_attr` an event was opened with to lay out its
/// records: `sample_type`, `read_format` and `sample_id_all`.
#[doc(alias = "perf_event_attr")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct RecordLayout {
    /// `perf_event_attr.sample_type`.
    pub sample_type: SampleType,
    /// `perf_event_attr.read_format` (only used with [`SampleType::READ`]).
    pub read_format: ReadFormat,
    /// `perf_event_attr.sample_id_all` (Linux 2.6.38+): every non-sample record ends with a
    /// `struct sample_id` of the TID, TIME, ID, STREAM_ID, CPU and IDENTIFIER fields asked for.
    pub sample_id_all: bool,
}

impl RecordLayout {
    /// The layout of an event opened with `sample_type` and `sample_id_all` (no `read_format`).
    pub const fn new(sample_type: SampleType, sample_id_all: bool) -> RecordLayout {
        RecordLayout { sample_type, read_format: ReadFormat::empty(), sample_id_all }
    }

    /// The same layout with `read_format` (for samples that carry [`SampleType::READ`]).
    #[must_use]
    pub const fn with_read_format(mut self, read_format: ReadFormat) -> RecordLayout {
        self.read_format = read_format;
        self
    }

    /// Size of the `struct sample_id` trailing every non-sample record (0 without `sample_id_all`).
    pub fn sample_id_size(&self) -> usize {
        if !self.sample_id_all {
            return 0;
        }
        let t = self.sample_type;
        [
            SampleType::TID,
            SampleType::TIME,
            SampleType::ID,
            SampleType::STREAM_ID,
            SampleType::CPU,
            SampleType::IDENTIFIER,
        ]
        .iter()
        .filter(|&&f| t.contains(f))
        .count()
            * 8
    }
}

/// The `struct sample_id` trailing a non-sample record (with `sample_id_all`): each field is
/// `Some` when the event's `sample_type` asked for it.
#[doc(alias = "sample_id")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SampleId {
    /// Process (`PERF_SAMPLE_TID`).
    pub pid: Option<u32>,
    /// Thread (`PERF_SAMPLE_TID`).
    pub tid: Option<u32>,
    /// Time in the event's clock, ns (`PERF_SAMPLE_TIME`).
    pub time: Option<u64>,
    /// Event id (`PERF_SAMPLE_ID` or `PERF_SAMPLE_IDENTIFIER`).
    pub id: Option<u64>,
    /// Stream id (`PERF_SAMPLE_STREAM_ID`).
    pub stream_id: Option<u64>,
    /// CPU (`PERF_SAMPLE_CPU`).
    pub cpu: Option<u32>,
}

/// A sample's callchain: `nr` addresses, leaf first, borrowed from the ring. Context markers
/// (entries at or above [`PERF_CONTEXT_MAX`]) separate kernel from user frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callchain<'a> {
    data: RawData<'a>,
    base: usize,
}

impl<'a> Callchain<'a> {
    /// Entries, markers included.
    pub fn len(&self) -> usize {
        self.data.len() / 8
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Every entry, leaf first, context markers included.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        let mut c = Cursor::new(self.data).with_base(self.base);
        std::iter::from_fn(move || c.u64().ok())
    }

    /// The addresses, leaf first, without the context markers.
    pub fn ips(&self) -> impl Iterator<Item = u64> + 'a {
        self.iter().filter(|&a| a < PERF_CONTEXT_MAX)
    }
}

/// `PERF_RECORD_SAMPLE`: each field is `Some` when the event's `sample_type` asked for it.
/// Fields after `PERF_SAMPLE_RAW` (branch stacks, registers, user stack, weights…) are not read.
#[doc(alias = "PERF_RECORD_SAMPLE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// Process, thread, time, ids and CPU: the fields a `struct sample_id` trailer would hold
    /// (the kernel fills both from the same `perf_sample_data`).
    pub sample_id: SampleId,
    /// Sampled instruction pointer (`PERF_SAMPLE_IP`).
    pub ip: Option<u64>,
    /// Data address (`PERF_SAMPLE_ADDR`).
    pub addr: Option<u64>,
    /// Events this sample stands for (`PERF_SAMPLE_PERIOD`).
    pub period: Option<u64>,
    /// The `read_format` values, unparsed (`PERF_SAMPLE_READ`).
    pub read: Option<RawData<'a>>,
    /// Callchain (`PERF_SAMPLE_CALLCHAIN`).
    pub callchain: Option<Callchain<'a>>,
    /// Raw payload, e.g. a tracepoint's record (`PERF_SAMPLE_RAW`), with the kernel's padding.
    pub raw: Option<RawData<'a>>,
}

/// `PERF_RECORD_MMAP` and `PERF_RECORD_MMAP2`: an executable (or, with `mmap_data`, data) mapping.
#[doc(alias = "PERF_RECORD_MMAP")]
#[doc(alias = "PERF_RECORD_MMAP2")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mmap<'a> {
    /// Process.
    pub pid: u32,
    /// Thread.
    pub tid: u32,
    /// Start address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// File offset of the mapping's start.
    pub pgoff: u64,
    /// The file name (or `[vdso]`, `//anon`…), without its NUL.
    pub filename: &'a [u8],
    /// A data mapping (`PERF_RECORD_MISC_MMAP_DATA`), not code.
    pub data: bool,
    /// MMAP2's extra fields (`None` for MMAP).
    pub mmap2: Option<Mmap2<'a>>,
    /// The trailing `sample_id`.
    pub sample_id: SampleId,
}

/// The fields `PERF_RECORD_MMAP2` (Linux 3.16+) adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mmap2<'a> {
    /// How the file is identified.
    pub file: Mmap2File<'a>,
    /// `PROT_*` bits.
    pub prot: u32,
    /// `MAP_*` bits.
    pub flags: u32,
}

/// How an MMAP2 record identifies the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mmap2File<'a> {
    /// Device and inode.
    Inode {
        /// Device major.
        maj: u32,
        /// Device minor.
        min: u32,
        /// Inode number.
        ino: u64,
        /// Inode generation.
        ino_generation: u64,
    },
    /// The ELF build id (`PERF_RECORD_MISC_MMAP_BUILD_ID`, Linux 5.12+), at most 20 bytes.
    BuildId(&'a [u8]),
}

/// `PERF_RECORD_COMM`: a task's name changed (or it exec'd).
#[doc(alias = "PERF_RECORD_COMM")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comm<'a> {
    /// Process.
    pub pid: u32,
    /// Thread.
    pub tid: u32,
    /// The new name, without its NUL.
    pub name: &'a [u8],
    /// The name changed by an exec (`PERF_RECORD_MISC_COMM_EXEC`, Linux 3.16+).
    pub exec: bool,
    /// The trailing `sample_id`.
    pub sample_id: SampleId,
}

/// `PERF_RECORD_FORK` and `PERF_RECORD_EXIT`.
#[doc(alias = "PERF_RECORD_FORK")]
#[doc(alias = "PERF_RECORD_EXIT")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Task {
    /// Process.
    pub pid: u32,
    /// Parent process.
    pub ppid: u32,
    /// Thread.
    pub tid: u32,
    /// Parent thread.
    pub ptid: u32,
    /// When, in the event's clock (ns).
    pub time: u64,
    /// The trailing `sample_id`.
    pub sample_id: SampleId,
}

/// `PERF_RECORD_THROTTLE` and `PERF_RECORD_UNTHROTTLE`: the kernel lowered (raised) the sample rate.
#[doc(alias = "PERF_RECORD_THROTTLE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Throttle {
    /// When, in the event's clock (ns).
    pub time: u64,
    /// Event id.
    pub id: u64,
    /// Stream id.
    pub stream_id: u64,
    /// The trailing `sample_id`.
    pub sample_id: SampleId,
}

/// A typed perf record, from [`RawPerfRecord::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PerfRecord<'a> {
    /// `PERF_RECORD_SAMPLE`.
    Sample(Sample<'a>),
    /// `PERF_RECORD_MMAP` or `PERF_RECORD_MMAP2`.
    Mmap(Mmap<'a>),
    /// `PERF_RECORD_COMM`.
    Comm(Comm<'a>),
    /// `PERF_RECORD_FORK`.
    Fork(Task),
    /// `PERF_RECORD_EXIT`.
    Exit(Task),
    /// `PERF_RECORD_LOST`: records the ring had no room for, with the kernel's exact count; `cpu`
    /// and `timestamp_ns` come from the `sample_id` (`u32::MAX` and 0 without CPU and TIME).
    Lost(Lost),
    /// `PERF_RECORD_LOST_SAMPLES` (Linux 4.2+): samples dropped before they reached the ring
    /// (e.g. by the PMU), counted like [`PerfRecord::Lost`].
    LostSamples(Lost),
    /// `PERF_RECORD_THROTTLE`.
    Throttle(Throttle),
    /// `PERF_RECORD_UNTHROTTLE`.
    Unthrottle(Throttle),
    /// Any other kind, kept raw (never an error).
    Raw(RawPerfRecord<'a>),
}

impl PerfRecord<'_> {
    /// The loss this record reports (LOST or LOST_SAMPLES).
    pub fn lost(&self) -> Option<Lost> {
        match *self {
            PerfRecord::Lost(l) | PerfRecord::LostSamples(l) => Some(l),
            _ => None,
        }
    }
}

impl<'a> RawPerfRecord<'a> {
    /// Parses the record as an event opened with `layout` laid it out.
    ///
    /// Kinds not typed here are [`PerfRecord::Raw`]. A body too short for its kind, a
    /// callchain or raw payload longer than the record, or a string split by the ring's wrap
    /// (see [`RawPerfRecord::contiguous`]) is a [`ParseError`] naming the offset in the record.
    pub fn parse(&self, layout: &RecordLayout) -> Result<PerfRecord<'a>> {
        let k = self.kind;
        if k == PerfRecordType::SAMPLE {
            return sample(Cursor::new(self.body).with_base(8), layout).map(PerfRecord::Sample);
        }
        if ![
            PerfRecordType::MMAP,
            PerfRecordType::MMAP2,
            PerfRecordType::COMM,
            PerfRecordType::FORK,
            PerfRecordType::EXIT,
            PerfRecordType::LOST,
            PerfRecordType::LOST_SAMPLES,
            PerfRecordType::THROTTLE,
            PerfRecordType::UNTHROTTLE,
        ]
        .contains(&k)
        {
            return Ok(PerfRecord::Raw(*self));
        }
        // The record's own fields, then the sample_id trailer.
        let n = layout.sample_id_size();
        let len = self.body.len();
        let Some(own) = len.checked_sub(n) else {
            return Err(ParseError::truncated("sample_id", 8, n, len));
        };
        let mut trailer = Cursor::new(self.body).with_base(8);
        let mut c = trailer.split(own)?;
        let sample_id = sample_id(trailer, layout)?;
        let lost = |count: u64| Lost {
            source: LostSource::PerfRing,
            cpu: sample_id.cpu.unwrap_or(u32::MAX),
            count: Some(count),
            timestamp_ns: sample_id.time.unwrap_or(0),
        };
        Ok(match k {
            PerfRecordType::MMAP | PerfRecordType::MMAP2 => {
                let (pid, tid) = (c.u32().reading("mmap pid")?, c.u32().reading("mmap tid")?);
                let (addr, len, pgoff) = (c.u64().reading("mmap addr")?, c.u64()?, c.u64()?);
                let mmap2 = if k == PerfRecordType::MMAP2 {
                    let file = if self.misc & MISC_MMAP_BUILD_ID != 0 {
                        let size = c.u8().reading("mmap2 build_id_size")?;
                        c.skip(3)?;
                        let id = c.bytes(20).reading("mmap2 build_id")?;
                        Mmap2File::BuildId(id.get(..usize::from(size).min(20)).unwrap_or(id))
                    } else {
                        let (maj, min) = (c.u32().reading("mmap2 maj")?, c.u32()?);
                        Mmap2File::Inode { maj, min, ino: c.u64()?, ino_generation: c.u64()? }
                    };
                    Some(Mmap2 { file, prot: c.u32().reading("mmap2 prot")?, flags: c.u32()? })
                } else {
                    None
                };
                let filename = c.cstr_in(c.remaining()).reading("mmap filename")?;
                let data = self.misc & MISC_BIT13 != 0;
                PerfRecord::Mmap(Mmap { pid, tid, addr, len, pgoff, filename, data, mmap2, sample_id })
            }
            PerfRecordType::COMM => {
                let (pid, tid) = (c.u32().reading("comm pid")?, c.u32().reading("comm tid")?);
                let name = c.cstr_in(c.remaining()).reading("comm name")?;
                PerfRecord::Comm(Comm { pid, tid, name, exec: self.misc & MISC_BIT13 != 0, sample_id })
            }
            PerfRecordType::FORK | PerfRecordType::EXIT => {
                let (pid, ppid) = (c.u32().reading("task pid")?, c.u32()?);
                let (tid, ptid) = (c.u32()?, c.u32()?);
                let t = Task { pid, ppid, tid, ptid, time: c.u64().reading("task time")?, sample_id };
                if k == PerfRecordType::FORK { PerfRecord::Fork(t) } else { PerfRecord::Exit(t) }
            }
            PerfRecordType::LOST => {
                c.skip(8).reading("lost id")?;
                PerfRecord::Lost(lost(c.u64().reading("lost count")?))
            }
            PerfRecordType::LOST_SAMPLES => PerfRecord::LostSamples(lost(c.u64().reading("lost_samples count")?)),
            _ => {
                let t =
                    Throttle { time: c.u64().reading("throttle time")?, id: c.u64()?, stream_id: c.u64()?, sample_id };
                if k == PerfRecordType::THROTTLE { PerfRecord::Throttle(t) } else { PerfRecord::Unthrottle(t) }
            }
        })
    }
}

/// `struct sample_id` in its order: TID, TIME, ID, STREAM_ID, CPU, IDENTIFIER.
fn sample_id(mut c: Cursor<'_>, layout: &RecordLayout) -> Result<SampleId> {
    let t = layout.sample_type;
    let mut s = SampleId::default();
    if !layout.sample_id_all {
        return Ok(s);
    }
    if t.contains(SampleType::TID) {
        (s.pid, s.tid) = (Some(c.u32().reading("sample_id pid")?), Some(c.u32()?));
    }
    if t.contains(SampleType::TIME) {
        s.time = Some(c.u64().reading("sample_id time")?);
    }
    if t.contains(SampleType::ID) {
        s.id = Some(c.u64().reading("sample_id id")?);
    }
    if t.contains(SampleType::STREAM_ID) {
        s.stream_id = Some(c.u64().reading("sample_id stream_id")?);
    }
    if t.contains(SampleType::CPU) {
        s.cpu = Some(c.u32().reading("sample_id cpu")?);
        c.skip(4)?;
    }
    if t.contains(SampleType::IDENTIFIER) {
        s.id = Some(c.u64().reading("sample_id identifier")?);
    }
    Ok(s)
}

/// `PERF_RECORD_SAMPLE`'s fields in `perf_event.h` order, up to `PERF_SAMPLE_RAW`.
fn sample<'a>(mut c: Cursor<'a>, layout: &RecordLayout) -> Result<Sample<'a>> {
    let t = layout.sample_type;
    let has = |f: SampleType| t.contains(f);
    let mut s = Sample {
        sample_id: SampleId::default(),
        ip: None,
        addr: None,
        period: None,
        read: None,
        callchain: None,
        raw: None,
    };
    if has(SampleType::IDENTIFIER) {
        s.sample_id.id = Some(c.u64().reading("sample identifier")?);
    }
    if has(SampleType::IP) {
        s.ip = Some(c.u64().reading("sample ip")?);
    }
    if has(SampleType::TID) {
        let id = &mut s.sample_id;
        (id.pid, id.tid) = (Some(c.u32().reading("sample pid")?), Some(c.u32().reading("sample tid")?));
    }
    if has(SampleType::TIME) {
        s.sample_id.time = Some(c.u64().reading("sample time")?);
    }
    if has(SampleType::ADDR) {
        s.addr = Some(c.u64().reading("sample addr")?);
    }
    if has(SampleType::ID) {
        s.sample_id.id = Some(c.u64().reading("sample id")?);
    }
    if has(SampleType::STREAM_ID) {
        s.sample_id.stream_id = Some(c.u64().reading("sample stream_id")?);
    }
    if has(SampleType::CPU) {
        s.sample_id.cpu = Some(c.u32().reading("sample cpu")?);
        c.skip(4).reading("sample cpu reserved")?;
    }
    if has(SampleType::PERIOD) {
        s.period = Some(c.u64().reading("sample period")?);
    }
    if has(SampleType::READ) {
        let n = read_size(c, layout.read_format)?;
        s.read = Some(c.raw(n).reading("sample read values")?);
    }
    if has(SampleType::CALLCHAIN) {
        let at = c.offset();
        let nr = c.u64().reading("sample callchain nr")?;
        let n = usize::try_from(nr).ok().and_then(|n| n.checked_mul(8)).filter(|&n| n <= c.remaining()).ok_or(
            ParseError::BadValue {
                offset: at,
                what: "sample callchain nr",
                expected: "as many entries as the record holds",
                found: nr,
            },
        )?;
        let base = c.offset();
        s.callchain = Some(Callchain { data: c.raw(n)?, base });
    }
    if has(SampleType::RAW) {
        let size = c.u32().reading("sample raw size")?;
        s.raw = Some(c.raw(size as usize).reading("sample raw data")?);
    }
    Ok(s)
}

/// Bytes of a `struct read_format` laid out by `f`, starting at `c` (which does not advance).
fn read_size(mut c: Cursor<'_>, f: ReadFormat) -> Result<usize> {
    let times = 8
        * (usize::from(f.contains(ReadFormat::TOTAL_TIME_ENABLED))
            + usize::from(f.contains(ReadFormat::TOTAL_TIME_RUNNING)));
    let per = 8 * (1 + usize::from(f.contains(ReadFormat::ID)) + usize::from(f.contains(ReadFormat::LOST)));
    if !f.contains(ReadFormat::GROUP) {
        return Ok(per + times);
    }
    let at = c.offset();
    let nr = c.u64().reading("sample read nr")?;
    usize::try_from(nr).ok().and_then(|n| n.checked_mul(per)).and_then(|n| n.checked_add(8 + times)).ok_or(
        ParseError::BadValue { offset: at, what: "sample read nr", expected: "a member count that fits", found: nr },
    )
}

#[cfg(test)]
mod tests;
