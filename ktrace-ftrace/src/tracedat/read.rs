//! Parsing trace.dat versions 6 and 7.

use std::collections::BTreeMap;
#[cfg(any(feature = "zstd", feature = "zlib"))]
use std::io::Read;

use bytes::Bytes;
use ktrace_core::{Clock, Cursor, Endian, ParseError};

use super::{Buffer, MAGIC, MAX_CPU_ID, TraceDat, opt};
use crate::error::{Error, Result};

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

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    Zstd,
    Zlib,
}

pub(super) fn decompress(c: Compression, data: &[u8], out_len: usize, at: u64) -> Result<Vec<u8>> {
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
}
