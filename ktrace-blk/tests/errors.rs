//! Errors a user can act on: a loop device that cannot be attached (as `nobody`: this test binary
//! re-executed under setpriv) is a permission error naming the call and path, and leaves no
//! backing file behind.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use ktrace_blk::LoopDevice;
use ktrace_core::testing::{AsNobody, as_nobody};

#[test]
fn loop_device_that_cannot_attach_leaves_no_backing_file() {
    const T: &str = "loop_device_that_cannot_attach_leaves_no_backing_file";
    let out = match as_nobody(T) {
        AsNobody::Child => {
            match LoopDevice::create_temp(1 << 20) {
                Ok(d) => println!("UNEXPECTED OK {d:?}"),
                Err(e) => println!("ERR {e}\nPERMISSION {}", e.is_permission()),
            }
            let prefix = format!("ktrace_loop_{}_", std::process::id());
            let left = std::fs::read_dir(std::env::temp_dir())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count();
            println!("LEFT {left}");
            return;
        }
        AsNobody::Parent(out) => out,
        AsNobody::Skipped => return,
    };
    assert!(out.contains("ERR open /dev/loop-control: Permission denied"), "{out}");
    assert!(out.contains("PERMISSION true"), "{out}");
    assert!(out.contains("LEFT 0"), "the backing file was left behind: {out}");
}
