//! [`Tracer::stack`]: the user call stack of the stopped tracee (feature `stack`).

use super::*;
use crate::stack::{Stack, Unwinder};

impl Tracer {
    /// The user call stack of task `pid`, the task of the event [`Tracer::next_event`] returned
    /// last (it stays stopped until the next call): at a syscall exit, the stack that made the
    /// call; at a syscall entry or a signal, the stack then. strace's `-k`; see the
    /// [`stack`](crate::stack) module for how it is walked and named, and
    /// [`Stack::strace_lines`] for strace's text. The tracer keeps the walks' caches and
    /// refreshes a process's mappings after the syscalls that change them.
    ///
    /// Errors: [`Error::Unexpected`] when `pid` is not the stopped task (it runs, or has ended).
    #[doc(alias = "strace -k")]
    pub fn stack(&mut self, pid: i32) -> Result<Stack> {
        if self.stopped.map(|s| s.0) != Some(pid) {
            return Err(Error::Unexpected { pid, what: "a stack walk of a task that is not stopped".into() });
        }
        self.unwinder.get_or_insert_with(Unwinder::new).stack(pid)
    }
}
