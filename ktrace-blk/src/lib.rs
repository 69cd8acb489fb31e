//! ktrace facade for block-layer tracing: blktrace, the ftrace blk tracer, btt analysis.
//!
//! Not written yet: this crate is a placeholder in the workspace and exposes nothing.
