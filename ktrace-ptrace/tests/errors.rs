//! Errors a user can act on: attaching to pid 1 as `nobody` (this test binary re-executed under
//! setpriv) is a permission error naming CAP_SYS_PTRACE and kernel.yama.ptrace_scope, not
//! "already traced" (pid 1 has no tracer).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_core::testing::{AsNobody, as_nobody};
use ktrace_ptrace::Tracer;

#[test]
fn attach_to_init_as_nobody_is_a_permission_error() {
    const T: &str = "attach_to_init_as_nobody_is_a_permission_error";
    let out = match as_nobody(T) {
        AsNobody::Child => {
            match Tracer::attach(1) {
                Ok(_) => println!("UNEXPECTED OK"),
                Err(e) => println!("ERR {e}\nPERMISSION {}", e.is_permission()),
            }
            return;
        }
        AsNobody::Parent(out) => out,
        AsNobody::Skipped => return,
    };
    let status = std::fs::read_to_string("/proc/1/status").unwrap();
    assert!(status.contains("TracerPid:\t0"), "pid 1 is traced here: {status}");
    assert!(out.contains("ERR ptrace(PTRACE_SEIZE) on pid 1: permission denied: "), "{out}");
    assert!(out.contains("CAP_SYS_PTRACE") && out.contains("kernel.yama.ptrace_scope"), "{out}");
    assert!(!out.contains("already traced"), "{out}");
    assert!(out.contains("PERMISSION true"), "{out}");
}
