//! A child doing N getppid(): untraced; `strace -f -o /dev/null` vs our tracer decoding every syscall;
//! `strace --seccomp-bpf -e trace=openat` vs our seccomp filter on openat, and the floor: the same
//! tracer with an allow-all filter (the one-instruction program, what an empty set builds). The three
//! seccomp figures are medians of interleaved rounds (9 by default, the order turning each round),
//! so a busy machine shifts them alike: single runs of all three move between ~245 and ~340 ns
//! on this VM. Prints `RESULT ptrace untraced_ns=N ktrace_all_ns=N strace_all_ns=N ktrace_seccomp_ns=N
//! strace_seccomp_ns=N allowall_seccomp_ns=N`.
//! Usage: `ptrace_report GETPPID_LOOP [N] [ROUNDS]` (N/5 calls for the runs where every syscall stops)
use std::process::{Command, Stdio};

use ktrace_ptrace::{AuditArch, Event, TraceCommand};

fn ns(out: &[u8]) -> f64 {
    String::from_utf8_lossy(out)
        .lines()
        .find_map(|l| l.strip_prefix("ns_per_syscall=").and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// Runs the loop under our tracer; the child's stdout goes to a pipe we read afterwards.
fn ours(looper: &str, n: &str, seccomp: Option<&[u64]>) -> Result<f64, Box<dyn std::error::Error>> {
    let out = std::env::temp_dir().join(format!("ktrace-ptrace-bench-{}", std::process::id()));
    let sh = format!("exec {looper} {n} > {}", out.display());
    // Same CPU when every syscall stops (no cross-CPU wakeup per stop); with a seccomp filter
    // the tracee rarely stops and, like strace's, may run on whichever CPU is free.
    let mut c = TraceCommand::new("/bin/sh").args(["-c", &sh]).same_cpu(seccomp.is_none());
    if let Some(nrs) = seccomp {
        c = c.seccomp_filter(nrs);
    }
    let mut t = c.spawn()?;
    let mut line = String::with_capacity(256);
    let mut n = 0u64;
    while let Some(ev) = t.next_event()? {
        if matches!(ev, Event::SyscallExit { .. }) {
            line.clear();
            t.describe_into(&ev, &mut line);
            n += line.len() as u64;
        }
    }
    std::hint::black_box(n);
    let v = ns(&std::fs::read(&out)?);
    let _ = std::fs::remove_file(&out);
    Ok(v)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let looper = a.get(1).ok_or("usage: ptrace_report GETPPID_LOOP [N] [ROUNDS]")?;
    let n = a.get(2).cloned().unwrap_or_else(|| "1000000".into());
    // Every syscall stopping costs ~20-300 us: those runs do a fifth of the calls.
    let n_all = (n.parse::<u64>().unwrap_or(1_000_000) / 5).max(1).to_string();
    let untraced = ns(&Command::new(looper).arg(&n).output()?.stdout);
    let strace_all = ns(&Command::new("strace")
        .args(["-f", "-o", "/dev/null", looper, &n_all])
        .stderr(Stdio::null())
        .output()?
        .stdout);
    // strace has no same-CPU option; pinned from outside it is the fair comparison with same_cpu.
    let strace_pinned = ns(&Command::new("taskset")
        .args(["-c", "0", "strace", "-f", "-o", "/dev/null", looper, &n_all])
        .stderr(Stdio::null())
        .output()?
        .stdout);
    let ktrace_all = ours(looper, &n_all, None)?;
    let openat = AuditArch::NATIVE.syscall_nr("openat").ok_or("openat")?;
    let rounds: usize = a.get(3).and_then(|r| r.parse().ok()).unwrap_or(9);
    let (mut strace_sec, mut ktrace_sec, mut allow_all) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // The order turns each round: a slow spell of the host falls on each mode alike.
        for mode in (0..3).map(|i| (i + round) % 3) {
            match mode {
                0 => allow_all.push(ours(looper, &n, Some(&[]))?),
                1 => ktrace_sec.push(ours(looper, &n, Some(&[openat]))?),
                _ => strace_sec.push(ns(&Command::new("strace")
                    .args(["-f", "--seccomp-bpf", "-e", "trace=openat", "-o", "/dev/null", looper, &n])
                    .stderr(Stdio::null())
                    .output()?
                    .stdout)),
            }
        }
    }
    let show = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(" ");
    println!(
        "seccomp rounds (ns/syscall): allow-all {}; ktrace {}; strace {}",
        show(&allow_all),
        show(&ktrace_sec),
        show(&strace_sec)
    );
    let (strace_sec, ktrace_sec, allow_all) = (median(strace_sec), median(ktrace_sec), median(allow_all));
    println!("strace -f pinned to one CPU with taskset: {strace_pinned:.1} ns/syscall");
    println!(
        "RESULT ptrace untraced_ns={untraced:.1} ktrace_all_ns={ktrace_all:.1} strace_all_ns={strace_all:.1} ktrace_seccomp_ns={ktrace_sec:.1} strace_seccomp_ns={strace_sec:.1} allowall_seccomp_ns={allow_all:.1}"
    );
    Ok(())
}
