//! Aggregations every facade and tool shares: power-of-two histograms ([`Log2Hist`]), counts by key
//! ([`Counts`]) and entry→return latency pairing per task ([`EntryReturn`]). Pure data structures: they
//! are fed values by the caller, whichever facility produced them.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

/// A power-of-two histogram (as bcc's `runqlat`/`biolatency` and bpftrace's `hist()` print).
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

impl Extend<u64> for Log2Hist {
    fn extend<I: IntoIterator<Item = u64>>(&mut self, iter: I) {
        for v in iter {
            self.record(v);
        }
    }
}

impl FromIterator<u64> for Log2Hist {
    fn from_iter<I: IntoIterator<Item = u64>>(iter: I) -> Self {
        let mut h = Log2Hist::default();
        h.extend(iter);
        h
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

/// Counts by key (bpftrace's `@[key] = count()`, `perf report`'s rows).
#[derive(Debug, Clone)]
pub struct Counts<K: Eq + Hash> {
    map: HashMap<K, u64>,
}

impl<K: Eq + Hash> Default for Counts<K> {
    fn default() -> Self {
        Counts { map: HashMap::new() }
    }
}

impl<K: Eq + Hash> Counts<K> {
    /// No counts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds one for `k`.
    pub fn add(&mut self, k: K) {
        self.add_n(k, 1);
    }
    /// Adds `n` for `k` (saturating).
    pub fn add_n(&mut self, k: K, n: u64) {
        let c = self.map.entry(k).or_default();
        *c = c.saturating_add(n);
    }
    /// The count for `k` (0 when never added).
    pub fn get(&self, k: &K) -> u64 {
        self.map.get(k).copied().unwrap_or(0)
    }
    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.map.values().fold(0u64, |a, c| a.saturating_add(*c))
    }
    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Keys and counts, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, u64)> + '_ {
        self.map.iter().map(|(k, c)| (k, *c))
    }
}

impl<K: Eq + Hash + Ord> Counts<K> {
    /// All keys by count, largest first; equal counts in key order.
    pub fn sorted(self) -> Vec<(K, u64)> {
        let mut v: Vec<_> = self.map.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
    /// The `n` keys with the largest counts, largest first; equal counts in key order.
    pub fn top(&self, n: usize) -> Vec<(K, u64)>
    where
        K: Clone,
    {
        let mut v: Vec<_> = self.map.iter().map(|(k, c)| (k.clone(), *c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

impl<K: Eq + Hash> Extend<K> for Counts<K> {
    fn extend<I: IntoIterator<Item = K>>(&mut self, iter: I) {
        for k in iter {
            self.add(k);
        }
    }
}

impl<K: Eq + Hash> FromIterator<K> for Counts<K> {
    fn from_iter<I: IntoIterator<Item = K>>(iter: I) -> Self {
        let mut c = Counts::default();
        c.extend(iter);
        c
    }
}

/// Entry→return latency per task (`kprobe` + `kretprobe`, `uprobe` + `uretprobe`, `sys_enter` +
/// `sys_exit`): nested entries of one task pair with returns last-in first-out.
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
    fn histogram_buckets() {
        let h: Log2Hist = [0, 1, 2, 3, 4, 1000, 1023, 1024].into_iter().collect();
        let b: Vec<_> = h.buckets().collect();
        assert_eq!(b[0], (0, 1, 1));
        assert_eq!(b[1], (1, 2, 1));
        assert_eq!(b[2], (2, 4, 2));
        assert!(b.contains(&(512, 1024, 2)));
        assert!(b.contains(&(1024, 2048, 1)));
        assert_eq!((h.count(), h.max()), (8, 1024));
        assert!(h.to_string().contains("512 -> 1023"));
        let mut m = Log2Hist::default();
        m.record(u64::MAX);
        m.merge(&h);
        assert_eq!((m.count(), m.max()), (9, u64::MAX));
        assert_eq!(m.buckets().last(), Some((1 << 63, u64::MAX, 1)));
    }

    #[test]
    fn counts_and_latency() {
        let mut c: Counts<&str> = ["a", "b", "a"].into_iter().collect();
        c.add_n("c", 2);
        assert_eq!(c.top(1), vec![("a", 2)]);
        assert_eq!((c.get(&"b"), c.get(&"z"), c.total(), c.len()), (1, 0, 5, 3));
        assert_eq!(c.sorted(), vec![("a", 2), ("c", 2), ("b", 1)]);
        let mut l = EntryReturn::default();
        l.entry(1, 100);
        l.entry(1, 150); // recursion
        l.ret(1, 160);
        l.ret(1, 400);
        l.ret(2, 5);
        assert_eq!((l.hist.count(), l.hist.max(), l.unmatched), (2, 300, 1));
    }
}
