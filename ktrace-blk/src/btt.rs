//! btt's job: per-IO latency breakdown (Q2G, G2I, Q2M, I2D, D2C, Q2C), per-device summaries with
//! percentiles, log2 histograms, seek distances, merge ratios and per-process IO.

use std::collections::{BTreeMap, HashMap};

use ktrace_core::agg::Log2Hist;

use crate::record::{Action, BlkRecord};

/// The times of one IO (ns), as its records arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Io {
    /// Device.
    pub dev: u32,
    /// First sector.
    pub sector: u64,
    /// Bytes.
    pub bytes: u32,
    /// Submitter pid.
    pub pid: u32,
    /// Queued (Q).
    pub q: Option<u64>,
    /// Request allocated (G).
    pub g: Option<u64>,
    /// Inserted (I).
    pub i: Option<u64>,
    /// Issued to the driver (D).
    pub d: Option<u64>,
    /// Completed (C).
    pub c: Option<u64>,
}

/// Summary of one latency metric.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Samples.
    pub n: u64,
    /// Minimum (ns).
    pub min: u64,
    /// Mean (ns).
    pub avg: f64,
    /// Maximum (ns).
    pub max: u64,
    /// Median (ns).
    pub p50: u64,
    /// 95th percentile (ns).
    pub p95: u64,
    /// 99th percentile (ns).
    pub p99: u64,
}

fn summarize(mut v: Vec<u64>) -> Summary {
    if v.is_empty() {
        return Summary::default();
    }
    v.sort_unstable();
    let n = v.len();
    let pct = |p: usize| v.get((n * p / 100).min(n - 1)).copied().unwrap_or(0);
    Summary {
        n: n as u64,
        min: v.first().copied().unwrap_or(0),
        avg: v.iter().map(|&x| x as f64).sum::<f64>() / n as f64,
        max: v.last().copied().unwrap_or(0),
        p50: pct(50),
        p95: pct(95),
        p99: pct(99),
    }
}

/// Matches records into IOs (by device and sector) and computes btt's metrics.
#[derive(Debug, Default)]
pub struct Btt {
    open: HashMap<(u32, u64), Io>,
    /// Completed IOs.
    pub done: Vec<Io>,
    q2m: Vec<u64>,
    merges: u64,
    queued: u64,
    last_d: HashMap<u32, u64>,
    /// Seek distances between consecutive issues, per device (sectors).
    pub seeks: BTreeMap<u32, Vec<u64>>,
    /// Per pid: (IOs queued, bytes).
    pub per_pid: BTreeMap<u32, (u64, u64)>,
}

impl Btt {
    /// A new analysis.
    pub fn new() -> Btt {
        Btt::default()
    }

    /// Feeds records in time order.
    pub fn feed(&mut self, r: &BlkRecord<'_>) {
        if r.is_notify() {
            return;
        }
        let key = (r.device(), r.sector());
        let t = r.time();
        match r.action() {
            Action::QUEUE => {
                self.queued += 1;
                let e = self.per_pid.entry(r.pid()).or_default();
                e.0 += 1;
                e.1 += r.bytes() as u64;
                self.open.insert(
                    key,
                    Io {
                        dev: r.device(),
                        sector: r.sector(),
                        bytes: r.bytes(),
                        pid: r.pid(),
                        q: Some(t),
                        ..Default::default()
                    },
                );
            }
            Action::BACKMERGE | Action::FRONTMERGE => {
                self.merges += 1;
                if let Some(io) = self.open.remove(&key)
                    && let Some(q) = io.q
                {
                    self.q2m.push(t.saturating_sub(q));
                }
            }
            Action::GETRQ => {
                if let Some(io) = self.open.get_mut(&key) {
                    io.g = Some(t);
                }
            }
            Action::INSERT => {
                if let Some(io) = self.open.get_mut(&key) {
                    io.i = Some(t);
                }
            }
            Action::ISSUE => {
                let io = self.open.entry(key).or_insert(Io {
                    dev: r.device(),
                    sector: r.sector(),
                    bytes: r.bytes(),
                    ..Default::default()
                });
                io.d = Some(t);
                let end = r.sector().saturating_add(r.bytes() as u64 / 512);
                if let Some(prev) = self.last_d.insert(r.device(), end) {
                    self.seeks.entry(r.device()).or_default().push(r.sector().abs_diff(prev));
                }
            }
            Action::COMPLETE => {
                if let Some(mut io) = self.open.remove(&key) {
                    io.c = Some(t);
                    self.done.push(io);
                }
            }
            _ => {}
        }
    }

    fn metric(&self, f: impl Fn(&Io) -> Option<(u64, u64)>) -> Summary {
        summarize(self.done.iter().filter_map(|io| f(io).map(|(a, b)| b.saturating_sub(a))).collect())
    }

    /// Queue to completion.
    pub fn q2c(&self) -> Summary {
        self.metric(|io| Some((io.q?, io.c?)))
    }
    /// Issue to completion (device time).
    pub fn d2c(&self) -> Summary {
        self.metric(|io| Some((io.d?, io.c?)))
    }
    /// Queue to get-request.
    pub fn q2g(&self) -> Summary {
        self.metric(|io| Some((io.q?, io.g?)))
    }
    /// Get-request to insert.
    pub fn g2i(&self) -> Summary {
        self.metric(|io| Some((io.g?, io.i?)))
    }
    /// Insert to issue.
    pub fn i2d(&self) -> Summary {
        self.metric(|io| Some((io.i?, io.d?)))
    }
    /// Queue to merge.
    pub fn q2m(&self) -> Summary {
        summarize(self.q2m.clone())
    }
    /// Merged / queued.
    pub fn merge_ratio(&self) -> f64 {
        if self.queued == 0 { 0.0 } else { self.merges as f64 / self.queued as f64 }
    }
    /// Log2 histogram of D2C (biolatency), ns.
    pub fn d2c_hist(&self) -> Log2Hist {
        let mut h = Log2Hist::default();
        for io in &self.done {
            if let (Some(d), Some(c)) = (io.d, io.c) {
                h.record(c.saturating_sub(d));
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Category;
    use crate::record::tests::rec;

    #[test]
    fn breakdown() {
        let a = |act: Action, cat: Category| (act.0 as u32) | ((cat.bits() as u32) << 16);
        let mut buf = Vec::new();
        buf.extend(rec(0, 100, 8, 4096, a(Action::QUEUE, Category::QUEUE | Category::WRITE), 0, &[]));
        buf.extend(rec(0, 110, 8, 4096, a(Action::GETRQ, Category::QUEUE), 0, &[]));
        buf.extend(rec(0, 130, 8, 4096, a(Action::ISSUE, Category::ISSUE), 0, &[]));
        buf.extend(rec(0, 1130, 8, 4096, a(Action::COMPLETE, Category::COMPLETE), 0, &[]));
        buf.extend(rec(0, 1200, 100, 4096, a(Action::QUEUE, Category::QUEUE), 0, &[]));
        buf.extend(rec(0, 1250, 100, 4096, a(Action::BACKMERGE, Category::QUEUE), 0, &[]));
        let mut b = Btt::new();
        for r in crate::record::Records::new(&buf) {
            b.feed(&r.unwrap());
        }
        assert_eq!(b.q2c().n, 1);
        assert_eq!(b.q2c().avg, 1030.0);
        assert_eq!(b.d2c().max, 1000);
        assert_eq!(b.q2g().min, 10);
        assert_eq!(b.q2m().avg, 50.0);
        assert_eq!(b.merge_ratio(), 0.5);
        assert_eq!(b.per_pid[&42], (2, 8192));
    }
}
