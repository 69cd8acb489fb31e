//! [`SessionBuilder`]: what a session records, and starting it.

use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc;

use ktrace_core::Clock;
use ktrace_ftrace::Tracefs;
use ktrace_ftrace::stream::Budget;

use crate::command::HeldCommand;
use crate::sys;
use crate::timeline::Timeline;

use super::sources::{ftrace_source, perf_source, ptrace_source, spawn, wait_command};
use super::{Session, SessionError, Shared, TimelineEvent};

/// What a session records: add sources, then [`SessionBuilder::start`].
#[derive(Debug, Default)]
#[must_use]
pub struct SessionBuilder {
    events: Vec<String>,
    block: bool,
    syscalls: bool,
    sample_hz: Option<u64>,
    budget: Option<Budget>,
    buffer_kb: Option<u64>,
    command: Option<Command>,
}

impl SessionBuilder {
    /// Records the ftrace events matching a `system:event` glob (`sched:sched_switch`,
    /// `raw_syscalls:*`); with a command, only of its tasks (`set_event_pid`, following forks).
    pub fn events(mut self, glob: &str) -> Self {
        self.events.push(glob.to_owned());
        self
    }

    /// Records block I/O of the whole system (`block:block_rq_issue`, `block:block_rq_complete`;
    /// completions run in interrupts, so they are not filtered by pid).
    pub fn block(mut self) -> Self {
        self.block = true;
        self
    }

    /// Traces the command's syscalls, signals, forks and exits with ptrace (its tasks stop at
    /// each call: the command runs slower).
    pub fn syscalls(mut self) -> Self {
        self.syscalls = true;
        self
    }

    /// Samples the command (and its children) at `hz` samples per second of CPU time (perf
    /// `cpu-clock`).
    pub fn samples(mut self, hz: u64) -> Self {
        self.sample_hz = Some(hz);
        self
    }

    /// The memory budget (default 32 MiB): half for the ftrace page queues, half for the merge.
    pub fn budget(mut self, b: Budget) -> Self {
        self.budget = Some(b);
        self
    }

    /// The size of each ftrace CPU ring (`buffer_size_kb`; default: the kernel's).
    pub fn buffer_size_kb(mut self, kb: u64) -> Self {
        self.buffer_kb = Some(kb);
        self
    }

    /// The command to run and trace, started held before its exec (no shell) and released once
    /// every source is recording.
    pub fn command(mut self, cmd: Command) -> Self {
        self.command = Some(cmd);
        self
    }

    /// Sets the sources up, starts the command, and returns the session.
    pub fn start(self) -> Result<Session, SessionError> {
        let budget = self.budget.unwrap_or(Budget::mib(32)).bytes;
        if self.command.is_none() {
            if self.syscalls {
                return Err(SessionError::NoCommand { what: "ptrace" });
            }
            if self.sample_hz.is_some() {
                return Err(SessionError::NoCommand { what: "perf sampling" });
            }
        }
        let held = self.command.map(HeldCommand::spawn).transpose()?;
        let pid = held.as_ref().map(HeldCommand::pid);
        let shared = Arc::new(Shared::default());
        // Declared before the timeline, so an early return drops the timeline first (a source
        // waiting for room sees it closed) and then stops and joins what started.
        let mut started = Started { shared: shared.clone(), threads: Vec::new(), armed: true };
        let threads = &mut started.threads;
        let mut timeline = Timeline::new(budget / 2, TimelineEvent::weight, sys::monotonic_ns);
        let mut ready = Vec::new();

        let mut instances = Vec::new();
        if !self.events.is_empty() || self.block {
            let fs = Tracefs::find()?;
            if !self.events.is_empty() {
                let inst = fs.new_instance()?;
                for g in &self.events {
                    inst.enable_glob(g)?;
                }
                if let Some(pid) = pid {
                    inst.set_event_pids(&[pid])?;
                    inst.follow_forks(true)?;
                }
                instances.push(("ftrace", inst));
            }
            if self.block {
                let inst = fs.new_instance()?;
                inst.enable_event("block", "block_rq_issue")?;
                inst.enable_event("block", "block_rq_complete")?;
                instances.push(("blk", inst));
            }
        }
        let ftrace_budget = Budget { bytes: budget / 2 / instances.len().max(1) };
        for (name, inst) in instances {
            inst.set_clock(Clock::Mono)?;
            if let Some(kb) = self.buffer_kb {
                inst.set_buffer_size_kb(kb)?;
            }
            let feed = timeline.feed(name);
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            threads.push(spawn(name, move || ftrace_source(inst, ftrace_budget, feed, &sh, &tx))?);
            ready.push((name, rx));
        }
        if let (Some(hz), Some(pid)) = (self.sample_hz, pid) {
            let feed = timeline.feed("perf");
            let (tx, rx) = mpsc::channel();
            let sh = shared.clone();
            threads.push(spawn("perf", move || perf_source(pid, hz, feed, &sh, &tx))?);
            ready.push(("perf", rx));
        }
        // Every source records before the command runs.
        for (what, rx) in ready {
            match rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(SessionError::Thread { what }),
            }
        }
        if let Some(held) = held {
            let sh = shared.clone();
            if self.syscalls {
                let feed = timeline.feed("ptrace");
                threads.push(spawn("ptrace", move || ptrace_source(held, feed, &sh))?);
            } else {
                threads.push(spawn("command", move || wait_command(held, &sh))?);
            }
        }
        started.armed = false;
        let threads = std::mem::take(&mut started.threads);
        Ok(Session { timeline, threads, shared, pid, failed: false })
    }
}

/// The source threads of a session being started: should [`SessionBuilder::start`] fail
/// half-way, they are stopped (their instances removed) and joined.
struct Started {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    armed: bool,
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.armed {
            self.shared.stop_all();
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }
}
