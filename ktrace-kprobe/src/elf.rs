//! ELF symbols to uprobe file offsets (PIE and non-PIE; `.symtab` and `.dynsym`), via `object`.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};

use crate::error::{Error, Result};

/// A binary's bytes: mapped from its file, or given.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A parsed binary (its file stays mapped so offsets can be computed without re-reading).
pub struct Binary {
    path: String,
    data: Bytes,
}

impl std::fmt::Debug for Binary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binary").field("path", &self.path).field("len", &self.data.len()).finish()
    }
}

impl Binary {
    /// Maps `path` read-only. Anything but a non-empty regular file is refused before it is read:
    /// [`Error::NotRegularFile`] for a device (`/dev/zero`), a FIFO or a directory.
    pub fn open(path: &str) -> Result<Binary> {
        match crate::sys::map_regular(path) {
            Ok(Ok(m)) => Ok(Binary { path: path.into(), data: Bytes::Mapped(m) }),
            Ok(Err(kind)) => Err(Error::NotRegularFile { path: path.into(), kind }),
            Err((call, e)) => Err(Error::Syscall(ktrace_core::SysError::new(call, std::path::Path::new(path), e))),
        }
    }

    /// Parses bytes already in memory (tests, fuzzing).
    pub fn from_bytes(path: &str, data: Vec<u8>) -> Binary {
        Binary { path: path.into(), data: Bytes::Owned(data) }
    }

    fn file(&self) -> Result<object::File<'_>> {
        let f = object::File::parse(&*self.data)
            .map_err(|e| Error::NotElf { path: self.path.clone(), why: e.to_string() })?;
        if f.format() != object::BinaryFormat::Elf {
            return Err(Error::NotElf { path: self.path.clone(), why: format!("{:?}", f.format()) });
        }
        Ok(f)
    }

    /// The virtual address of a function symbol (from `.symtab`, else `.dynsym`).
    pub fn symbol_address(&self, symbol: &str) -> Result<u64> {
        let f = self.file()?;
        let mut any = false;
        for s in f.symbols().chain(f.dynamic_symbols()) {
            any = true;
            if s.name() == Ok(symbol) && s.address() != 0 && s.is_definition() {
                return Ok(s.address());
            }
        }
        if !any {
            return Err(Error::Stripped { path: self.path.clone() });
        }
        Err(Error::NoSymbol { symbol: symbol.into(), path: self.path.clone() })
    }

    /// Converts a virtual address to the file offset uprobes want (through the segment holding it).
    pub fn vaddr_to_offset(&self, addr: u64) -> Result<u64> {
        let f = self.file()?;
        for seg in f.segments() {
            let (off, size) = seg.file_range();
            if addr >= seg.address() && addr < seg.address() + size.max(seg.size()) {
                return Ok(off + (addr - seg.address()));
            }
        }
        Err(Error::NoSymbol { symbol: format!("{addr:#x} (in no segment)"), path: self.path.clone() })
    }

    /// The uprobe file offset of a function.
    pub fn symbol_offset(&self, symbol: &str) -> Result<u64> {
        self.vaddr_to_offset(self.symbol_address(symbol)?)
    }

    /// A section's address and bytes.
    pub(crate) fn section(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>> {
        let f = self.file()?;
        Ok(f.section_by_name(name).and_then(|s| Some((s.address(), s.data().ok()?.to_vec()))))
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }
}
