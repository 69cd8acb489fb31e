//! Helpers shared by the example tools' tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::process::Command;

/// What mini-strace and strace print (their stderr) for the same `args`, mini-strace's first; it
/// must succeed. `None` when strace is not installed (the skip of `test` recorded).
pub(crate) fn mini_strace_and_strace(test: &str, args: &[&str]) -> Option<(String, String)> {
    if !ktrace_testing::installed(test, &["strace", "-V"], "strace") {
        return None;
    }
    let ours = Command::new(env!("CARGO_BIN_EXE_mini-strace")).args(args).output().unwrap();
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let theirs = Command::new("strace").args(args).output().unwrap();
    Some((String::from_utf8_lossy(&ours.stderr).into_owned(), String::from_utf8_lossy(&theirs.stderr).into_owned()))
}

/// True as root with tracefs at /sys/kernel/tracing; otherwise the skip of `test` is recorded.
pub(crate) fn root(test: &str) -> bool {
    let ok = nix::unistd::geteuid().is_root() && std::path::Path::new("/sys/kernel/tracing/instances").is_dir();
    if !ok {
        ktrace_testing::skip(test, ktrace_testing::Skip::Environment("needs root and tracefs at /sys/kernel/tracing"));
    }
    ok
}

/// As [`root`], a fresh loop device of `bytes` that the test may write; else `None` (skipped).
pub(crate) fn loop_device(test: &str, bytes: u64) -> Option<ktrace_blk::LoopDevice> {
    root(test).then(|| ktrace_blk::LoopDevice::create_temp(bytes).unwrap())
}
