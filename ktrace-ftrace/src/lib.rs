//! ktrace facade for ftrace (tracefs instances, events, per-CPU ring readers, function and graph tracers, latency).
//!
//! Not written yet: this crate is a placeholder in the workspace and exposes nothing.
