//! Latency: scheduler wakeup latency from `sched_waking`/`sched_wakeup` -> `sched_switch` (works on
//! every kernel with sched events), log2 histograms, and the kernel's own latency tracers
//! (`irqsoff`, `preemptoff`, `wakeup`…) where built.

use std::collections::HashMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::event::{Typed, WakeupKind};
use crate::instance::Instance;

/// A power-of-two histogram (as bcc's `runqlat`/`biolatency` print).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log2Hist {
    buckets: [u64; 65],
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for Log2Hist {
    fn default() -> Self {
        Log2Hist { buckets: [0; 65], count: 0, sum: 0, max: 0 }
    }
}

impl Log2Hist {
    /// Adds a value. Bucket k holds values in `[2^(k-1), 2^k)`; bucket 0 holds 0.
    pub fn record(&mut self, v: u64) {
        let k = (64 - v.leading_zeros()) as usize;
        if let Some(b) = self.buckets.get_mut(k) {
            *b += 1;
        }
        self.count += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
    }
    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// Mean (0 when empty).
    pub fn mean(&self) -> u64 {
        if self.count == 0 { 0 } else { (self.sum / self.count as u128) as u64 }
    }
    /// Largest value.
    pub fn max(&self) -> u64 {
        self.max
    }
    /// Non-empty buckets as `(low, high_exclusive, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.buckets.iter().enumerate().filter(|(_, c)| **c > 0).map(|(k, c)| {
            let lo = if k == 0 { 0 } else { 1u64 << (k - 1) };
            let hi = if k >= 64 { u64::MAX } else { 1u64 << k };
            (lo, hi, *c)
        })
    }
    /// Merges another histogram in.
    pub fn merge(&mut self, o: &Log2Hist) {
        for (a, b) in self.buckets.iter_mut().zip(o.buckets.iter()) {
            *a += b;
        }
        self.count += o.count;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }
}

impl fmt::Display for Log2Hist {
    /// bcc-style text: `  lo -> hi : count |****     |`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let peak = self.buckets.iter().copied().max().unwrap_or(0).max(1);
        let first = self.buckets.iter().position(|&c| c > 0).unwrap_or(0);
        let last = self.buckets.iter().rposition(|&c| c > 0).unwrap_or(0);
        writeln!(f, "{:>20} : {:<8} |{:<40}|", "value", "count", "distribution")?;
        for k in first..=last {
            let c = self.buckets.get(k).copied().unwrap_or(0);
            let lo = if k == 0 { 0 } else { 1u64 << (k - 1) };
            let hi = if k == 0 { 1 } else { (1u64 << (k - 1)).saturating_mul(2) - 1 };
            let bar = "*".repeat((c * 40 / peak) as usize);
            writeln!(f, "{lo:>9} -> {hi:<8} : {c:<8} |{bar:<40}|")?;
        }
        Ok(())
    }
}

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
    fn histogram_buckets() {
        let mut h = Log2Hist::default();
        for v in [0, 1, 2, 3, 4, 1000, 1023, 1024] {
            h.record(v);
        }
        let b: Vec<_> = h.buckets().collect();
        assert_eq!(b[0], (0, 1, 1));
        assert_eq!(b[1], (1, 2, 1));
        assert_eq!(b[2], (2, 4, 2));
        assert!(b.contains(&(512, 1024, 2)));
        assert!(b.contains(&(1024, 2048, 1)));
        assert_eq!((h.count(), h.max()), (8, 1024));
        assert!(h.to_string().contains("512 -> 1023"));
    }

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
