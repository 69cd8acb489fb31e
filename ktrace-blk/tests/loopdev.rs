//! Live: a loop device from [`LoopDevice::create_temp`] goes away with its owner, also when the
//! owner is killed by SIGKILL (the kernel's LO_FLAGS_AUTOCLEAR), and leaves no file behind.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ktrace_blk::LoopDevice;
use ktrace_testing::root;

const CHILD: &str = "KTRACE_LOOPDEV_CHILD";

/// In the child: binds a device, says which (after libtest's `test NAME ... ` on the same line),
/// and waits to be killed.
fn child() {
    let dev = LoopDevice::create_temp(1 << 20).unwrap();
    println!("DEV {}", dev.name());
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_killed_owner_leaves_no_loop_device_and_no_file() {
    const T: &str = "a_killed_owner_leaves_no_loop_device_and_no_file";
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    if !root(T) {
        return;
    }
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", T, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(c.stdout.take().unwrap());
    let name =
        out.lines().map_while(Result::ok).find_map(|l| l.split_once("DEV ").map(|(_, d)| d.trim().to_owned())).unwrap();
    let backing = format!("/sys/block/{name}/loop/backing_file");
    let file = std::fs::read_to_string(&backing).unwrap();
    assert!(file.contains("ktrace_loop_") && file.trim_end().ends_with("(deleted)"), "unlinked at once: {file}");
    c.kill().unwrap();
    c.wait().unwrap();
    let t = Instant::now();
    while std::path::Path::new(&backing).exists() {
        assert!(t.elapsed() < Duration::from_secs(1), "{name} still bound 1 s after its owner's SIGKILL");
        std::thread::sleep(Duration::from_millis(10));
    }
}
