//! `mini-strace`: strace on ktrace-ptrace.
//!
//! ```sh
//! mini-strace [-f|-ff] [-q|-qq] [-c] [-T] [-t|-tt] [-a COLUMN] [-e trace=NAME,NAME…] [-e signal=SET]
//!             [-e status=SET] [-z|-Z] [-y|-yy] [--decode-fds=SET] [-k] [-P PATH] [--seccomp] [-o FILE]
//!             (-p PID | COMMAND ARGS…)
//! ```
//! Prints one line per completed syscall (`[pid N] name(args) = ret` with `-f`), signals, and exits.
//! `-T` adds the time spent in each call (`<0.000012>`), `-t` prefixes the time of day (`-tt` with
//! microseconds), `-c` prints only strace's summary table (calls, errors and time per syscall).
//! `-y` shows what each descriptor is open on, `-yy` also sockets' endpoints (`3<TCP:[127.0.0.1:
//! 41234->127.0.0.1:80]>`, `4<UNIX-STREAM:[12345->12346]>`) and devices' numbers. `-k` prints the
//! user stack after each syscall and signal line (` > /usr/lib/x86_64-linux-gnu/libc.so.6(getppid+0x7) [0xd54f7]`).
//! Like strace it ends as the command did: its exit code, or killed by the same signal.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod filters;
use filters::{in_set, nrs_of, set_of, trace_set};

use clap::Parser;
use ktrace_examples::{Output, Status};
use ktrace_ptrace::{AuditArch, Event, TraceCommand, Tracer, decode};

/// strace on ktrace-ptrace: traces the syscalls and signals of a command or a running process.
#[derive(Parser)]
#[command(
    name = "mini-strace",
    version,
    override_usage = "mini-strace [OPTIONS] COMMAND [ARGS]...
       mini-strace [OPTIONS] -p PID"
)]
// As strace: an option given twice takes its last value (strace's tests pass -a twice).
#[command(args_override_self = true)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["pid", "cmd"]))]
struct Args {
    /// Follow forks and threads (-ff with -o FILE: each process's lines in FILE.PID).
    #[arg(short = 'f', action = clap::ArgAction::Count)]
    follow: u8,
    /// Print only a summary table: calls, errors and time per syscall.
    #[arg(short = 'c')]
    summary: bool,
    /// Quieter: -q is accepted for strace's sake (mini-strace prints no attach messages); -qq
    /// also leaves out the `+++ exited with N +++` lines.
    #[arg(short = 'q', action = clap::ArgAction::Count)]
    quiet: u8,
    /// Show the time spent in each syscall.
    #[arg(short = 'T')]
    timing: bool,
    /// Prefix each line with the time of day (-tt: with microseconds).
    #[arg(short = 't', action = clap::ArgAction::Count)]
    tod: u8,
    /// What to show: trace=NAME,NAME… (or NAME,NAME…); signal=SET (`none`, `all`, `USR1,INT`,
    /// `!CONT`); status=SET of successful, failed, unfinished, unavailable, detached;
    /// read=FDS, write=FDS (hex dumps of the data read from / written to those descriptors).
    #[arg(short = 'e', value_name = "trace=LIST")]
    expr: Vec<String>,
    /// Show at most this many bytes of each string and buffer (strace's -s; 32 by default).
    #[arg(short = 's', value_name = "SIZE", default_value_t = decode::STRING_LIMIT)]
    string_limit: usize,
    /// -xx: print every byte of strings in hexadecimal.
    #[arg(short = 'x', action = clap::ArgAction::Count)]
    hex: u8,
    /// Verbose: structures with every field (struct stat's ids and times…).
    #[arg(short = 'v')]
    verbose: bool,
    /// Print what each descriptor is open on: `read(3</etc/hostname>, …)` (strace's -y); -yy
    /// also sockets' endpoints (`3<TCP:[127.0.0.1:41234->127.0.0.1:80]>`) and devices'
    /// numbers (`3</dev/null<char 1:3>>`).
    #[arg(short = 'y', action = clap::ArgAction::Count)]
    fd_paths: u8,
    /// Which descriptors to decode: all, none, or path,socket,dev,pidfd (as -e decode-fds=).
    #[arg(long = "decode-fds", value_name = "SET")]
    decode_fds: Option<String>,
    /// Print the user stack of the task after each syscall and signal line, one ` > FILE(SYMBOL+0xOFF)
    /// [0xFILE_OFFSET]` line a frame, innermost first (strace's -k).
    #[arg(short = 'k', long = "stack-traces")]
    stack: bool,
    /// Align return values in this column (strace's -a; 40 by default).
    #[arg(short = 'a', value_name = "COLUMN", default_value_t = 40)]
    column: usize,
    /// Show only the syscalls that returned without an error (strace's -z: `-e status=successful`).
    #[arg(short = 'z', conflicts_with = "failed_only")]
    successful_only: bool,
    /// Show only the syscalls that returned an error (strace's -Z: `-e status=failed`).
    #[arg(short = 'Z')]
    failed_only: bool,
    /// Show only the syscalls that name PATH: a path argument, or a descriptor open on it.
    #[arg(short = 'P', value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Stop only at the chosen syscalls, through a seccomp-bpf filter (with -e trace=).
    #[arg(long = "seccomp-bpf", alias = "seccomp")]
    seccomp: bool,
    /// Write the trace to FILE instead of stderr (created before the command starts).
    #[arg(short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    /// Attach to this running process (and its threads).
    #[arg(short = 'p', value_name = "PID")]
    pid: Option<i32>,
    /// The command to run traced; mini-strace exits with its status.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    cmd: Vec<String>,
}

/// Per-syscall totals for `-c`: calls, errors, time.
#[derive(Default)]
struct Summary {
    calls: u64,
    errors: u64,
    time: Duration,
}

fn time_of_day(micros: bool) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    let hms = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if micros { format!("{hms}.{:06}", now.subsec_micros()) } else { hms }
}

/// A syscall's `line` (`name(args) = ret`) after `head` (pid prefix, time), its return value
/// moved to `column` of the whole line, as strace's -a does.
fn align(head: &str, line: &str, column: usize) -> String {
    match line.rsplit_once(" = ") {
        Some((call, ret)) => {
            let width = column.saturating_sub(head.len() + call.len()).max(1);
            format!("{head}{call}{:width$}= {ret}", "")
        }
        None => format!("{head}{line}"),
    }
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(a: Args) -> Result<Status, Box<dyn std::error::Error>> {
    let Args {
        follow: follows,
        quiet,
        summary,
        timing,
        tod,
        mut expr,
        string_limit,
        hex,
        verbose,
        fd_paths,
        decode_fds,
        stack,
        column,
        paths,
        seccomp,
        out,
        pid: attach,
        cmd,
        successful_only,
        failed_only,
    } = a;
    // -z and -Z are strace's short forms of a status set.
    if successful_only {
        expr.push("status=successful".into());
    }
    if failed_only {
        expr.push("status=failed".into());
    }
    if stack && summary {
        eprintln!("mini-strace: -k/--stack-traces has no effect with -c/--summary-only");
    }
    let follow = follows > 0;
    // strace -ff: with -o FILE, one file per process, FILE.PID, its lines without a pid.
    let per_process = follows > 1 && out.is_some();
    if hex == 1 {
        return Err("-x (hexadecimal for non-ASCII bytes only) is not supported; -xx is".into());
    }
    let mut style = decode::Style::default();
    style.string_limit = string_limit;
    style.hex_strings = hex > 1;
    style.verbose = verbose;
    style.decode_fds = match fd_paths {
        0 => decode::DecodeFds::NONE,
        1 => decode::DecodeFds::PATH,
        _ => decode::DecodeFds::ALL,
    };
    // --decode-fds=SET and -e decode-fds=SET: the last one given wins over -y.
    let sets = expr.iter().filter_map(|e| e.strip_prefix("decode-fds=").or(e.strip_prefix("decode-fd=")));
    for set in decode_fds.as_deref().into_iter().chain(sets) {
        style.decode_fds = decode::DecodeFds::parse(set).ok_or_else(|| format!("invalid decode-fds '{set}'"))?;
    }
    let only = trace_set(&expr)?;
    let signals = set_of(&expr, &["signal", "signals", "s"], |n| decode::signal_number(n).is_some())?;
    let statuses = set_of(&expr, &["status"], |n| {
        matches!(n, "successful" | "failed" | "unfinished" | "unavailable" | "detached")
    })?;
    let fd_set = |n: &str| n.parse::<u32>().is_ok_and(|fd| fd <= i32::MAX as u32);
    let reads = set_of(&expr, &["read", "r"], fd_set)?;
    let writes = set_of(&expr, &["write", "w"], fd_set)?;
    // -P: the paths as given, and as they resolve (strace selects both).
    let mut wanted: Vec<Vec<u8>> = Vec::new();
    for p in &paths {
        use std::os::unix::ffi::OsStrExt;
        wanted.push(p.as_os_str().as_bytes().to_vec());
        if let Ok(real) = std::fs::canonicalize(p) {
            wanted.push(real.as_os_str().as_bytes().to_vec());
        }
    }
    // Per task, whether its current syscall named a -P path (decided at entry, as strace does).
    let mut path_hit: HashMap<i32, bool> = HashMap::new();
    // With a seccomp filter the command is started by TraceCommand (the filter must be in place
    // before the exec, after any hold); otherwise held before its exec (a missing program fails
    // here, as strace's `Can't stat`) and seized there.
    let held = if seccomp && nrs_of(&only).is_some() {
        ktrace_examples::check_command(&cmd)?;
        None
    } else if attach.is_none() {
        ktrace_examples::hold(&cmd)?
    } else {
        None
    };
    let out_given = out.is_some();
    let mut w = Sink { one: Box::new(std::io::BufWriter::new(std::io::stderr())), per_process: None };
    match out {
        Some(f) if per_process => w.per_process = Some((f, HashMap::new())),
        Some(f) => {
            let mut o = Output::create(f)?;
            // A partial trace is worth keeping.
            o.keep()?;
            w.one = Box::new(std::io::BufWriter::new(o));
        }
        None => {}
    }
    let nrs = nrs_of(&only);
    let mut release = None;
    let mut t: Tracer = match (attach, cmd.split_first()) {
        (Some(p), _) => Tracer::attach(p)?,
        (None, Some(_)) if let Some(h) = held => {
            let t = Tracer::seize_held(h.pid(), follow)?;
            // Released on another thread: should its exec fail, the release waits for a child
            // only this (the tracer's) thread can reap.
            release = Some(std::thread::spawn(move || h.release().map(drop)));
            t
        }
        (None, Some((prog, rest))) => {
            let mut c = TraceCommand::new(prog).args(rest).follow_forks(follow);
            if seccomp && let Some(n) = &nrs {
                c = c.seccomp_filter(n);
            }
            c.spawn()?
        }
        // clap requires one of them.
        (None, None) => return Err("no command or -p PID".into()),
    };
    // The command's own end is mini-strace's exit status (strace's); -p ends with 0.
    let mut leader = None;
    let mut status = Status::SUCCESS;
    let multi = (follow || attach.is_some()) && !per_process;
    // strace's prefix: `PID ` in a file of several processes' lines, `[pid PID] ` on the terminal.
    let to_file = out_given;
    let head = |pid: i32| {
        let stamp = if tod > 0 { format!("{} ", time_of_day(tod > 1)) } else { String::new() };
        match (multi, to_file) {
            (false, _) => stamp,
            (true, true) => format!("{pid:<5} {stamp}"),
            (true, false) => format!("[pid {pid:>5}] {stamp}"),
        }
    };
    let mut entered: HashMap<i32, Instant> = HashMap::new();
    // Each task's current syscall decoded at its entry: what it only reads is shown as it was then.
    let mut at_entry: HashMap<i32, decode::Call> = HashMap::new();
    let mut table: BTreeMap<&'static str, Summary> = BTreeMap::new();
    // -k: stacks taken at a syscall's entry (execve, exit…: strace's capture on entry), printed
    // after its line (exit's after `+++ exited`); whether the command's own first execve is done
    // (strace walks that one at its exit, in the new image).
    let mut entry_stacks: HashMap<i32, ktrace_ptrace::stack::Stack> = HashMap::new();
    let mut first_exec_done = attach.is_some();
    let shown = |arch: AuditArch, nr: u64| {
        only.as_ref().is_none_or(|l| arch.syscall_name(nr).is_some_and(|n| l.iter().any(|x| x == n)))
    };
    while let Some(ev) = t.next_event()? {
        match ev {
            Event::Attached { pid: p } if attach.is_none() && leader.is_none() => leader = Some(p),
            Event::Exited { pid, code } if Some(pid) == leader => status = Status::Exited(code as u8),
            Event::Killed { pid, signo, .. } if Some(pid) == leader => status = Status::Signaled(signo),
            Event::Exec { pid, .. } if Some(pid) == leader => first_exec_done = true,
            _ => {}
        }
        // A task that ended has no syscall in progress (an exit_group's entry, a thread killed
        // inside a call): its per-task state goes.
        if let Event::Exited { pid, .. } | Event::Killed { pid, .. } = ev {
            entered.remove(&pid);
            at_entry.remove(&pid);
            path_hit.remove(&pid);
        }
        if stack && !summary {
            stack_at_entry(&mut t, &ev, first_exec_done || leader.is_none(), &shown, &mut entry_stacks);
            // strace prints a stack taken at exit's entry when the task goes, `+++ exited` or not.
            if quiet >= 2
                && let Event::Exited { pid, .. } | Event::Killed { pid, .. } = ev
                && let Some(s) = entry_stacks.remove(&pid)
            {
                write!(w.to(pid)?, "{}", s.strace_lines(true))?;
            }
        }
        let mut spent = None;
        let pid = match ev {
            Event::SyscallEnter { pid, arch, nr, args } => {
                entered.insert(pid, Instant::now());
                // -P first: a call that names none of the paths is not decoded at all.
                if !wanted.is_empty() {
                    let named = arch.syscall_name(nr).is_some_and(|name| {
                        decode::paths_of(nix::unistd::Pid::from_raw(pid), name, &args)
                            .iter()
                            .any(|p| wanted.contains(p))
                    });
                    path_hit.insert(pid, named);
                    if !named {
                        continue;
                    }
                }
                if !summary
                    && shown(arch, nr)
                    && let Some(name) = arch.syscall_name(nr)
                {
                    at_entry.insert(
                        pid,
                        decode::decode_call_styled(nix::unistd::Pid::from_raw(pid), name, &args, None, style),
                    );
                }
                // exit and exit_group never return: show their entry, as strace does (`= ?`),
                // in its status class "unfinished".
                if matches!(arch.syscall_name(nr), Some("exit" | "exit_group"))
                    && shown(arch, nr)
                    && in_set(&statuses, |s| s == "unfinished")
                {
                    if summary {
                        // They never return, so strace -c leaves them out of its table; so do we.
                        continue;
                    }
                    writeln!(w.to(pid)?, "{}", align(&head(pid), &format!("{} = ?", t.describe(&ev)), column))?;
                }
                continue;
            }
            Event::SyscallExit { pid, arch, nr, ret, .. } => {
                let took = entered.remove(&pid).map(|t0| t0.elapsed());
                let failed = (-4095..0).contains(&ret);
                let status_shown = in_set(&statuses, |s| s == if failed { "failed" } else { "successful" });
                if !shown(arch, nr) || (!wanted.is_empty() && path_hit.remove(&pid) != Some(true)) || !status_shown {
                    entry_stacks.remove(&pid);
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
            Event::Signal { pid, info } if !summary => {
                if !in_set(&signals, |n| decode::signal_number(n) == Some(info.signo)) {
                    continue;
                }
                pid
            }
            Event::Exited { pid, .. } | Event::Killed { pid, .. } if !summary && quiet < 2 => pid,
            _ => continue,
        };
        let mut line = match ev {
            Event::SyscallExit { pid, arch, nr, args, ret } if let Some(name) = arch.syscall_name(nr) => {
                match at_entry.remove(&pid) {
                    Some(e) if e.name == name => {
                        decode::decode_exit(nix::unistd::Pid::from_raw(pid), name, &args, ret, &e, style).to_string()
                    }
                    _ => t.describe(&ev),
                }
            }
            // strace's signal line, the siginfo decoded by the library.
            Event::Signal { pid, info } if let Some(si) = decode::pending_siginfo(nix::unistd::Pid::from_raw(pid)) => {
                let name = decode::signal_name(info.signo);
                format!("--- {name} {si} ---")
            }
            _ => t.describe(&ev),
        };
        if timing && let Some(d) = spent {
            line.push_str(&format!(" <{:.6}>", d.as_secs_f64()));
        }
        if let Event::SyscallExit { pid, arch, nr, args, ret } = ev {
            writeln!(w.to(pid)?, "{}", align(&head(pid), &line, column))?;
            // -e read=/write=: the data moved, dumped after the line.
            if (reads.is_some() || writes.is_some())
                && let Some(name) = arch.syscall_name(nr)
                && let Some((fd, written, data)) = decode::io_data(nix::unistd::Pid::from_raw(pid), name, &args, ret)
            {
                let set = if written { &writes } else { &reads };
                if set.is_some() && in_set(set, |x| x.parse() == Ok(fd)) {
                    write!(w.to(pid)?, "{}", decode::io_dump(name, &data))?;
                }
            }
            if stack {
                match entry_stacks.remove(&pid) {
                    Some(s) => write!(w.to(pid)?, "{}", s.strace_lines(true))?,
                    None => print_stack(&mut t, pid, w.to(pid)?)?,
                }
            }
        } else {
            writeln!(w.to(pid)?, "{}{line}", head(pid))?;
            match ev {
                Event::Signal { .. } if stack => print_stack(&mut t, pid, w.to(pid)?)?,
                Event::Exited { .. } | Event::Killed { .. } if let Some(s) = entry_stacks.remove(&pid) => {
                    write!(w.to(pid)?, "{}", s.strace_lines(true))?
                }
                _ => {}
            }
            // -ff: a process that ended writes no more; its file is closed (a build forks
            // thousands).
            if let Event::Exited { pid, .. } | Event::Killed { pid, .. } = ev {
                w.close(pid)?;
            }
        }
    }
    if let Some(r) = release {
        r.join().map_err(|_| "the release of the command panicked")??;
    }
    if summary {
        // strace -c's table, sorted by time.
        let total: Duration = table.values().map(|s| s.time).sum();
        let mut rows: Vec<_> = table.iter().collect();
        rows.sort_by(|a, b| b.1.time.cmp(&a.1.time).then(a.0.cmp(b.0)));
        writeln!(w.one, "% time     seconds  usecs/call     calls    errors syscall")?;
        writeln!(w.one, "------ ----------- ----------- --------- --------- ----------------")?;
        let pct = |d: Duration| if total.is_zero() { 0.0 } else { 100.0 * d.as_secs_f64() / total.as_secs_f64() };
        let (mut calls, mut errors) = (0, 0);
        for (name, s) in rows {
            let per = s.time.as_micros().checked_div(u128::from(s.calls)).unwrap_or(0);
            let errs = if s.errors > 0 { s.errors.to_string() } else { String::new() };
            writeln!(
                w.one,
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
        writeln!(w.one, "------ ----------- ----------- --------- --------- ----------------")?;
        writeln!(w.one, "100.00 {:>11.6} {:>11} {calls:>9} {errors:>9} total", total.as_secs_f64(), "")?;
    }
    w.flush()?;
    Ok(status)
}

/// -k: the stack of `pid`, stopped at the event just printed, as strace prints it after the line
/// (nothing when it cannot be walked: the task is gone).
fn print_stack(t: &mut Tracer, pid: i32, w: &mut dyn Write) -> std::io::Result<()> {
    match t.stack(pid) {
        Ok(s) => write!(w, "{}", s.strace_lines(false)),
        Err(_) => Ok(()),
    }
}

/// -k: at the entry of a shown syscall that strace walks at its entry (execve, execveat, exit,
/// exit_group), the stack, kept in `stacks` for its line. The command's own first execve is not
/// (`first_exec_done` false): strace walks that one at its exit.
fn stack_at_entry(
    t: &mut Tracer,
    ev: &Event,
    first_exec_done: bool,
    shown: &impl Fn(AuditArch, u64) -> bool,
    stacks: &mut HashMap<i32, ktrace_ptrace::stack::Stack>,
) {
    let Event::SyscallEnter { pid, arch, nr, .. } = *ev else { return };
    let Some(name) = arch.syscall_name(nr) else { return };
    let first_exec = !first_exec_done && name.starts_with("execve");
    if shown(arch, nr)
        && ktrace_ptrace::stack::captured_at_entry(name)
        && !first_exec
        && let Ok(s) = t.stack(pid)
    {
        stacks.insert(pid, s);
    }
}

/// Where the lines go: one writer (stderr or `-o FILE`), or with `-ff -o FILE` one file per
/// process, `FILE.PID`, created at its first line (as strace does).
struct Sink {
    one: Box<dyn Write>,
    per_process: Option<(PathBuf, HashMap<i32, std::io::BufWriter<std::fs::File>>)>,
}

impl Sink {
    fn to(&mut self, pid: i32) -> std::io::Result<&mut dyn Write> {
        use std::collections::hash_map::Entry;
        let Some((base, files)) = &mut self.per_process else { return Ok(&mut *self.one) };
        Ok(match files.entry(pid) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let mut name = base.clone().into_os_string();
                name.push(format!(".{pid}"));
                v.insert(std::io::BufWriter::new(std::fs::File::create(name)?))
            }
        })
    }

    /// Flushes and closes the file of `pid` (with -ff).
    fn close(&mut self, pid: i32) -> std::io::Result<()> {
        match self.per_process.as_mut().and_then(|(_, files)| files.remove(&pid)) {
            Some(mut f) => f.flush(),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        for f in self.per_process.iter_mut().flat_map(|(_, files)| files.values_mut()) {
            f.flush()?;
        }
        self.one.flush()
    }
}
