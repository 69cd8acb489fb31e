//! `mini-strace -c` against `strace -c -f` on the same program: the same calls and errors per
//! syscall (the times differ, as between two strace runs).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::collections::BTreeMap;

/// `syscall -> (calls, errors)` from an strace -c table.
fn table(text: &str) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        // % time, seconds, usecs/call, calls, [errors], syscall
        if w.len() < 5 || w[0].parse::<f64>().is_err() || w.last() == Some(&"total") {
            continue;
        }
        let name = w[w.len() - 1].to_owned();
        let calls: u64 = w[3].parse().unwrap();
        let errors: u64 = if w.len() == 6 { w[4].parse().unwrap() } else { 0 };
        out.insert(name, (calls, errors));
    }
    out
}

#[test]
fn summary_counts_match_strace() {
    const T: &str = "summary_counts_match_strace";
    let Some((ours, theirs)) = common::mini_strace_and_strace(T, &["-c", "-f", "/bin/ls", "/"]) else { return };
    let (a, b) = (table(&ours), table(&theirs));
    // exit and exit_group never return: strace -c leaves them out of its table, and so does mini-strace.
    assert!(!a.contains_key("exit_group") && !a.contains_key("exit"), "ours lists exit calls: {a:?}");
    assert!(b.len() > 10, "strace's table: {b:?}");
    assert_eq!(a, b, "per-syscall (calls, errors): ktrace vs strace");
}
