//! Helpers shared by the example tools' tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::process::Command;

/// What mini-strace and strace print (their stderr) for the same `args`, mini-strace's first; it
/// must succeed. `None` when strace is not installed (the skip of `test` recorded).
pub(crate) fn mini_strace_and_strace(test: &str, args: &[&str]) -> Option<(String, String)> {
    if !ktrace_core::testing::installed(test, &["strace", "-V"], "strace") {
        return None;
    }
    let ours = Command::new(env!("CARGO_BIN_EXE_mini-strace")).args(args).output().unwrap();
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let theirs = Command::new("strace").args(args).output().unwrap();
    Some((String::from_utf8_lossy(&ours.stderr).into_owned(), String::from_utf8_lossy(&theirs.stderr).into_owned()))
}
