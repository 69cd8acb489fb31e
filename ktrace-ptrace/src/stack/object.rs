//! The unwind tables of one mapped object (`.eh_frame` and its `.eh_frame_hdr` index), read once
//! with `object` and shared by every process that maps the object.

use std::ops::Range;
use std::sync::Arc;

use framehop::ExplicitModuleSectionInfo;
use framehop::x86_64::UnwinderX86_64;
use object::{Object, ObjectSection, ObjectSegment};

use super::maps::MapsEntry;

/// Section bytes as framehop reads them: shared between the modules of all processes.
pub(crate) type Bytes = Arc<[u8]>;

/// What framehop needs of an ELF object: the unwind sections and where its segments are.
#[derive(Debug, Default)]
pub(crate) struct ObjectUnwind {
    eh_frame: Option<(Bytes, Range<u64>)>,
    eh_frame_hdr: Option<(Bytes, Range<u64>)>,
    text: Option<Range<u64>>,
    got: Option<Range<u64>>,
    /// (file offset, vaddr, file size) of each loadable segment.
    segments: Vec<(u64, u64, u64)>,
}

impl ObjectUnwind {
    /// Reads the unwind tables of the ELF file `data` (only the parts it needs, through `object`'s
    /// read cache); `None` when it is not an object or has no `.eh_frame`.
    pub(crate) fn read<'d, R: object::ReadRef<'d>>(data: R) -> Option<ObjectUnwind> {
        let f = object::File::parse(data).ok()?;
        let range = |s: &object::Section<'d, '_, R>| Some(s.address()..s.address().checked_add(s.size())?);
        let section = |name: &str| {
            let s = f.section_by_name(name)?;
            Some((Arc::<[u8]>::from(s.data().ok()?), range(&s)?))
        };
        let eh_frame = section(".eh_frame")?;
        Some(ObjectUnwind {
            eh_frame_hdr: section(".eh_frame_hdr"),
            eh_frame: Some(eh_frame),
            text: f.section_by_name(".text").and_then(|s| range(&s)),
            got: f.section_by_name(".got").and_then(|s| range(&s)),
            segments: f
                .segments()
                .map(|s| {
                    let (off, size) = s.file_range();
                    (off, s.address(), size)
                })
                .collect(),
        })
    }

    /// Adds the module of mapping `m` (of this object) to `unwinder`. Its base address is where
    /// the object's address 0 lands: from the loadable segment that covers most of the mapping.
    pub(crate) fn add_module(&self, m: &MapsEntry, name: &str, unwinder: &mut UnwinderX86_64<Bytes>) -> Option<()> {
        use framehop::Unwinder as _;
        let len = m.end - m.start;
        let file_end = m.offset.checked_add(len)?;
        let overlap = |&&(off, _, size): &&(u64, u64, u64)| {
            let end = off.saturating_add(size);
            end.min(file_end).saturating_sub(off.max(m.offset))
        };
        let &(seg_off, seg_vaddr, _) = self.segments.iter().filter(|s| overlap(s) > 0).max_by_key(overlap)?;
        // avma - svma = start - offset + p_offset - p_vaddr, for any byte of the segment.
        let base_avma = m.start.checked_sub(m.offset)?.checked_add(seg_off)?.checked_sub(seg_vaddr)?;
        let info = ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma: self.text.clone(),
            got_svma: self.got.clone(),
            eh_frame_svma: self.eh_frame.as_ref().map(|e| e.1.clone()),
            eh_frame: self.eh_frame.as_ref().map(|e| e.0.clone()),
            eh_frame_hdr_svma: self.eh_frame_hdr.as_ref().map(|e| e.1.clone()),
            eh_frame_hdr: self.eh_frame_hdr.as_ref().map(|e| e.0.clone()),
            ..Default::default()
        };
        unwinder.add_module(framehop::Module::new(name.to_owned(), m.start..m.end, base_avma, info));
        Some(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
    use super::*;

    #[test]
    fn garbage_is_no_object() {
        assert!(ObjectUnwind::read(&[][..]).is_none());
        assert!(ObjectUnwind::read(&b"\x7fELF\x02\x01\x01garbage"[..]).is_none());
        assert!(ObjectUnwind::read(&[0xffu8; 4096][..]).is_none());
    }

    #[test]
    fn reads_its_own_unwind_tables() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let o = ObjectUnwind::read(&exe[..]).unwrap();
        assert!(o.eh_frame.is_some() && o.eh_frame_hdr.is_some());
        assert!(!o.segments.is_empty());
        // A mapping whose offset no segment covers adds no module.
        let m = MapsEntry {
            start: 0x1000,
            end: 0x2000,
            executable: true,
            offset: u64::MAX - 0x10,
            dev: (0, 0),
            inode: 1,
            path: None,
        };
        assert!(o.add_module(&m, "x", &mut UnwinderX86_64::new()).is_none());
    }
}
