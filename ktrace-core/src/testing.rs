//! The skip helper every ktrace test uses.
//!
//! A live test that cannot run says why through [`skip`]. Under `KTRACE_REQUIRE_ALL=1` (set by CI)
//! a skip fails the test unless its reason is [`Skip::KernelLacks`]: a kernel feature this kernel
//! does not have (or refuses under lockdown). Such skips are appended to the file named by
//! `KTRACE_SKIP_LOG` (one `test<TAB>feature<TAB>reason` line each) so the VM tier can prove that
//! every one of them ran there. Inside the VM tier (`KTRACE_VM=1`) every skip fails: the VM kernel
//! is there precisely to have what this one lacks.

use std::io::Write;

/// Why a test is not running.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Skip<'a> {
    /// The running kernel lacks (or refuses) a feature; the VM tier runs the test instead.
    KernelLacks {
        /// Short feature name (`kprobes`, `function_graph`, `function`, `blk_relay`…).
        feature: &'a str,
        /// What was observed (`no kprobe_events file`, `EPERM (lockdown)`…).
        why: &'a str,
    },
    /// Anything else: not root, a tool missing, no tracefs. Fails under `KTRACE_REQUIRE_ALL=1`.
    Environment(&'a str),
}

/// True when `KTRACE_REQUIRE_ALL=1` is set.
pub fn require_all() -> bool {
    std::env::var("KTRACE_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// True inside the VM tier (`KTRACE_VM=1`).
pub fn in_vm() -> bool {
    std::env::var("KTRACE_VM").is_ok_and(|v| v == "1")
}

/// Reports a skip of `test` and decides whether that is allowed.
///
/// Prints `SKIP <test>: <reason>` to stderr. Panics (failing the test) under `KTRACE_REQUIRE_ALL=1`
/// when the reason is not [`Skip::KernelLacks`].
pub fn skip(test: &str, reason: Skip<'_>) {
    match reason {
        Skip::KernelLacks { feature, why } => {
            eprintln!("SKIP {test}: kernel lacks {feature}: {why}");
            #[allow(clippy::panic, reason = "failing the test is the purpose inside the VM tier")]
            if in_vm() {
                panic!("{test} skipped in the VM tier: kernel lacks {feature}: {why}");
            }
            if let Ok(path) = std::env::var("KTRACE_SKIP_LOG")
                && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path)
            {
                // One write(2) per line: O_APPEND keeps whole lines of concurrent tests apart
                // (writeln! on a File may split a line into several writes that interleave).
                let line = format!("{test}\t{feature}\t{}\n", why.replace(['\n', '\t'], " "));
                let _ = f.write_all(line.as_bytes());
            }
        }
        Skip::Environment(why) => {
            eprintln!("SKIP {test}: {why}");
            #[allow(clippy::panic, reason = "failing the test is the purpose under KTRACE_REQUIRE_ALL")]
            if require_all() {
                panic!("{test} was skipped ({why}) but KTRACE_REQUIRE_ALL=1 says this machine must run it");
            }
        }
    }
}

/// A deterministic pseudo-random generator (xorshift64*) for bounded robustness tests: the same
/// seed gives the same mutations, so a failure reproduces.
///
/// ```
/// let mut r = ktrace_core::testing::Rng::new(7);
/// let a = r.below(10);
/// assert!(a < 10);
/// assert_eq!(ktrace_core::testing::Rng::new(7).below(10), a);
/// ```
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced: xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }
    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait, reason = "not an iterator: it never ends")]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// True when this build checks integer overflow (`overflow-checks`: on in the dev and test
/// profiles, off in release). The bounded mutation tests (`tests/robustness.rs`) assert it: an
/// overflow that corrupted input can cause must panic there, as under cargo-fuzz, not wrap.
pub fn overflow_checks_on() -> bool {
    std::panic::catch_unwind(|| std::hint::black_box(u8::MAX) + 1).is_err()
}
