//! The capture harness, live: each query type against a workload whose kernel events are known.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::process::Command;

use ktrace::capture::{Spec, capture};

#[test]
fn syscalls_execs_and_exit_codes() {
    let path = format!("/tmp/ktrace-cap-{}", std::process::id());
    let (cap, status) = capture(Spec::default().watch_path(&path), || {
        std::fs::write(&path, b"x").unwrap();
        Command::new("/bin/sh").args(["-c", "exit 5"]).status().unwrap()
    })
    .unwrap();
    println!("{cap}");
    assert_eq!(status.code(), Some(5));
    let open = cap.assert_opened(&path);
    assert!(open.ret.unwrap() >= 0, "{open}");
    cap.assert_exec("sh");
    let exit = cap.assert_exited(5);
    assert_eq!(cap.exits().len(), 1, "{cap}");
    let _ = exit;
    std::fs::remove_file(&path).unwrap();
}
