//! Cross-check with strace: for the same program, the per-process sequences of syscalls, their
//! return values (exact where deterministic: fds, byte counts, errors) and path arguments match
//! `strace -f -qq`. Differences in notation are normalized here, explicitly.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::process::Command;

use ktrace_core::testing::{Skip, skip};
use ktrace_ptrace::{Event, TraceCommand};

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
    } else if let Some(rest) = ret.strip_prefix("-1 ") {
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
