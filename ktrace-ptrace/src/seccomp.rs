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
const BPF_JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
/// `offsetof(struct seccomp_data, nr)`.
const OFF_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
const OFF_ARCH: u32 = 4;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_TRACE`.
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// `BPF_MAXINSNS`: the kernel refuses longer classic BPF programs.
pub const MAX_INSNS: usize = 4096;
/// Sets at most this large are tested by a chain of compares; larger ones are split by a `JGE`.
const LEAF: usize = 4;

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
///
/// The program is as short as the set allows: an empty set is the one-instruction allow-all
/// filter; otherwise the arch check comes first, then a binary search over the sorted, deduplicated
/// numbers (`JGE` splits down to chains of at most four `JEQ`), so a syscall costs
/// O(log n) instructions instead of a linear compare chain. Only the opcodes the kernel's
/// constant-action emulator follows are used (`LD nr/arch`, `JEQ`/`JGE`/`JA`, `RET`), so on
/// Linux 5.11+ every syscall outside `nrs` is allowed from the per-filter bitmap without running
/// the program at all (`seccomp_cache_prepare`, kernel/seccomp.c). A bitmap test inside the
/// program would need `BPF_LSH | BPF_X`, which the emulator does not follow and would disable
/// that cache. Numbers above `u32::MAX` can never match and are dropped.
#[doc(alias = "seccomp")]
#[doc(alias = "SECCOMP_SET_MODE_FILTER")]
#[doc(alias = "SECCOMP_RET_TRACE")]
pub fn trace_only(arch: AuditArch, nrs: &[u64]) -> Vec<SockFilter> {
    let mut set: Vec<u32> = nrs.iter().filter_map(|&n| u32::try_from(n).ok()).collect();
    set.sort_unstable();
    set.dedup();
    let ret = |k| SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k };
    if set.is_empty() {
        return vec![ret(RET_ALLOW)];
    }
    let mut p = Vec::with_capacity(2 * set.len() + 8);
    p.push(SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH });
    // Another arch (i386 compat calls on x86_64): the ALLOW right below.
    p.push(SockFilter { code: BPF_JEQ_K, jt: 1, jf: 0, k: arch.0 });
    p.push(ret(RET_ALLOW));
    p.push(SockFilter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: OFF_NR });
    p.extend(search(&set));
    p
}

/// The search over a sorted, non-empty `set`, with the syscall number in the accumulator; every
/// path ends in its own `RET`, so no jump leaves the returned block.
fn search(set: &[u32]) -> Vec<SockFilter> {
    let ret = |k| SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k };
    if set.len() <= LEAF {
        // JEQ s_i -> the TRACE at the end; no match falls through to ALLOW.
        let n = set.len();
        let mut p: Vec<SockFilter> =
            set.iter().enumerate().map(|(i, &k)| SockFilter { code: BPF_JEQ_K, jt: (n - i) as u8, jf: 0, k }).collect();
        p.push(ret(RET_ALLOW));
        p.push(ret(RET_TRACE));
        return p;
    }
    let (lo_set, hi_set) = set.split_at(set.len() / 2);
    let split = hi_set.first().copied().unwrap_or(u32::MAX);
    let (lo, hi) = (search(lo_set), search(hi_set));
    let mut p = Vec::with_capacity(lo.len() + hi.len() + 2);
    match u8::try_from(hi.len()) {
        // nr >= split: the upper half right below; else jump over it.
        Ok(skip) => p.push(SockFilter { code: BPF_JGE_K, jt: 0, jf: skip, k: split }),
        // Too far for an 8-bit offset: the lower half is reached through a JA (32-bit offset).
        Err(_) => {
            p.push(SockFilter { code: BPF_JGE_K, jt: 1, jf: 0, k: split });
            p.push(SockFilter { code: BPF_JA, jt: 0, jf: 0, k: hi.len() as u32 });
        }
    }
    p.extend(hi);
    p.extend(lo);
    p
}

/// Runs a program on a `(arch, nr)` pair (for tests): the returned action, or `None` for an
/// opcode other than the ones [`trace_only`] emits, a jump out of the program, or a loop.
pub fn simulate(p: &[SockFilter], arch: u32, nr: u32) -> Option<u32> {
    simulate_counted(p, arch, nr).map(|(action, _)| action)
}

/// [`simulate`], also returning how many instructions ran.
fn simulate_counted(p: &[SockFilter], arch: u32, nr: u32) -> Option<(u32, usize)> {
    let mut acc = 0u32;
    let mut pc = 0usize;
    for steps in 1..=p.len() {
        let ins = p.get(pc)?;
        match ins.code {
            BPF_LD_W_ABS => acc = if ins.k == OFF_ARCH { arch } else { nr },
            BPF_JEQ_K => pc += if acc == ins.k { ins.jt as usize } else { ins.jf as usize },
            BPF_JGE_K => pc += if acc >= ins.k { ins.jt as usize } else { ins.jf as usize },
            BPF_JA => pc += ins.k as usize,
            BPF_RET_K => return Some((ins.k, steps)),
            _ => return None,
        }
        pc += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86: u32 = AuditArch::X86_64.0;

    #[test]
    fn traces_only_chosen() {
        let p = trace_only(AuditArch::X86_64, &[257, 2]);
        assert_eq!(simulate(&p, X86, 257), Some(RET_TRACE));
        assert_eq!(simulate(&p, X86, 2), Some(RET_TRACE));
        assert_eq!(simulate(&p, X86, 0), Some(RET_ALLOW));
        assert_eq!(simulate(&p, AuditArch::I386.0, 257), Some(RET_ALLOW));
    }

    #[test]
    fn empty_set_is_the_allow_all_filter() {
        let empty = trace_only(AuditArch::X86_64, &[]);
        assert_eq!(empty, vec![SockFilter { code: BPF_RET_K, jt: 0, jf: 0, k: RET_ALLOW }]);
        // Numbers that cannot be a 32-bit seccomp_data.nr are dropped, leaving nothing to trace.
        assert_eq!(trace_only(AuditArch::X86_64, &[1 << 40]), empty);
    }

    #[test]
    fn arch_check_comes_first() {
        let p = trace_only(AuditArch::X86_64, &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(p.first().map(|i| (i.code, i.k)), Some((BPF_LD_W_ABS, OFF_ARCH)));
        // Another arch is allowed after the load, the compare and the return.
        assert_eq!(simulate_counted(&p, AuditArch::I386.0, 3), Some((RET_ALLOW, 3)));
    }

    /// Every set size up to more than the syscall table: exactly the members trace, on every
    /// number around them; only emulator-followed opcodes; at most O(log n) instructions run.
    #[test]
    fn matches_set_membership_with_logarithmic_paths() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in (0..40).chain([100, 255, 256, 300, 460, 600]) {
            for dense in [false, true] {
                let nrs: Vec<u64> = (0..n).map(|_| if dense { rand() % 512 } else { rand() % 4000 }).collect();
                let mut set = nrs.clone();
                set.sort_unstable();
                set.dedup();
                let p = trace_only(AuditArch::X86_64, &nrs);
                assert!(p.len() <= MAX_INSNS && p.len() <= 3 * set.len() + 8, "{n}: {} insns", p.len());
                assert!(p.iter().all(|i| [BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_JA, BPF_RET_K].contains(&i.code)));
                let depth = 4 + 2 * (usize::BITS - set.len().leading_zeros()) as usize + LEAF + 1;
                for nr in 0..4100u32 {
                    let want = if set.binary_search(&u64::from(nr)).is_ok() { RET_TRACE } else { RET_ALLOW };
                    let (got, steps) = simulate_counted(&p, X86, nr).unwrap();
                    assert_eq!(got, want, "set of {n}, nr {nr}");
                    assert!(steps <= depth, "set of {n}, nr {nr}: {steps} steps > {depth}");
                }
                assert_eq!(simulate(&p, AuditArch::I386.0, set.first().map_or(0, |&f| f as u32)), Some(RET_ALLOW));
            }
        }
    }

    /// Far halves (more than 255 instructions) are reached through a `JA`.
    #[test]
    fn far_jumps_use_ja() {
        let nrs: Vec<u64> = (0..400).map(|i| i * 3).collect();
        let p = trace_only(AuditArch::X86_64, &nrs);
        assert!(p.iter().any(|i| i.code == BPF_JA));
        assert_eq!(simulate(&p, X86, 0), Some(RET_TRACE));
        assert_eq!(simulate(&p, X86, 1197), Some(RET_TRACE));
        assert_eq!(simulate(&p, X86, 1198), Some(RET_ALLOW));
    }
}
