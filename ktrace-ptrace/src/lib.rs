//! ktrace facade for ptrace: syscall and signal tracing of processes.
//!
//! Not written yet: this crate is a placeholder in the workspace and exposes nothing.
