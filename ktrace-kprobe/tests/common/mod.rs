//! Helpers shared by the live probe tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use ktrace_ftrace::Tracefs;
use ktrace_kprobe::Probes;
use ktrace_testing::root;

/// tracefs (mounted on demand) when the test runs as root; else `None`, the skip of `test` recorded.
pub(crate) fn tracefs(test: &str) -> Option<Tracefs> {
    root(test).then(|| Tracefs::find_or_mount().unwrap())
}

/// [`tracefs`] and a fresh [`Probes`] set on it.
pub(crate) fn probes(test: &str) -> Option<(Tracefs, Probes)> {
    let fs = tracefs(test)?;
    let probes = Probes::new(&fs);
    Some((fs, probes))
}

/// `r`'s value; `None` when the kernel cannot do it (a kernel-lacks skip of `test`, `feature`
/// missing). Any other error fails the test.
pub(crate) fn supported<T>(test: &str, feature: &str, r: Result<T, ktrace_kprobe::Error>) -> Option<T> {
    match r {
        Err(e) if e.is_unsupported() => {
            ktrace_testing::skip(test, ktrace_testing::Skip::KernelLacks { feature, why: &e.to_string() });
            None
        }
        r => Some(r.unwrap()),
    }
}
