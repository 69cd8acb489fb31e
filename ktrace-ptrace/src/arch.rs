//! Audit architectures (`AUDIT_ARCH_*`) and syscall names per architecture.

/// An `AUDIT_ARCH_*` value: which syscall table a syscall belongs to.
#[doc(alias = "AUDIT_ARCH_X86_64")]
#[doc(alias = "AUDIT_ARCH_AARCH64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditArch(pub u32);

impl AuditArch {
    /// `AUDIT_ARCH_X86_64`.
    pub const X86_64: AuditArch = AuditArch(0xC000_003E);
    /// `AUDIT_ARCH_I386` (32-bit compat on x86_64).
    pub const I386: AuditArch = AuditArch(0x4000_0003);
    /// `AUDIT_ARCH_AARCH64`.
    pub const AARCH64: AuditArch = AuditArch(0xC000_00B7);

    /// The arch this code was built for.
    pub const NATIVE: AuditArch = if cfg!(target_arch = "aarch64") { AuditArch::AARCH64 } else { AuditArch::X86_64 };

    /// The syscall's name in this arch's table (`openat`), or `None` for unknown numbers/arches.
    pub fn syscall_name(self, nr: u64) -> Option<&'static str> {
        let nr = usize::try_from(nr).ok()?;
        match self {
            AuditArch::X86_64 => syscalls::x86_64::Sysno::new(nr).map(|s| s.name()),
            AuditArch::I386 => syscalls::x86::Sysno::new(nr).map(|s| s.name()),
            AuditArch::AARCH64 => syscalls::aarch64::Sysno::new(nr).map(|s| s.name()),
            _ => None,
        }
    }

    /// The number of a syscall by name in this arch's table.
    pub fn syscall_nr(self, name: &str) -> Option<u64> {
        match self {
            AuditArch::X86_64 => name.parse::<syscalls::x86_64::Sysno>().ok().map(|s| s.id() as u64),
            AuditArch::I386 => name.parse::<syscalls::x86::Sysno>().ok().map(|s| s.id() as u64),
            AuditArch::AARCH64 => name.parse::<syscalls::aarch64::Sysno>().ok().map(|s| s.id() as u64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names() {
        assert_eq!(AuditArch::X86_64.syscall_name(257), Some("openat"));
        assert_eq!(AuditArch::I386.syscall_name(5), Some("open"));
        assert_eq!(AuditArch::AARCH64.syscall_name(56), Some("openat"));
        assert_eq!(AuditArch::X86_64.syscall_nr("getppid"), Some(110));
        assert_eq!(AuditArch(1).syscall_name(1), None);
    }
}
