//! Symbolization of sampled addresses: kernel addresses through kallsyms text, user addresses
//! through the ELF symbols (`.symtab`/`.dynsym`, via `object`) of the files mapped at them or of
//! their separate debug files (found by build-id or `.gnu_debuglink` under `/usr/lib/debug`, as
//! perf and gdb find them: install `libc6-dbg` for libc's internal functions), names demangled (Rust legacy and v0 with `rustc-demangle`, C++ Itanium ABI with `cpp_demangle`).
//! [`Symbolizer`] and [`demangle`] need the `symbolize` feature (on by default); [`Mapping`] does not.

#[cfg(feature = "symbolize")]
use std::collections::HashMap;
#[cfg(feature = "symbolize")]
use std::path::{Path, PathBuf};

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

/// Where distributions install separate debug files (`libc6-dbg`, `*-dbgsym`), as perf and gdb look.
#[cfg(feature = "symbolize")]
pub const DEBUG_ROOT: &str = "/usr/lib/debug";

#[cfg(feature = "symbolize")]
#[derive(Debug, Default)]
struct ElfSyms {
    /// (vaddr, size, name), sorted by vaddr, one per address.
    syms: Vec<(u64, u64, String)>,
    /// (file offset, vaddr, file size) of loadable segments.
    segs: Vec<(u64, u64, u64)>,
    /// The separate debug file the symbols came from, if any.
    debug_file: Option<PathBuf>,
}

/// Maps and parses an ELF file (kept mapped by the caller while its symbols are read).
#[cfg(feature = "symbolize")]
fn map_elf(path: &Path) -> Result<memmap2::Mmap> {
    let shown = || path.display().to_string();
    match crate::sys::map_regular(path) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(kind)) => Err(Error::NotRegularFile { path: shown(), kind }),
        Err((call, e)) => Err(Error::io(call, path, e)),
    }
}

#[cfg(feature = "symbolize")]
fn parse_elf<'d>(data: &'d [u8], path: &Path) -> Result<object::File<'d>> {
    object::File::parse(data).map_err(|e| Error::Malformed {
        what: "ELF file",
        offset: 0,
        expected: format!("an ELF file at {}: {e}", path.display()),
    })
}

/// The function symbols of one table, one per address: where several share an address (aliases
/// such as `memcpy`/`__memcpy`), the one perf shows (`choose_best_symbol` in its symbol.c): sized
/// over zero-sized, non-weak over weak, global over local, fewer leading underscores, longer name.
#[cfg(feature = "symbolize")]
fn text_symbols<'d, S: ObjectSymbol<'d>>(it: impl Iterator<Item = S>) -> Vec<(u64, u64, String)> {
    let mut v: Vec<_> = it
        .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0 && s.is_definition())
        .filter_map(|s| {
            let name = s.name().ok().filter(|n| !n.is_empty())?;
            let underscores = name.bytes().take_while(|&b| b == b'_').count();
            let rank =
                (s.size() == 0, s.is_weak(), !s.is_global() || s.is_weak(), underscores, usize::MAX - name.len());
            Some((s.address(), rank, s.size(), name.to_owned()))
        })
        .collect();
    v.sort_by_key(|a| (a.0, a.1));
    v.dedup_by_key(|s| s.0);
    v.into_iter().map(|(a, _, size, name)| (a, size, name)).collect()
}

#[cfg(feature = "symbolize")]
impl ElfSyms {
    /// Reads the symbols of `path` through a read-only mapping; anything but a regular file
    /// (`/dev/zero` mapped by a process, a FIFO) is refused before it is read.
    ///
    /// Symbols come from the file's `.symtab`; when it has none (a stripped library), from the
    /// `.symtab` of its separate debug file under `debug_root` (see [`debug_file_candidates`]);
    /// failing both, from its `.dynsym` (exported functions only), as perf chooses.
    fn load(path: &str, debug_root: &Path) -> Result<ElfSyms> {
        let path = Path::new(path);
        let data = map_elf(path)?;
        let f = parse_elf(&data, path)?;
        let segs = f
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, s.address(), size)
            })
            .collect();
        let mut syms = text_symbols(f.symbols());
        let mut debug_file = None;
        if syms.is_empty() {
            for cand in debug_file_candidates(&f, path, debug_root) {
                if let Some(s) = debug_symbols(&f, &cand).filter(|s| !s.is_empty()) {
                    syms = s;
                    debug_file = Some(cand);
                    break;
                }
            }
        }
        if syms.is_empty() {
            syms = text_symbols(f.dynamic_symbols());
        }
        Ok(ElfSyms { syms, segs, debug_file })
    }

    /// The function holding file offset `file_off`, and how far into it the offset is.
    fn lookup(&self, file_off: u64) -> Option<(&str, u64)> {
        let (off, vaddr, _) = self.segs.iter().find(|(o, _, sz)| file_off >= *o && file_off < o + sz)?;
        let va = file_off - off + vaddr;
        let i = self.syms.partition_point(|s| s.0 <= va).checked_sub(1)?;
        let (a, size, name) = self.syms.get(i)?;
        (*size == 0 || va < a + size).then_some((name.as_str(), va - a))
    }
}

/// Where the separate debug file of `path` may be, in the order gdb and perf try: by build-id
/// (`ROOT/.build-id/xx/rest.debug`, from the `NT_GNU_BUILD_ID` note), then by `.gnu_debuglink`
/// name (`DIR/NAME`, `DIR/.debug/NAME`, `ROOT/DIR/NAME`, DIR being the file's directory).
#[cfg(feature = "symbolize")]
fn debug_file_candidates(f: &object::File<'_>, path: &Path, root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(Some(id)) = f.build_id()
        && let Some((first, rest)) = id.split_first()
    {
        let rest: String = rest.iter().map(|b| format!("{b:02x}")).collect();
        out.push(root.join(".build-id").join(format!("{first:02x}")).join(format!("{rest}.debug")));
    }
    if let Ok(Some((name, _))) = f.gnu_debuglink()
        && let (Ok(name), Some(dir)) = (std::str::from_utf8(name), path.parent())
    {
        out.push(dir.join(name));
        out.push(dir.join(".debug").join(name));
        out.push(root.join(dir.strip_prefix("/").unwrap_or(dir)).join(name));
    }
    out
}

/// The `.symtab` functions of the debug file at `cand` if it belongs to `f`: the same build-id
/// when `f` has one, else the CRC-32 its `.gnu_debuglink` gives (a stale file is ignored).
#[cfg(feature = "symbolize")]
fn debug_symbols(f: &object::File<'_>, cand: &Path) -> Option<Vec<(u64, u64, String)>> {
    let data = map_elf(cand).ok()?;
    let d = parse_elf(&data, cand).ok()?;
    let ours = f.build_id().ok().flatten();
    let belongs = match ours {
        Some(id) => d.build_id().ok().flatten() == Some(id),
        None => f.gnu_debuglink().ok().flatten().is_some_and(|(_, crc)| crc32fast::hash(&data) == crc),
    };
    belongs.then(|| text_symbols(d.symbols()))
}

/// Resolves addresses of many processes, caching each file's symbols once.
#[cfg(feature = "symbolize")]
#[derive(Debug, Default)]
pub struct Symbolizer {
    kallsyms: Kallsyms,
    maps: HashMap<i32, Vec<Mapping>>,
    files: HashMap<String, Result<ElfSyms>>,
    debug_root: Option<PathBuf>,
}

#[cfg(feature = "symbolize")]
impl Symbolizer {
    /// A symbolizer with kernel symbols from `kallsyms` text (empty text: kernel frames unresolved).
    pub fn new(kallsyms_text: &str) -> Symbolizer {
        Symbolizer { kallsyms: Kallsyms::parse(kallsyms_text), ..Default::default() }
    }

    /// Looks for separate debug files under `root` rather than [`DEBUG_ROOT`] (call before the
    /// first lookup: files already read keep their symbols).
    pub fn set_debug_root(&mut self, root: impl Into<PathBuf>) {
        self.debug_root = Some(root.into());
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

    /// The files read so far whose symbols came from a separate debug file, with that file.
    pub fn debug_files(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.files.iter().filter_map(|(p, r)| Some((p.as_str(), r.as_ref().ok()?.debug_file.as_deref()?)))
    }

    /// The mapping of `pid` holding user address `addr`, and `addr`'s offset in its file.
    fn locate(&self, pid: i32, addr: u64) -> Option<(&Mapping, u64)> {
        let m = self.maps.get(&pid)?.iter().rev().find(|m| addr >= m.start && addr < m.end)?;
        Some((m, (addr - m.start).checked_add(m.pgoff)?))
    }

    /// The function name at `addr` in `pid` (kernel addresses need no pid), demangled.
    pub fn resolve(&mut self, pid: i32, addr: u64) -> Option<String> {
        if addr >= 0xffff_8000_0000_0000 {
            return self.kallsyms.resolve(addr).map(|(n, _, _)| n.to_owned());
        }
        let (m, off) = self.locate(pid, addr)?;
        let path = m.path.clone();
        self.symbol_in_file(&path, off).map(|(name, _)| name)
    }

    /// The function holding byte `file_offset` of the ELF file at `path` (an offset in the file as
    /// mapped, e.g. from `/proc/PID/maps`: address − start + offset), demangled, and the offset of
    /// that byte from the function's start (`__getppid+0xb`). The file's symbols are read once and
    /// cached, as for [`resolve`](Self::resolve); `None` when no function covers the offset.
    pub fn symbol_in_file(&mut self, path: &str, file_offset: u64) -> Option<(String, u64)> {
        let root = self.debug_root.as_deref().unwrap_or(Path::new(DEBUG_ROOT));
        if !self.files.contains_key(path) {
            self.files.insert(path.to_owned(), ElfSyms::load(path, root));
        }
        let syms = self.files.get(path)?.as_ref().ok()?;
        let (name, off) = syms.lookup(file_offset)?;
        Some((demangle(name), off))
    }

    /// What a profile shows for `addr` in `pid`: its function name ([`resolve`](Self::resolve)),
    /// else the file and the offset in it, `libfoo.so+0x1a2b` (the offset perf prints under the
    /// file's name for an unresolved frame: `[.] 0x0000000000001a2b`), else the bare address
    /// (`0x7f…`: no file is mapped there, as for JIT code).
    pub fn name(&mut self, pid: i32, addr: u64) -> String {
        if let Some(n) = self.resolve(pid, addr) {
            return n;
        }
        match self.locate(pid, addr) {
            Some((m, off)) if addr < 0xffff_8000_0000_0000 => {
                let file = Path::new(&m.path).file_name().map_or(m.path.as_str().into(), |f| f.to_string_lossy());
                format!("{file}+{off:#x}")
            }
            _ => format!("{addr:#x}"),
        }
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
