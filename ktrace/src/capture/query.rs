//! Typed queries and assertions over a [`Capture`].

use std::collections::HashMap;

use ktrace_ftrace::BlockPhase;

use super::record::{Arg, Record, What};
use super::strace::{render, ret_text, signal_name, syscall_text};

/// A syscall of a captured thread: entry and (unless the capture ended first, or it never returns
/// as `exit_group`) its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// The calling thread.
    pub tid: i32,
    /// Entry time (ns since the capture began).
    pub ts_ns: u64,
    /// Return time.
    pub end_ns: Option<u64>,
    /// The name (`openat`).
    pub name: String,
    /// Arguments by their event-format names.
    pub args: Vec<Arg>,
    /// The return value (negative errno on failure).
    pub ret: Option<i64>,
    /// For the open family: the path, when known exactly (see the module docs). For a successful
    /// `execve`, the program path from its `sched_process_exec` event (the kernel records the
    /// filename the call was given), with [`super::Spec::processes`].
    pub path: Option<String>,
}

impl Syscall {
    /// An argument's value by name (`flags`).
    pub fn arg(&self, name: &str) -> Option<u64> {
        self.args.iter().find(|a| a.name == name).map(|a| a.value)
    }
    /// The result as strace writes it: `3`, `-1 ENOENT (No such file or directory)`, or `?` when
    /// the call had not returned.
    pub fn result(&self) -> String {
        self.ret.map_or_else(|| "?".to_owned(), ret_text)
    }
    /// Time from entry to return.
    pub fn latency_ns(&self) -> Option<u64> {
        self.end_ns.map(|e| e.saturating_sub(self.ts_ns))
    }
}

impl std::fmt::Display for Syscall {
    /// `openat(AT_FDCWD, "/tmp/x", O_RDONLY) = 3`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&syscall_text(self))
    }
}

/// A program executed (`sched_process_exec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// When.
    pub ts_ns: u64,
    /// The pid after exec.
    pub pid: i32,
    /// The program path.
    pub filename: String,
}

/// A task's exit (`sched_process_exit`), with its code from `exit_group`/`exit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// When.
    pub ts_ns: u64,
    /// The task.
    pub pid: i32,
    /// Its comm.
    pub comm: String,
    /// The code passed to `exit_group`/`exit` by this task (`None` when killed by a signal, when
    /// another thread of its process called `exit_group`, or without [`super::Spec::processes`]).
    pub code: Option<i32>,
}

/// A signal generated (`signal_generate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// When.
    pub ts_ns: u64,
    /// The sending thread (the kernel, for a `SIGCHLD` on exit, runs as the exiting child).
    pub sender: i32,
    /// Signal number.
    pub sig: i32,
    /// Target pid.
    pub pid: i32,
    /// `TRACE_SIGNAL_*` result (0 delivered, 1 ignored, 2 already pending…).
    pub result: i32,
}

/// A context switch (`sched_switch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switch {
    /// When.
    pub ts_ns: u64,
    /// Which CPU.
    pub cpu: u32,
    /// Outgoing pid.
    pub prev_pid: i32,
    /// Outgoing state (0 = preempted while runnable; 1 = sleeping).
    pub prev_state: i64,
    /// Incoming pid.
    pub next_pid: i32,
}

/// A block request event on a watched device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIo {
    /// When.
    pub ts_ns: u64,
    /// Issue or completion.
    pub phase: BlockPhase,
    /// `(major, minor)`.
    pub dev: (u32, u32),
    /// First sector.
    pub sector: u64,
    /// Sectors.
    pub nr_sector: u32,
    /// R/W/D/F/S flags (`W`, `WS`, `R`…).
    pub rwbs: String,
    /// Completion error.
    pub error: i32,
}

/// What a [`super::capture`] recorded, time-ordered, with queries and assertions. `Display` prints
/// it strace-like.
#[derive(Debug)]
pub struct Capture {
    records: Vec<Record>,
    syscalls: Vec<Syscall>,
    /// record index of a SysEnter -> index into `syscalls`; of a paired SysExit -> the same.
    enter_of: HashMap<usize, usize>,
    exit_paired: std::collections::HashSet<usize>,
    exit_codes: HashMap<i32, i32>,
    watched: Vec<String>,
    pub(crate) profile: Option<ktrace_sample::profile::Profile>,
    lost: u64,
}

impl Capture {
    /// `paths`: the hits of the kernel-matched `watched` paths.
    pub(crate) fn build(records: Vec<Record>, paths: &[(String, Record)], watched: Vec<String>, lost: u64) -> Capture {
        let mut syscalls: Vec<Syscall> = Vec::new();
        let mut enter_of = HashMap::new();
        let mut exit_paired = std::collections::HashSet::new();
        let mut pending: HashMap<i32, usize> = HashMap::new();
        let mut exit_codes = HashMap::new();
        // Each thread's execve in progress: the exec event that follows it names its program.
        let mut execve: HashMap<i32, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            match &r.what {
                What::SysEnter { name, args, .. } => {
                    if name == "exit_group" || name == "exit" {
                        let code = args.first().map_or(0, |a| a.value as u32 as i32);
                        exit_codes.insert(r.tid, code & 0xff);
                    }
                    let path = args.iter().find_map(|a| a.string.clone().filter(|_| is_path_arg(&a.name)));
                    if name == "execve" {
                        execve.insert(r.tid, syscalls.len());
                    } else {
                        execve.remove(&r.tid);
                    }
                    pending.insert(r.tid, syscalls.len());
                    enter_of.insert(i, syscalls.len());
                    syscalls.push(Syscall {
                        tid: r.tid,
                        ts_ns: r.ts_ns,
                        end_ns: None,
                        name: name.clone(),
                        args: args.clone(),
                        ret: None,
                        path,
                    });
                }
                What::SysExit { name, ret, .. } => {
                    if let Some(&j) = pending.get(&r.tid)
                        && let Some(sc) = syscalls.get_mut(j)
                        && sc.name == *name
                        && sc.ret.is_none()
                    {
                        sc.ret = Some(*ret);
                        sc.end_ns = Some(r.ts_ns);
                        execve.remove(&r.tid);
                        exit_paired.insert(i);
                        pending.remove(&r.tid);
                    }
                }
                // A successful execve's filename: its exec event records the string the call was
                // given (`bprm->filename`), by the thread that called it (`old_pid`).
                What::Exec { filename, old_pid, .. } => {
                    if let Some(sc) = execve.remove(old_pid).and_then(|j| syscalls.get_mut(j)) {
                        sc.path.get_or_insert_with(|| filename.clone());
                    }
                }
                _ => {}
            }
        }
        // Kernel-matched paths: the open of the same thread nearest in time (a thread's syscalls
        // are sequential, microseconds apart; both instances stamp within one tracepoint call).
        for (path, hit) in paths {
            let best = syscalls
                .iter_mut()
                .filter(|s| s.tid == hit.tid && super::OPENS.iter().any(|(n, _)| *n == s.name))
                .min_by_key(|s| s.ts_ns.abs_diff(hit.ts_ns));
            if let Some(s) = best {
                s.path.get_or_insert_with(|| path.clone());
            }
        }
        Capture { records, syscalls, enter_of, exit_paired, exit_codes, watched, profile: None, lost }
    }

    pub(crate) fn syscall_at(&self, record: usize) -> Option<&Syscall> {
        self.enter_of.get(&record).and_then(|&j| self.syscalls.get(j))
    }

    pub(crate) fn syscall_exit_paired(&self, record: usize) -> bool {
        self.exit_paired.contains(&record)
    }

    /// Every record, time-ordered.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Events lost: the kernel's rings overran, or the session dropped pages over its memory
    /// budget (a loss whose size is unknown counts one). Non-zero means queries may miss things.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Every syscall, in entry order.
    pub fn syscalls(&self) -> &[Syscall] {
        &self.syscalls
    }

    /// Syscalls by name (`"openat"`).
    pub fn syscalls_named<'c>(&'c self, name: &str) -> impl Iterator<Item = &'c Syscall> + 'c {
        let name = name.to_owned();
        self.syscalls.iter().filter(move |s| s.name == name)
    }

    /// Calls of the open family (`open`, `openat`, `openat2`, `creat`).
    pub fn opens(&self) -> impl Iterator<Item = &Syscall> + '_ {
        self.syscalls.iter().filter(|s| super::OPENS.iter().any(|(n, _)| *n == s.name))
    }

    /// Programs executed.
    pub fn execs(&self) -> Vec<Exec> {
        self.records
            .iter()
            .filter_map(|r| match &r.what {
                What::Exec { filename, pid, .. } => {
                    Some(Exec { ts_ns: r.ts_ns, pid: *pid, filename: filename.clone() })
                }
                _ => None,
            })
            .collect()
    }

    /// Task exits, with codes.
    pub fn exits(&self) -> Vec<Exit> {
        self.records
            .iter()
            .filter_map(|r| match &r.what {
                What::Exit { pid, comm } => Some(Exit {
                    ts_ns: r.ts_ns,
                    pid: *pid,
                    comm: comm.clone(),
                    code: self.exit_codes.get(pid).copied(),
                }),
                _ => None,
            })
            .collect()
    }

    /// `pid` and every task created under it while the capture ran (its threads, its children,
    /// theirs), from the fork records ([`super::Spec::processes`]), in the order they appeared:
    /// to count what a child did, keep the syscalls whose `tid` is among these.
    pub fn tasks_of(&self, pid: i32) -> Vec<i32> {
        let mut tasks = vec![pid];
        for r in &self.records {
            if let What::Fork { parent_pid, child_pid, .. } = &r.what
                && tasks.contains(parent_pid)
                && !tasks.contains(child_pid)
            {
                tasks.push(*child_pid);
            }
        }
        tasks
    }

    /// The exit of `pid`.
    pub fn exit_of(&self, pid: i32) -> Option<Exit> {
        self.exits().into_iter().find(|e| e.pid == pid)
    }

    /// Signals generated by or for the captured tasks.
    pub fn signals(&self) -> Vec<Signal> {
        self.records
            .iter()
            .filter_map(|r| match &r.what {
                What::SignalGenerate { sig, pid, result, .. } => {
                    Some(Signal { ts_ns: r.ts_ns, sender: r.tid, sig: *sig, pid: *pid, result: *result })
                }
                _ => None,
            })
            .collect()
    }

    /// Context switches ([`super::Spec::sched`]).
    pub fn switches(&self) -> Vec<Switch> {
        self.records
            .iter()
            .filter_map(|r| match &r.what {
                What::Switch { prev_pid, prev_state, next_pid, .. } => Some(Switch {
                    ts_ns: r.ts_ns,
                    cpu: r.cpu,
                    prev_pid: *prev_pid,
                    prev_state: *prev_state,
                    next_pid: *next_pid,
                }),
                _ => None,
            })
            .collect()
    }

    /// Block request events on device `(major, minor)` ([`super::Spec::block`]).
    pub fn block_ios(&self, dev: (u32, u32)) -> Vec<BlockIo> {
        self.records
            .iter()
            .filter_map(|r| match &r.what {
                What::Block { phase, dev: d, sector, nr_sector, rwbs, error } if *d == dev => Some(BlockIo {
                    ts_ns: r.ts_ns,
                    phase: *phase,
                    dev: *d,
                    sector: *sector,
                    nr_sector: *nr_sector,
                    rwbs: rwbs.clone(),
                    error: *error,
                }),
                _ => None,
            })
            .collect()
    }

    /// Hits of a probe (or any [`super::Spec::event`]) by event name; read fields with
    /// [`Record::field`].
    pub fn probe_hits<'c>(&'c self, name: &str) -> impl Iterator<Item = &'c Record> + 'c {
        let name = name.to_owned();
        self.records.iter().filter(move |r| matches!(&r.what, What::Event { name: n, .. } if *n == name))
    }

    /// CPU samples of the captured tasks ([`super::Spec::samples`]), in perf-clock order.
    pub fn samples(&self) -> &[ktrace_sample::profile::Sample] {
        self.profile.as_ref().map_or(&[], |p| &p.samples)
    }

    /// The whole perf profile behind [`Capture::samples`] (callchains, comms, mappings: symbolize
    /// or fold it with `ktrace::sample::profile`).
    pub fn profile(&self) -> Option<&ktrace_sample::profile::Profile> {
        self.profile.as_ref()
    }

    /// The capture as strace-like text, at most `max_lines` lines (the first and last halves).
    pub fn excerpt(&self, max_lines: usize) -> String {
        render(self, &|_| true, max_lines)
    }

    #[track_caller]
    fn fail(&self, what: &str, keep: &dyn Fn(&Record) -> bool) -> ! {
        let mut text = render(self, keep, 40);
        if text.is_empty() {
            text = render(self, &|_| true, 40);
        }
        let lost = if self.lost > 0 { format!(" ({} events lost)", self.lost) } else { String::new() };
        panic!("{what}; the capture{lost} holds:\n{text}")
    }

    /// Asserts an open-family call of exactly `path` (as passed to the syscall) and returns it.
    /// The path must be known exactly: watched with [`super::Spec::watch_path`], or recorded by a
    /// kernel whose syscall events carry strings.
    #[track_caller]
    pub fn assert_opened(&self, path: &str) -> &Syscall {
        if let Some(s) = self.opens().find(|s| s.path.as_deref() == Some(path)) {
            return s;
        }
        let hint = if self.watched.iter().any(|p| p == path) {
            " (watched: no open-family call was given exactly this string)"
        } else {
            " (not watched: on kernels whose syscall events carry no strings, add Spec::watch_path)"
        };
        self.fail(&format!("no open of {path:?}{hint}"), &|r| {
            is_process_or(r, |n| super::OPENS.iter().any(|(o, _)| *o == n))
        })
    }

    /// Asserts some captured task exited with `code` (from its `exit_group`) and returns the
    /// exit. When the workload runs a program that starts others (a shell, a launcher script),
    /// name the task: [`Capture::assert_exit_of`].
    #[track_caller]
    pub fn assert_exited(&self, code: i32) -> Exit {
        match self.exits().into_iter().find(|e| e.code == Some(code)) {
            Some(e) => e,
            None => {
                self.fail(&format!("no task exited with code {code}"), &|r| is_process_or(r, |n| n == "exit_group"))
            }
        }
    }

    /// Asserts task `pid` (a child's `id()`, an [`Exec::pid`]) exited with `code` and returns the
    /// exit.
    #[track_caller]
    pub fn assert_exit_of(&self, pid: i32, code: i32) -> Exit {
        match self.exit_of(pid) {
            Some(e) if e.code == Some(code) => e,
            found => {
                let what = match found {
                    Some(Exit { code: Some(c), .. }) => format!("task {pid} exited with code {c}, not {code}"),
                    Some(_) => format!("task {pid} exited without a code (killed by a signal?), not with {code}"),
                    None => format!("task {pid} did not exit in the capture"),
                };
                self.fail(&what, &|r| is_process_or(r, |n| n == "exit_group"))
            }
        }
    }

    /// Asserts a program ran whose path is `program` or ends with `/program`; returns the exec.
    #[track_caller]
    pub fn assert_exec(&self, program: &str) -> Exec {
        let suffix = format!("/{program}");
        match self.execs().into_iter().find(|e| e.filename == program || e.filename.ends_with(&suffix)) {
            Some(e) => e,
            None => self.fail(&format!("no exec of {program:?}"), &|r| is_process_or(r, |n| n.starts_with("exec"))),
        }
    }

    /// Asserts a syscall named `name` and returns the first.
    #[track_caller]
    pub fn assert_syscall(&self, name: &str) -> &Syscall {
        match self.syscalls_named(name).next() {
            Some(s) => s,
            None => self.fail(&format!("no {name} syscall"), &|_| true),
        }
    }

    /// Asserts no syscall named `name`.
    #[track_caller]
    pub fn assert_no_syscall(&self, name: &str) {
        if self.syscalls_named(name).next().is_some() {
            self.fail(
                &format!("unexpected {name} syscall"),
                &|r| matches!(&r.what, What::SysEnter { name: n, .. } if n == name),
            );
        }
    }

    /// Asserts signal `sig` was generated and returns it.
    #[track_caller]
    pub fn assert_signal(&self, sig: i32) -> Signal {
        match self.signals().into_iter().find(|s| s.sig == sig) {
            Some(s) => s,
            None => self.fail(&format!("no {} generated", signal_name(sig)), &|r| is_process_or(r, |_| false)),
        }
    }
}

impl std::fmt::Display for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render(self, &|_| true, usize::MAX))
    }
}

fn is_path_arg(name: &str) -> bool {
    matches!(name, "filename" | "pathname") || name.contains("filename") || name.contains("pathname")
}

/// Process events, plus syscalls whose name `syscall` accepts.
fn is_process_or(r: &Record, syscall: impl Fn(&str) -> bool) -> bool {
    match &r.what {
        What::SysEnter { name, .. } | What::SysExit { name, .. } => syscall(name),
        What::Fork { .. }
        | What::Exec { .. }
        | What::Exit { .. }
        | What::SignalGenerate { .. }
        | What::SignalDeliver { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts_ns: u64, tid: i32, what: What) -> Record {
        Record { ts_ns, cpu: 0, tid, what }
    }

    fn enter(name: &str, args: &[(&str, u64)]) -> What {
        let args = args.iter().map(|(n, v)| Arg { name: (*n).to_owned(), value: *v, string: None }).collect();
        What::SysEnter { name: name.to_owned(), nr: 0, args }
    }

    fn exit(name: &str, ret: i64) -> What {
        What::SysExit { name: name.to_owned(), nr: 0, ret }
    }

    /// Two threads' calls interleave; a kernel-matched path lands on the nearest open of its
    /// thread; an exit takes its code from exit_group; an unreturned call prints `= ?`.
    #[test]
    fn pairs_calls_per_thread_and_joins_watched_paths() {
        let open = |p| enter("openat", &[("dfd", 0xffff_ff9c), ("filename", p), ("flags", 0), ("mode", 0)]);
        let records = vec![
            rec(1_000, 10, open(0x1000)),
            rec(1_100, 20, open(0x2000)),
            rec(1_500, 10, exit("openat", 3)),
            rec(1_600, 20, exit("openat", -2)),
            rec(5_000, 10, open(0x3000)),
            rec(9_000, 20, enter("exit_group", &[("error_code", 7)])),
            rec(9_500, 20, What::Exit { pid: 20, comm: "sh".into() }),
        ];
        let hits = [("/b".to_owned(), rec(1_120, 20, What::Exit { pid: 0, comm: String::new() }))];
        let cap = Capture::build(records, &hits, vec!["/b".to_owned(), "/c".to_owned()], 0);
        let opens: Vec<_> = cap.opens().map(|o| (o.tid, o.ret, o.path.clone())).collect();
        assert_eq!(opens, [(10, Some(3), None), (20, Some(-2), Some("/b".to_owned())), (10, None, None)]);
        assert_eq!(cap.assert_opened("/b").latency_ns(), Some(500));
        assert_eq!(cap.assert_exited(7).pid, 20);
        assert_eq!(cap.assert_exit_of(20, 7).comm, "sh");
        let message = |f: &dyn Fn()| {
            let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
            e.downcast_ref::<String>().cloned().unwrap()
        };
        let m = message(&|| {
            cap.assert_exit_of(20, 0);
        });
        assert!(m.starts_with("task 20 exited with code 7, not 0; the capture holds:"), "{m}");
        let m = message(&|| {
            cap.assert_exit_of(10, 0);
        });
        assert!(m.starts_with("task 10 did not exit in the capture"), "{m}");
        let m = message(&|| {
            cap.assert_opened("/never");
        });
        assert!(m.starts_with("no open of \"/never\" (not watched: "), "{m}");
        let m = message(&|| {
            cap.assert_opened("/c");
        });
        assert!(m.starts_with("no open of \"/c\" (watched: no open-family call"), "{m}");
        let text = cap.to_string();
        assert!(
            text.contains("[20] openat(AT_FDCWD, \"/b\", O_RDONLY) = -1 ENOENT (No such file or directory)"),
            "{text}"
        );
        assert!(text.contains("[10] openat(AT_FDCWD, 0x3000, O_RDONLY) = ?"), "{text}");
        assert!(text.contains("[20] +++ exited with 7 +++"), "{text}");
    }

    /// A task's tree: its threads and children and theirs, not its parent's other children.
    #[test]
    fn a_tasks_tree_follows_its_forks() {
        let fork = |parent_pid, child_pid| What::Fork { parent_pid, child_pid, child_comm: String::new() };
        let records = vec![
            rec(1, 1, fork(1, 10)),
            rec(2, 1, fork(1, 11)),
            rec(3, 10, fork(10, 12)),
            rec(4, 12, fork(12, 13)),
            rec(5, 11, fork(11, 14)),
        ];
        let cap = Capture::build(records, &[], Vec::new(), 0);
        assert_eq!(cap.tasks_of(10), [10, 12, 13]);
        assert_eq!(cap.tasks_of(1), [1, 10, 11, 12, 13, 14]);
        assert_eq!(cap.tasks_of(99), [99]);
    }

    /// A successful execve shows the program its exec event recorded; a failed one (a PATH
    /// search's miss) keeps its pointer.
    #[test]
    fn an_execs_filename_names_its_execve() {
        let execve = |p| enter("execve", &[("filename", p), ("argv", 0x5000), ("envp", 0x6000)]);
        let records = vec![
            rec(1_000, 10, execve(0x1000)),
            rec(1_100, 10, exit("execve", -2)),
            rec(2_000, 10, execve(0x2000)),
            rec(2_500, 10, What::Exec { filename: "/usr/bin/true".into(), pid: 10, old_pid: 10 }),
            rec(2_600, 10, exit("execve", 0)),
        ];
        let text = Capture::build(records, &[], Vec::new(), 0).to_string();
        assert!(text.contains("[10] execve(0x1000, 0x5000, 0x6000) = -1 ENOENT"), "{text}");
        assert!(text.contains("[10] execve(\"/usr/bin/true\", 0x5000, 0x6000) = 0"), "{text}");
    }

    /// The same failed call repeated by one thread (a PATH search) is one line with its count;
    /// another thread's identical call in between starts a new run.
    #[test]
    fn repeated_calls_of_a_thread_print_once_with_their_count() {
        let open = || enter("openat", &[("dfd", 0xffff_ff9c), ("filename", 0x7000), ("flags", 0), ("mode", 0)]);
        let mut records = Vec::new();
        for i in 0..30 {
            records.push(rec(1_000 + 10 * i, 10, open()));
            records.push(rec(1_005 + 10 * i, 10, exit("openat", -2)));
        }
        records.push(rec(2_000, 20, open()));
        records.push(rec(2_005, 20, exit("openat", -2)));
        records.push(rec(3_000, 10, open()));
        records.push(rec(3_005, 10, exit("openat", 3)));
        let text = Capture::build(records, &[], Vec::new(), 0).to_string();
        let lines: Vec<_> = text.lines().map(|l| l.split_once(" [").map_or(l, |(_, rest)| rest)).collect();
        let enoent = "openat(AT_FDCWD, 0x7000, O_RDONLY) = -1 ENOENT (No such file or directory)";
        assert_eq!(
            lines,
            [
                format!("10] {enoent}  (×30)"),
                format!("20] {enoent}"),
                "10] openat(AT_FDCWD, 0x7000, O_RDONLY) = 3".into()
            ],
            "{text}"
        );
    }
}
