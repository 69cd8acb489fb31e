//! ktrace facade for dynamic probes: kprobes, uprobes, USDT.
//!
//! Not written yet: this crate is a placeholder in the workspace and exposes nothing.
