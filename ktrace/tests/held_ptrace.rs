//! A held command traced with ptrace from its exec: seized while held, released on the tracer's
//! own thread (the release returns at the exec, where the tracee waits), its first traced call
//! the execve of the resolved program, nothing of the hold before it.
#![cfg(feature = "ptrace")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::process::{Command, Stdio};

use ktrace::command::{HeldCommand, resolve_program};
use ktrace::ptrace::{Event, Tracer};

#[test]
fn a_held_command_is_traced_from_its_exec() {
    let mut cmd = Command::new(resolve_program("cat").unwrap());
    cmd.arg("/etc/hostname").stdout(Stdio::null());
    let held = HeldCommand::spawn(cmd).unwrap();
    let pid = held.pid();
    let mut t = Tracer::seize_held(pid, true).unwrap();
    let mut child = held.release().unwrap();
    let mut lines = Vec::new();
    let mut last = None;
    while let Some(ev) = t.next_event().unwrap() {
        if matches!(ev, Event::SyscallExit { .. }) {
            lines.push(t.describe(&ev));
        }
        last = Some(ev);
    }
    let exe = resolve_program("cat").unwrap();
    let want = format!(r#"execve("{}", ["{}", "/etc/hostname"], 0x"#, exe.display(), exe.display());
    assert!(lines[0].starts_with(&want), "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("execve(")).count(), 1, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains(r#""/etc/hostname", O_RDONLY"#)), "{lines:?}");
    assert_eq!(last, Some(Event::Exited { pid, code: 0 }));
    // The tracer (a thread of its parent process) reaped it.
    assert!(child.wait().is_err());
}
