//! Helpers shared by the live probe tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use ktrace_core::testing::root;
use ktrace_ftrace::Tracefs;

/// tracefs (mounted on demand) when the test runs as root; else `None`, the skip of `test` recorded.
pub(crate) fn tracefs(test: &str) -> Option<Tracefs> {
    root(test).then(|| Tracefs::find_or_mount().unwrap())
}
