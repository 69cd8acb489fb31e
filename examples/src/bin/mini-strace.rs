//! `mini-strace`: strace on ktrace-ptrace.
//!
//! ```sh
//! mini-strace [-f] [-c] [-T] [-tt] [-e trace=NAME,NAME…] [--seccomp] [-o FILE] (-p PID | COMMAND ARGS…)
//! ```
//! Prints one line per completed syscall (`[pid N] name(args) = ret` with `-f`), signals, and exits.
//! `-T` adds the time spent in each call (`<0.000012>`), `-tt` prefixes the time of day with
//! microseconds, `-c` prints only strace's summary table (calls, errors and time per syscall).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use ktrace_ptrace::{AuditArch, Event, TraceCommand, Tracer};

/// Per-syscall totals for `-c`: calls, errors, time.
#[derive(Default)]
struct Summary {
    calls: u64,
    errors: u64,
    time: Duration,
}

fn time_of_day() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!("{:02}:{:02}:{:02}.{:06}", secs / 3600, secs / 60 % 60, secs % 60, now.subsec_micros())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut follow, mut seccomp, mut only, mut out, mut pid) = (false, false, None::<Vec<String>>, None, None);
    let (mut summary, mut timing, mut tod) = (false, false, false);
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-f" => follow = true,
            "-c" => summary = true,
            "-T" => timing = true,
            "-tt" => tod = true,
            "--seccomp" | "--seccomp-bpf" => seccomp = true,
            "-e" => {
                i += 1;
                let v = args.get(i).ok_or("-e trace=LIST")?;
                only = Some(v.trim_start_matches("trace=").split(',').map(str::to_owned).collect());
            }
            "-o" => {
                i += 1;
                out = Some(args.get(i).ok_or("-o FILE")?.clone());
            }
            "-p" => {
                i += 1;
                pid = Some(args.get(i).and_then(|p| p.parse::<i32>().ok()).ok_or("-p PID")?);
            }
            _ => break,
        }
        i += 1;
    }
    let cmd = args.get(i..).unwrap_or_default();
    let mut w: Box<dyn Write> = match &out {
        Some(f) => Box::new(std::io::BufWriter::new(std::fs::File::create(f)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stderr())),
    };
    let nrs: Option<Vec<u64>> =
        only.as_ref().map(|l| l.iter().filter_map(|n| AuditArch::NATIVE.syscall_nr(n)).collect());
    let mut t: Tracer = match (pid, cmd.split_first()) {
        (Some(p), _) => Tracer::attach(p)?,
        (None, Some((prog, rest))) => {
            let mut c = TraceCommand::new(prog).args(rest).follow_forks(follow);
            if seccomp && let Some(n) = &nrs {
                c = c.seccomp_filter(n);
            }
            c.spawn()?
        }
        (None, None) => {
            return Err(
                "usage: mini-strace [-f] [-c] [-T] [-tt] [-e trace=LIST] [--seccomp] [-o FILE] (-p PID | CMD...)"
                    .into(),
            );
        }
    };
    let multi = follow || pid.is_some();
    let mut entered: HashMap<i32, Instant> = HashMap::new();
    let mut table: BTreeMap<&'static str, Summary> = BTreeMap::new();
    let shown = |arch: AuditArch, nr: u64| {
        only.as_ref().is_none_or(|l| arch.syscall_name(nr).is_some_and(|n| l.iter().any(|x| x == n)))
    };
    while let Some(ev) = t.next_event()? {
        let mut spent = None;
        let pid = match ev {
            Event::SyscallEnter { pid, arch, nr, .. } => {
                entered.insert(pid, Instant::now());
                // exit and exit_group never return: show their entry, as strace does (`= ?`).
                if matches!(arch.syscall_name(nr), Some("exit" | "exit_group")) && shown(arch, nr) {
                    if summary {
                        table.entry(arch.syscall_name(nr).unwrap_or("?")).or_default().calls += 1;
                        continue;
                    }
                    let line = format!("{} = ?", t.describe(&ev));
                    let stamp = if tod { format!("{} ", time_of_day()) } else { String::new() };
                    if multi {
                        writeln!(w, "[pid {pid:>6}] {stamp}{line}")?;
                    } else {
                        writeln!(w, "{stamp}{line}")?;
                    }
                }
                continue;
            }
            Event::SyscallExit { pid, arch, nr, ret, .. } => {
                let took = entered.remove(&pid).map(|t0| t0.elapsed());
                if !shown(arch, nr) {
                    continue;
                }
                if summary {
                    let e = table.entry(arch.syscall_name(nr).unwrap_or("?")).or_default();
                    e.calls += 1;
                    e.errors += u64::from((-4095..0).contains(&ret));
                    e.time += took.unwrap_or_default();
                    continue;
                }
                spent = took;
                pid
            }
            Event::Signal { pid, .. } | Event::Exited { pid, .. } | Event::Killed { pid, .. } if !summary => pid,
            _ => continue,
        };
        let mut line = t.describe(&ev);
        if timing && let Some(d) = spent {
            line.push_str(&format!(" <{:.6}>", d.as_secs_f64()));
        }
        let stamp = if tod { format!("{} ", time_of_day()) } else { String::new() };
        if multi {
            writeln!(w, "[pid {pid:>6}] {stamp}{line}")?;
        } else {
            writeln!(w, "{stamp}{line}")?;
        }
    }
    if summary {
        // strace -c's table, sorted by time.
        let total: Duration = table.values().map(|s| s.time).sum();
        let mut rows: Vec<_> = table.iter().collect();
        rows.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(a.0.cmp(b.0)));
        writeln!(w, "% time     seconds  usecs/call     calls    errors syscall")?;
        writeln!(w, "------ ----------- ----------- --------- --------- ----------------")?;
        let pct = |d: Duration| if total.is_zero() { 0.0 } else { 100.0 * d.as_secs_f64() / total.as_secs_f64() };
        let (mut calls, mut errors) = (0, 0);
        for (name, s) in rows {
            let per = s.time.as_micros().checked_div(u128::from(s.calls)).unwrap_or(0);
            let errs = if s.errors > 0 { s.errors.to_string() } else { String::new() };
            writeln!(
                w,
                "{:>6.2} {:>11.6} {:>11} {:>9} {:>9} {name}",
                pct(s.time),
                s.time.as_secs_f64(),
                per,
                s.calls,
                errs
            )?;
            calls += s.calls;
            errors += s.errors;
        }
        writeln!(w, "------ ----------- ----------- --------- --------- ----------------")?;
        writeln!(w, "100.00 {:>11.6} {:>11} {calls:>9} {errors:>9} total", total.as_secs_f64(), "")?;
    }
    w.flush()?;
    Ok(())
}
