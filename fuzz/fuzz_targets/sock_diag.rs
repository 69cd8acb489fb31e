//! Fuzzes the sock_diag(7) answer parser (inet_diag, unix_diag, netlink_diag messages).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let inode = data.first().map_or(0, |&b| u64::from(b));
    let _ = ktrace_ptrace::sock_diag::find(data, inode);
});
