//! perfmon2's job, through perf_event (via perf-event2): counters per task or per CPU, groups read
//! atomically, enabled/running times and multiplexing scaling, as `perf stat` does.

use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter, Group};

use crate::error::{Error, Result};

/// Counter events (`perf list` names).
#[doc(alias = "perf_hw_id")]
#[doc(alias = "perf_sw_ids")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ev {
    /// task-clock (ns on CPU).
    TaskClock,
    /// cpu-clock.
    CpuClock,
    /// context-switches.
    ContextSwitches,
    /// cpu-migrations.
    CpuMigrations,
    /// page-faults.
    PageFaults,
    /// cycles (hardware PMU).
    Cycles,
    /// instructions (hardware PMU).
    Instructions,
    /// branch-misses (hardware PMU).
    BranchMisses,
    /// cache-misses (hardware PMU).
    CacheMisses,
    /// A tracepoint, by its id (`events/<system>/<name>/id`), counted (`perf stat -e sys:name`).
    Tracepoint(u64),
}

impl Ev {
    /// The `perf stat` name.
    pub fn name(self) -> &'static str {
        match self {
            Ev::TaskClock => "task-clock",
            Ev::CpuClock => "cpu-clock",
            Ev::ContextSwitches => "context-switches",
            Ev::CpuMigrations => "cpu-migrations",
            Ev::PageFaults => "page-faults",
            Ev::Cycles => "cycles",
            Ev::Instructions => "instructions",
            Ev::BranchMisses => "branch-misses",
            Ev::CacheMisses => "cache-misses",
            Ev::Tracepoint(_) => "tracepoint",
        }
    }
    /// The event counted in user and kernel space, as `perf stat` counts it (perf-event2's
    /// default excludes the kernel, which loses every context switch, migration and the faults
    /// the kernel takes on the task's behalf).
    fn builder(self) -> Builder<'static> {
        let mut b = match self {
            Ev::TaskClock => Builder::new(Software::TASK_CLOCK),
            Ev::CpuClock => Builder::new(Software::CPU_CLOCK),
            Ev::ContextSwitches => Builder::new(Software::CONTEXT_SWITCHES),
            Ev::CpuMigrations => Builder::new(Software::CPU_MIGRATIONS),
            Ev::PageFaults => Builder::new(Software::PAGE_FAULTS),
            Ev::Cycles => Builder::new(Hardware::CPU_CYCLES),
            Ev::Instructions => Builder::new(Hardware::INSTRUCTIONS),
            Ev::BranchMisses => Builder::new(Hardware::BRANCH_MISSES),
            Ev::CacheMisses => Builder::new(Hardware::CACHE_MISSES),
            Ev::Tracepoint(id) => Builder::new(perf_event::events::Tracepoint::with_id(id)),
        };
        b.include_kernel();
        b
    }
    fn is_tracepoint(self) -> bool {
        matches!(self, Ev::Tracepoint(_))
    }
    fn is_hardware(self) -> bool {
        matches!(self, Ev::Cycles | Ev::Instructions | Ev::BranchMisses | Ev::CacheMisses)
    }
}

/// Opens `b`'s counter with `open` counting kernel space too; where perf_event_paranoid (> 1,
/// without CAP_PERFMON) refuses that with EACCES/EPERM, opens it for user space only, as
/// `perf stat` falls back (and then names the event `task-clock:u`). Tracepoints, which fire only
/// in the kernel, have no fallback. Returns the counter and whether it is user-space only.
#[doc(alias = "perf_event_paranoid")]
pub(crate) fn build_with_kernel_fallback(
    b: &mut Builder<'_>,
    tracepoint: bool,
    mut open: impl FnMut(&Builder<'_>) -> std::io::Result<Counter>,
) -> std::io::Result<(Counter, bool)> {
    match open(b) {
        Err(e) if !tracepoint && matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            b.exclude_kernel(true).exclude_hv(true);
            Ok((open(b)?, true))
        }
        r => Ok((r?, false)),
    }
}

/// A counter value with its enabled/running times.
#[doc(alias = "read_format")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Event.
    pub ev: Ev,
    /// Counted in user space only: perf_event_paranoid refused kernel counting (perf stat's
    /// `:u` suffix). Otherwise user and kernel space are counted, as `perf stat` does as root.
    pub user_only: bool,
    /// Raw count.
    pub count: u64,
    /// ns enabled.
    pub enabled_ns: u64,
    /// ns actually counting (less than enabled when multiplexed).
    pub running_ns: u64,
}

impl Reading {
    /// The count scaled for multiplexing (count * enabled / running), as perf stat prints it.
    pub fn scaled(&self) -> u64 {
        if self.running_ns == 0 || self.running_ns == self.enabled_ns {
            self.count
        } else {
            (self.count as u128 * self.enabled_ns as u128 / self.running_ns as u128) as u64
        }
    }
}

/// What `kernel.perf_event_paranoid` must be for counting `ev` on a task.
fn task_need(ev: Ev) -> &'static str {
    if matches!(ev, Ev::Tracepoint(_)) { "≤ 1 to count kernel events" } else { "≤ 2 to count your own processes" }
}

fn open_err(ev: Ev, need: &str, e: std::io::Error) -> Error {
    let no_pmu = matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV | libc::EINVAL));
    if ev.is_hardware() && no_pmu {
        return Error::Unsupported {
            feature: format!("hardware event {}", ev.name()),
            hint: format!("no PMU here: {e}"),
        };
    }
    Error::perf_open(ev.name(), need, e)
}

/// What `kernel.perf_event_paranoid` must be for counting on a whole CPU.
const CPU_NEED: &str = "≤ 0 for per-CPU (system-wide) counting";

/// Independent counters on one task (following its children with `inherit`), or on one CPU.
#[doc(alias = "perf_event_open")]
#[doc(alias = "PERF_EVENT_IOC_ENABLE")]
#[derive(Debug)]
pub struct Counters {
    counters: Vec<(Ev, Counter, bool)>,
}

impl Counters {
    /// Counters on task `pid` (and, with `inherit`, the children it creates from now on).
    pub fn task(pid: i32, events: &[Ev], inherit: bool) -> Result<Counters> {
        Counters::open(events, task_need, |b| {
            b.observe_pid(pid).any_cpu().inherit(inherit);
        })
    }

    /// Counters on task `pid` that start counting by themselves when it next calls execve(2)
    /// (`enable_on_exec`), as `perf stat COMMAND` counts its workload from the exec on: open them
    /// on a child held before its exec, then let it go. [`Counters::enable`] is not needed.
    pub fn task_from_exec(pid: i32, events: &[Ev], inherit: bool) -> Result<Counters> {
        Counters::open(events, task_need, |b| {
            b.observe_pid(pid).any_cpu().inherit(inherit).enable_on_exec(true);
        })
    }

    /// Counters on every task of one CPU (needs root or perf_event_paranoid ≤ 0).
    pub fn cpu(cpu: usize, events: &[Ev]) -> Result<Counters> {
        Counters::open(
            events,
            |_| CPU_NEED,
            |b| {
                b.any_pid().one_cpu(cpu);
            },
        )
    }

    /// One disabled counter per event, configured by `target`; a refusal names what
    /// `kernel.perf_event_paranoid` must be (`need`).
    fn open(
        events: &[Ev],
        need: impl Fn(Ev) -> &'static str,
        target: impl Fn(&mut Builder<'static>),
    ) -> Result<Counters> {
        let mut counters = Vec::new();
        for &ev in events {
            let mut b = ev.builder();
            target(b.enabled(false));
            let (c, user_only) = build_with_kernel_fallback(&mut b, ev.is_tracepoint(), |b| b.build())
                .map_err(|e| open_err(ev, need(ev), e))?;
            counters.push((ev, c, user_only));
        }
        Ok(Counters { counters })
    }

    /// Starts counting.
    pub fn enable(&mut self) -> Result<()> {
        for (ev, c, _) in &mut self.counters {
            c.enable().map_err(|e| Error::io("ioctl(PERF_EVENT_IOC_ENABLE)", ev.name(), e))?;
        }
        Ok(())
    }

    /// Stops counting.
    pub fn disable(&mut self) -> Result<()> {
        for (ev, c, _) in &mut self.counters {
            c.disable().map_err(|e| Error::io("ioctl(PERF_EVENT_IOC_DISABLE)", ev.name(), e))?;
        }
        Ok(())
    }

    /// Reads every counter.
    pub fn read(&mut self) -> Result<Vec<Reading>> {
        self.counters
            .iter_mut()
            .map(|(ev, c, user_only)| {
                let r = c.read_count_and_time().map_err(|e| Error::io("read", ev.name(), e))?;
                Ok(Reading {
                    ev: *ev,
                    user_only: *user_only,
                    count: r.count,
                    enabled_ns: r.time_enabled,
                    running_ns: r.time_running,
                })
            })
            .collect()
    }
}

/// A counter group on the calling process: all members start, stop and are read together.
#[doc(alias = "perf_event_open")]
#[doc(alias = "PERF_FORMAT_GROUP")]
pub struct CounterGroup {
    group: Group,
    members: Vec<(Ev, Counter, bool)>,
}

impl std::fmt::Debug for CounterGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterGroup").field("members", &self.members.iter().map(|m| m.0).collect::<Vec<_>>()).finish()
    }
}

impl CounterGroup {
    /// A group observing the calling process.
    pub fn new(events: &[Ev]) -> Result<CounterGroup> {
        let mut group = Group::new().map_err(|e| Error::perf_open("group leader", task_need(Ev::TaskClock), e))?;
        let mut members = Vec::new();
        for &ev in events {
            let (c, user_only) = build_with_kernel_fallback(&mut ev.builder(), ev.is_tracepoint(), |b| group.add(b))
                .map_err(|e| open_err(ev, task_need(ev), e))?;
            members.push((ev, c, user_only));
        }
        Ok(CounterGroup { group, members })
    }
    /// Starts all members at once.
    pub fn enable(&mut self) -> Result<()> {
        self.group.enable().map_err(|e| Error::io("ioctl(ENABLE)", "group", e))
    }
    /// Stops all members at once.
    pub fn disable(&mut self) -> Result<()> {
        self.group.disable().map_err(|e| Error::io("ioctl(DISABLE)", "group", e))
    }
    /// Reads all members in one read(2).
    pub fn read(&mut self) -> Result<Vec<Reading>> {
        let d = self.group.read().map_err(|e| Error::io("read", "group", e))?;
        let en = d.time_enabled().map_or(0, |t| t.as_nanos() as u64);
        let run = d.time_running().map_or(0, |t| t.as_nanos() as u64);
        Ok(self
            .members
            .iter()
            .map(|(ev, c, user_only)| Reading {
                ev: *ev,
                user_only: *user_only,
                count: d.get(c).map_or(0, |e| e.value()),
                enabled_ns: en,
                running_ns: run,
            })
            .collect())
    }
}
