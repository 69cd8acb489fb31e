//! `opensnoop` against `strace -f -e trace=open,openat,openat2,creat` on the same real programs:
//! the same opens with the same results (descriptors and errnos), and a watched path (`-w`) named
//! on the very call strace shows it on.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::process::Command;

/// One open as `(path, result)`: the path only where opensnoop knows it (watched), else `None`.
type Open = (Option<String>, String);

/// The opens of opensnoop's table (after its header, before the `exec` lines).
fn ours(cmd: &[&str], watch: &[&str]) -> Vec<Open> {
    let mut args: Vec<&str> = watch.iter().flat_map(|w| ["-w", w]).collect();
    args.push("--");
    args.extend(cmd);
    let out = Command::new(env!("CARGO_BIN_EXE_opensnoop")).args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "opensnoop {args:?}: {}{text}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "opensnoop {args:?} reported: {}", String::from_utf8_lossy(&out.stderr));
    let table = text.split_once("RESULT\n").unwrap_or_else(|| panic!("no table: {text}")).1;
    table
        .lines()
        .take_while(|l| !l.starts_with("exec "))
        .map(|l| {
            // TIME TID LAT PATH RESULT..., PATH being `<pointer 0x…>` where unknown.
            let w: Vec<&str> = l.split_whitespace().collect();
            assert!(w.len() >= 5, "a table line: {l:?}");
            if w[3] == "<pointer" { (None, w[5..].join(" ")) } else { (Some(w[3].to_owned()), w[4..].join(" ")) }
        })
        .collect()
}

/// The opens strace shows (`-f`: every process; an interrupted call's result from its resumed line).
fn theirs(cmd: &[&str]) -> Vec<Open> {
    let file = std::env::temp_dir().join(format!("ktrace-opensnoop-strace-{}", std::process::id()));
    let f = file.display().to_string();
    let mut args = vec!["-f", "-qq", "-e", "trace=open,openat,openat2,creat", "-o", &f, "--"];
    args.extend(cmd);
    let st = Command::new("strace").args(&args).stdout(std::process::Stdio::null()).status().unwrap();
    assert!(st.success(), "strace {args:?}: {st}");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    strace_opens(&text)
}

/// The `(path, result)` of each open in strace's `-f -o` text.
fn strace_opens(text: &str) -> Vec<Open> {
    let mut opened = Vec::new();
    // A call interrupted by another process's line comes in two halves: `PID openat(..., "/p",
    // <unfinished ...>` then `PID <... openat resumed>) = 3`; the path is in the first.
    let mut pending = std::collections::HashMap::new();
    for l in text.lines() {
        // strace pads the pid column (`2556  --- SIGCHLD ...` when pids have fewer digits).
        let (pid, rest) = l.split_once(' ').filter(|(p, _)| p.parse::<u32>().is_ok()).unwrap_or(("", l));
        let rest = rest.trim_start();
        let path_of = |call: &str| call.split('"').nth(1).map(str::to_owned);
        if rest.ends_with("<unfinished ...>") {
            pending.insert(pid.to_owned(), path_of(rest));
            continue;
        }
        // Signals (`--- SIGCHLD ...`) and exits (`+++ ...`).
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        // strace pads before ` = ` to align results.
        let (call, result) = rest.rsplit_once(" = ").unwrap_or_else(|| panic!("an strace line: {l:?}"));
        let path = if call.starts_with("<... ") { pending.remove(pid).flatten() } else { path_of(call) };
        opened.push((path, result.trim().to_owned()));
    }
    assert!(pending.is_empty(), "calls strace never resumed: {pending:?}");
    opened
}

/// Two processes' opens interleaved: the halves of an interrupted call join on their pid; the
/// padding strace puts before ` = ` is not part of the result.
#[test]
fn strace_text_with_interrupted_calls_parses() {
    let text = "10 openat(AT_FDCWD, \"/a\", O_RDONLY <unfinished ...>\n\
                11 openat(AT_FDCWD, \"/b\", O_RDONLY) = 3\n\
                10 <... openat resumed>)             = -1 ENOENT (No such file or directory)\n\
                11  --- SIGCHLD {si_signo=SIGCHLD} ---\n\
                11  +++ exited with 0 +++\n\
                9   openat(AT_FDCWD, \"/c\", O_RDONLY) = 4\n";
    let a = |p: &str, r: &str| (Some(p.to_owned()), r.to_owned());
    assert_eq!(strace_opens(text), [a("/b", "3"), a("/a", "-1 ENOENT (No such file or directory)"), a("/c", "4")]);
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn opensnoop_sees_the_opens_strace_sees() {
    const T: &str = "opensnoop_sees_the_opens_strace_sees";
    if !common::root(T) || !ktrace_testing::installed(T, &["strace", "-V"], "strace") {
        return;
    }
    let python3 = if std::path::Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let cmds: [&[&str]; 5] = [
        &["ls", "/"],
        &[python3, "-c", "import json, sqlite3"],
        &["git", "--version"],
        &["tar", "--version"],
        &["sh", "-c", "cat /etc/hostname /nonexistent 2>/dev/null | wc -c"],
    ];
    let watched = ["/etc/ld.so.cache", "/nonexistent"];
    for cmd in cmds {
        let (a, b) = (ours(cmd, &watched), theirs(cmd));
        eprintln!("{cmd:?}: opensnoop {} opens, strace {}", a.len(), b.len());
        assert!(!b.is_empty(), "{cmd:?}: strace saw no open");
        // The same calls with the same results (processes interleave differently: compare sorted).
        let results = |v: &[Open]| sorted(v.iter().map(|o| o.1.clone()).collect());
        assert_eq!(results(&a), results(&b), "{cmd:?}: results, opensnoop vs strace");
        // Each watched path: opened as often, with the same results, as strace shows.
        for w in watched {
            let of = |v: &[Open]| sorted(v.iter().filter(|o| o.0.as_deref() == Some(w)).map(|o| o.1.clone()).collect());
            assert_eq!(of(&a), of(&b), "{cmd:?}: opens of {w}, opensnoop vs strace");
        }
        // Any other path opensnoop names (kernels whose syscall events carry the string) strace saw.
        for p in a.iter().filter_map(|o| o.0.as_deref()) {
            assert!(b.iter().any(|o| o.0.as_deref() == Some(p)), "{cmd:?}: opensnoop named {p}, strace never did");
        }
    }
}
