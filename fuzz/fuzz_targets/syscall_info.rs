//! Fuzzes the `struct ptrace_syscall_info` parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ktrace_ptrace::SyscallInfo::parse(data);
});
