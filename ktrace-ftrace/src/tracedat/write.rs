//! Writing trace.dat version 6: from a [`TraceDat`], a [`Recording`] or per-CPU temporary files.

use std::collections::BTreeMap;
use std::io::Write;

use ktrace_core::Endian;

use super::{MAGIC, TraceDat, opt};
use crate::error::{Error, Result};
use crate::recorder::Recording;

impl TraceDat {
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
        let failed = |call, source| Error::Syscall(ktrace_core::SysError::new(call, path, source));
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
