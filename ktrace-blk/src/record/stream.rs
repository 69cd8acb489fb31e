//! Streams of records: a blktrace relay or per-CPU file ([`Records`]), the ftrace `blk` tracer's
//! binary output with its loss notices ([`FtraceBinRecords`]), sequence gaps as losses, and the
//! per-CPU files blkparse reads.

use ktrace_core::{Cursor, ParseError};

use super::{BlkRecord, Head, MAGIC, Trace2Head, VERSION, ne32, parse_at};

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
