//! What the live test files of `ktrace` share.

use std::sync::{Mutex, MutexGuard};

/// Tests that count their own instances (or share the CPUs with their workloads) run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Holds the one-at-a-time lock for the calling test.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The tracefs instances this process has.
pub(crate) fn our_instances() -> Vec<String> {
    let me = format!("ktrace_{}_", std::process::id());
    std::fs::read_dir("/sys/kernel/tracing/instances")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&me))
        .collect()
}
