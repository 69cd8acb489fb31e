//! Aggregations SystemTap and bpftrace users expect: counts by key, and entry->return latency
//! histograms from probe/retprobe pairs matched per task.

use std::collections::HashMap;
use std::hash::Hash;

use ktrace_ftrace::latency::Log2Hist;

/// Counts by key (`@[key] = count()`).
#[derive(Debug, Clone)]
pub struct Counts<K: Eq + Hash> {
    map: HashMap<K, u64>,
}

impl<K: Eq + Hash> Default for Counts<K> {
    fn default() -> Self {
        Counts { map: HashMap::new() }
    }
}

impl<K: Eq + Hash + Clone + Ord> Counts<K> {
    /// Adds one for `k`.
    pub fn add(&mut self, k: K) {
        *self.map.entry(k).or_default() += 1;
    }
    /// Keys by count, largest first.
    pub fn top(&self, n: usize) -> Vec<(K, u64)> {
        let mut v: Vec<_> = self.map.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
    /// The count for `k`.
    pub fn get(&self, k: &K) -> u64 {
        self.map.get(k).copied().unwrap_or(0)
    }
}

/// Entry->return latency per task (`kprobe` + `kretprobe`, or `uprobe` + `uretprobe`).
#[derive(Debug, Default)]
pub struct EntryReturn {
    open: HashMap<i32, Vec<u64>>,
    /// Latencies in ns.
    pub hist: Log2Hist,
    /// Returns without a matching entry (entry lost or before the trace).
    pub unmatched: u64,
}

impl EntryReturn {
    /// An entry hit of task `pid` at `ts`.
    pub fn entry(&mut self, pid: i32, ts: u64) {
        self.open.entry(pid).or_default().push(ts);
    }
    /// A return hit of task `pid` at `ts`.
    pub fn ret(&mut self, pid: i32, ts: u64) {
        match self.open.get_mut(&pid).and_then(Vec::pop) {
            Some(t0) => self.hist.record(ts.saturating_sub(t0)),
            None => self.unmatched += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn counts_and_latency() {
        let mut c = Counts::default();
        for k in ["a", "b", "a"] {
            c.add(k);
        }
        assert_eq!(c.top(1), vec![("a", 2)]);
        let mut l = EntryReturn::default();
        l.entry(1, 100);
        l.entry(1, 150); // recursion
        l.ret(1, 160);
        l.ret(1, 400);
        l.ret(2, 5);
        assert_eq!((l.hist.count(), l.hist.max(), l.unmatched), (2, 300, 1));
    }
}
