//! Errors a user can act on: tracefs as `nobody` (this test binary re-executed under setpriv) is
//! NotRoot, and its message says what to do (run as root, or let a group read tracefs).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_core::testing::{AsNobody, as_nobody};
use ktrace_ftrace::Tracefs;

#[test]
fn tracefs_as_nobody_says_what_to_do() {
    const T: &str = "tracefs_as_nobody_says_what_to_do";
    let out = match as_nobody(T) {
        AsNobody::Child => {
            for r in [Tracefs::find(), Tracefs::at("/sys/kernel/tracing")] {
                match r {
                    Ok(_) => println!("UNEXPECTED OK"),
                    Err(e) => println!("ERR {e}\nPERMISSION {}", e.is_permission()),
                }
            }
            return;
        }
        AsNobody::Parent(out) => out,
        AsNobody::Skipped => return,
    };
    // What the child saw is tracefs mounted at the usual place (as root, mount it if needed).
    let fs = Tracefs::find_or_mount().unwrap();
    assert_eq!(fs.root(), std::path::Path::new("/sys/kernel/tracing"), "{out}");
    let want = "ERR permission denied on /sys/kernel/tracing: tracefs is root's: run as root (sudo), or let a group \
                read it with `mount -o remount,gid=GROUP,mode=0750 /sys/kernel/tracing`\nPERMISSION true";
    assert_eq!(out.matches(want).count(), 2, "{out}");
}
