//! Differential: the profiler's leaf symbols against `perf report --no-children` on the same
//! programs (issue 17), and separate debug files found as perf and gdb find them.
//!
//! Live: a C program with five distinct hot leaves (four of its own functions and libc's memcpy,
//! named only by libc6-dbg's separate debug file) and a loop in Debian's stripped python3 (whose
//! static functions stay unresolved: perf prints them as `[.] 0x…` under `python3.11`, we as
//! `python3.11+0x…`) each run once, sampled by `perf record -F 999 -g` and our profiler at once.
//! The two top-5 lists by sample count must agree: see [`compare`] for how sampling noise is
//! allowed for. Offline (real ELF files, no sampling): a stripped binary is named from its debug
//! file under a private debug root by build-id and by `.gnu_debuglink`, and a debug file whose
//! CRC does not match is refused.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ktrace_sample::profile::Profiler;
use ktrace_sample::symbolize::{Mapping, Symbolizer};
use ktrace_testing::{Skip, installed, root, skip};

const FREQ: u64 = 999;

/// Five leaves of distinct weight (about 36/28/18/12/6 % of samples here); it waits for a line on
/// stdin so sampling is in place before it runs.
const C_SRC: &str = r#"
#include <stdio.h>
#include <string.h>
static char a[1 << 20], b[1 << 20];
__attribute__((noinline)) unsigned long lcg(unsigned long n) {
    unsigned long x = 0;
    for (unsigned long i = 0; i < n; i++) x = x * 6364136223846793005UL + i;
    return x;
}
__attribute__((noinline)) unsigned long xorshift(unsigned long n) {
    unsigned long x = 1;
    for (unsigned long i = 0; i < n; i++) x ^= (x << 13) ^ (x >> 7) ^ i;
    return x;
}
__attribute__((noinline)) double affine(unsigned long n) {
    double x = 1.0;
    for (unsigned long i = 0; i < n; i++) x = x * 1.0000001 + 0.5;
    return x;
}
__attribute__((noinline)) unsigned long divide(unsigned long n) {
    unsigned long x = 0;
    for (unsigned long i = 1; i <= n; i++) x += 1000000007UL / i;
    return x;
}
__attribute__((noinline)) int copy(int n) {
    for (int k = 0; k < n; k++) { memcpy(a, b, sizeof a); b[k & 0xfffff] = (char)k; }
    return a[7];
}
int main(void) {
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    unsigned long r = lcg(600000000UL) + xorshift(560000000UL);
    r += (unsigned long)affine(240000000UL) + divide(60000000UL) + (unsigned long)copy(10000);
    printf("%lu\n", r);
    return 0;
}
"#;

const PY_SRC: &str = "import sys
sys.stdin.readline()
def f(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x
print(f(30_000_000))
";

fn tmpdir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ktrace-perfcmp-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd`, failing the test on a non-zero exit; `None` when it cannot start.
fn run(cmd: &mut Command) -> Option<std::process::Output> {
    let out = cmd.output().ok()?;
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(out)
}

fn gcc(dir: &Path, name: &str, src: &str, extra: &[&str]) -> Option<PathBuf> {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let bin = dir.join(name);
    run(Command::new("gcc").args(["-O1", "-g", "-fno-omit-frame-pointer"]).args(extra).arg("-o").arg(&bin).arg(&c))?;
    Some(bin)
}

/// The process `perf record` (`perf_pid`) started for `exe` once it has exec'd and blocks reading
/// stdin (perf's events are enabled at that exec, so perf samples from then on).
fn held_child(perf_pid: u32, exe: &Path) -> i32 {
    let exe = std::fs::canonicalize(exe).unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < end {
        let kids = std::fs::read_to_string(format!("/proc/{perf_pid}/task/{perf_pid}/children")).unwrap_or_default();
        for pid in kids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let is_exe = std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe);
            // /proc/PID/syscall: "0 0x0 …" is read(0, …), the wait for the line.
            let reading =
                std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("0 0x0 "));
            if is_exe && reading {
                return pid;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("perf record did not start {}", exe.display());
}

/// Leaf counts by us and by perf of one execution of `cmd` (which waits for a line on stdin): perf
/// records it (`perf record -F 999 -g`, data in `data`), our profiler attaches to the same process
/// while it waits, then it runs. Two runs of one program differ by more than sampling noise
/// (python's `PyLong_FromLong` took 4 % of one run and 6.5 % of the next), one sampled twice
/// does not. Ours come with the folded stacks and the symbolizer; perf's from [`perf_report`].
#[allow(clippy::type_complexity, reason = "a test helper's tuple")]
fn profile_both(
    cmd: &[&str],
    data: &Path,
) -> (Vec<(String, u64)>, BTreeMap<String, u64>, Symbolizer, Vec<(String, u64)>) {
    // -N: leave perf's build-id cache (~/.debug) alone.
    let mut rec = Command::new("perf")
        .args(["record", "-N", "-q", "-g", "-F", &FREQ.to_string(), "-o"])
        .arg(data)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = held_child(rec.id(), Path::new(cmd[0]));
    let mut prof = Profiler::task(pid, FREQ).unwrap();
    // The command shares perf's stdin.
    rec.stdin.take().unwrap().write_all(b"go\n").unwrap();
    while rec.try_wait().unwrap().is_none() {
        prof.poll();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(rec.wait().unwrap().success(), "perf record failed");
    let p = prof.finish();
    assert_eq!(p.lost, 0);
    let mut sym = p.symbolizer(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default());
    (p.top_symbols(&mut sym), p.folded(&mut sym), sym, perf_report(data))
}

/// perf's leaf counts: `perf report -n --no-children --sort dso,sym`, its unresolved user rows
/// (`python3.11  [.] 0x00000000001fd01d`) written as ours are (`python3.11+0x1fd01d`).
fn perf_report(data: &Path) -> Vec<(String, u64)> {
    let rep = run(Command::new("perf")
        .args(["report", "-n", "--no-children", "--sort", "dso,sym", "--stdio", "-q", "-g", "none", "-i"])
        .arg(data))
    .unwrap();
    let mut out = Vec::new();
    for l in String::from_utf8_lossy(&rep.stdout).lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let [_pct, n, dso, kind, sym @ ..] = w.as_slice() else { continue };
        let (Ok(n), false) = (n.parse::<u64>(), sym.is_empty()) else { continue };
        let sym = sym.join(" ");
        let name = match sym.strip_prefix("0x").map(|h| u64::from_str_radix(h, 16)) {
            Some(Ok(off)) if *kind == "[.]" && *dso != "[unknown]" => format!("{dso}+{off:#x}"),
            _ => sym,
        };
        out.push((name, n));
    }
    out
}

/// Compares two leaf lists (sample counts, largest first) by share, allowing for sampling noise.
///
/// The two sample the same execution independently, so a share p measured over N₁ and N₂
/// samples differs by about σ = √(p(1−p)(1/N₁+1/N₂)). Asked of the top 5 of each:
/// - every name in either top 5 has shares within 3σ + 1 % of each other in the two runs (a
///   frame named in one and unresolved in the other fails here: its share is 0 on one side);
/// - the two top-5 sets are equal, except for names tied at the boundary: a name in one top 5
///   only must be within that 3σ + 1 % of the other list's fifth share;
/// - the order is perf's wherever perf's shares of two names differ by more than 3σ of their
///   difference, σ = √((p_a+p_b)(1/N₁+1/N₂)).
fn compare(ours: &[(String, u64)], perf: &[(String, u64)]) -> Result<(), String> {
    let total = |v: &[(String, u64)]| v.iter().map(|x| x.1).sum::<u64>() as f64;
    let (n1, n2) = (total(ours), total(perf));
    if n1 < 1000.0 || n2 < 1000.0 {
        return Err(format!("too few samples: {n1} ours, {n2} perf's"));
    }
    let share = |v: &[(String, u64)], n: f64| -> HashMap<String, f64> {
        v.iter().map(|(k, c)| (k.clone(), *c as f64 / n)).collect()
    };
    let (q, p) = (share(ours, n1), share(perf, n2));
    let inv = 1.0 / n1 + 1.0 / n2;
    let tol = |s: f64| 3.0 * (s * (1.0 - s) * inv).sqrt() + 0.01;
    let get = |m: &HashMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(0.0);
    let top = |v: &[(String, u64)]| v.iter().take(5).map(|x| x.0.clone()).collect::<Vec<_>>();
    let (tq, tp) = (top(ours), top(perf));
    let fifth = |v: &[(String, u64)], n: f64| v.get(4).map_or(0.0, |x| x.1 as f64 / n);
    for k in tq.iter().chain(&tp) {
        let (a, b) = (get(&q, k), get(&p, k));
        if (a - b).abs() > tol(a.max(b)) {
            return Err(format!("{k}: {:.1} % ours, {:.1} % perf's", a * 100.0, b * 100.0));
        }
    }
    for k in tq.iter().filter(|k| !tp.contains(k)) {
        if get(&p, k) < fifth(perf, n2) - tol(get(&p, k)) {
            return Err(format!("{k} is in our top 5, far below perf's"));
        }
    }
    for k in tp.iter().filter(|k| !tq.contains(k)) {
        if get(&q, k) < fifth(ours, n1) - tol(get(&q, k)) {
            return Err(format!("{k} is in perf's top 5, far below ours"));
        }
    }
    for (i, a) in tp.iter().enumerate() {
        for b in &tp[i + 1..] {
            let (pa, pb) = (get(&p, a), get(&p, b));
            if pa - pb > 3.0 * ((pa + pb) * inv).sqrt() && get(&q, a) <= get(&q, b) {
                return Err(format!("perf has {a} ({:.1} %) above {b} ({:.1} %), we do not", pa * 100.0, pb * 100.0));
            }
        }
    }
    Ok(())
}

fn show(v: &[(String, u64)]) -> String {
    let n: u64 = v.iter().map(|x| x.1).sum();
    let rows: Vec<String> =
        v.iter().take(7).map(|(k, c)| format!("{:5.1} % {k}", *c as f64 * 100.0 / n.max(1) as f64)).collect();
    format!("{n} samples: {}", rows.join(", "))
}

/// Profiles `cmd` with ours and perf at once (perf's data in `dir`) and fails unless the leaves
/// agree as [`compare`] asks; returns ours as [`profile_both`] does.
fn differential(cmd: &[&str], dir: &Path) -> (Vec<(String, u64)>, BTreeMap<String, u64>, Symbolizer) {
    let (mine, folded, sym, theirs) = profile_both(cmd, &dir.join("perf.data"));
    eprintln!("ours:  {}\nperf:  {}", show(&mine), show(&theirs));
    if let Err(e) = compare(&mine, &theirs) {
        panic!("{e}\nours:  {}\nperf:  {}", show(&mine), show(&theirs));
    }
    (mine, folded, sym)
}

/// Root and perf, then the test's temporary directory; or a skip.
fn ready(test: &str) -> Option<PathBuf> {
    if !root(test) {
        return None;
    }
    if !installed(test, &["perf", "--version"], "linux-perf") {
        return None;
    }
    Some(tmpdir(test))
}

#[test]
fn c_program_top5_leaves_match_perf_report_and_libc_is_named() {
    const T: &str = "c_program_top5_leaves_match_perf_report_and_libc_is_named";
    let Some(dir) = ready(T) else { return };
    let Some(bin) = gcc(&dir, "five", C_SRC, &[]) else {
        return skip(T, Skip::Environment("gcc is needed to build the profiled program"));
    };
    let (mine, folded, sym) = differential(&[bin.to_str().unwrap()], &dir);
    if !sym.debug_files().any(|(f, _)| f.contains("/libc.so")) {
        return skip(T, Skip::Environment("libc's separate debug file is not installed (apt-get install libc6-dbg)"));
    }
    // The five leaves, libc's memcpy by the name its debug file gives (perf's too).
    let top: Vec<&str> = mine.iter().take(5).map(|x| x.0.as_str()).collect();
    for f in ["lcg", "xorshift", "affine", "divide"] {
        assert!(top.contains(&f), "{f} not in our top 5 {top:?}");
    }
    let libc = top.iter().find(|n| !["lcg", "xorshift", "affine", "divide"].contains(n)).unwrap();
    assert!(libc.starts_with("__mem") && !libc.contains('+'), "libc's leaf is {libc}");
    // Callers in libc are named too: main is called from __libc_start_call_main (a local
    // function only the debug file's .symtab has).
    assert!(folded.keys().any(|k| k.contains(";__libc_start_call_main;main;")), "{folded:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn python_loop_top5_leaves_match_perf_report() {
    const T: &str = "python_loop_top5_leaves_match_perf_report";
    let Some(dir) = ready(T) else { return };
    let script = dir.join("loop.py");
    std::fs::write(&script, PY_SRC).unwrap();
    let (mine, _, _) = differential(&["/usr/bin/python3", script.to_str().unwrap()], &dir);
    assert_eq!(mine[0].0, "_PyEval_EvalFrameDefault");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The file offset of function `f` in ELF `bin` (from `nm` and the LOAD segments of `readelf`).
fn file_offset(bin: &Path, f: &str) -> u64 {
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let nm = run(Command::new("nm").arg(bin)).unwrap();
    let nm = String::from_utf8_lossy(&nm.stdout);
    // `t`: a local (static) function.
    let va = nm.lines().find_map(|l| l.strip_suffix(&format!(" t {f}"))).map(hex).unwrap();
    let re = run(Command::new("readelf").args(["-lW"]).arg(bin)).unwrap();
    for l in String::from_utf8_lossy(&re.stdout).lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let ["LOAD", off, vaddr, _paddr, filesz, ..] = w.as_slice()
            && (hex(vaddr)..hex(vaddr) + hex(filesz)).contains(&va)
        {
            return va - hex(vaddr) + hex(off);
        }
    }
    panic!("{f} at {va:#x} is in no LOAD segment of {}", bin.display());
}

/// What `sym` names for the function at `off` in `bin` mapped whole at 0x5555_0000_0000.
fn name_at(root: &Path, bin: &Path, off: u64) -> String {
    let mut sym = Symbolizer::new("");
    sym.set_debug_root(root);
    let base = 0x5555_0000_0000;
    let path = bin.to_str().unwrap().to_owned();
    sym.add_mapping(1, Mapping { start: base, end: base + (1 << 30), pgoff: 0, path });
    sym.name(1, base + off)
}

#[test]
fn stripped_binaries_are_named_from_debug_files_by_build_id_and_debuglink() {
    const T: &str = "stripped_binaries_are_named_from_debug_files_by_build_id_and_debuglink";
    let dir = tmpdir(T);
    // A static function: not in .dynsym, so only a .symtab names it.
    const SRC: &str = "static __attribute__((noinline)) int ktrace_hidden(int x) { return x * 3; }\n\
                       int main(int c, char **v) { (void)v; return ktrace_hidden(c); }\n";
    let Some(with_id) = gcc(&dir, "withid", SRC, &["-Wl,--build-id"]) else {
        return skip(T, Skip::Environment("gcc is needed to build the test binaries"));
    };
    let no_id = gcc(&dir, "noid", SRC, &["-Wl,--build-id=none"]).unwrap();
    let root = dir.join("debug-root");
    let objcopy = |args: &[&str], f: &Path| run(Command::new("objcopy").args(args).arg(f)).unwrap();

    // By build-id: ROOT/.build-id/xx/rest.debug, the binary stripped of .symtab.
    let off = file_offset(&with_id, "ktrace_hidden");
    let id = String::from_utf8_lossy(&run(Command::new("readelf").arg("-n").arg(&with_id)).unwrap().stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_owned))
        .unwrap();
    let by_id = root.join(".build-id").join(&id[..2]);
    std::fs::create_dir_all(&by_id).unwrap();
    let dbg = by_id.join(format!("{}.debug", &id[2..]));
    std::fs::copy(&with_id, &dbg).unwrap();
    objcopy(&["--only-keep-debug"], &dbg);
    objcopy(&["--strip-all"], &with_id);
    assert_eq!(name_at(&root, &with_id, off), "ktrace_hidden");
    // Without the debug file: the file and the offset perf would print.
    assert_eq!(name_at(&dir.join("nowhere"), &with_id, off), format!("withid+{off:#x}"));

    // By .gnu_debuglink (no build-id): DIR/.debug/NAME, checked by CRC.
    let off = file_offset(&no_id, "ktrace_hidden");
    let dot_debug = dir.join(".debug");
    std::fs::create_dir_all(&dot_debug).unwrap();
    let dbg = dot_debug.join("noid.debug");
    std::fs::copy(&no_id, &dbg).unwrap();
    objcopy(&["--only-keep-debug"], &dbg);
    objcopy(&["--strip-all"], &no_id);
    // objcopy computes the CRC of the file it is given, so link from where the file lies.
    run(Command::new("objcopy").current_dir(&dot_debug).arg("--add-gnu-debuglink=noid.debug").arg(&no_id)).unwrap();
    assert_eq!(name_at(&dir.join("nowhere"), &no_id, off), "ktrace_hidden");
    // A debug file that is not the one linked (its CRC differs) is not believed.
    let mut f = std::fs::OpenOptions::new().append(true).open(&dbg).unwrap();
    f.write_all(b"stale").unwrap();
    drop(f);
    assert_eq!(name_at(&dir.join("nowhere"), &no_id, off), format!("noid+{off:#x}"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_catches_a_misnamed_frame_and_a_swapped_order_but_allows_ties() {
    let v = |rows: &[(&str, u64)]| rows.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect::<Vec<_>>();
    let perf = v(&[("a", 900), ("b", 500), ("c", 300), ("d", 150), ("e", 60), ("f", 58), ("g", 32)]);
    // Noise-sized differences, and e/f tied at the boundary: accepted.
    let same = v(&[("a", 880), ("b", 520), ("c", 290), ("d", 160), ("f", 62), ("e", 57), ("g", 30)]);
    assert_eq!(compare(&same, &perf), Ok(()));
    // c unresolved on our side (`x+0x10`): its share is 0 against perf's 15 %.
    let misnamed = v(&[("a", 900), ("b", 500), ("x+0x10", 300), ("d", 150), ("e", 60), ("f", 58), ("g", 32)]);
    assert!(compare(&misnamed, &perf).unwrap_err().contains("0.0 %"));
    // b and c swapped: 25 % against 15 % is far beyond noise.
    let swapped = v(&[("a", 900), ("c", 500), ("b", 300), ("d", 150), ("e", 60), ("f", 58), ("g", 32)]);
    assert!(compare(&swapped, &perf).is_err());
}
