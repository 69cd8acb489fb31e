//! `struct ptrace_syscall_info` (PTRACE_GET_SYSCALL_INFO, Linux 5.3+), parsed from its bytes.

use zerocopy::{FromBytes, Immutable, KnownLayout, Unaligned};

use crate::arch::AuditArch;

/// The kernel's `struct ptrace_syscall_info` header (24 bytes) as raw native-endian bytes.
#[derive(FromBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
struct RawHeader {
    op: u8,
    pad: [u8; 3],
    arch: [u8; 4],
    instruction_pointer: [u8; 8],
    stack_pointer: [u8; 8],
}
const _: () = assert!(size_of::<RawHeader>() == 24);

/// Size of the buffer PTRACE_GET_SYSCALL_INFO fills (header + largest union member, seccomp).
pub const SYSCALL_INFO_SIZE: usize = 88;

/// `PTRACE_SYSCALL_INFO_*`: what kind of stop the info describes.
#[doc(alias = "ptrace_syscall_info")]
#[doc(alias = "PTRACE_GET_SYSCALL_INFO")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallInfo {
    /// Not a syscall stop (`PTRACE_SYSCALL_INFO_NONE`).
    None,
    /// Syscall entry: number and arguments.
    Entry {
        /// Audit arch of the syscall (x86_64, i386 compat…).
        arch: AuditArch,
        /// Syscall number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
    },
    /// Syscall exit: return value, and whether it is an error.
    Exit {
        /// Audit arch.
        arch: AuditArch,
        /// Return value (negative errno on error).
        rval: i64,
        /// The kernel says this is an error return.
        is_error: bool,
    },
    /// A seccomp `SECCOMP_RET_TRACE` stop (before the syscall runs).
    Seccomp {
        /// Audit arch.
        arch: AuditArch,
        /// Syscall number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
        /// The filter's `SECCOMP_RET_DATA`.
        ret_data: u32,
    },
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_ne_bytes)
}

impl SyscallInfo {
    /// Parses the first `len` bytes the kernel wrote.
    pub fn parse(buf: &[u8]) -> SyscallInfo {
        let Ok((h, _)) = RawHeader::read_from_prefix(buf) else {
            return SyscallInfo::None;
        };
        let arch = AuditArch(u32::from_ne_bytes(h.arch));
        let args = |base: usize| {
            let mut a = [0u64; 6];
            for (i, v) in a.iter_mut().enumerate() {
                *v = u64_at(buf, base + 8 + 8 * i);
            }
            a
        };
        match h.op {
            1 => SyscallInfo::Entry { arch, nr: u64_at(buf, 24), args: args(24) },
            2 => SyscallInfo::Exit {
                arch,
                rval: u64_at(buf, 24) as i64,
                is_error: buf.get(32).copied().unwrap_or(0) != 0,
            },
            3 => SyscallInfo::Seccomp {
                arch,
                nr: u64_at(buf, 24),
                args: args(24),
                ret_data: buf.get(80..84).and_then(|s| s.try_into().ok()).map_or(0, u32::from_ne_bytes),
            },
            _ => SyscallInfo::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_entry_exit_seccomp() {
        let mut b = [0u8; SYSCALL_INFO_SIZE];
        b[0] = 1;
        b[4..8].copy_from_slice(&AuditArch::X86_64.0.to_ne_bytes());
        b[24..32].copy_from_slice(&257u64.to_ne_bytes());
        b[32..40].copy_from_slice(&(-100i64 as u64).to_ne_bytes());
        let SyscallInfo::Entry { arch, nr, args } = SyscallInfo::parse(&b) else { panic!() };
        assert_eq!((arch, nr, args[0] as i64), (AuditArch::X86_64, 257, -100));
        b[0] = 2;
        b[24..32].copy_from_slice(&(-2i64 as u64).to_ne_bytes());
        b[32] = 1;
        assert_eq!(SyscallInfo::parse(&b), SyscallInfo::Exit { arch: AuditArch::X86_64, rval: -2, is_error: true });
        b[0] = 3;
        b[80..84].copy_from_slice(&7u32.to_ne_bytes());
        assert!(matches!(SyscallInfo::parse(&b), SyscallInfo::Seccomp { ret_data: 7, .. }));
        assert_eq!(SyscallInfo::parse(&b[..10]), SyscallInfo::None);
    }
}
