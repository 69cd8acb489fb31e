//! `/proc/PID/maps` parsed: the mappings a stack walk looks addresses up in.

use std::sync::Arc;

/// One line of `/proc/PID/maps` (proc(5)): `start-end perms offset major:minor inode path`.
#[doc(alias = "proc_pid_maps")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsEntry {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// The `x` permission: code may run here.
    pub executable: bool,
    /// File offset of `start`.
    pub offset: u64,
    /// The device of the file, `(major, minor)`.
    pub dev: (u32, u32),
    /// The inode of the file (0 for anonymous memory).
    pub inode: u64,
    /// The path column: a file, or a pseudo-name (`[vdso]`, `[stack]`, `[heap]`); `None` for
    /// anonymous memory.
    pub path: Option<Arc<str>>,
}

impl MapsEntry {
    /// A file mapped from disk (its path is absolute), rather than a pseudo-mapping or anonymous memory.
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.as_deref().is_some_and(|p| p.starts_with('/'))
    }

    /// The offset in the mapped file of address `addr` of this mapping (strace's `[0x…]`).
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        (addr >= self.start && addr < self.end).then(|| (addr - self.start).checked_add(self.offset)).flatten()
    }

    /// One line of `/proc/PID/maps`; `None` when it is not in the kernel's format.
    pub fn parse(line: &str) -> Option<MapsEntry> {
        let mut rest = line.trim_end_matches('\n');
        let mut field = || {
            let r = rest.trim_start_matches(' ');
            let (f, tail) = r.split_once(' ').unwrap_or((r, ""));
            rest = tail;
            f
        };
        let (range, perms, offset, dev, inode) = (field(), field(), field(), field(), field());
        let (start, end) = range.split_once('-')?;
        let (start, end) = (u64::from_str_radix(start, 16).ok()?, u64::from_str_radix(end, 16).ok()?);
        if end < start {
            return None;
        }
        let perms = perms.as_bytes();
        let executable = match perms {
            [b'r' | b'-', b'w' | b'-', x @ (b'x' | b'-'), b'p' | b's'] => *x == b'x',
            _ => return None,
        };
        let (major, minor) = dev.split_once(':')?;
        let dev = (u32::from_str_radix(major, 16).ok()?, u32::from_str_radix(minor, 16).ok()?);
        let path = rest.trim_start_matches(' ');
        Some(MapsEntry {
            start,
            end,
            executable,
            offset: u64::from_str_radix(offset, 16).ok()?,
            dev,
            inode: inode.parse().ok()?,
            path: (!path.is_empty()).then(|| Arc::from(path)),
        })
    }
}

/// The mappings of `/proc/PID/maps` text, in address order. Lines not in the kernel's format,
/// and mappings that overlap the one before (never seen from the kernel), are left out, as strace
/// leaves them out of its cache.
pub fn parse_maps(text: &str) -> Vec<MapsEntry> {
    let mut out: Vec<MapsEntry> = Vec::new();
    for m in text.lines().filter_map(MapsEntry::parse) {
        if out.last().is_some_and(|p| m.start < p.end) {
            continue;
        }
        out.push(m);
    }
    out
}

/// The mapping holding `addr` in `maps` (sorted, as [`parse_maps`] returns them).
pub(crate) fn find(maps: &[MapsEntry], addr: u64) -> Option<&MapsEntry> {
    let i = maps.partition_point(|m| m.start <= addr).checked_sub(1)?;
    maps.get(i).filter(|m| addr < m.end)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]
    use super::*;

    const MAPS: &str = "\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1311 /tmp/stk/chain
55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1311 /tmp/stk/chain
55d0c1c4f000-55d0c1c70000 rw-p 00000000 00:00 0                          [heap]
7f3a2c026000-7f3a2c17b000 r-xp 00026000 fe:01 2764 /usr/lib/x86_64-linux-gnu/libc.so.6
7f3a2c200000-7f3a2c201000 r-xp 00000000 00:00 0 \n\
7f3a2c300000-7f3a2c301000 r-xp 00000000 fe:01 99                         /tmp/a file with spaces
7ffd1d5f1000-7ffd1d5f3000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn parses_the_kernels_lines() {
        let m = parse_maps(MAPS);
        assert_eq!(m.len(), 8);
        assert_eq!(m[1].start, 0x55d0_c0a0_1000);
        assert!(m[1].executable && !m[0].executable);
        assert_eq!(m[1].offset, 0x1000);
        assert_eq!(m[1].dev, (0xfe, 1));
        assert_eq!(m[1].inode, 1311);
        assert_eq!(m[1].path.as_deref(), Some("/tmp/stk/chain"));
        assert_eq!(m[2].path.as_deref(), Some("[heap]"));
        assert!(!m[2].is_file() && m[3].is_file());
        assert_eq!(m[4].path, None, "anonymous memory has no path");
        assert_eq!(m[5].path.as_deref(), Some("/tmp/a file with spaces"));
        assert_eq!(m[6].path.as_deref(), Some("[vdso]"));
        assert_eq!(m[7].end, 0xffff_ffff_ff60_1000);
    }

    #[test]
    fn finds_the_mapping_of_an_address() {
        let m = parse_maps(MAPS);
        let libc = find(&m, 0x7f3a_2c0f_e350).unwrap();
        assert_eq!(libc.file_offset(0x7f3a_2c0f_e350), Some(0xfe350));
        assert_eq!(find(&m, 0x55d0_c0a0_1179).unwrap().file_offset(0x55d0_c0a0_1179), Some(0x1179));
        assert!(find(&m, 0x1000).is_none());
        assert!(find(&m, 0x7f3a_2c17_b000).is_none(), "the end is exclusive");
        assert!(find(&m, u64::MAX).is_none());
    }

    #[test]
    fn bad_lines_are_left_out_without_panicking() {
        let bad = "\
garbage
1000-0fff r-xp 00000000 00:00 0 /reversed
zz-2000 r-xp 00000000 00:00 0 /x
1000-2000 rwxq 00000000 00:00 0 /badperm
1000-2000 r-xp 0000zz00 00:00 0 /badoff
1000-2000 r-xp 00000000 0000 0 /baddev
1000-2000 r-xp 00000000 00:00 -1 /badinode
1000-2000 r-xp
3000-4000 r-xp 00000000 00:00 0 /ok
3800-5000 r-xp 00000000 00:00 0 /overlaps
\u{0}\u{ff}
";
        let m = parse_maps(bad);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path.as_deref(), Some("/ok"));
        assert!(parse_maps("").is_empty());
    }
}
