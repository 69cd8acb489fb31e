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
    fn builder(self) -> Builder<'static> {
        match self {
            Ev::TaskClock => Builder::new(Software::TASK_CLOCK),
            Ev::CpuClock => Builder::new(Software::CPU_CLOCK),
            Ev::ContextSwitches => Builder::new(Software::CONTEXT_SWITCHES),
            Ev::CpuMigrations => Builder::new(Software::CPU_MIGRATIONS),
            Ev::PageFaults => Builder::new(Software::PAGE_FAULTS),
            Ev::Cycles => Builder::new(Hardware::CPU_CYCLES),
            Ev::Instructions => Builder::new(Hardware::INSTRUCTIONS),
            Ev::BranchMisses => Builder::new(Hardware::BRANCH_MISSES),
            Ev::CacheMisses => Builder::new(Hardware::CACHE_MISSES),
            Ev::Tracepoint(id) => {
                // Tracepoints fire in the kernel: count kernel-side hits.
                let mut b = Builder::new(perf_event::events::Tracepoint::with_id(id));
                b.include_kernel();
                b
            }
        }
    }
    fn is_hardware(self) -> bool {
        matches!(self, Ev::Cycles | Ev::Instructions | Ev::BranchMisses | Ev::CacheMisses)
    }
}

/// A counter value with its enabled/running times.
#[doc(alias = "read_format")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Event.
    pub ev: Ev,
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

fn open_err(ev: Ev, e: std::io::Error) -> Error {
    let no_pmu = matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV | libc::EINVAL));
    if ev.is_hardware() && no_pmu {
        return Error::Unsupported {
            feature: format!("hardware event {}", ev.name()),
            hint: format!("no PMU here: {e}"),
        };
    }
    Error::io("perf_event_open", ev.name(), e)
}

/// Independent counters on one task (following its children with `inherit`), or on one CPU.
#[doc(alias = "perf_event_open")]
#[doc(alias = "PERF_EVENT_IOC_ENABLE")]
#[derive(Debug)]
pub struct Counters {
    counters: Vec<(Ev, Counter)>,
}

impl Counters {
    /// Counters on task `pid` (and, with `inherit`, the children it creates from now on).
    pub fn task(pid: i32, events: &[Ev], inherit: bool) -> Result<Counters> {
        let mut counters = Vec::new();
        for &ev in events {
            let c = ev
                .builder()
                .observe_pid(pid)
                .any_cpu()
                .inherit(inherit)
                .enabled(false)
                .build()
                .map_err(|e| open_err(ev, e))?;
            counters.push((ev, c));
        }
        Ok(Counters { counters })
    }

    /// Counters on every task of one CPU (needs root or perf_event_paranoid ≤ 0).
    pub fn cpu(cpu: usize, events: &[Ev]) -> Result<Counters> {
        let mut counters = Vec::new();
        for &ev in events {
            let c = ev.builder().any_pid().one_cpu(cpu).enabled(false).build().map_err(|e| open_err(ev, e))?;
            counters.push((ev, c));
        }
        Ok(Counters { counters })
    }

    /// Starts counting.
    pub fn enable(&mut self) -> Result<()> {
        for (ev, c) in &mut self.counters {
            c.enable().map_err(|e| Error::io("ioctl(PERF_EVENT_IOC_ENABLE)", ev.name(), e))?;
        }
        Ok(())
    }

    /// Stops counting.
    pub fn disable(&mut self) -> Result<()> {
        for (ev, c) in &mut self.counters {
            c.disable().map_err(|e| Error::io("ioctl(PERF_EVENT_IOC_DISABLE)", ev.name(), e))?;
        }
        Ok(())
    }

    /// Reads every counter.
    pub fn read(&mut self) -> Result<Vec<Reading>> {
        self.counters
            .iter_mut()
            .map(|(ev, c)| {
                let r = c.read_count_and_time().map_err(|e| Error::io("read", ev.name(), e))?;
                Ok(Reading { ev: *ev, count: r.count, enabled_ns: r.time_enabled, running_ns: r.time_running })
            })
            .collect()
    }
}

/// A counter group on the calling process: all members start, stop and are read together.
#[doc(alias = "perf_event_open")]
#[doc(alias = "PERF_FORMAT_GROUP")]
pub struct CounterGroup {
    group: Group,
    members: Vec<(Ev, Counter)>,
}

impl std::fmt::Debug for CounterGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterGroup").field("members", &self.members.iter().map(|m| m.0).collect::<Vec<_>>()).finish()
    }
}

impl CounterGroup {
    /// A group observing the calling process.
    pub fn new(events: &[Ev]) -> Result<CounterGroup> {
        let mut group = Group::new().map_err(|e| Error::io("perf_event_open", "group leader", e))?;
        let mut members = Vec::new();
        for &ev in events {
            let c = group.add(&ev.builder()).map_err(|e| open_err(ev, e))?;
            members.push((ev, c));
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
            .map(|(ev, c)| Reading {
                ev: *ev,
                count: d.get(c).map_or(0, |e| e.value()),
                enabled_ns: en,
                running_ns: run,
            })
            .collect())
    }
}
