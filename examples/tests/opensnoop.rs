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
    let mut opened = Vec::new();
    // Skipped: a call's first half (`<unfinished ...>`), signals (`--- SIGCHLD ...`) and exits (`+++`).
    let calls =
        text.lines().filter(|l| !l.ends_with("<unfinished ...>") && !l.contains(" --- ") && !l.contains(" +++ "));
    for l in calls {
        let (call, result) = l.rsplit_once(") = ").unwrap_or_else(|| panic!("an strace line: {l:?}"));
        // `openat(AT_FDCWD, "/path", ...`: the first quoted string is the path.
        let path = call.split('"').nth(1).map(str::to_owned);
        opened.push((path, result.to_owned()));
    }
    opened
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
