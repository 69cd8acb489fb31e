//! trace.dat files, as `trace-cmd record` writes and `trace-cmd report` reads them.
//!
//! **Reading:** versions 6 and 7 (7 is what trace-cmd 3.x writes by default, with sections that may
//! be zstd- or zlib-compressed: the `zstd` and `zlib` features, both on by default). **Writing:**
//! version 6, uncompressed, which every trace-cmd since 2.x reads and whose CPU data can be mapped
//! straight from the file. Format documentation: trace-cmd.dat.v6(5), trace-cmd.dat.v7(5).
//!
//! A file's event formats, kallsyms, saved cmdlines and per-CPU pages come back as a [`TraceDat`];
//! [`TraceDat::recording`] turns it into a [`Recording`] for the same time-ordered event iterator as a
//! live recording.

use std::collections::BTreeMap;
#[cfg(any(feature = "zstd", feature = "zlib"))]
use std::io::Read;
use std::io::Write;

use bytes::Bytes;
use ktrace_core::{Clock, Cursor, Endian, FormatRegistry, PageLayout, ParseError};

use crate::error::{Error, Result};
use crate::event::Decoder;
use crate::recorder::Recording;

const MAGIC: &[u8] = b"\x17\x08\x44tracing";
/// Largest cpu id read from a file, far above any kernel's NR_CPUS (8192 on x86 MAXSMP): a
/// [`Recording`] holds one slot per cpu id up to the largest, so a corrupted id must not size it.
const MAX_CPU_ID: u32 = 1 << 16;

/// One buffer (instance) of trace data.
#[derive(Debug, Clone, Default)]
pub struct Buffer {
    /// Instance name ("" for the top instance).
    pub name: String,
    /// Trace clock name (`local`, `mono`…).
    pub clock: String,
    /// Sub-buffer size.
    pub page_size: usize,
    /// Per-CPU page data, by CPU id: views of the file's buffer (no copy) unless the section was
    /// compressed.
    pub cpus: BTreeMap<u32, Bytes>,
}

/// The contents of a trace.dat file.
#[derive(Debug, Clone, Default)]
pub struct TraceDat {
    /// File version (6 or 7).
    pub version: u32,
    /// Byte order of the traced machine.
    pub endian: Endian,
    /// `long` size of the traced machine's user space.
    pub long_size: u8,
    /// The traced machine's page size.
    pub page_size: u32,
    /// `events/header_page` text.
    pub header_page: String,
    /// `events/header_event` text.
    pub header_event: String,
    /// Event formats as `(system, format text)`, `ftrace` system included.
    pub formats: Vec<(String, String)>,
    /// `/proc/kallsyms` text.
    pub kallsyms: String,
    /// `printk_formats` text.
    pub printk: String,
    /// `saved_cmdlines` text.
    pub cmdlines: String,
    /// Trace buffers: the top instance first.
    pub buffers: Vec<Buffer>,
    /// `trace_clock` text of the top instance, when recorded.
    pub trace_clock: Option<String>,
    /// Per-CPU stats texts (`CPUSTAT` options).
    pub cpu_stats: Vec<String>,
}

/// A failed [`Cursor`] read as a trace.dat error naming `what` (a malformed file is always
/// [`Error::TraceDat`]).
trait Dat<T> {
    fn what(self, what: &'static str) -> Result<T>;
}

impl<T> Dat<T> for std::result::Result<T, ParseError> {
    fn what(self, what: &'static str) -> Result<T> {
        self.map_err(|e| match e {
            ParseError::Truncated { offset, wanted, available, .. } => Error::TraceDat {
                offset: offset as u64,
                what: format!("truncated: wanted {wanted} bytes for {what}, {available} left"),
            },
            e => Error::TraceDat { offset: 0, what: format!("{what}: {e}") },
        })
    }
}

/// What trace.dat parsing adds to core's [`Cursor`]: its error type, strings, sections.
trait DatCursor<'a> {
    fn err(&self, what: impl Into<String>) -> Error;
    fn string(&mut self, what: &'static str) -> Result<String>;
    fn expect(&mut self, lit: &[u8], what: &'static str) -> Result<()>;
    fn text(&mut self, len: u64, what: &'static str) -> Result<String>;
    fn at(&self, pos: u64) -> Result<Cursor<'a>>;
}

impl<'a> DatCursor<'a> for Cursor<'a> {
    fn err(&self, what: impl Into<String>) -> Error {
        Error::TraceDat { offset: self.offset() as u64, what: what.into() }
    }
    fn string(&mut self, what: &'static str) -> Result<String> {
        Ok(owned_text(self.cstr().what(what)?))
    }
    fn expect(&mut self, lit: &[u8], what: &'static str) -> Result<()> {
        let at = self.offset();
        let got = self.bytes(lit.len()).what(what)?;
        if got != lit {
            return Err(Error::TraceDat {
                offset: at as u64,
                what: format!("expected {what} ({:?})", String::from_utf8_lossy(lit)),
            });
        }
        Ok(())
    }
    fn text(&mut self, len: u64, what: &'static str) -> Result<String> {
        let n = usize::try_from(len).map_err(|_| self.err(format!("size of {what} too large")))?;
        Ok(owned_text(self.bytes(n).what(what)?))
    }
    /// A cursor at `pos` of the same data.
    fn at(&self, pos: u64) -> Result<Cursor<'a>> {
        let mut c = *self;
        usize::try_from(pos)
            .ok()
            .and_then(|p| c.seek(p).ok())
            .ok_or_else(|| self.err(format!("offset {pos} beyond the file")))?;
        Ok(c)
    }
}

/// `b` as a `String`, invalid UTF-8 replaced: the validating `from_utf8` first, as kallsyms
/// (megabytes) is ASCII and `from_utf8_lossy`'s chunk walk costs several times more.
fn owned_text(b: &[u8]) -> String {
    std::str::from_utf8(b).map_or_else(|_| String::from_utf8_lossy(b).into_owned(), str::to_owned)
}

/// Section id of a v7 options section (the other section ids equal their option ids).
const SECTION_OPTIONS: u16 = 0;
mod opt {
    pub(super) const DONE: u16 = 0;
    pub(super) const CPUSTAT: u16 = 2;
    pub(super) const BUFFER: u16 = 3;
    pub(super) const TRACECLOCK: u16 = 4;
    pub(super) const HEADER_INFO: u16 = 16;
    pub(super) const FTRACE_EVENTS: u16 = 17;
    pub(super) const EVENT_FORMATS: u16 = 18;
    pub(super) const KALLSYMS: u16 = 19;
    pub(super) const PRINTK: u16 = 20;
    pub(super) const CMDLINES: u16 = 21;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Zstd,
    Zlib,
}

fn decompress(c: Compression, data: &[u8], out_len: usize, at: u64) -> Result<Vec<u8>> {
    // The size comes from the file: use it as a hint only, bounded.
    let mut out = Vec::with_capacity(out_len.min(64 << 20));
    // Output past the stated size (one byte is enough to tell) is an error, not memory: a few
    // corrupted bytes of zstd can expand to gigabytes.
    #[cfg(any(feature = "zstd", feature = "zlib"))]
    let limit = out_len as u64 + 1;
    let r = match c {
        Compression::None => {
            out.extend_from_slice(data);
            Ok(())
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => ruzstd::decoding::StreamingDecoder::new(data)
            .map_err(|e| e.to_string())
            .and_then(|d| d.take(limit).read_to_end(&mut out).map(|_| ()).map_err(|e| e.to_string())),
        #[cfg(feature = "zlib")]
        Compression::Zlib => flate2::read::ZlibDecoder::new(data)
            .take(limit)
            .read_to_end(&mut out)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        #[cfg(not(feature = "zstd"))]
        Compression::Zstd => Err("zstd, but ktrace-ftrace was built without its `zstd` feature".to_owned()),
        #[cfg(not(feature = "zlib"))]
        Compression::Zlib => Err("zlib, but ktrace-ftrace was built without its `zlib` feature".to_owned()),
    };
    r.map_err(|e| Error::TraceDat { offset: at, what: format!("decompression failed: {e}") })?;
    if c != Compression::None && out.len() > out_len {
        return Err(Error::TraceDat { offset: at, what: format!("decompresses past its stated size {out_len}") });
    }
    Ok(out)
}

impl TraceDat {
    /// Parses a whole trace.dat file (copying it once; [`TraceDat::from_bytes`] does not).
    pub fn parse(b: &[u8]) -> Result<TraceDat> {
        TraceDat::from_bytes(Bytes::copy_from_slice(b))
    }

    /// Parses a whole trace.dat file held in `file` (`std::fs::read(path)?.into()` moves a `Vec`
    /// in without a copy). The per-CPU data of [`Buffer::cpus`] and of [`TraceDat::recording`]
    /// are views of `file`, so reading a file costs no copy of its pages.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let dat = ktrace_ftrace::TraceDat::from_bytes(std::fs::read("trace.dat")?.into())?;
    /// for ev in dat.recording()?.events() {
    ///     println!("{}", ev?.name());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn from_bytes(file: Bytes) -> Result<TraceDat> {
        let b = &file[..];
        let mut c = Cursor::new(b).with_endian(Endian::Little);
        c.expect(MAGIC, "the trace.dat magic")?;
        let ver = c.string("version")?;
        let version: u32 = ver.parse().map_err(|_| c.err(format!("bad version {ver:?}")))?;
        let endian = match c.u8().what("endianness")? {
            0 => Endian::Little,
            1 => Endian::Big,
            x => return Err(c.err(format!("bad endianness byte {x}"))),
        };
        c = c.with_endian(endian);
        let long_size = c.u8().what("long size")?;
        let page_size = c.u32().what("page size")?;
        let mut t = TraceDat { version, endian, long_size, page_size, ..Default::default() };
        match version {
            6 => t.parse_v6(&mut c, &file)?,
            7 => t.parse_v7(&mut c, &file)?,
            v => {
                return Err(c.err(format!("unsupported trace.dat version {v} (6 and 7 are read)")));
            }
        }
        Ok(t)
    }

    fn header_info(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        c.expect(b"header_page\0", "header_page")?;
        let n = c.u64().what("header_page size")?;
        self.header_page = c.text(n, "header_page")?;
        c.expect(b"header_event\0", "header_event")?;
        let n = c.u64().what("header_event size")?;
        self.header_event = c.text(n, "header_event")?;
        Ok(())
    }
    fn ftrace_events(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let n = c.u32().what("ftrace format count")?;
        for _ in 0..n {
            let len = c.u64().what("ftrace format size")?;
            let f = c.text(len, "ftrace format")?;
            self.formats.push(("ftrace".into(), f));
        }
        Ok(())
    }
    fn event_formats(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let nsys = c.u32().what("system count")?;
        for _ in 0..nsys {
            let sys = c.string("system name")?;
            let n = c.u32().what("event count")?;
            for _ in 0..n {
                let len = c.u64().what("format size")?;
                let f = c.text(len, "event format")?;
                self.formats.push((sys.clone(), f));
            }
        }
        Ok(())
    }
    fn kallsyms(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let n = c.u32().what("kallsyms size")?;
        self.kallsyms = c.text(n as u64, "kallsyms")?;
        Ok(())
    }
    fn printk(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let n = c.u32().what("printk size")?;
        self.printk = c.text(n as u64, "printk formats")?;
        Ok(())
    }
    fn cmdlines(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let n = c.u64().what("cmdlines size")?;
        self.cmdlines = c.text(n, "saved cmdlines")?;
        Ok(())
    }

    /// `c` reads `file`, which the CPU data are sliced from.
    fn parse_v6(&mut self, c: &mut Cursor<'_>, file: &Bytes) -> Result<()> {
        self.header_info(c)?;
        self.ftrace_events(c)?;
        self.event_formats(c)?;
        self.kallsyms(c)?;
        self.printk(c)?;
        self.cmdlines(c)?;
        let ncpus = c.u32().what("cpu count")?;
        let mut top = Buffer { page_size: self.page_size as usize, clock: "local".into(), ..Default::default() };
        loop {
            let at = c.offset();
            let kind = c.bytes(10).what("section marker")?;
            match kind {
                b"options  \0" => loop {
                    let id = c.u16().what("option id")?;
                    if id == opt::DONE {
                        break;
                    }
                    let size = c.u32().what("option size")?;
                    let data = c.bytes(size as usize).what("option data")?;
                    self.option_v6(id, data, c, file)?;
                },
                b"latency  \0" => return Err(c.err("latency (text) trace data is not supported")),
                b"flyrecord\0" => {
                    for cpu in 0..ncpus {
                        let off = c.u64().what("cpu data offset")?;
                        let size = c.u64().what("cpu data size")?;
                        let mut d = c.at(off)?;
                        top.cpus.insert(cpu, file.slice_ref(d.bytes(size as usize).what("cpu data")?));
                    }
                    break;
                }
                _ => {
                    return Err(Error::TraceDat {
                        offset: at as u64,
                        what: "expected options, latency or flyrecord".into(),
                    });
                }
            }
        }
        if let Some(tc) = &self.trace_clock
            && let Some(cl) = Clock::from_trace_clock_file(tc)
        {
            top.clock = cl.name().into();
        }
        self.buffers.insert(0, top);
        Ok(())
    }

    fn option_v6(&mut self, id: u16, data: &[u8], c: &Cursor<'_>, file: &Bytes) -> Result<()> {
        let text = || String::from_utf8_lossy(data).trim_end_matches('\0').to_owned();
        match id {
            opt::TRACECLOCK => self.trace_clock = Some(text()),
            opt::CPUSTAT => self.cpu_stats.push(text()),
            opt::BUFFER => {
                // v6: <u64 offset of a flyrecord area for this instance><name\0>; CPU data follows
                // there as in the top buffer. Keep the name; the data layout is the same.
                let mut o = Cursor::new(data).with_endian(c.endian());
                let off = o.u64().what("buffer offset")?;
                let name = o.string("buffer name")?;
                let mut d = c.at(off)?;
                let mut buf =
                    Buffer { name, page_size: self.page_size as usize, clock: "local".into(), ..Default::default() };
                // Per CPU: offset, size (as many as the file's CPU count; read until data runs out).
                let ncpus = self.cpu_stats.len().max(1);
                for cpu in 0..ncpus as u32 {
                    let (Ok(o2), Ok(sz)) = (d.u64().what("cpu offset"), d.u64().what("cpu size")) else {
                        break;
                    };
                    let mut dd = c.at(o2)?;
                    buf.cpus.insert(cpu, file.slice_ref(dd.bytes(sz as usize).what("cpu data")?));
                }
                self.buffers.push(buf);
            }
            _ => {}
        }
        Ok(())
    }

    /// `c` reads `file`, which uncompressed CPU data are sliced from.
    fn parse_v7(&mut self, c: &mut Cursor<'_>, file: &Bytes) -> Result<()> {
        let name = c.string("compression name")?;
        let _ver = c.string("compression version")?;
        let comp = match name.as_str() {
            "none" => Compression::None,
            "zstd" => Compression::Zstd,
            "zlib" => Compression::Zlib,
            other => return Err(c.err(format!("unsupported compression {other:?}"))),
        };
        let mut next = c.u64().what("first options offset")?;
        let mut sections: BTreeMap<u16, u64> = BTreeMap::new();
        let mut buffers: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut seen = 0;
        while next != 0 {
            seen += 1;
            if seen > 1000 {
                return Err(c.err("more than 1000 options sections (a loop?)"));
            }
            let data = self.section_v7(c, next, comp, SECTION_OPTIONS)?;
            let mut o = Cursor::new(&data).with_endian(c.endian());
            loop {
                let id = o.u16().what("option id")?;
                let size = o.u32().what("option size")?;
                let d = o.bytes(size as usize).what("option data")?;
                let mut od = Cursor::new(d).with_endian(c.endian());
                match id {
                    opt::DONE => {
                        next = od.u64().what("next options offset").unwrap_or(0);
                        break;
                    }
                    opt::HEADER_INFO
                    | opt::FTRACE_EVENTS
                    | opt::EVENT_FORMATS
                    | opt::KALLSYMS
                    | opt::PRINTK
                    | opt::CMDLINES => {
                        sections.insert(id, od.u64().what("section offset")?);
                    }
                    opt::BUFFER => buffers.push((0, d.to_vec())),
                    opt::TRACECLOCK => {
                        self.trace_clock = Some(String::from_utf8_lossy(d).trim_end_matches('\0').into())
                    }
                    opt::CPUSTAT => self.cpu_stats.push(String::from_utf8_lossy(d).trim_end_matches('\0').into()),
                    _ => {}
                }
            }
        }
        for (id, off) in &sections {
            let data = self.section_v7(c, *off, comp, *id)?;
            let mut s = Cursor::new(&data).with_endian(c.endian());
            match *id {
                opt::HEADER_INFO => self.header_info(&mut s)?,
                opt::FTRACE_EVENTS => self.ftrace_events(&mut s)?,
                opt::EVENT_FORMATS => self.event_formats(&mut s)?,
                opt::KALLSYMS => self.kallsyms(&mut s)?,
                opt::PRINTK => self.printk(&mut s)?,
                opt::CMDLINES => self.cmdlines(&mut s)?,
                _ => {}
            }
        }
        for (_, d) in buffers {
            let mut o = Cursor::new(&d).with_endian(c.endian());
            let sec_off = o.u64().what("buffer section offset")?;
            let name = o.string("buffer name")?;
            let clock = o.string("buffer clock")?;
            let page_size = o.u32().what("buffer page size")? as usize;
            let ncpu = o.u32().what("buffer cpu count")?;
            // The flyrecord section header tells whether the data is compressed.
            let mut h = c.at(sec_off)?;
            let _sid = h.u16().what("section id")?;
            let flags = h.u16().what("section flags")?;
            let mut buf = Buffer { name, clock, page_size, cpus: BTreeMap::new() };
            for _ in 0..ncpu {
                let cpu = o.u32().what("cpu id")?;
                if cpu > MAX_CPU_ID {
                    return Err(o.err(format!("cpu id {cpu} beyond {MAX_CPU_ID}")));
                }
                let off = o.u64().what("cpu data offset")?;
                let size = o.u64().what("cpu data size")?;
                let mut dc = c.at(off)?;
                let data = if flags & 1 != 0 && comp != Compression::None {
                    let chunks = dc.u32().what("chunk count")?;
                    let mut out = Vec::new();
                    for _ in 0..chunks {
                        let clen = dc.u32().what("chunk size")?;
                        let ulen = dc.u32().what("chunk uncompressed size")?;
                        let at = dc.offset() as u64;
                        let cd = dc.bytes(clen as usize).what("chunk")?;
                        out.extend(decompress(comp, cd, ulen as usize, at)?);
                    }
                    Bytes::from(out)
                } else {
                    file.slice_ref(dc.bytes(size as usize).what("cpu data")?)
                };
                buf.cpus.insert(cpu, data);
            }
            if buf.name.is_empty() {
                self.buffers.insert(0, buf);
            } else {
                self.buffers.push(buf);
            }
        }
        Ok(())
    }

    /// Reads a v7 section at `off`, checking its id and decompressing it.
    fn section_v7(&self, c: &Cursor<'_>, off: u64, comp: Compression, want: u16) -> Result<Vec<u8>> {
        let mut s = c.at(off)?;
        let id = s.u16().what("section id")?;
        if id != want {
            return Err(Error::TraceDat { offset: off, what: format!("expected section {want}, found {id}") });
        }
        let flags = s.u16().what("section flags")?;
        let _desc = s.u32().what("section description")?;
        let size = s.u64().what("section size")?;
        if flags & 1 != 0 {
            let clen = s.u32().what("compressed size")?;
            let ulen = s.u32().what("uncompressed size")?;
            let at = s.offset() as u64;
            let d = s.bytes(clen as usize).what("compressed section")?;
            decompress(comp, d, ulen as usize, at)
        } else {
            Ok(s.bytes(size as usize).what("section")?.to_vec())
        }
    }

    /// A [`Recording`] of the top buffer (or of `buffer`), decoded with the file's own formats.
    pub fn recording(&self) -> Result<Recording> {
        self.recording_of(0)
    }

    /// A [`Recording`] of buffer `i`.
    pub fn recording_of(&self, i: usize) -> Result<Recording> {
        let buf = self.buffers.get(i).ok_or_else(|| Error::TraceDat { offset: 0, what: format!("no buffer {i}") })?;
        let layout = PageLayout::from_header_page(&self.header_page, self.endian)?;
        let mut reg = FormatRegistry::new();
        for (sys, text) in &self.formats {
            // A format we cannot parse only makes its events undecodable.
            let _ = reg.add_text(sys, text);
        }
        let ncpu = buf.cpus.keys().next_back().map_or(0, |&c| c as usize + 1);
        if ncpu > MAX_CPU_ID as usize + 1 {
            return Err(Error::TraceDat { offset: 0, what: format!("cpu id {} beyond {MAX_CPU_ID}", ncpu - 1) });
        }
        let mut cpus = vec![Vec::new(); ncpu];
        for (&cpu, d) in &buf.cpus {
            if let Some(slot) = cpus.get_mut(cpu as usize) {
                // A view of the same buffer, not a copy.
                *slot = vec![d.clone()];
            }
        }
        let dec = Decoder::new(reg, self.endian, Clock::from_name(&buf.clock));
        Ok(Recording::from_chunks(cpus, buf.page_size.max(layout.data_offset + 8), layout, Vec::new(), dec))
    }

    /// `pid -> comm` from the saved cmdlines.
    pub fn comms(&self) -> BTreeMap<i32, String> {
        self.cmdlines
            .lines()
            .filter_map(|l| {
                let (p, c) = l.split_once(' ')?;
                Some((p.trim().parse().ok()?, c.to_owned()))
            })
            .collect()
    }

    /// Writes this trace as a version 6 file (uncompressed, top buffer only, CPU data page-aligned).
    pub fn write_v6(&self, w: &mut impl Write) -> std::io::Result<()> {
        let cpus: BTreeMap<u32, Vec<&[u8]>> =
            self.buffers.first().map(|b| b.cpus.iter().map(|(c, d)| (*c, vec![&d[..]])).collect()).unwrap_or_default();
        self.write_v6_from(w, &cpus)
    }

    /// Writes this trace's metadata with `rec`'s pages as the CPU data, straight from the
    /// recording's buffers (no copy of the pages; `self.buffers` only names the clock).
    ///
    /// ```no_run
    /// # fn f(inst: &ktrace_ftrace::Instance, rec: &ktrace_ftrace::Recording) -> ktrace_ftrace::Result<()> {
    /// let meta = ktrace_ftrace::tracedat::capture_metadata(inst, rec)?;
    /// let mut out = std::io::BufWriter::new(std::fs::File::create("trace.dat").unwrap());
    /// meta.write_recording_v6(rec, &mut out).unwrap();
    /// # Ok(()) }
    /// ```
    pub fn write_recording_v6(&self, rec: &Recording, w: &mut impl Write) -> std::io::Result<()> {
        let cpus: BTreeMap<u32, Vec<&[u8]>> = rec
            .cpu_chunks()
            .iter()
            .enumerate()
            .map(|(c, chunks)| (c as u32, chunks.iter().map(|b| &b[..]).collect()))
            .collect();
        self.write_v6_from(w, &cpus)
    }

    /// Writes this trace's metadata with `rec`'s pages to the file `path` (created or truncated),
    /// as [`TraceDat::write_recording_v6`] does; errors name the call and `path`
    /// (`create /tmp: Is a directory`).
    pub fn write_recording_v6_to(&self, rec: &Recording, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let failed = |call, source| Error::Syscall { call, path: path.to_owned(), source };
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| failed("create", e))?);
        self.write_recording_v6(rec, &mut w).and_then(|()| w.flush()).map_err(|e| failed("write", e))
    }

    fn write_v6_from(&self, w: &mut impl Write, data: &BTreeMap<u32, Vec<&[u8]>>) -> std::io::Result<()> {
        let sizes = data.iter().map(|(c, d)| (*c, d.iter().map(|s| s.len() as u64).sum())).collect();
        self.write_v6_with(w, &sizes, |cpu, w| {
            for d in data.get(&cpu).into_iter().flatten() {
                w.write_all(d)?;
            }
            Ok(())
        })
    }

    /// Writes the file with CPU `c`'s data of `sizes[c]` bytes written by `body(c, w)`.
    fn write_v6_with<W: Write>(
        &self,
        w: &mut W,
        sizes: &BTreeMap<u32, u64>,
        mut body: impl FnMut(u32, &mut W) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let e = self.endian;
        let u16b = |v: u16| {
            if e == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let u32b = |v: u32| {
            if e == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let u64b = |v: u64| {
            if e == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() }
        };
        let mut h: Vec<u8> = Vec::new();
        h.extend_from_slice(MAGIC);
        h.extend_from_slice(b"6\0");
        h.push(if e == Endian::Big { 1 } else { 0 });
        h.push(self.long_size);
        h.extend_from_slice(&u32b(self.page_size));
        h.extend_from_slice(b"header_page\0");
        h.extend_from_slice(&u64b(self.header_page.len() as u64));
        h.extend_from_slice(self.header_page.as_bytes());
        h.extend_from_slice(b"header_event\0");
        h.extend_from_slice(&u64b(self.header_event.len() as u64));
        h.extend_from_slice(self.header_event.as_bytes());
        let ftrace: Vec<_> = self.formats.iter().filter(|(s, _)| s == "ftrace").collect();
        h.extend_from_slice(&u32b(ftrace.len() as u32));
        for (_, f) in &ftrace {
            h.extend_from_slice(&u64b(f.len() as u64));
            h.extend_from_slice(f.as_bytes());
        }
        let mut systems: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (s, f) in self.formats.iter().filter(|(s, _)| s != "ftrace") {
            systems.entry(s).or_default().push(f);
        }
        h.extend_from_slice(&u32b(systems.len() as u32));
        for (s, fs) in &systems {
            h.extend_from_slice(s.as_bytes());
            h.push(0);
            h.extend_from_slice(&u32b(fs.len() as u32));
            for f in fs {
                h.extend_from_slice(&u64b(f.len() as u64));
                h.extend_from_slice(f.as_bytes());
            }
        }
        h.extend_from_slice(&u32b(self.kallsyms.len() as u32));
        h.extend_from_slice(self.kallsyms.as_bytes());
        h.extend_from_slice(&u32b(self.printk.len() as u32));
        h.extend_from_slice(self.printk.as_bytes());
        h.extend_from_slice(&u64b(self.cmdlines.len() as u64));
        h.extend_from_slice(self.cmdlines.as_bytes());
        let top_clock = self.buffers.first().map_or("local", |b| b.clock.as_str());
        let ncpu = sizes.keys().next_back().map_or(0, |&c| c + 1);
        h.extend_from_slice(&u32b(ncpu));
        h.extend_from_slice(b"options  \0");
        let clock = self.trace_clock.clone().unwrap_or_else(|| format!("[{top_clock}]"));
        let mut ct = clock.into_bytes();
        ct.push(0);
        h.extend_from_slice(&u16b(opt::TRACECLOCK));
        h.extend_from_slice(&u32b(ct.len() as u32));
        h.extend_from_slice(&ct);
        for st in &self.cpu_stats {
            h.extend_from_slice(&u16b(opt::CPUSTAT));
            h.extend_from_slice(&u32b(st.len() as u32 + 1));
            h.extend_from_slice(st.as_bytes());
            h.push(0);
        }
        h.extend_from_slice(&u16b(opt::DONE));
        h.extend_from_slice(b"flyrecord\0");
        let table = 16 * ncpu as u64;
        let align = (self.page_size.max(1)) as u64;
        let mut off = (h.len() as u64 + table).div_ceil(align) * align;
        let mut layout = Vec::new();
        for cpu in 0..ncpu {
            let size = sizes.get(&cpu).copied().unwrap_or(0);
            h.extend_from_slice(&u64b(off));
            h.extend_from_slice(&u64b(size));
            layout.push((off, size));
            off = (off + size).div_ceil(align) * align;
        }
        w.write_all(&h)?;
        let mut pos = h.len() as u64;
        for (cpu, (off, size)) in layout.iter().enumerate() {
            if *size == 0 {
                continue;
            }
            w.write_all(&vec![0u8; (off - pos) as usize])?;
            body(cpu as u32, w)?;
            pos = off + size;
        }
        Ok(())
    }
}

/// Collects what a trace.dat needs from a live tracefs for a recording: header texts, the
/// formats of every event id in the recording plus the whole `ftrace` system, kallsyms,
/// printk formats, saved cmdlines, the clock and per-CPU stats — and a copy of the pages. To
/// write a file, [`capture_metadata`] and [`TraceDat::write_recording_v6`] avoid the copy.
pub fn capture(inst: &crate::Instance, rec: &Recording) -> Result<TraceDat> {
    let mut t = capture_metadata(inst, rec)?;
    if let Some(b) = t.buffers.first_mut() {
        for (i, chunks) in rec.cpu_chunks().iter().enumerate() {
            b.cpus.insert(i as u32, chunks.concat().into());
        }
    }
    Ok(t)
}

/// [`capture`] without the pages (`buffers[0].cpus` left empty).
pub fn capture_metadata(inst: &crate::Instance, rec: &Recording) -> Result<TraceDat> {
    // Resolve the format of every id the recording holds (ids nobody knows are left out).
    for (cpu, chunks) in rec.cpu_chunks().iter().enumerate() {
        for buf in chunks {
            let evs = ktrace_core::Pages::new(buf, rec.page_size(), rec.layout(), cpu as u32).filter_map(|i| match i {
                Ok(ktrace_core::PageItem::Event(e)) => Some(e),
                _ => None,
            });
            rec.decoder().prepare_all(evs);
        }
    }
    capture_metadata_of(inst, rec.decoder(), rec.page_size(), rec.cpu_chunks().len())
}

/// [`capture_metadata`] for events whose ids `decoder` has prepared (a stream's), `ncpu` CPUs
/// of `page_size`-byte pages.
pub fn capture_metadata_of(
    inst: &crate::Instance,
    decoder: &Decoder,
    page_size: usize,
    ncpu: usize,
) -> Result<TraceDat> {
    let fs = inst.tracefs();
    let mut formats = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in decoder.formats() {
        if seen.insert((f.system.clone(), f.name.clone()))
            && let Ok(t) = fs.event_format_text(&f.system, &f.name)
        {
            formats.push((f.system.clone(), t));
        }
    }
    let ftrace_dir = fs.root().join("events/ftrace");
    for e in std::fs::read_dir(&ftrace_dir).map_err(|e| Error::io("readdir", &ftrace_dir, e))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !seen.contains(&("ftrace".to_owned(), name.clone()))
            && let Ok(t) = crate::tracefs::read_file(&e.path().join("format"))
        {
            formats.push(("ftrace".into(), t));
        }
    }
    let cpus = BTreeMap::new();
    let clock = inst.read("trace_clock").ok();
    let cpu_stats = (0..ncpu)
        .filter_map(|c| inst.read(&format!("per_cpu/cpu{c}/stats")).ok().map(|s| format!("CPU: {c}\n{s}")))
        .collect();
    Ok(TraceDat {
        version: 6,
        endian: Endian::NATIVE,
        long_size: 8,
        page_size: page_size as u32,
        header_page: fs.read("events/header_page")?,
        header_event: fs.read("events/header_event")?,
        formats,
        kallsyms: std::fs::read_to_string("/proc/kallsyms").unwrap_or_default(),
        printk: fs.read("printk_formats").unwrap_or_default(),
        cmdlines: fs.read("saved_cmdlines").unwrap_or_default(),
        buffers: vec![Buffer {
            name: String::new(),
            clock: Clock::from_trace_clock_file(clock.as_deref().unwrap_or("[local]"))
                .unwrap_or_default()
                .name()
                .into(),
            page_size,
            cpus,
        }],
        trace_clock: clock,
        cpu_stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(feature = "zstd", feature = "zlib"))]
    fn decompression_stops_at_the_stated_size() {
        let big = ruzstd::encoding::compress_to_vec(&[0u8; 1 << 20][..], ruzstd::encoding::CompressionLevel::Fastest);
        assert_eq!(decompress(Compression::Zstd, &big, 1 << 20, 0).unwrap().len(), 1 << 20);
        let err = decompress(Compression::Zstd, &big, 4096, 77).unwrap_err();
        assert!(matches!(err, Error::TraceDat { offset: 77, ref what } if what.contains("stated size 4096")), "{err}");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&[0u8; 1 << 16]).unwrap();
        let z = z.finish().unwrap();
        assert_eq!(decompress(Compression::Zlib, &z, 1 << 16, 0).unwrap().len(), 1 << 16);
        assert!(decompress(Compression::Zlib, &z, 100, 0).is_err());
    }

    #[test]
    fn v6_round_trip_and_bad_input() {
        let hp = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
        let mut page = vec![0u8; 4096];
        page[..8].copy_from_slice(&1000u64.to_le_bytes());
        page[8..16].copy_from_slice(&8u64.to_le_bytes());
        page[16..20].copy_from_slice(&((5u32 << 5) | 1).to_le_bytes());
        page[20..22].copy_from_slice(&7u16.to_le_bytes());
        let fmt = "name: e\nID: 7\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\nprint fmt: \"\"\n";
        let mut cpus = BTreeMap::new();
        cpus.insert(0u32, page.into());
        let t = TraceDat {
            version: 6,
            long_size: 8,
            page_size: 4096,
            header_page: hp.into(),
            header_event: "x".into(),
            formats: vec![("demo".into(), fmt.into())],
            cmdlines: "1 init\n".into(),
            buffers: vec![Buffer { name: String::new(), clock: "local".into(), page_size: 4096, cpus }],
            ..Default::default()
        };
        let mut out = Vec::new();
        t.write_v6(&mut out).unwrap();
        assert_eq!(out.len() % 4096, 0);
        let back = TraceDat::parse(&out).unwrap();
        assert_eq!(back.formats, t.formats);
        assert_eq!(back.comms()[&1], "init");
        let rec = back.recording().unwrap();
        let evs: Vec<_> = rec.events().map(|e| e.unwrap().timestamp().ns).collect();
        assert_eq!(evs, vec![1005]);
        // Written to a path: a directory is refused by name (it used to be a bare `Os { code: 21 }`).
        let dir = std::env::temp_dir();
        let e = back.write_recording_v6_to(&rec, &dir).unwrap_err();
        assert!(matches!(&e, Error::Syscall { call: "create", path, .. } if *path == dir), "{e:?}");
        assert_eq!(e.to_string(), format!("create {}: Is a directory (os error 21)", dir.display()));
        let file = dir.join(format!("ktrace-tracedat-{}.dat", std::process::id()));
        back.write_recording_v6_to(&rec, &file).unwrap();
        let written = std::fs::read(&file).unwrap();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(TraceDat::parse(&written).unwrap().recording().unwrap().events().count(), 1);
        // Truncations anywhere give an error, never a panic.
        for cut in (0..out.len()).step_by(97) {
            let _ = TraceDat::parse(&out[..cut]);
        }
        assert!(matches!(TraceDat::parse(b"\x17\x08\x44tracing9\0"), Err(Error::TraceDat { .. })));
    }
}

/// Per-CPU temporary files (`PATH.cpuN`) that pages are appended to while recording, assembled
/// into a trace.dat v6 at `PATH` by [`CpuFiles::finish`] (as `trace-cmd record` does), so a
/// recording to a file holds no pages in memory. Dropped unfinished, the temporary files are removed.
#[derive(Debug)]
pub struct CpuFiles {
    path: std::path::PathBuf,
    files: Vec<(std::path::PathBuf, std::io::BufWriter<std::fs::File>, u64)>,
}

impl CpuFiles {
    /// Creates `PATH.cpu0` … `PATH.cpu{ncpu-1}` (truncated).
    pub fn create(path: &std::path::Path, ncpu: usize) -> Result<CpuFiles> {
        let mut files = Vec::new();
        for cpu in 0..ncpu {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".cpu{cpu}"));
            let p = std::path::PathBuf::from(name);
            let f = std::fs::File::create(&p).map_err(|e| Error::io("create", &p, e))?;
            files.push((p, std::io::BufWriter::with_capacity(1 << 16, f), 0));
        }
        Ok(CpuFiles { path: path.to_owned(), files })
    }

    /// Appends a page of `cpu`.
    pub fn append(&mut self, cpu: u32, page: &[u8]) -> Result<()> {
        let Some((p, w, n)) = self.files.get_mut(cpu as usize) else {
            return Err(Error::Unsupported {
                feature: format!("cpu {cpu}"),
                hint: "no temporary file for this CPU".into(),
            });
        };
        w.write_all(page).map_err(|e| Error::io("write", p.as_path(), e))?;
        *n += page.len() as u64;
        Ok(())
    }

    /// Writes `meta`'s header and the CPU files' pages into the trace.dat, then removes the
    /// temporary files.
    pub fn finish(mut self, meta: &TraceDat) -> Result<()> {
        let mut sizes = BTreeMap::new();
        let mut readers = Vec::new();
        for (cpu, (p, w, n)) in self.files.iter_mut().enumerate() {
            w.flush().map_err(|e| Error::io("write", p.as_path(), e))?;
            sizes.insert(cpu as u32, *n);
            readers.push(std::fs::File::open(&*p).map_err(|e| Error::io("open", p.as_path(), e))?);
        }
        let path = self.path.clone();
        let failed = |e| Error::io("write", &path, e);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(|e| Error::io("create", &path, e))?);
        meta.write_v6_with(&mut out, &sizes, |cpu, w| {
            let r = readers.get_mut(cpu as usize).ok_or_else(|| std::io::Error::other("no such CPU file"))?;
            std::io::copy(r, w).map(drop)
        })
        .and_then(|()| out.flush())
        .map_err(failed)?;
        Ok(())
    }
}

impl Drop for CpuFiles {
    fn drop(&mut self) {
        for (p, _, _) in &self.files {
            let _ = std::fs::remove_file(p);
        }
    }
}
