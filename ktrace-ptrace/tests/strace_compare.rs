//! Cross-check with strace: for the same program, the per-process sequences of syscalls, their
//! return values (exact where deterministic: fds, byte counts, errors) and path arguments match
//! `strace -f -qq`. Differences in notation are normalized here, explicitly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::process::Command;

use ktrace_ptrace::{Event, TraceCommand};
use ktrace_testing::{Skip, skip};

/// Syscalls whose return value is the same run to run (others: only success vs errno; read sizes
/// and lseek positions depend on files other processes may change, e.g. .pyc caches).
const EXACT: &[&str] = &["openat", "open", "close", "access", "faccessat2", "dup2"];
/// Syscalls whose first quoted argument (a path) is compared.
const PATHS: &[&str] = &["openat", "open", "access", "execve", "newfstatat", "stat", "readlink", "faccessat2"];

/// When a SIGCHLD lands is timing: its handler's rt_sigreturn and the wait4 calls around it differ
/// run to run (under strace too), as do calls a signal interrupted. They are left out on both sides.
fn timing_dependent(s: &str) -> bool {
    s.starts_with("rt_sigreturn") || s.starts_with("wait4") || s.ends_with("EINTR") || s.ends_with("ERESTARTSYS")
}

fn norm(name: &str, ret: &str, path: Option<&str>) -> String {
    let ret = ret.trim();
    let r = if ret == "?" {
        "?".to_owned()
    } else if let Some(rest) = ret.strip_prefix("-1 ").or_else(|| ret.strip_prefix("? ")) {
        // `-1 ENOENT (…)`, or `? ERESTARTSYS (…)` for the kernel's restart codes.
        rest.split_whitespace().next().unwrap_or("").to_owned()
    } else if EXACT.contains(&name) {
        ret.split_whitespace().next().unwrap_or("").to_owned()
    } else {
        "ok".to_owned()
    };
    match path.filter(|_| PATHS.contains(&name)) {
        Some(p) => format!("{name}({p}) = {r}"),
        None => format!("{name} = {r}"),
    }
}

fn first_quoted(s: &str) -> Option<&str> {
    let a = s.find('"')?;
    let b = s[a + 1..].find('"')?;
    Some(&s[a + 1..a + 1 + b])
}

/// Per-pid sequences from `strace -f -qq -o FILE`.
fn strace(cmd: &[&str]) -> Vec<Vec<String>> {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("ktrace-strace-{}-{n}.txt", std::process::id()));
    let st = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&out)
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success() || st.code().is_some());
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let mut per: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    let mut pending: BTreeMap<i32, (String, Option<String>)> = BTreeMap::new();
    for line in text.lines() {
        let (pid, rest) = line.split_once(' ').unwrap();
        let pid: i32 = pid.parse().unwrap();
        let rest = rest.trim_start();
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(r) = rest.strip_prefix("<... ") {
            let name = r.split_whitespace().next().unwrap().to_owned();
            let (_, path) = pending.remove(&pid).unwrap_or((name.clone(), None));
            let ret = r.rsplit_once(" = ").map_or("?", |x| x.1);
            per.entry(pid).or_default().push(norm(&name, ret, path.as_deref()));
            continue;
        }
        let Some(open) = rest.find('(') else { continue };
        let name = rest[..open].to_owned();
        if rest.ends_with("<unfinished ...>") {
            pending.insert(pid, (name, first_quoted(rest).map(str::to_owned)));
            continue;
        }
        let ret = rest.rsplit_once(" = ").map_or("?", |x| x.1);
        per.entry(pid).or_default().push(norm(&name, ret, first_quoted(rest)));
    }
    for (pid, (name, path)) in pending {
        per.entry(pid).or_default().push(norm(&name, "?", path.as_deref()));
    }
    let mut v: Vec<Vec<String>> =
        per.into_values().map(|seq| seq.into_iter().filter(|s| !timing_dependent(s)).collect()).collect();
    v.sort();
    v
}

/// Per-pid sequences from our tracer, rendered by our strace-like Display.
fn ours(cmd: &[&str]) -> Vec<Vec<String>> {
    let mut t = TraceCommand::new(cmd[0]).args(&cmd[1..]).stdout_null().spawn().unwrap();
    let mut per: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    while let Some(ev) = t.next_event().unwrap() {
        match ev {
            Event::SyscallEnter { pid, arch, nr, .. }
                if matches!(arch.syscall_name(nr), Some("exit" | "exit_group")) =>
            {
                per.entry(pid).or_default().push(norm(arch.syscall_name(nr).unwrap(), "?", None));
            }
            Event::SyscallExit { pid, arch, nr, .. } => {
                let line = t.describe(&ev);
                let name = arch.syscall_name(nr).unwrap_or("?");
                let ret = line.rsplit_once(" = ").map_or("?", |x| x.1);
                per.entry(pid).or_default().push(norm(name, ret, first_quoted(&line)));
            }
            _ => {}
        }
    }
    let mut v: Vec<Vec<String>> =
        per.into_values().map(|seq| seq.into_iter().filter(|s| !timing_dependent(s)).collect()).collect();
    v.sort();
    v
}

fn compare(cmd: &[&str]) {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("strace_compare", Skip::Environment("strace is not installed (apt-get install strace)"));
        return;
    }
    let a = ours(cmd);
    let b = strace(cmd);
    assert_eq!(a.len(), b.len(), "{cmd:?}: process counts differ");
    for (x, y) in a.iter().zip(&b) {
        for (i, (l, r)) in x.iter().zip(y).enumerate() {
            assert_eq!(l, r, "{cmd:?}: syscall {i} differs");
        }
        assert_eq!(x.len(), y.len(), "{cmd:?}: syscall counts differ");
    }
}

#[test]
fn cat_matches_strace() {
    compare(&["cat", "/etc/hostname", "/nonexistent"]);
}

#[test]
fn shell_pipeline_matches_strace() {
    compare(&["sh", "-c", "ls / >/dev/null; cat /etc/hostname | cat >/dev/null; exit 3"]);
}

#[test]
fn python_matches_strace() {
    compare(&["/usr/bin/python3", "-c", "import os; os.listdir('/etc'); open('/etc/hostname').read()"]);
}

/// How each process of `cmd` ended, as strace's `+++ exited with N +++` / `+++ killed by SIG +++`
/// lines say it, sorted.
fn strace_endings(cmd: &[&str]) -> Vec<String> {
    let out = std::env::temp_dir().join(format!("ktrace-strace-end-{}.txt", std::process::id()));
    Command::new("strace")
        .args(["-f", "-q", "-e", "trace=none", "-o"])
        .arg(&out)
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    let mut v: Vec<String> =
        text.lines().filter_map(|l| Some(l.split_once("+++ ")?.1.trim_end_matches(" +++").to_owned())).collect();
    v.sort();
    v
}

/// The same endings from our tracer's events.
fn our_endings(cmd: &[&str]) -> Vec<String> {
    let mut t = TraceCommand::new(cmd[0]).args(&cmd[1..]).stdout_null().spawn().unwrap();
    let mut v = Vec::new();
    while let Some(ev) = t.next_event().unwrap() {
        match ev {
            Event::Exited { code, .. } => v.push(format!("exited with {code}")),
            Event::Killed { signo, .. } => {
                v.push(format!("killed by {}", nix::sys::signal::Signal::try_from(signo).unwrap().as_str()))
            }
            _ => {}
        }
    }
    v.sort();
    v
}

/// The Rust runtime ignores SIGPIPE and an ignored signal survives execve: the tracee must start
/// with it at SIG_DFL (as under strace), so `yes` writing into a closed pipe dies by SIGPIPE
/// rather than exiting 1 with "Broken pipe".
#[test]
fn sigpipe_kills_yes_as_under_strace() {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("sigpipe_kills_yes_as_under_strace", Skip::Environment("strace is not installed"));
        return;
    }
    let cmd = ["sh", "-c", "yes | head -1"];
    let ours = our_endings(&cmd);
    assert_eq!(ours, strace_endings(&cmd));
    assert!(ours.contains(&"killed by SIGPIPE".to_owned()), "{ours:?}");
}

/// The tracee's ignored-signal and blocked-signal sets (`SigIgn`, `SigBlk` of /proc/self/status)
/// are the ones strace gives it: SIGPIPE at SIG_DFL although the Rust runtime ignores it, and an
/// empty mask although the spawning thread blocks SIGUSR2.
#[test]
fn signal_state_matches_strace() {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("signal_state_matches_strace", Skip::Environment("strace is not installed"));
        return;
    }
    let dir = std::env::temp_dir();
    let ours = dir.join(format!("ktrace-sigign-ours-{}", std::process::id()));
    let theirs = dir.join(format!("ktrace-sigign-strace-{}", std::process::id()));
    // cp copies its own status (no shell: dash clears the signal mask at startup).
    let (a, b) = (ours.to_str().unwrap(), theirs.to_str().unwrap());
    // A tracer thread that blocks a signal (as one waiting in sigwait or signalfd does) must not
    // pass its mask on: block SIGUSR2 here while spawning.
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let usr2 = SigSet::from(Signal::SIGUSR2);
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&usr2), None).unwrap();
    let spawned = TraceCommand::new("cp").args(["/proc/self/status", a]).spawn();
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&usr2), None).unwrap();
    let mut t = spawned.unwrap();
    while t.next_event().unwrap().is_some() {}
    let st =
        Command::new("strace").args(["-f", "-qq", "-o", "/dev/null", "cp", "/proc/self/status", b]).status().unwrap();
    assert!(st.success());
    let (x, y) = (std::fs::read_to_string(&ours).unwrap(), std::fs::read_to_string(&theirs).unwrap());
    std::fs::remove_file(&ours).unwrap();
    std::fs::remove_file(&theirs).unwrap();
    // Signals 32 and up are the C library's own (reserved by glibc, settable only by raw syscalls;
    // strace passes on what it inherited there): the standard signals 1-31 are compared.
    let (x, y) = (standard_signals(&x), standard_signals(&y));
    assert_eq!(x, y);
    assert_eq!(x[1] & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored: {x:x?}");
}

/// `[SigBlk, SigIgn]` of a /proc/PID/status text, the bits of signals 1-31.
fn standard_signals(status: &str) -> [u64; 2] {
    let mask = |key: &str| {
        let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
        u64::from_str_radix(line.trim(), 16).unwrap() & 0x7fff_ffff
    };
    [mask("SigBlk:"), mask("SigIgn:")]
}

/// `name(args) = ret` lines of the syscalls in `names`, from strace and from our describe(), with
/// strace's padding before ` = ` removed.
fn rendered(cmd: &[&str], names: &[&str]) -> (Vec<String>, Vec<String>) {
    let tidy = |l: &str| match l.rsplit_once(" = ") {
        Some((call, ret)) => format!("{} = {ret}", call.trim_end()),
        None => l.to_owned(),
    };
    let out = std::env::temp_dir().join(format!("ktrace-strace-render-{}.txt", std::process::id()));
    let st = Command::new("strace")
        .args(["-qq", "-e", &format!("trace={}", names.join(",")), "-o"])
        .arg(&out)
        .args(cmd)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let theirs: Vec<String> = std::fs::read_to_string(&out).unwrap().lines().map(tidy).collect();
    std::fs::remove_file(&out).unwrap();
    let mut t = TraceCommand::new(cmd[0]).args(&cmd[1..]).stdout_null().spawn().unwrap();
    let mut ours = Vec::new();
    while let Some(ev) = t.next_event().unwrap() {
        if let Event::SyscallExit { arch, nr, .. } = ev
            && arch.syscall_name(nr).is_some_and(|n| names.contains(&n))
        {
            ours.push(tidy(&t.describe(&ev)));
        }
    }
    (ours, theirs)
}

/// Strings and errors as strace renders them, on a real program: bytes strace escapes (octal in
/// three digits before a digit, `\v`, `\f`), and error texts from the C library's strerror
/// ("Bad file descriptor", "Inappropriate ioctl for device"), compared line by line (ioctl by its
/// result only: we do not decode its request and argument).
#[test]
fn strings_and_errors_render_as_strace() {
    if Command::new("strace").arg("-V").output().is_err() {
        skip("strings_and_errors_render_as_strace", Skip::Environment("strace is not installed"));
        return;
    }
    let code = "import os, fcntl, termios\n\
                os.write(1, b'\\x0123\\x0b\\x0c\\x009\\x7f\\xff8\\x1b[ \\\\ \"q\" \\t\\r\\n')\n\
                os.write(1, b'\\x00' * 40)\n\
                try: os.close(99)\n\
                except OSError: pass\n\
                fd = os.open('/dev/null', os.O_RDONLY)\n\
                try: fcntl.ioctl(fd, termios.TCGETS, bytes(64))\n\
                except OSError: pass\n\
                try: os.read(-5, 1)\n\
                except OSError: pass";
    let cmd = ["/usr/bin/python3", "-c", code];
    let (ours, theirs) = rendered(&cmd, &["write", "close", "ioctl", "read"]);
    assert_eq!(ours.len(), theirs.len(), "ours {ours:#?}\nstrace {theirs:#?}");
    for (a, b) in ours.iter().zip(&theirs) {
        if a.starts_with("ioctl(") || a.starts_with("read(") {
            // Arguments we render differently (ioctl requests, read buffers at -1); results equal.
            assert_eq!(a.rsplit_once(" = ").unwrap().1, b.rsplit_once(" = ").unwrap().1, "{a}\n{b}");
        } else {
            assert_eq!(a, b);
        }
    }
    for want in [
        r#"write(1, "\00123\v\f\09\177\3778\33[ \\ \"q\" \t\r\n", 22) = 22"#,
        "close(99) = -1 EBADF (Bad file descriptor)",
    ] {
        assert!(ours.iter().any(|l| l == want), "{want} not in {ours:#?}");
    }
    assert!(ours.iter().any(|l| l.ends_with("= -1 ENOTTY (Inappropriate ioctl for device)")), "{ours:#?}");
}
