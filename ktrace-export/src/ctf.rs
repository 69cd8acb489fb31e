//! CTF 1.8 (the Common Trace Format LTTng writes), as babeltrace2 and Trace Compass open it.
//!
//! A trace directory holds `metadata` (TSDL text, written at [`Writer::finish`] from the event
//! formats seen) and one stream file per CPU (`channel0_CPU`), made of packets of at most
//! [`PACKET_BYTES`] of events. Specification: <https://diamon.org/ctf/v1.8.3/>.
//! - Packet header `{ magic, stream_id }`; packet context `{ timestamp_begin, timestamp_end,
//!   content_size, packet_size, events_discarded, cpu_id }`: babeltrace2 reports a loss as
//!   discarded events between two packets (a loss without a count counts as 1).
//! - Event header `{ id, timestamp }` (64-bit, on a 1 GHz clock named `trace_clock`), event context
//!   `{ common_pid, common_flags, common_preempt_count }`, and the payload: the event's own fields
//!   from its tracefs format, in order: integers and pointers as integers of their size and
//!   signedness (pointers in hex), `char[]` and string `__data_loc` fields as strings, fixed arrays
//!   as arrays, dynamic arrays as a `NAME_len` count and a sequence.
//!
//! Integers are written in the traced machine's byte order, all byte-aligned. A field name that is
//! a TSDL keyword is written with a leading `_`, which CTF readers strip.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use ktrace_core::format::{Field, FieldKind};
use ktrace_core::{Endian, EventFormat, Lost, RawData, Value};
use ktrace_ftrace::Event;

use crate::Writer;
use crate::error::{Error, IoContext, Result};
use crate::sink::Pipe;

/// Events per packet are written out when they reach this many bytes.
pub const PACKET_BYTES: usize = 64 << 10;
const MAGIC: u32 = 0xc1fc_1fc1;
/// Packet header and context: magic, stream_id, 2 timestamps, 2 sizes, discarded, cpu_id.
const PACKET_HEAD: usize = 4 + 4 + 8 + 8 + 8 + 8 + 8 + 4;

/// One CPU's stream.
#[derive(Debug, Default)]
struct Stream {
    /// Its file's index in the writer thread, once created.
    file: Option<usize>,
    /// The packet being filled: [`PACKET_HEAD`] bytes of room for its header (once the file
    /// is created), then the events.
    events: Vec<u8>,
    head: Vec<u8>,
    begin: u64,
    end: u64,
    discarded: u64,
    discarded_written: u64,
}

/// How a tracefs field is laid out in the CTF payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int { bytes: usize, signed: bool, hex: bool },
    Str,
    Bytes(usize),
    Array { count: usize, elem: usize },
    Seq { elem: usize },
}

fn ty(f: &Field) -> Ty {
    let int = |n: usize| matches!(n, 1 | 2 | 4 | 8);
    match f.kind {
        FieldKind::Int | FieldKind::Pointer if int(f.size) => {
            Ty::Int { bytes: f.size, signed: f.signed, hex: f.kind == FieldKind::Pointer }
        }
        FieldKind::CharArray | FieldKind::DataLoc { string: true, .. } | FieldKind::RelLoc { string: true, .. } => {
            Ty::Str
        }
        FieldKind::Array { count, elem_size } if int(elem_size) && count * elem_size == f.size => {
            Ty::Array { count, elem: elem_size }
        }
        FieldKind::DataLoc { elem_size, .. } | FieldKind::RelLoc { elem_size, .. } => {
            Ty::Seq { elem: if int(elem_size) { elem_size } else { 1 } }
        }
        _ => Ty::Bytes(f.size),
    }
}

/// Writes a CTF 1.8 trace into a directory.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ktrace_export::{Ctf, Writer};
/// let dat = ktrace_ftrace::TraceDat::parse(&std::fs::read("trace.dat")?)?;
/// let mut w = Ctf::create("trace-ctf".as_ref(), dat.endian)?;
/// ktrace_export::write_recording(&dat.recording()?, &mut w)?;
/// // babeltrace2 trace-ctf
/// # Ok(()) }
/// ```
///
/// The stream files are written on a thread of their own (one for all CPUs), each packet handed
/// to it whole.
#[derive(Debug)]
pub struct Ctf {
    dir: PathBuf,
    endian: Endian,
    streams: Vec<Stream>,
    files: Pipe<File>,
    formats: Vec<EventFormat>,
    /// Each event id's write plan, made the first time the id is seen.
    plans: Vec<Option<Vec<Step>>>,
}

/// How to write a run of an event's fields: the plan of a format, made once per event id so
/// that an event is a few copies, not a lookup and a decode per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Record bytes `start..end` as they are: integers, fixed arrays and fixed byte fields laid
    /// out back to back (the payload declares them in the record's byte order); `field` is the
    /// first of them.
    Copy { start: usize, end: usize, field: usize },
    /// Field `field` as a string or a sequence (read through its value).
    Value(usize),
}

/// The plan of `format`: consecutive fixed-size fields merged into one copy.
fn plan(format: &EventFormat) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, f) in format.fields.iter().enumerate() {
        let size = match ty(f) {
            Ty::Int { bytes, .. } => bytes,
            Ty::Bytes(n) => n,
            Ty::Array { count, elem } => count * elem,
            Ty::Str | Ty::Seq { .. } => {
                steps.push(Step::Value(i));
                continue;
            }
        };
        match steps.last_mut() {
            Some(Step::Copy { end, .. }) if *end == f.offset => *end += size,
            _ => steps.push(Step::Copy { start: f.offset, end: f.offset + size, field: i }),
        }
    }
    steps
}

impl Ctf {
    /// Creates `dir` (and its parents) for a trace whose integers are in `endian` order: the
    /// records' own (fixed-size fields are copied from the records as they are).
    pub fn create(dir: &Path, endian: Endian) -> Result<Ctf> {
        std::fs::create_dir_all(dir).writing(|| dir.display().to_string())?;
        let files = Pipe::new().writing(|| dir.display().to_string())?;
        Ok(Ctf { dir: dir.to_owned(), endian, streams: Vec::new(), files, formats: Vec::new(), plans: Vec::new() })
    }

    /// Writes CPU `cpu`'s packet (also an empty one when only the discarded count changed).
    fn flush(&mut self, cpu: u32) -> Result<()> {
        let e = self.endian;
        let Some(s) = self.streams.get_mut(cpu as usize) else { return Ok(()) };
        if s.events.len() <= PACKET_HEAD && s.discarded == s.discarded_written {
            return Ok(());
        }
        let bits = (s.events.len() * 8) as u64;
        s.head.clear();
        put(&mut s.head, e, MAGIC as u64, 4);
        put(&mut s.head, e, 0, 4);
        put(&mut s.head, e, s.begin, 8);
        put(&mut s.head, e, s.end, 8);
        put(&mut s.head, e, bits, 8);
        put(&mut s.head, e, bits, 8);
        put(&mut s.head, e, s.discarded, 8);
        put(&mut s.head, e, cpu as u64, 4);
        if let Some(f) = s.file {
            if let Some(room) = s.events.get_mut(..PACKET_HEAD) {
                room.copy_from_slice(&s.head);
            }
            self.files.put(f, &mut s.events, 0).writing(|| format!("CTF stream of cpu {cpu}"))?;
            s.events.resize(PACKET_HEAD, 0);
        }
        s.discarded_written = s.discarded;
        s.begin = s.end;
        Ok(())
    }

    /// The TSDL metadata for the formats seen.
    pub fn metadata(&self) -> String {
        let bo = match self.endian {
            Endian::Big => "be",
            Endian::Little => "le",
        };
        let mut m = String::from("/* CTF 1.8 */\n");
        for (n, bits, signed) in [("uint8_t", 8, false), ("uint32_t", 32, false), ("uint64_t", 64, false)]
            .into_iter()
            .chain([("int32_t", 32, true)])
        {
            let _ = writeln!(m, "typealias integer {{ size = {bits}; align = 8; signed = {signed}; }} := {n};");
        }
        let _ = write!(
            m,
            "trace {{\n\tmajor = 1;\n\tminor = 8;\n\tbyte_order = {bo};\n\tpacket.header := struct {{ uint32_t magic; uint32_t stream_id; }};\n}};\n\
             env {{\n\tdomain = \"kernel\";\n\ttracer_name = \"ktrace\";\n}};\n\
             clock {{\n\tname = trace_clock;\n\tdescription = \"the ftrace instance's trace clock\";\n\tfreq = 1000000000;\n\toffset = 0;\n}};\n\
             typealias integer {{ size = 64; align = 8; signed = false; map = clock.trace_clock.value; }} := uint64_clock_t;\n\
             stream {{\n\tid = 0;\n\
             \tpacket.context := struct {{ uint64_clock_t timestamp_begin; uint64_clock_t timestamp_end; uint64_t content_size; uint64_t packet_size; uint64_t events_discarded; uint32_t cpu_id; }};\n\
             \tevent.header := struct {{ uint32_t id; uint64_clock_t timestamp; }};\n\
             \tevent.context := struct {{ int32_t common_pid; uint8_t common_flags; uint8_t common_preempt_count; }};\n}};\n"
        );
        for f in &self.formats {
            let _ = write!(
                m,
                "event {{\n\tname = \"{}\";\n\tid = {};\n\tstream_id = 0;\n\tfields := struct {{\n",
                f.name, f.id
            );
            for field in &f.fields {
                let name = ident(&field.name);
                let int = |bytes: usize, signed: bool, hex: bool| {
                    let base = if hex { 16 } else { 10 };
                    format!("integer {{ size = {}; align = 8; signed = {signed}; base = {base}; }}", bytes * 8)
                };
                let _ = match ty(field) {
                    Ty::Int { bytes, signed, hex } => writeln!(m, "\t\t{} {name};", int(bytes, signed, hex)),
                    Ty::Str => writeln!(m, "\t\tstring {name};"),
                    Ty::Bytes(n) => writeln!(m, "\t\tuint8_t {name}[{n}];"),
                    Ty::Array { count, elem } => {
                        writeln!(m, "\t\t{} {name}[{count}];", int(elem, field.signed, false))
                    }
                    Ty::Seq { elem } => writeln!(
                        m,
                        "\t\tuint32_t {}_len;\n\t\t{} {name}[{}_len];",
                        field.name,
                        int(elem, field.signed, false),
                        field.name
                    ),
                };
            }
            m.push_str("\t};\n};\n");
        }
        m
    }
}

/// CPU `cpu`'s stream in `streams`, its file created in `dir` (and handed to `files`) the first
/// time.
fn stream<'s>(streams: &'s mut Vec<Stream>, files: &mut Pipe<File>, dir: &Path, cpu: u32) -> Result<&'s mut Stream> {
    let i = cpu as usize;
    if streams.len() <= i {
        streams.resize_with(i + 1, Stream::default);
    }
    let s = streams.get_mut(i).ok_or_else(|| std::io::Error::other("cpu")).writing(|| "CTF".into())?;
    if s.file.is_none() {
        let path = dir.join(format!("channel0_{cpu}"));
        let name = || path.display().to_string();
        let f = File::create(&path).writing(name)?;
        s.file = Some(files.open(f, name()).writing(name)?);
        s.events.reserve(PACKET_HEAD + PACKET_BYTES + 4096);
        s.events.resize(PACKET_HEAD, 0);
    }
    Ok(s)
}

/// A field name as a TSDL identifier (keywords get a leading `_`, which readers strip).
fn ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "align",
        "callsite",
        "const",
        "char",
        "clock",
        "double",
        "enum",
        "env",
        "event",
        "floating_point",
        "float",
        "integer",
        "int",
        "long",
        "short",
        "signed",
        "stream",
        "string",
        "struct",
        "trace",
        "typealias",
        "typedef",
        "unsigned",
        "variant",
        "void",
        "_Bool",
        "_Complex",
        "_Imaginary",
    ];
    if KEYWORDS.contains(&name) { format!("_{name}") } else { name.to_owned() }
}

/// `v`'s low `n` bytes in `e` order.
#[inline]
fn put(b: &mut Vec<u8>, e: Endian, v: u64, n: usize) {
    match e {
        Endian::Little => b.extend_from_slice(v.to_le_bytes().get(..n).unwrap_or_default()),
        Endian::Big => b.extend_from_slice(v.to_be_bytes().get(8 - n.min(8)..).unwrap_or_default()),
    }
}

/// Copies the first `n` bytes of `a` (the caller checked it holds them).
fn put_bytes(b: &mut Vec<u8>, a: RawData<'_>, n: usize) {
    let (x, y) = match a {
        RawData::Single(s) => (s, &[][..]),
        RawData::Split(x, y) => (x, y),
    };
    let (x, y) = (x.get(..n).unwrap_or(x), y.get(..n.saturating_sub(x.len())).unwrap_or(y));
    b.extend_from_slice(x);
    b.extend_from_slice(y);
}

impl Writer for Ctf {
    fn event(&mut self, ev: &Event<'_>) -> Result<()> {
        let e = self.endian;
        let id = ev.id();
        let i = id as usize;
        if self.plans.len() <= i {
            self.plans.resize_with(i + 1, || None);
        }
        let Some(slot) = self.plans.get_mut(i) else { return Ok(()) };
        let steps = match slot {
            Some(steps) => steps,
            None => {
                self.formats.push(ev.format.clone());
                slot.insert(plan(ev.format))
            }
        };
        let ts = ev.timestamp().ns;
        let s = stream(&mut self.streams, &mut self.files, &self.dir, ev.cpu())?;
        if s.events.len() <= PACKET_HEAD && s.discarded == s.discarded_written {
            s.begin = ts;
        }
        s.end = ts;
        let b = &mut s.events;
        put(b, e, id as u64, 4);
        put(b, e, ts, 8);
        put(b, e, ev.pid() as u32 as u64, 4);
        b.push(ev.flags());
        b.push(ev.preempt_count());
        let rec = ev.data();
        let bad = |i: usize, what: String| {
            let f = ev.format.fields.get(i);
            Error::Field {
                event: format!("{}:{}", ev.system(), ev.name()),
                field: f.map(|f| f.name.clone()).unwrap_or_default(),
                offset: f.map_or(0, |f| f.offset),
                what,
            }
        };
        for step in steps.iter() {
            match *step {
                Step::Copy { start, end, field } => match rec.get(start..end) {
                    Some(bytes) => b.extend_from_slice(bytes),
                    None => {
                        // The first field of the run that the record is too short for.
                        let short = ev
                            .format
                            .fields
                            .iter()
                            .enumerate()
                            .skip(field)
                            .find(|(_, f)| f.offset + f.size > rec.len());
                        let i = short.map_or(field, |(i, _)| i);
                        return Err(bad(i, format!("the record ends at byte {}", rec.len())));
                    }
                },
                Step::Value(i) => {
                    let Some(f) = ev.format.fields.get(i) else { continue };
                    match (ty(f), f.value(RawData::Single(rec), e).map_err(|err| bad(i, err.to_string()))?) {
                        (Ty::Str, Value::Str(s)) => {
                            b.extend(s.iter().filter(|c| **c != 0));
                            b.push(0);
                        }
                        (Ty::Seq { elem }, Value::Array(a)) => {
                            let n = a.len() / elem;
                            put(b, e, n as u64, 4);
                            put_bytes(b, a, n * elem);
                        }
                        (t, v) => return Err(bad(i, format!("{v:?} does not fit the declared {t:?}"))),
                    }
                }
            }
        }
        if s.events.len() >= PACKET_HEAD + PACKET_BYTES {
            self.flush(ev.cpu())?;
        }
        Ok(())
    }

    fn lost(&mut self, lost: &Lost) -> Result<()> {
        self.flush(lost.cpu)?;
        let s = stream(&mut self.streams, &mut self.files, &self.dir, lost.cpu)?;
        s.discarded = s.discarded.saturating_add(lost.count.unwrap_or(1));
        s.end = s.end.max(lost.timestamp_ns);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        for cpu in 0..self.streams.len() {
            self.flush(cpu as u32)?;
        }
        self.files.sync().writing(|| "the CTF streams".into())?;
        let path = self.dir.join("metadata");
        std::fs::write(&path, self.metadata()).writing(|| path.display().to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use crate::testing;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ktrace-export-ctf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// cpu 1's stream reads back as one packet with the sample's payload, field by field.
    #[test]
    fn packets_and_payloads_read_back() {
        let d = dir("ok");
        let mut w = Ctf::create(&d, Endian::NATIVE).unwrap();
        testing::write(&mut w);
        let meta = std::fs::read_to_string(d.join("metadata")).unwrap();
        assert!(meta.contains("name = \"sample\";") && meta.contains("string msg;"), "{meta}");
        let s = std::fs::read(d.join("channel0_1")).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        let mut c = ktrace_core::Cursor::new(&s).with_endian(Endian::NATIVE);
        let mut u = |n: usize| match n {
            1 => c.u8().unwrap() as u64,
            2 => c.u16().unwrap() as u64,
            4 => c.u32().unwrap() as u64,
            _ => c.u64().unwrap(),
        };
        assert_eq!(u(4), MAGIC as u64);
        assert_eq!(u(4), 0, "stream id");
        assert_eq!((u(8), u(8)), (0, 2500), "the stream's first packet ends at the sample");
        let bits = u(8);
        assert_eq!((bits, u(8)), (s.len() as u64 * 8, s.len() as u64 * 8));
        assert_eq!((u(8), u(4)), (7, 1), "7 events discarded before it; cpu 1");
        assert_eq!((u(4), u(8), u(4), u(1), u(1)), (testing::SAMPLE as u64, 2500, 300, 0, 0), "event header");
        assert_eq!(u(4) as i32, -5);
        let rest = c.bytes(c.remaining()).unwrap();
        let mut want = b"hello\0".to_vec();
        want.extend([1u32, 2].iter().flat_map(|w| w.to_ne_bytes()));
        want.extend(testing::long_msg().as_bytes());
        want.push(0);
        assert_eq!(rest, &want[..], "name, words by value, msg");
    }

    /// A field the record is too short for is an error naming the event, field and offset, not
    /// a zeroed array.
    #[test]
    fn a_short_record_is_an_error_naming_the_field() {
        let d = dir("short");
        let mut w = Ctf::create(&d, Endian::NATIVE).unwrap();
        let dec = testing::decoder();
        let mut r = testing::records().pop().unwrap();
        r.2.truncate(30);
        let err = w.event(&testing::event(&dec, &r)).unwrap_err();
        let _ = std::fs::remove_dir_all(&d);
        let Error::Field { event, field, offset, .. } = &err else { panic!("{err}") };
        assert_eq!((event.as_str(), field.as_str(), *offset), ("test:sample", "words", 28), "{err}");
    }
}
