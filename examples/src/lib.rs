//! Helpers shared by the example tools.

use std::io::Write;
use std::process::{Child, Command, Stdio};

/// A command started but held before `exec` (a shell blocked on a pipe), so a tracer, probe or
/// counter can be attached to its pid before it runs anything of its own.
#[derive(Debug)]
pub struct Gated {
    /// The held process; after [`Gated::release`] it runs the command.
    pub child: Child,
}

impl Gated {
    /// Starts `prog args…` held.
    pub fn spawn(prog: &str, args: &[String]) -> std::io::Result<Gated> {
        let child = Command::new("sh")
            .arg("-c")
            .arg("read _ && exec \"$0\" \"$@\"")
            .arg(prog)
            .args(args)
            .stdin(Stdio::piped())
            .spawn()?;
        Ok(Gated { child })
    }

    /// The pid (the same before and after the exec).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Lets it run.
    pub fn release(&mut self) -> std::io::Result<()> {
        match self.child.stdin.take() {
            Some(mut s) => s.write_all(b"\n"),
            None => Ok(()),
        }
    }
}

/// Runs `cmd` to completion, or sleeps `secs` when there is no command: the span a tool traces.
pub fn run_or_sleep(cmd: &[String], secs: f64) -> std::io::Result<()> {
    match cmd.split_first() {
        Some((p, rest)) => Command::new(p).args(rest).status().map(|_| ()),
        None => {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            Ok(())
        }
    }
}
