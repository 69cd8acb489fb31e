//! Every example tool behaves as a command-line tool: `--help` prints usage and exits 0; a bad
//! duration, a missing program or an unwritable output is one `TOOL: message` line on stderr and
//! exit 1, before anything is traced (no panic); a tool that runs a command ends with its status
//! (mini-strace like strace: the exit code, the same signal, `-e trace=bogus` refused).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How a tool is invoked for each check.
struct Tool {
    name: &'static str,
    exe: &'static str,
    /// Arguments with `V` where a duration goes (None: the tool takes no duration).
    duration: Option<&'static [&'static str]>,
    /// Arguments before the program of a command it runs (None: it runs no command).
    run: Option<&'static [&'static str]>,
    /// Arguments with `OUT` where its output file goes (then a command is appended).
    output: Option<&'static [&'static str]>,
}

const TOOLS: &[Tool] = &[
    Tool {
        name: "syscount",
        exe: env!("CARGO_BIN_EXE_syscount"),
        duration: Some(&["-d", "V"]),
        run: Some(&["--"]),
        output: None,
    },
    Tool {
        name: "record",
        exe: env!("CARGO_BIN_EXE_record"),
        duration: Some(&["-e", "sched", "-d", "V"]),
        run: Some(&["-e", "sched", "--"]),
        output: Some(&["-e", "sched:sched_switch", "-o", "OUT", "--"]),
    },
    Tool {
        name: "mini-strace",
        exe: env!("CARGO_BIN_EXE_mini-strace"),
        duration: None,
        run: Some(&[]),
        output: Some(&["-o", "OUT"]),
    },
    Tool { name: "pstat", exe: env!("CARGO_BIN_EXE_pstat"), duration: None, run: Some(&["--"]), output: None },
    Tool { name: "timeline", exe: env!("CARGO_BIN_EXE_timeline"), duration: None, run: Some(&["--"]), output: None },
    Tool {
        name: "profile",
        exe: env!("CARGO_BIN_EXE_profile"),
        duration: Some(&["-a", "-d", "V"]),
        run: Some(&["--"]),
        output: Some(&["-o", "OUT", "--"]),
    },
    Tool {
        name: "functrace",
        exe: env!("CARGO_BIN_EXE_functrace"),
        duration: Some(&["-d", "V", "vfs_read"]),
        run: Some(&["vfs_read", "--"]),
        output: None,
    },
    Tool { name: "runqlat", exe: env!("CARGO_BIN_EXE_runqlat"), duration: Some(&["-d", "V"]), run: None, output: None },
    Tool {
        name: "biolatency",
        exe: env!("CARGO_BIN_EXE_biolatency"),
        duration: Some(&["-d", "V"]),
        run: None,
        output: None,
    },
    Tool {
        name: "probe",
        exe: env!("CARGO_BIN_EXE_probe"),
        duration: Some(&["-d", "V", "k:vfs_read"]),
        run: None,
        output: None,
    },
    Tool { name: "top", exe: env!("CARGO_BIN_EXE_top"), duration: Some(&["-d", "V"]), run: None, output: None },
    Tool {
        name: "getdelays",
        exe: env!("CARGO_BIN_EXE_getdelays"),
        duration: Some(&["-m", "V"]),
        run: Some(&["--"]),
        output: None,
    },
    Tool {
        name: "bootchart",
        exe: env!("CARGO_BIN_EXE_bootchart"),
        duration: Some(&["--system", "--max", "V"]),
        run: Some(&["--"]),
        output: Some(&["-o", "OUT", "--"]),
    },
    Tool { name: "tour", exe: env!("CARGO_BIN_EXE_tour"), duration: None, run: None, output: None },
    Tool { name: "opensnoop", exe: env!("CARGO_BIN_EXE_opensnoop"), duration: None, run: Some(&["--"]), output: None },
    Tool {
        name: "export",
        exe: env!("CARGO_BIN_EXE_export"),
        // The period of --counters, in ms.
        duration: Some(&["-f", "json", "-o", "/dev/null", "--counters", "V"]),
        run: Some(&["-f", "json", "-o", "/dev/null", "--"]),
        output: Some(&["-f", "json", "-o", "OUT", "--"]),
    },
];

fn run(exe: &str, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().unwrap()
}

/// Exit 1 with exactly one `TOOL: …` line on stderr containing `want`, and no panic.
fn assert_one_line_error(tool: &str, args: &[&str], out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    let what = format!("{tool} {args:?}: status {:?}, stderr {err:?}", out.status);
    assert_eq!(out.status.code(), Some(1), "{what}");
    assert!(!err.contains("panicked"), "{what}");
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {what}");
    assert!(err.starts_with(&format!("{tool}: ")), "{what}");
    assert!(err.contains(want), "lacks {want:?}: {what}");
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ktrace-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_prints_usage_and_exits_0() {
    for t in TOOLS {
        for flag in ["--help", "-h"] {
            let out = run(t.exe, &[flag]);
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{} {flag}: {:?} {}",
                t.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains(&format!("Usage: {}", t.name)), "{} {flag}: {text}", t.name);
        }
    }
}

#[test]
fn unknown_arguments_are_one_line_errors() {
    for t in TOOLS {
        let out = run(t.exe, &["--no-such-flag"]);
        assert_one_line_error(t.name, &["--no-such-flag"], &out, "--no-such-flag");
    }
}

#[test]
fn bad_durations_are_one_line_errors() {
    for t in TOOLS {
        let Some(template) = t.duration else { continue };
        for v in ["-1", "0", "nan", "inf", "-inf", "abc", "1e300"] {
            let args: Vec<&str> = template.iter().map(|a| if *a == "V" { v } else { a }).collect();
            let out = run(t.exe, &args);
            assert_one_line_error(t.name, &args, &out, &format!("'{v}'"));
        }
    }
}

#[test]
fn missing_programs_are_one_line_errors() {
    for t in TOOLS {
        let Some(prefix) = t.run else { continue };
        for prog in ["/nonexistent/prog", "no-such-program-ktrace"] {
            let mut args = prefix.to_vec();
            args.extend([prog, "arg"]);
            let out = run(t.exe, &args);
            assert_one_line_error(t.name, &args, &out, &format!("Can't stat '{prog}'"));
        }
        let mut args = prefix.to_vec();
        args.push("/");
        assert_one_line_error(t.name, &args, &run(t.exe, &args), "Can't exec '/'");
    }
}

#[test]
fn unwritable_outputs_fail_before_tracing() {
    let dir = scratch("outputs");
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    for t in TOOLS {
        let Some(template) = t.output else { continue };
        for path in ["/", "/proc/nonexistent/x", dir.to_str().unwrap()] {
            let mut args: Vec<&str> = template.iter().map(|a| if *a == "OUT" { path } else { a }).collect();
            args.extend(["/bin/sh", "-c", &touch]);
            let out = run(t.exe, &args);
            assert_one_line_error(t.name, &args, &out, &format!("'{path}"));
            assert!(!marker.exists(), "{} {args:?} ran the command before failing", t.name);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A session export refused before it starts (an unknown program, a format a session cannot
/// write) or failing once its output exists (an event that is not there) leaves no file.
#[test]
fn export_failures_leave_no_file() {
    let dir = scratch("export");
    let out = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (json, ctf, perfetto, probe) = (out("x.json"), out("d"), out("p.perfetto-trace"), out("probe.json"));
    let cases: [(Vec<&str>, &str); 4] = [
        (vec!["-f", "json", "-o", &json, "--", "/nonexistent", "arg"], "Can't stat '/nonexistent'"),
        (vec!["-f", "ctf", "-o", &ctf, "--", "true"], "-f ctf: a session (-- COMMAND) exports to perfetto or json"),
        (vec!["-f", "json", "-o", &probe, "--probe", "/nonexistent:main", "--", "true"], "/nonexistent"),
        (vec!["-f", "perfetto", "-o", &perfetto, "-e", "nosuchsystem:nosuchevent", "--", "true"], "nosuchsystem"),
    ];
    for (args, want) in &cases {
        let res = run(env!("CARGO_BIN_EXE_export"), args);
        assert_one_line_error("export", args, &res, want);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(left.is_empty(), "export {args:?} left {left:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sh -c SCRIPT` under a tool, with its arguments before the program.
fn under(t: &str, before: &[&str], script: &str) -> Output {
    let exe = TOOLS.iter().find(|x| x.name == t).unwrap().exe;
    Command::new(exe).args(before).args(["/bin/sh", "-c", script]).output().unwrap()
}

#[test]
fn mini_strace_ends_as_the_tracee_did() {
    let out = under("mini-strace", &[], "exit 7");
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("+++ exited with 7 +++"));
    // Killed by SIGTERM: mini-strace dies by it too (a shell shows 143), as strace does.
    let out = under("mini-strace", &["-f"], "kill -TERM $$");
    assert_eq!(out.status.signal(), Some(15), "{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    let shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("'{}' /bin/sh -c 'kill -TERM $$' 2>/dev/null; echo $?", env!("CARGO_BIN_EXE_mini-strace")))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&shell.stdout).trim(), "143");
    // -c as well (the summary goes out first).
    let out = under("mini-strace", &["-c"], "exit 3");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("total"));
}

#[test]
fn mini_strace_refuses_unknown_syscalls() {
    for (e, want) in [
        ("trace=bogus", "invalid system call 'bogus'"),
        ("trace=openat,bogus", "invalid system call 'bogus'"),
        ("bogus", "invalid system call 'bogus'"),
        ("signal=BOGUS", "invalid signal 'BOGUS'"),
        ("read=-1", "invalid read '-1'"),
        ("verbose=all", "invalid qualifier 'verbose'"),
    ] {
        let args = ["-e", e, "/bin/true"];
        let out = run(env!("CARGO_BIN_EXE_mini-strace"), &args);
        assert_one_line_error("mini-strace", &args, &out, want);
    }
    let out = run(env!("CARGO_BIN_EXE_mini-strace"), &["-e", "trace=exit_group", "/bin/true"]);
    assert!(out.status.success());
    // strace's column: ` = ?` padded to column 40.
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("exit_group(0){:27}= ?", "")));
}

#[test]
fn tools_running_a_command_exit_with_its_status() {
    let dir = scratch("status");
    let svg = dir.join("p.svg");
    let chart = dir.join("c.svg");
    let json = dir.join("e.json");
    let runs: [(&str, Vec<&str>); 7] = [
        ("mini-strace", vec!["-o", "/dev/null"]),
        ("pstat", vec!["-e", "task-clock", "--"]),
        ("syscount", vec!["--"]),
        ("record", vec!["-e", "sched:sched_process_exit", "-o", "/dev/null", "--"]),
        ("profile", vec!["-F", "1", "-o", svg.to_str().unwrap(), "--"]),
        ("bootchart", vec!["-o", chart.to_str().unwrap(), "--"]),
        ("export", vec!["-f", "json", "-o", json.to_str().unwrap(), "--"]),
    ];
    for (t, before) in &runs {
        let out = under(t, before, "exit 7");
        assert_eq!(out.status.code(), Some(7), "{t}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
        let out = under(t, before, "kill -TERM $$");
        assert_eq!(out.status.signal(), Some(15), "{t}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    // export's file is whole, and in place of its staged name.
    assert!(std::fs::read_to_string(&json).unwrap().contains("traceEvents"));
    assert!(!dir.join("e.json.tmp").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_without_samples_writes_nothing() {
    let dir = scratch("nosamples");
    let svg = dir.join("p.svg");
    // At 1 Hz a short command is never sampled.
    let out = under("profile", &["-F", "1", "-o", svg.to_str().unwrap(), "--"], "exit 3");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no samples"), "{err}");
    assert!(!svg.exists() && !Path::new(&format!("{}.folded", svg.display())).exists(), "empty outputs left");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--perfetto` writes every sample, each with its callstack, beside the flame graph.
#[test]
fn profile_writes_samples_for_perfetto() {
    let dir = scratch("perfetto");
    let (svg, trace) = (dir.join("p.svg"), dir.join("p.perfetto-trace"));
    let args = ["-F", "997", "-o", svg.to_str().unwrap(), "--perfetto", trace.to_str().unwrap(), "--"];
    let out = under("profile", &args, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let n: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("profile: ")?.split_once(" samples with callstacks -> ").map(|(n, _)| n))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Perfetto line: {err}"));
    assert!(n > 10 && std::fs::metadata(&trace).unwrap().len() > 100, "{n} samples: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `top | head -1`: the reader goes away; top ends as a SIGPIPE death looks to a shell.
    let mut c = Command::new(env!("CARGO_BIN_EXE_top"))
        .args(["-n", "3", "-d", "0.1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(c.stdout.take());
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{:?} {err}", out.status);
    assert!(err.is_empty(), "{err}");
}
