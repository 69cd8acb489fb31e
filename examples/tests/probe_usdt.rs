//! `probe 'sdt:BINARY:PROVIDER:NAME'` on a C program built here with `<sys/sdt.h>`: the probe is hit
//! exactly as often as the program says it fired it, and each hit's values print as `perf script`
//! prints the same probe (`perf probe -x BINARY sdt_PROVIDER:NAME`, `perf record`, `perf script -F
//! trace`), line for line. The same for a uprobe with string, hex and array fetch args: `probe`'s
//! lines equal `perf script`'s for the same definition.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ktrace_testing::{Skip, root, skip};

const T: &str = "probe_usdt_hits_and_values_match_perf_script";

/// Fires `PROVIDER:tick` argv[1] times with an `s64`, a `u32`, an `s32` and a string pointer, then
/// prints how many times it fired. Built `-no-pie` so addresses (the probe's and the string's) are
/// the same in every run, for perf's and for probe's.
const PROGRAM: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
static const char msg[] = "text";
volatile unsigned long sink;
__attribute__((noinline)) void fire(long a, const char *s, unsigned x, const unsigned char *arr) {
    sink += (unsigned long)a + x + (unsigned long)s + arr[0];
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0, fired = 0;
    for (int i = 0; i < n; i++) {
        long a = -1000 + 7L * i;
        unsigned u = 3u * (unsigned)i;
        int neg = -i;
        DTRACE_PROBE4(PROVIDER, tick, a, u, neg, msg);
        fire(a, msg, 0xabc0u + (unsigned)i, (const unsigned char *)msg);
        fired++;
    }
    printf("%d\n", fired);
    return 0;
}
"#;

/// Compiles the program with provider `provider` into `dir`; `None` (after a skip) without cc or
/// `sys/sdt.h`.
fn build(dir: &Path, provider: &str) -> Option<PathBuf> {
    let src = dir.join("usdt.c");
    let bin = dir.join("usdt");
    std::fs::write(&src, PROGRAM.replace("PROVIDER", provider)).unwrap();
    match Command::new("cc").args(["-O1", "-no-pie", "-o"]).arg(&bin).arg(&src).output() {
        Ok(o) if o.status.success() => Some(bin),
        Ok(o) => {
            let why = format!(
                "cc could not build a sys/sdt.h program (apt-get install systemtap-sdt-dev): {}",
                String::from_utf8_lossy(&o.stderr)
            );
            skip(T, Skip::Environment(&why));
            None
        }
        Err(_) => {
            skip(T, Skip::Environment("no cc"));
            None
        }
    }
}

/// Runs the program with `n`, returning the count it printed.
fn run_program(bin: &Path, n: u32) -> u32 {
    let out = Command::new(bin).arg(n.to_string()).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `probe SPEC`'s printed values (the text after `group:EVENT: `) for the program's hits, and the
/// count the program printed.
fn probe_lines(bin: &Path, spec: &str, event: &str, n: u32) -> (Vec<String>, u32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_probe"))
        .args(["-d", "3", spec])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Tracing has started once it says so; run the program then.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        said.push_str(&line);
        if line.starts_with("probe: tracing") {
            break;
        }
    }
    assert!(said.contains("probe: tracing"), "probe said: {said}");
    let fired = run_program(bin, n);
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    err.read_to_string(&mut said).unwrap();
    assert!(child.wait().unwrap().success(), "probe failed: {said}");
    let marker = format!(":{event}: ");
    let lines =
        out.lines().map(|l| l.split_once(&marker).unwrap_or_else(|| panic!("odd line {l:?}")).1.to_owned()).collect();
    (lines, fired)
}

/// `perf script -F trace` lines of the program's hits of `sdt_PROVIDER:tick`, through perf's own
/// probe (created and removed here); `None` (after a skip) when perf cannot.
fn perf_sdt_lines(bin: &Path, dir: &Path, provider: &str, n: u32) -> Option<Vec<String>> {
    let event = format!("sdt_{provider}:tick");
    let probe = Command::new("perf").arg("probe").arg("-x").arg(bin).args(["-a", &event]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let why = format!("perf probe -x BIN -a {event}: {}", String::from_utf8_lossy(&o.stderr));
            skip(T, Skip::Environment(&why));
            return None;
        }
        Err(_) => {
            skip(T, Skip::Environment("no perf (apt-get install linux-perf)"));
            return None;
        }
    }
    let lines = perf_record_script(bin, dir, &event, n);
    let removed = Command::new("perf").args(["probe", "-q", "-d", &event]).output().unwrap();
    assert!(removed.status.success(), "perf probe -d: {}", String::from_utf8_lossy(&removed.stderr));
    Some(lines)
}

/// `perf record -e EVENT -- BIN N`, then `perf script -F trace`'s lines.
fn perf_record_script(bin: &Path, dir: &Path, event: &str, n: u32) -> Vec<String> {
    let data = dir.join("perf.data");
    let rec = Command::new("perf")
        .args(["record", "-q", "-e", event, "-o"])
        .arg(&data)
        .arg("--")
        .arg(bin)
        .arg(n.to_string())
        .output()
        .unwrap();
    assert!(rec.status.success(), "perf record: {}", String::from_utf8_lossy(&rec.stderr));
    let script = Command::new("perf").args(["script", "-F", "trace", "-i"]).arg(&data).output().unwrap();
    assert!(script.status.success(), "perf script: {}", String::from_utf8_lossy(&script.stderr));
    String::from_utf8_lossy(&script.stdout).lines().map(|l| l.trim().to_owned()).collect()
}

/// Root, uprobes and the program built; `None` after a skip.
fn setup(test: &str) -> Option<(PathBuf, PathBuf, String)> {
    if !root(test) {
        return None;
    }
    if !Path::new("/sys/kernel/tracing/uprobe_events").exists() {
        skip(test, Skip::KernelLacks { feature: "uprobes", why: "no /sys/kernel/tracing/uprobe_events" });
        return None;
    }
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("ktrace-probe-{test}-{pid}"));
    std::fs::create_dir_all(&dir).unwrap();
    // A provider of this run only, so perf's probe group cannot collide with another run's.
    let provider = format!("ktrace_t{pid}");
    let bin = build(&dir, &provider)?;
    Some((dir, bin, provider))
}

/// A count that differs between runs, so a fixed number of hits cannot pass by chance.
fn count() -> u32 {
    50 + std::process::id() % 200
}

#[test]
fn probe_usdt_hits_and_values_match_perf_script() {
    let Some((dir, bin, provider)) = setup(T) else { return };
    let n = count();
    let spec = format!("sdt:{}:{provider}:tick", bin.display());
    let (ours, fired) = probe_lines(&bin, &spec, &format!("{provider}_tick_0"), n);
    assert_eq!(fired, n);
    assert_eq!(ours.len(), n as usize, "probe printed {} hits for {n} fired: {ours:?}", ours.len());
    // Hit i: a = -1000 + 7i (s64), u = 3i (u32), neg = -i (s32), msg's address (u64).
    for (i, line) in ours.iter().enumerate() {
        let i = i as i64;
        let want = format!("arg1={} arg2={} arg3={} arg4=", -1000 + 7 * i, 3 * i, -i);
        assert!(line.contains(&want), "hit {i}: {line:?} lacks {want:?}");
    }
    let Some(theirs) = perf_sdt_lines(&bin, &dir, &provider, n) else { return };
    assert_eq!(ours, theirs, "probe and perf script print the same hits differently");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A uprobe on `fire` with a signed, a string, a hex and an array fetch arg: `probe`'s values
/// equal `perf script`'s for the same definition (made through tracefs here, recorded by perf).
#[test]
fn probe_uprobe_values_match_perf_script() {
    const T: &str = "probe_uprobe_values_match_perf_script";
    let Some((dir, bin, _)) = setup(T) else { return };
    let n = count();
    let args = "a=%di:s64 s=+0(%si):ustring x=%dx:x32 arr=+0(%cx):u8[3]";
    let (ours, fired) = probe_lines(&bin, &format!("u:{}:fire {args}", bin.display()), "p0", n);
    assert_eq!((fired, ours.len()), (n, n as usize), "{ours:?}");
    for (i, line) in ours.iter().enumerate() {
        let want = format!("a={} s=\"text\" x={:#x} arr={{116,101,120}}", -1000 + 7 * i as i64, 0xabc0 + i);
        assert!(line.ends_with(&want), "hit {i}: {line:?}, wanted {want:?}");
    }
    let fs = ktrace_ftrace::Tracefs::find_or_mount().unwrap();
    let mut probes = ktrace_kprobe::Probes::new(&fs);
    let args: Vec<ktrace_kprobe::FetchArg> =
        ktrace_kprobe::ProbeDef::parse(&format!("p:g/fire /x:0x1 {args}")).unwrap().args;
    probes.uprobe("fire", bin.to_str().unwrap(), "fire", &args, false).unwrap();
    let theirs = perf_record_script(&bin, &dir, &format!("{}:fire", probes.group()), n);
    probes.close().unwrap();
    assert_eq!(ours, theirs, "probe and perf script print the same hits differently");
    std::fs::remove_dir_all(&dir).unwrap();
}
