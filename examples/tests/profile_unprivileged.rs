//! The profiler as an unprivileged user under `perf_event_paranoid` 2 (this machine's default):
//! kernel sampling is refused, so it falls back to user space only, as perf does, instead of failing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use ktrace_testing::{Skip, installed, skip};

#[test]
fn profile_as_nobody_falls_back_to_user_space() {
    const T: &str = "profile_as_nobody_falls_back_to_user_space";
    if !nix::unistd::geteuid().is_root() {
        return skip(T, Skip::Environment("needs root to switch to nobody"));
    }
    let paranoid: i32 =
        std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").unwrap().trim().parse().unwrap();
    if paranoid < 2 {
        return skip(T, Skip::Environment("perf_event_paranoid < 2: kernel sampling is allowed to everyone"));
    }
    if !installed(T, &["setpriv", "--version"], "util-linux") {
        return;
    }
    // A copy nobody can execute, in a directory nobody can write.
    let dir = std::env::temp_dir().join(format!("ktrace-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let bin = dir.join("profile");
    std::fs::copy(env!("CARGO_BIN_EXE_profile"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["-F", "499", "-o"])
        .arg(dir.join("p.svg"))
        .args(["--", "/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "profile as nobody failed: {err}");
    let n: u64 =
        err.split_whitespace().skip_while(|w| *w != "profile:").nth(1).and_then(|w| w.parse().ok()).unwrap_or(0);
    assert!(n > 10, "too few samples as nobody: {err}");
    assert!(std::fs::read_to_string(dir.join("p.svg")).unwrap().contains("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}
