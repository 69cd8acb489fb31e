//! `struct ptrace_syscall_info` (PTRACE_GET_SYSCALL_INFO, Linux 5.3+), parsed from its bytes.

use ktrace_core::{Cursor, ParseError, Reading};
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

impl SyscallInfo {
    /// Parses the first `len` bytes the kernel wrote. Bytes that do not hold the whole struct
    /// for their op describe no stop: [`SyscallInfo::None`] ([`SyscallInfo::try_parse`] says
    /// what was missing).
    pub fn parse(buf: &[u8]) -> SyscallInfo {
        SyscallInfo::try_parse(buf).unwrap_or(SyscallInfo::None)
    }

    /// Parses the first `len` bytes the kernel wrote; input shorter than the header and the
    /// union member of its op is [`ParseError::Truncated`] naming the offset. An op this code
    /// does not know is [`SyscallInfo::None`].
    pub fn try_parse(buf: &[u8]) -> Result<SyscallInfo, ParseError> {
        let mut c = Cursor::new(buf);
        let h = c.read_ref::<RawHeader>("ptrace_syscall_info")?;
        let arch = AuditArch(u32::from_ne_bytes(h.arch));
        let args = |c: &mut Cursor<'_>| -> Result<[u64; 6], ParseError> {
            let mut a = [0u64; 6];
            for v in &mut a {
                *v = c.u64().reading("syscall argument")?;
            }
            Ok(a)
        };
        Ok(match h.op {
            1 => SyscallInfo::Entry { arch, nr: c.u64().reading("entry.nr")?, args: args(&mut c)? },
            2 => SyscallInfo::Exit {
                arch,
                rval: c.i64().reading("exit.rval")?,
                is_error: c.u8().reading("exit.is_error")? != 0,
            },
            3 => SyscallInfo::Seccomp {
                arch,
                nr: c.u64().reading("seccomp.nr")?,
                args: args(&mut c)?,
                ret_data: c.u32().reading("seccomp.ret_data")?,
            },
            _ => SyscallInfo::None,
        })
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
        // Short input is an error naming where, never zeros.
        assert_eq!(
            SyscallInfo::try_parse(&b[..10]),
            Err(ParseError::Truncated { offset: 0, wanted: 24, available: 10, what: "ptrace_syscall_info" })
        );
        assert_eq!(
            SyscallInfo::try_parse(&b[..81]),
            Err(ParseError::Truncated { offset: 80, wanted: 4, available: 1, what: "seccomp.ret_data" })
        );
        b[0] = 1;
        assert!(matches!(SyscallInfo::try_parse(&b[..79]), Err(ParseError::Truncated { offset: 72, .. })));
        assert!(matches!(SyscallInfo::try_parse(&b[..80]), Ok(SyscallInfo::Entry { .. })));
        b[0] = 9;
        assert_eq!(SyscallInfo::try_parse(&b[..24]), Ok(SyscallInfo::None));
    }
}
