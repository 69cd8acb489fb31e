//! Errors a user can act on: attaching to pid 1 as `nobody` (this test binary re-executed under
//! setpriv) is a permission error naming CAP_SYS_PTRACE and kernel.yama.ptrace_scope, not
//! "already traced" (pid 1 has no tracer).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_ptrace::{Error, Tracer};
use ktrace_testing::refused_as_nobody;

#[test]
fn attach_to_init_as_nobody_is_a_permission_error() {
    const T: &str = "attach_to_init_as_nobody_is_a_permission_error";
    let Some(out) = refused_as_nobody(T, || Tracer::attach(1), Error::is_permission) else { return };
    let status = std::fs::read_to_string("/proc/1/status").unwrap();
    assert!(status.contains("TracerPid:\t0"), "pid 1 is traced here: {status}");
    assert!(out.contains("ERR ptrace(PTRACE_SEIZE) on pid 1: permission denied: "), "{out}");
    assert!(out.contains("CAP_SYS_PTRACE") && out.contains("kernel.yama.ptrace_scope"), "{out}");
    assert!(!out.contains("already traced"), "{out}");
    assert!(out.contains("PERMISSION true"), "{out}");
}
