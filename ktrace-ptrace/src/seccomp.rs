//! A seccomp-bpf program that stops the tracee (`SECCOMP_RET_TRACE`) only for chosen syscalls,
//! so everything else runs at native speed. Built as plain `sock_filter` words (no C toolchain).

use crate::arch::AuditArch;

/// One classic BPF instruction (`struct sock_filter`).
#[doc(alias = "sock_filter")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct SockFilter {
    /// Opcode.
    pub code: u16,
    /// Jump if true.
    pub jt: u8,
    /// Jump if false.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// `offsetof(struct seccomp_data, nr)`.
const OFF_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
const OFF_ARCH: u32 = 4;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_TRACE`.
pub const RET_TRACE: u32 = 0x7ff0_0000;

/// Where a `PTRACE_EVENT_SECCOMP` stop falls relative to the syscall-enter stop, which changed in
/// Linux 4.8. A tracer that resumes a seccomp stop with `PTRACE_SYSCALL` must know whether the next
/// syscall stop is the entry (before 4.8) or the exit (4.8+) when it cannot ask
/// `PTRACE_GET_SYSCALL_INFO` (5.3+). Found by [`crate::tracer::probe_seccomp_order`], as strace does.
#[doc(alias = "PTRACE_EVENT_SECCOMP")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompOrder {
    /// 4.8+: the seccomp stop comes after the (optional) syscall-enter stop; the next syscall stop
    /// after it is the exit.
    AfterEntry,
    /// Before 4.8: the seccomp stop comes first; resuming with `PTRACE_SYSCALL` gives a
    /// syscall-enter stop, then the exit.
    BeforeEntry,
}

/// Builds: syscalls of `arch` whose number is in `nrs` -> `SECCOMP_RET_TRACE`; everything else
/// (including other arches, e.g. i386 compat calls) -> `SECCOMP_RET_ALLOW`.
#[doc(alias = "seccomp")]
#[doc(alias = "SECCOMP_SET_MODE_FILTER")]
#[doc(alias = "SECCOMP_RET_TRACE")]
pub fn trace_only(arch: AuditArch, nrs: &[u64]) -> Vec<SockFilter> {
    let n = nrs.len().min(250);
    let mut p = Vec::with_capacity(n + 5);
    p.push(SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH });
    // arch mismatch: jump to the final ALLOW.
    p.push(SockFilter { code: BPF_JEQ_K, jt: 0, jf: (n + 1) as u8, k: arch.0 });
    p.push(SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFF_NR });
    for (i, &nr) in nrs.iter().take(n).enumerate() {
        // match: jump to TRACE (after the remaining compares and the ALLOW).
        let to_trace = (n - i) as u8;
        p.push(SockFilter { code: BPF_JEQ_K, jt: to_trace, jf: 0, k: nr as u32 });
    }
    p.push(SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k: RET_ALLOW });
    p.push(SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k: RET_TRACE });
    p
}

/// Runs a program on a `(arch, nr)` pair (for tests): the returned action.
pub fn simulate(p: &[SockFilter], arch: u32, nr: u32) -> Option<u32> {
    let mut acc = 0u32;
    let mut pc = 0usize;
    for _ in 0..1000 {
        let ins = p.get(pc)?;
        match ins.code {
            BPF_LD_W_ABS => acc = if ins.k == OFF_ARCH { arch } else { nr },
            BPF_JEQ_K => {
                pc += if acc == ins.k { ins.jt as usize } else { ins.jf as usize };
            }
            BPF_RET_K => return Some(ins.k),
            _ => return None,
        }
        pc += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn traces_only_chosen() {
        let p = trace_only(AuditArch::X86_64, &[257, 2]);
        assert_eq!(simulate(&p, AuditArch::X86_64.0, 257), Some(RET_TRACE));
        assert_eq!(simulate(&p, AuditArch::X86_64.0, 2), Some(RET_TRACE));
        assert_eq!(simulate(&p, AuditArch::X86_64.0, 0), Some(RET_ALLOW));
        assert_eq!(simulate(&p, AuditArch::I386.0, 257), Some(RET_ALLOW));
        let empty = trace_only(AuditArch::X86_64, &[]);
        assert_eq!(simulate(&empty, AuditArch::X86_64.0, 1), Some(RET_ALLOW));
    }
}
