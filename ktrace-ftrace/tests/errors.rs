//! Errors a user can act on: tracefs as `nobody` (this test binary re-executed under setpriv) is
//! NotRoot, and its message says what to do (run as root, or let a group read tracefs).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_ftrace::{Error, Tracefs};
use ktrace_testing::refused_as_nobody;

#[test]
fn tracefs_as_nobody_says_what_to_do() {
    const T: &str = "tracefs_as_nobody_says_what_to_do";
    let at = || {
        // Both ways of finding tracefs say the same.
        if let Err(e) = Tracefs::at("/sys/kernel/tracing") {
            println!("AT {e}");
        }
        Tracefs::find()
    };
    let Some(out) = refused_as_nobody(T, at, Error::is_permission) else { return };
    // What the child saw is tracefs mounted at the usual place (as root, mount it if needed).
    let fs = Tracefs::find_or_mount().unwrap();
    assert_eq!(fs.root(), std::path::Path::new("/sys/kernel/tracing"), "{out}");
    let want = "permission denied on /sys/kernel/tracing: tracefs is root's: run as root (sudo), or let a group read \
                it with `mount -o remount,gid=GROUP,mode=0750 /sys/kernel/tracing`";
    assert!(out.contains(&format!("AT {want}\n")), "{out}");
    assert!(out.contains(&format!("ERR {want}\nPERMISSION true")), "{out}");
}
