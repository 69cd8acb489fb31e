//! Symbolization of sampled addresses: kernel addresses through kallsyms text, user addresses
//! through the ELF symbols (`.symtab`/`.dynsym`, via `object`) of the files mapped at them, names
//! demangled (Rust legacy and v0 with `rustc-demangle`, C++ Itanium ABI with `cpp_demangle`).
//! [`Symbolizer`] and [`demangle`] need the `symbolize` feature (on by default); [`Mapping`] does not.

#[cfg(feature = "symbolize")]
use std::collections::HashMap;

#[cfg(feature = "symbolize")]
use ktrace_core::Kallsyms;
#[cfg(feature = "symbolize")]
use object::{Object, ObjectSegment, ObjectSymbol};

#[cfg(feature = "symbolize")]
use crate::error::{Error, Result};

/// A file mapping of a process (from PERF_RECORD_MMAP/MMAP2 or /proc/PID/maps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// File offset of `start`.
    pub pgoff: u64,
    /// The file.
    pub path: String,
}

impl Mapping {
    /// The file mappings of a live process from /proc/PID/maps (none if it is gone).
    pub fn of_process(pid: i32) -> Vec<Mapping> {
        let Ok(t) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else { return Vec::new() };
        let mut out = Vec::new();
        for l in t.lines() {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (Some(range), Some(off), Some(path)) = (w.first(), w.get(2), w.get(5)) else { continue };
            if !path.starts_with('/') {
                continue;
            }
            let Some((a, b)) = range.split_once('-') else { continue };
            let (Ok(start), Ok(end), Ok(pgoff)) =
                (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16), u64::from_str_radix(off, 16))
            else {
                continue;
            };
            out.push(Mapping { start, end, pgoff, path: (*path).to_owned() });
        }
        out
    }
}

#[cfg(feature = "symbolize")]
#[derive(Debug, Default)]
struct ElfSyms {
    /// (vaddr, size, name), sorted by vaddr.
    syms: Vec<(u64, u64, String)>,
    /// (file offset, vaddr, file size) of loadable segments.
    segs: Vec<(u64, u64, u64)>,
}

#[cfg(feature = "symbolize")]
impl ElfSyms {
    /// Reads the symbols of `path` through a read-only mapping; anything but a regular file
    /// (`/dev/zero` mapped by a process, a FIFO) is refused before it is read.
    fn load(path: &str) -> Result<ElfSyms> {
        let data = match crate::sys::map_regular(path) {
            Ok(Ok(m)) => m,
            Ok(Err(kind)) => return Err(Error::NotRegularFile { path: path.to_owned(), kind }),
            Err(e) => return Err(Error::io("mmap", path, e)),
        };
        let f = object::File::parse(&*data).map_err(|e| Error::Malformed {
            what: "ELF file",
            offset: 0,
            expected: format!("an ELF file at {path}: {e}"),
        })?;
        let mut syms: Vec<(u64, u64, String)> = f
            .symbols()
            .chain(f.dynamic_symbols())
            .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
            .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_owned())))
            .collect();
        syms.sort();
        syms.dedup_by_key(|s| s.0);
        let segs = f
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, s.address(), size)
            })
            .collect();
        Ok(ElfSyms { syms, segs })
    }

    fn lookup(&self, file_off: u64) -> Option<&str> {
        let (off, vaddr, _) = self.segs.iter().find(|(o, _, sz)| file_off >= *o && file_off < o + sz)?;
        let va = file_off - off + vaddr;
        let i = self.syms.partition_point(|s| s.0 <= va).checked_sub(1)?;
        let (a, size, name) = self.syms.get(i)?;
        (*size == 0 || va < a + size).then_some(name.as_str())
    }
}

/// Resolves addresses of many processes, caching each file's symbols once.
#[cfg(feature = "symbolize")]
#[derive(Debug, Default)]
pub struct Symbolizer {
    kallsyms: Kallsyms,
    maps: HashMap<i32, Vec<Mapping>>,
    files: HashMap<String, Result<ElfSyms>>,
}

#[cfg(feature = "symbolize")]
impl Symbolizer {
    /// A symbolizer with kernel symbols from `kallsyms` text (empty text: kernel frames unresolved).
    pub fn new(kallsyms_text: &str) -> Symbolizer {
        Symbolizer { kallsyms: Kallsyms::parse(kallsyms_text), ..Default::default() }
    }

    /// Adds a mapping of `pid`.
    pub fn add_mapping(&mut self, pid: i32, m: Mapping) {
        self.maps.entry(pid).or_default().push(m);
    }

    /// Adds the file mappings of a live process from /proc/PID/maps.
    #[doc(alias = "proc_pid_maps")]
    pub fn add_proc_maps(&mut self, pid: i32) {
        for m in Mapping::of_process(pid) {
            self.add_mapping(pid, m);
        }
    }

    /// The mappings known for `pid`.
    pub fn mappings_of(&self, pid: i32) -> &[Mapping] {
        self.maps.get(&pid).map_or(&[], Vec::as_slice)
    }

    /// The files whose symbols could not be read so far, with why (not a regular file, not ELF,
    /// unreadable); addresses in them stay unresolved.
    pub fn unreadable(&self) -> impl Iterator<Item = (&str, &Error)> {
        self.files.iter().filter_map(|(p, r)| Some((p.as_str(), r.as_ref().err()?)))
    }

    /// The function name at `addr` in `pid` (kernel addresses need no pid), demangled.
    pub fn resolve(&mut self, pid: i32, addr: u64) -> Option<String> {
        if addr >= 0xffff_8000_0000_0000 {
            return self.kallsyms.resolve(addr).map(|(n, _, _)| n.to_owned());
        }
        let m = self.maps.get(&pid)?.iter().rev().find(|m| addr >= m.start && addr < m.end)?.clone();
        let syms = self.files.entry(m.path.clone()).or_insert_with(|| ElfSyms::load(&m.path)).as_ref().ok()?;
        let name = syms.lookup((addr - m.start).checked_add(m.pgoff)?)?;
        Some(demangle(name))
    }
}

/// A symbol name demangled: Rust first (its legacy scheme also starts with `_ZN`), then C++.
///
/// ```
/// use ktrace_sample::symbolize::demangle;
/// assert_eq!(demangle("_ZN3foo3barE"), "foo::bar");
/// assert_eq!(demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"), "std::vector<int, std::allocator<int> >::push_back(int const&)");
/// assert_eq!(demangle("main"), "main");
/// ```
#[cfg(feature = "symbolize")]
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return format!("{d:#}");
    }
    if name.starts_with("_Z")
        && let Ok(sym) = cpp_demangle::Symbol::new(name)
        && let Ok(d) = sym.demangle(&cpp_demangle::DemangleOptions::default())
    {
        return d;
    }
    name.to_owned()
}
