//! Commands held before exec: the child exists (pid known, not yet the program) until released;
//! a release execs it; a drop without release ends it without running the program; a missing
//! program is named as strace names it.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::process::Command;
use std::time::{Duration, Instant};

use ktrace::command::{CommandError, HeldCommand, resolve_program};

fn exe_of(pid: i32) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/exe")).unwrap()
}

#[test]
fn a_held_child_runs_the_program_only_when_released() {
    let mut cmd = Command::new(resolve_program("sh").unwrap());
    cmd.args(["-c", "exit 7"]);
    let held = HeldCommand::spawn(cmd).unwrap();
    let pid = held.pid();
    // Held: still a fork of this test binary, sleeping on the release pipe.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(exe_of(pid), std::env::current_exe().unwrap());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(stat.rsplit(')').next().unwrap().trim_start().starts_with('S'), "{stat}");
    let mut child = held.release().unwrap();
    assert_eq!(child.id() as i32, pid);
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[test]
fn a_dropped_hold_ends_the_child_without_running_it() {
    let marker = std::env::temp_dir().join(format!("ktrace-held-{}", std::process::id()));
    let mut cmd = Command::new("/bin/touch");
    cmd.arg(&marker);
    let held = HeldCommand::spawn(cmd).unwrap();
    let pid = held.pid();
    drop(held);
    let t = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "child {pid} still there (a zombie?)");
    assert!(!marker.exists(), "the program ran");
}

#[test]
fn missing_programs_are_named_like_strace() {
    let e = resolve_program("/nonexistent/prog").unwrap_err();
    assert_eq!(e.to_string(), "Can't stat '/nonexistent/prog': No such file or directory");
    let e = resolve_program("ktrace-no-such-program").unwrap_err();
    assert!(matches!(e, CommandError::NotFound { .. }), "{e}");
    let e = resolve_program("/").unwrap_err();
    assert_eq!(e.to_string(), "Can't exec '/': Is a directory");
    // Unresolved, spawn looks the program up as the child's execvp will, before forking.
    let e = HeldCommand::spawn(Command::new("/nonexistent/prog")).unwrap_err();
    assert_eq!(e.to_string(), "Can't stat '/nonexistent/prog': No such file or directory");
    let e = HeldCommand::spawn(Command::new("ktrace-no-such-program")).unwrap_err();
    assert!(matches!(e, CommandError::NotFound { .. }), "{e}");
    // ... on the command's own PATH and in its own working directory.
    let mut c = Command::new("true");
    c.env("PATH", "/nonexistent");
    assert!(matches!(HeldCommand::spawn(c).unwrap_err(), CommandError::NotFound { .. }));
    let mut c = Command::new("./true");
    c.current_dir("/bin");
    assert_eq!(HeldCommand::spawn(c).unwrap().release().unwrap().wait().unwrap().code(), Some(0));
}

#[test]
fn many_holds_at_once_do_not_mix() {
    let helds: Vec<_> = (0..8)
        .map(|i| {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", &format!("exit {i}")]);
            HeldCommand::spawn(c).unwrap()
        })
        .collect();
    for (i, h) in helds.into_iter().enumerate().rev() {
        assert_eq!(h.release().unwrap().wait().unwrap().code(), Some(i as i32));
    }
}
