//! Latency: scheduler wakeup latency from `sched_waking`/`sched_wakeup` -> `sched_switch` (works on
//! every kernel with sched events) and the kernel's own latency tracers (`irqsoff`, `preemptoff`,
//! `wakeup`…) where built. The log2 histogram is [`ktrace_core::agg::Log2Hist`], re-exported here.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::event::{Typed, WakeupKind};
use crate::instance::Instance;

pub use ktrace_core::agg::Log2Hist;

/// Wakeup latency (`runqlat`): time from a task's wakeup to it running, per task and overall.
///
/// Feed it events in time order (from `sched_waking` or `sched_wakeup`, and `sched_switch`).
#[derive(Debug, Default)]
pub struct WakeupLatency {
    pending: HashMap<i32, u64>,
    use_waking: Option<bool>,
    /// All tasks' latencies in ns.
    pub all: Log2Hist,
    /// Per pid.
    pub per_task: HashMap<i32, Log2Hist>,
}

impl WakeupLatency {
    /// A new tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one event at `ts` ns.
    pub fn feed(&mut self, ts: u64, ev: &Typed<'_>) {
        match *ev {
            Typed::Wakeup { kind, pid, .. } => {
                // Prefer sched_waking when the trace has it (it is the earlier point).
                let is_waking = kind == WakeupKind::Waking;
                let use_waking = *self.use_waking.get_or_insert(is_waking);
                if is_waking == use_waking || kind == WakeupKind::WakeupNew {
                    self.pending.entry(pid).or_insert(ts);
                }
            }
            Typed::SchedSwitch { prev_pid, prev_state, next_pid, .. } => {
                // A preempted task (state 0, still runnable) waits again from now.
                if prev_state == 0 && prev_pid != 0 {
                    self.pending.insert(prev_pid, ts);
                }
                if let Some(t0) = self.pending.remove(&next_pid) {
                    let lat = ts.saturating_sub(t0);
                    self.all.record(lat);
                    self.per_task.entry(next_pid).or_default().record(lat);
                }
            }
            _ => {}
        }
    }
}

/// The kernel's latency tracers (`irqsoff`, `preemptoff`, `preemptirqsoff`, `wakeup`, `wakeup_rt`,
/// `wakeup_dl`): their max latency in µs after a run. Needs CONFIG_IRQSOFF_TRACER etc.
#[doc(alias = "tracing_max_latency")]
pub fn run_latency_tracer(inst: &Instance, tracer: &str, thresh_us: Option<u64>, work: impl FnOnce()) -> Result<u64> {
    inst.set_tracer(tracer)?;
    if let Some(t) = thresh_us {
        inst.write("tracing_thresh", &t.to_string())?;
    }
    inst.write("tracing_max_latency", "0")?;
    inst.set_tracing_on(true)?;
    work();
    inst.set_tracing_on(false)?;
    let v = inst.read("tracing_max_latency")?;
    inst.set_tracer("nop")?;
    v.trim().parse().map_err(|_| Error::Unsupported { feature: "tracing_max_latency".into(), hint: v })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn wakeup_to_switch() {
        let mut w = WakeupLatency::new();
        let wake = Typed::Wakeup { kind: WakeupKind::Waking, comm: b"a", pid: 5, prio: 120, target_cpu: 0 };
        let sw = |p, s, n| Typed::SchedSwitch {
            prev_comm: b"x",
            prev_pid: p,
            prev_prio: 120,
            prev_state: s,
            next_comm: b"a",
            next_pid: n,
            next_prio: 120,
        };
        w.feed(100, &wake);
        w.feed(350, &sw(1, 1, 5));
        w.feed(400, &sw(5, 0, 1)); // 5 preempted: waits from 400
        w.feed(500, &sw(1, 1, 5));
        assert_eq!(w.all.count(), 3 - 1 + 1 - 1); // 5: 250 and 100; pid 1 never woke
        assert_eq!(w.per_task[&5].count(), 2);
        assert_eq!(w.per_task[&5].max(), 250);
    }
}
