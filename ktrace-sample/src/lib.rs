//! ktrace facade for sampling: perf_event profiles and counters, /proc statistics, taskstats, BootChart, inotify.
//!
//! Not written yet: this crate is a placeholder in the workspace and exposes nothing.
