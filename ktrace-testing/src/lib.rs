//! The skip helper every ktrace test uses.
//!
//! A live test that cannot run says why through [`skip`]. Under `KTRACE_REQUIRE_ALL=1` (set by CI)
//! a skip fails the test unless its reason is [`Skip::KernelLacks`]: a kernel feature this kernel
//! does not have (or refuses under lockdown). Such skips are appended to the file named by
//! `KTRACE_SKIP_LOG` (one `test<TAB>feature<TAB>reason` line each) so the VM tier can prove that
//! every one of them ran there. Inside the VM tier (`KTRACE_VM=1`) every skip fails: the VM kernel
//! is there precisely to have what this one lacks.

use std::io::Write;

pub mod page;

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

/// True when `command` (a tool and an argument it answers quickly, such as `["strace", "-V"]`)
/// runs; otherwise reports an environment skip of `test` naming the Debian `package` to install.
pub fn installed(test: &str, command: &[&str], package: &str) -> bool {
    let Some((tool, args)) = command.split_first() else {
        return true;
    };
    if std::process::Command::new(tool).args(args).output().is_ok() {
        return true;
    }
    skip(test, Skip::Environment(&format!("{tool} is not installed (apt-get install {package})")));
    false
}

/// The Python that decodes Perfetto traces with the `perfetto` package's own schema
/// (`perfetto_trace_pb2`): `KTRACE_PYTHON`, else the venv .ci/run makes (`target/pyenv`); `None`
/// with an environment skip of `test` when it cannot import the schema.
pub fn perfetto_python(test: &str) -> Option<std::path::PathBuf> {
    let py = std::env::var_os("KTRACE_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python3"));
    let ok = std::process::Command::new(&py)
        .args(["-c", "from perfetto.protos.perfetto.trace import perfetto_trace_pb2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = format!(
            "{} cannot import perfetto_trace_pb2 (python3 -m venv target/pyenv && target/pyenv/bin/pip install perfetto)",
            py.display()
        );
        skip(test, Skip::Environment(&why));
        return None;
    }
    Some(py)
}

/// `cmd` started behind a shell that waits for a line on its stdin before it execs `cmd` (its output
/// discarded), so that a tracer can be set up on the pid first; writing a line to the child's stdin
/// lets the command run.
pub fn held(cmd: &[&str]) -> std::io::Result<std::process::Child> {
    use std::process::Stdio;
    std::process::Command::new("sh")
        .args(["-c", "read _ && exec \"$0\" \"$@\""])
        .args(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// True when the test runs as root; otherwise reports an environment skip of `test` (`needs root`)
/// and returns false, so a live test starts with `if !root(T) { return; }`.
pub fn root(test: &str) -> bool {
    if is_root() {
        return true;
    }
    skip(test, Skip::Environment("needs root"));
    false
}

/// The effective uid is 0, read without libc from /proc/self/status ("Uid: real effective saved fs").
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").ok().is_some_and(|s| {
        s.lines().find_map(|l| l.strip_prefix("Uid:").and_then(|r| r.split_whitespace().nth(1).map(|e| e == "0")))
            == Some(true)
    })
}

/// A deterministic pseudo-random generator (xorshift64*) for bounded robustness tests: the same
/// seed gives the same mutations, so a failure reproduces.
///
/// ```
/// let mut r = ktrace_testing::Rng::new(7);
/// let a = r.below(10);
/// assert!(a < 10);
/// assert_eq!(ktrace_testing::Rng::new(7).below(10), a);
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
    /// One random corruption of `b`, for the bounded mutation tests: a truncation, up to 8 random
    /// bytes, the removal of a range, or (one time in four) `special`, the caller's own corruption
    /// (bytes that mean something in its format).
    ///
    /// ```
    /// let mut r = ktrace_testing::Rng::new(7);
    /// let mut b = b"12 34\n".to_vec();
    /// r.mutate(&mut b, |r, b| b.insert(r.below(b.len()), b' '));
    /// ```
    pub fn mutate(&mut self, b: &mut Vec<u8>, special: impl FnOnce(&mut Rng, &mut Vec<u8>)) {
        match self.below(4) {
            0 => b.truncate(self.below(b.len() + 1)),
            1 => {
                for _ in 0..=self.below(8) {
                    let i = self.below(b.len());
                    if let Some(x) = b.get_mut(i) {
                        *x = self.next() as u8;
                    }
                }
            }
            2 => special(self, b),
            _ => {
                let (i, j) = (self.below(b.len()), self.below(b.len()));
                b.drain(i.min(j)..i.max(j));
            }
        }
    }
}

/// Where [`as_nobody`] returns: in the re-executed copy running as `nobody`, or in the root
/// parent with what that copy printed.
#[derive(Debug)]
pub enum AsNobody {
    /// This process is the copy running as `nobody`: do the unprivileged work and print what the
    /// parent should check.
    Child,
    /// This process is the root parent; the copy ran and this is its stdout (and stderr after it).
    Parent(String),
    /// The test cannot run here (not root, no `setpriv`); the skip has been reported.
    Skipped,
}

const AS_NOBODY: &str = "KTRACE_AS_NOBODY";

/// Runs test `test` of the calling test executable again as user `nobody`
/// (`setpriv --reuid=65534 --regid=65534 --clear-groups`), so a live test can check what an
/// unprivileged user is told. The executable is copied to a fresh 0755 temp directory first,
/// because `target/` may sit where `nobody` cannot reach.
///
/// `test` is the name libtest knows the test by (the function name for a top-level test in
/// `tests/`). A test calls it first and branches on the result.
#[allow(clippy::panic, reason = "test support: failing to set the copy up fails the test")]
pub fn as_nobody(test: &str) -> AsNobody {
    use std::os::unix::fs::PermissionsExt;
    if std::env::var(AS_NOBODY).is_ok_and(|t| t == test) {
        return AsNobody::Child;
    }
    if !is_root() {
        skip(test, Skip::Environment("needs root to switch to nobody"));
        return AsNobody::Skipped;
    }
    if !installed(test, &["setpriv", "--version"], "util-linux") {
        return AsNobody::Skipped;
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{test}: current_exe: {e}"));
    let dir = std::env::temp_dir().join(format!("ktrace-nobody-{}-{test}", std::process::id()));
    let run = || -> std::io::Result<String> {
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let bin = dir.join("test");
        std::fs::copy(&exe, &bin)?;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&bin)
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(AS_NOBODY, test)
            .env_remove("KTRACE_SKIP_LOG")
            .current_dir(&dir)
            .output()?;
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return Err(std::io::Error::other(format!("the copy as nobody failed ({}):\n{s}", out.status)));
        }
        Ok(s)
    };
    let r = run();
    let _ = std::fs::remove_dir_all(&dir);
    match r {
        Ok(s) => AsNobody::Parent(s),
        Err(e) => panic!("{test}: {e}"),
    }
}

/// Runs `call` as `nobody` through [`as_nobody`] and returns, in the root parent, what the copy
/// printed: `ERR <the error>` and `PERMISSION <is_permission(error)>`, or `UNEXPECTED OK`.
/// `None` in the copy itself and when the test cannot run here (the skip is reported).
///
/// ```no_run
/// # fn attach(_pid: i32) -> Result<(), std::io::Error> { Ok(()) }
/// use ktrace_testing::refused_as_nobody;
/// let Some(out) = refused_as_nobody("my_test", || attach(1), |e| e.kind() == std::io::ErrorKind::PermissionDenied)
/// else {
///     return;
/// };
/// assert!(out.contains("ERR ") && out.contains("PERMISSION true"), "{out}");
/// ```
pub fn refused_as_nobody<T, E: std::fmt::Display>(
    test: &str,
    call: impl FnOnce() -> Result<T, E>,
    is_permission: impl FnOnce(&E) -> bool,
) -> Option<String> {
    match as_nobody(test) {
        AsNobody::Child => {
            match call() {
                Ok(_) => println!("UNEXPECTED OK"),
                Err(e) => println!("ERR {e}\nPERMISSION {}", is_permission(&e)),
            }
            None
        }
        AsNobody::Parent(out) => Some(out),
        AsNobody::Skipped => None,
    }
}

/// True when this build checks integer overflow (`overflow-checks`: on in the dev and test
/// profiles, off in release). The bounded mutation tests (`tests/robustness.rs`) assert it: an
/// overflow that corrupted input can cause must panic there, as under cargo-fuzz, not wrap.
pub fn overflow_checks_on() -> bool {
    std::panic::catch_unwind(|| std::hint::black_box(u8::MAX) + 1).is_err()
}
