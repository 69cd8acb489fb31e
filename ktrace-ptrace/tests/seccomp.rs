//! Live: the seccomp filter built by `seccomp::trace_only` (arch check, then a binary search)
//! stops the tracee for exactly the chosen syscalls -- small sets (compare chains) and a set large
//! enough to need far jumps -- compared with a full trace of the same command.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeSet;

use ktrace_ptrace::{AuditArch, Event, TraceCommand};

/// The syscall numbers `cat /etc/hostname` stopped at, with the filter `nrs` or with none.
fn stops(nrs: Option<&[u64]>) -> BTreeSet<u64> {
    let mut c = TraceCommand::new("/bin/cat").arg("/etc/hostname").stdout_null();
    if let Some(nrs) = nrs {
        c = c.seccomp_filter(nrs);
    }
    let mut t = c.spawn().unwrap();
    let mut seen = BTreeSet::new();
    while let Some(e) = t.next_event().unwrap() {
        if let Event::SyscallEnter { nr, .. } | Event::SyscallExit { nr, .. } = e {
            seen.insert(nr);
        }
    }
    // The exec that started the tracee is reported whatever the filter.
    seen.remove(&AuditArch::NATIVE.syscall_nr("execve").unwrap());
    seen
}

#[test]
fn filter_traps_exactly_the_chosen_syscalls() {
    let all = stops(None);
    assert!(all.len() >= 6, "a full trace of cat: {all:?}");
    let every_other: Vec<u64> = all.iter().copied().step_by(2).collect();
    let evens: Vec<u64> = (0..460).filter(|n| n % 2 == 0).collect();
    let odds: Vec<u64> = (0..460).filter(|n| n % 2 == 1).collect();
    let read = AuditArch::NATIVE.syscall_nr("read").unwrap();
    for chosen in [vec![read], every_other, evens, odds] {
        let want: BTreeSet<u64> = all.iter().copied().filter(|n| chosen.contains(n)).collect();
        assert!(!want.is_empty(), "cat makes none of {chosen:?}");
        assert_eq!(stops(Some(&chosen)), want, "filter on {} numbers", chosen.len());
    }
    // The empty set is the allow-all filter: no syscall stops at all.
    assert_eq!(stops(Some(&[])), BTreeSet::new());
}

#[test]
fn a_filter_over_the_kernel_limit_is_an_error_before_the_command_runs() {
    if !ktrace_testing::root("a_filter_over_the_kernel_limit_is_an_error_before_the_command_runs") {
        return;
    }
    let many: Vec<u64> = (0..6000).step_by(2).collect();
    assert!(ktrace_ptrace::seccomp::trace_only(AuditArch::NATIVE, &many).len() > ktrace_ptrace::seccomp::MAX_INSNS);
    let e = TraceCommand::new("/bin/true").seccomp_filter(&many).spawn().map(|_| ()).unwrap_err();
    let text = e.to_string();
    assert!(text.contains("BPF_MAXINSNS 4096") && text.contains("3000 syscall numbers"), "{text}");
}
