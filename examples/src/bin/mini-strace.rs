//! `mini-strace`: strace on ktrace-ptrace.
//!
//! ```sh
//! mini-strace [-f] [-e trace=NAME,NAME…] [--seccomp] [-o FILE] (-p PID | COMMAND ARGS…)
//! ```
//! Prints one line per completed syscall (`[pid N] name(args) = ret` with `-f`), signals, and exits.

use std::io::Write;

use ktrace_ptrace::{AuditArch, Event, TraceCommand, Tracer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut follow, mut seccomp, mut only, mut out, mut pid) = (false, false, None::<Vec<String>>, None, None);
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-f" => follow = true,
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
            return Err("usage: mini-strace [-f] [-e trace=LIST] [--seccomp] [-o FILE] (-p PID | CMD...)".into());
        }
    };
    let multi = follow || pid.is_some();
    while let Some(ev) = t.next_event()? {
        let pid = match ev {
            // exit and exit_group never return: show their entry, as strace does (`= ?`).
            Event::SyscallEnter { pid, arch, nr, .. }
                if matches!(arch.syscall_name(nr), Some("exit" | "exit_group")) =>
            {
                let line = format!("{} = ?", t.describe(&ev));
                if multi {
                    writeln!(w, "[pid {pid:>6}] {line}")?;
                } else {
                    writeln!(w, "{line}")?;
                }
                continue;
            }
            Event::SyscallExit { pid, arch, nr, .. } => {
                if let Some(l) = &only
                    && !arch.syscall_name(nr).is_some_and(|n| l.iter().any(|x| x == n))
                {
                    continue;
                }
                pid
            }
            Event::Signal { pid, .. } | Event::Exited { pid, .. } | Event::Killed { pid, .. } => pid,
            _ => continue,
        };
        let line = t.describe(&ev);
        if multi {
            writeln!(w, "[pid {pid:>6}] {line}")?;
        } else {
            writeln!(w, "{line}")?;
        }
    }
    w.flush()?;
    Ok(())
}
