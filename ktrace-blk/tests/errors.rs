//! Errors a user can act on: a loop device that cannot be attached (as `nobody`: this test binary
//! re-executed under setpriv) is a permission error naming the call and path, and leaves no
//! backing file behind.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_blk::{Error, LoopDevice};
use ktrace_testing::refused_as_nobody;

#[test]
fn loop_device_that_cannot_attach_leaves_no_backing_file() {
    const T: &str = "loop_device_that_cannot_attach_leaves_no_backing_file";
    let create = || {
        let r = LoopDevice::create_temp(1 << 20);
        let prefix = format!("ktrace_loop_{}_", std::process::id());
        let left = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count();
        println!("LEFT {left}");
        r
    };
    let Some(out) = refused_as_nobody(T, create, Error::is_permission) else { return };
    assert!(out.contains("ERR open /dev/loop-control: Permission denied"), "{out}");
    assert!(out.contains("needs CAP_SYS_ADMIN (or root)"), "the error names the capability: {out}");
    assert!(out.contains("PERMISSION true"), "{out}");
    assert!(out.contains("LEFT 0"), "the backing file was left behind: {out}");
}
