//! strace-like text of a capture: `0.000412 [4711] openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3`.

use std::fmt::Write;

use ktrace_ftrace::BlockPhase;

use super::query::{Capture, Syscall};
use super::record::{Record, What};

/// Seconds since the capture began, microseconds shown.
fn secs(ns: u64) -> String {
    format!("{:>3}.{:06}", ns / 1_000_000_000, ns % 1_000_000_000 / 1000)
}

/// `O_WRONLY|O_CREAT|O_CLOEXEC` for open flags, as ktrace-ptrace's decoder (and strace) print them.
fn open_flags(v: u64) -> String {
    ktrace_ptrace::decode::open_flags(v & 0xffff_ffff).to_string()
}

/// A return value as strace writes it: `3`, `0x7f…`, `-1 ENOENT (No such file or directory)`.
pub(crate) fn ret_text(ret: i64) -> String {
    if (-4095..0).contains(&ret) {
        let name = ktrace_ptrace::decode::errno_name((-ret) as i32);
        let msg = std::io::Error::from_raw_os_error((-ret) as i32).to_string();
        let msg = msg.split(" (os error").next().unwrap_or("").to_owned();
        format!("-1 {name} ({msg})")
    } else if ret > 0xffff_ffff {
        format!("{ret:#x}")
    } else {
        ret.to_string()
    }
}

const SIGNALS: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// `SIGCHLD` for 17; `SIG40` for numbers without a name.
pub(crate) fn signal_name(sig: i32) -> String {
    usize::try_from(sig - 1).ok().and_then(|i| SIGNALS.get(i)).map_or_else(|| format!("SIG{sig}"), |s| (*s).to_owned())
}

fn is_open(name: &str) -> bool {
    super::OPENS.iter().any(|(n, _)| *n == name)
}

/// The call as strace writes it: `openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3` (`= ?` when the
/// capture ended before it returned).
pub(crate) fn syscall_text(sc: &Syscall) -> String {
    let open = is_open(&sc.name);
    let creates = sc.arg("flags").is_some_and(|f| f & (libc::O_CREAT as u64 | libc::O_TMPFILE as u64) != 0);
    let mut args = Vec::new();
    for a in &sc.args {
        let n = a.name.as_str();
        let text = if let Some(s) = &a.string {
            format!("{s:?}")
        } else if matches!(n, "filename" | "pathname") && sc.path.is_some() {
            format!("{:?}", sc.path.as_deref().unwrap_or(""))
        } else if n.ends_with("dfd") || n == "fd" {
            let fd = a.value as u32 as i32;
            if fd == libc::AT_FDCWD { "AT_FDCWD".to_owned() } else { fd.to_string() }
        } else if open && n == "flags" {
            open_flags(a.value)
        } else if open && n == "mode" {
            if !creates {
                continue;
            }
            format!("0{:o}", a.value)
        } else if a.value > 0xffff || matches!(n, "filename" | "pathname" | "buf" | "path" | "argv" | "envp") {
            format!("{:#x}", a.value)
        } else {
            a.value.to_string()
        };
        args.push(text);
    }
    format!("{}({}) = {}", sc.name, args.join(", "), sc.result())
}

/// One record's line (without the time and thread); `None` for syscall exits (shown with their
/// entry).
fn record_text(cap: &Capture, idx: usize, r: &Record) -> Option<String> {
    Some(match &r.what {
        What::SysEnter { .. } => match cap.syscall_at(idx) {
            Some(sc) => syscall_text(sc),
            None => return None,
        },
        What::SysExit { name, ret, .. } => {
            if cap.syscall_exit_paired(idx) {
                return None;
            }
            format!("<... {name} resumed> = {}", ret_text(*ret))
        }
        What::Fork { child_pid, child_comm, .. } => format!("+++ forked {child_pid} ({child_comm}) +++"),
        What::Exec { filename, .. } => format!("+++ exec {filename:?} +++"),
        What::Exit { pid, .. } => match cap.exit_of(*pid).and_then(|e| e.code) {
            Some(code) => format!("+++ exited with {code} +++"),
            None => "+++ exited +++".to_owned(),
        },
        What::SignalGenerate { sig, pid, comm, result } => {
            // include/trace/events/signal.h's TRACE_SIGNAL_* results.
            let r = match result {
                0 => String::new(),
                1 => " (ignored)".to_owned(),
                2 => " (already pending)".to_owned(),
                3 => " (queue full: not sent)".to_owned(),
                4 => " (sent without its info)".to_owned(),
                r => format!(" (result {r})"),
            };
            format!("--- {} sent to {pid} ({comm}){r} ---", signal_name(*sig))
        }
        What::SignalDeliver { sig, code } => format!("--- {} delivered (si_code {code}) ---", signal_name(*sig)),
        What::Switch { prev_pid, prev_comm, prev_state, next_pid, next_comm } => {
            format!("sched_switch {prev_comm}/{prev_pid} (state {prev_state:#x}) -> {next_comm}/{next_pid}")
        }
        What::Block { phase, dev, sector, nr_sector, rwbs, error } => {
            let p = match phase {
                BlockPhase::Insert => "block_rq_insert",
                BlockPhase::Issue => "block_rq_issue",
                BlockPhase::Complete => "block_rq_complete",
            };
            let e = if *error != 0 { format!(" error {error}") } else { String::new() };
            format!("{p} {}:{} {rwbs} {sector} + {nr_sector}{e}", dev.0, dev.1)
        }
        What::Event { system, name, fields } => {
            let f: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v}")).collect();
            format!("{system}:{name}({})", f.join(", "))
        }
    })
}

/// The capture as text, one line per record that `keep` accepts; at most `max` lines (first and
/// last halves, with a count of what was left out between).
pub(crate) fn render(cap: &Capture, keep: &dyn Fn(&Record) -> bool, max: usize) -> String {
    // A run of the same call by the same thread (a PATH search, a polling loop) is one line
    // ending in `(×N)`, so an excerpt shows more of what differs.
    let mut runs: Vec<(u64, i32, String, usize)> = Vec::new();
    for (i, r) in cap.records().iter().enumerate().filter(|(_, r)| keep(r)) {
        let Some(t) = record_text(cap, i, r) else { continue };
        match runs.last_mut() {
            Some((_, tid, text, n)) if *tid == r.tid && *text == t => *n += 1,
            _ => runs.push((r.ts_ns, r.tid, t, 1)),
        }
    }
    let lines: Vec<String> = runs
        .iter()
        .map(|(ts, tid, t, n)| match n {
            1 => format!("{} [{tid}] {t}", secs(*ts)),
            n => format!("{} [{tid}] {t}  (×{n})", secs(*ts)),
        })
        .collect();
    let mut out = String::new();
    if lines.len() <= max {
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
    } else {
        let half = max / 2;
        for l in lines.iter().take(half) {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(out, "  ... {} lines left out ...", lines.len() - 2 * half);
        for l in lines.iter().skip(lines.len() - half) {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_errors_and_signals_read_as_strace_writes_them() {
        assert_eq!(
            open_flags((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC) as u64),
            "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"
        );
        assert_eq!(ret_text(-2), "-1 ENOENT (No such file or directory)");
        assert_eq!(ret_text(3), "3");
        assert_eq!(signal_name(17), "SIGCHLD");
        assert_eq!(signal_name(40), "SIG40");
        assert_eq!(secs(1_234_567_891), "  1.234567");
    }
}
