//! Per-CPU ring-buffer statistics (`per_cpu/cpuN/stats`).

/// The counters of one CPU's ring buffer.
#[doc(alias = "stats")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// Events in the buffer now.
    pub entries: u64,
    /// Events overwritten (lost) because the buffer was full in overwrite mode.
    pub overrun: u64,
    /// Events lost because a writer was interrupted mid-commit.
    pub commit_overrun: u64,
    /// Bytes in the buffer.
    pub bytes: u64,
    /// Timestamp of the oldest event, in ns.
    pub oldest_event_ts_ns: u64,
    /// Now, in ns on the trace clock.
    pub now_ts_ns: u64,
    /// Events dropped because the buffer was full in non-overwrite mode.
    pub dropped_events: u64,
    /// Events read so far.
    pub read_events: u64,
}

impl CpuStats {
    /// Parses the text of a `stats` file; unknown lines are ignored.
    pub fn parse(text: &str) -> CpuStats {
        let mut s = CpuStats::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            let n = || v.parse::<u64>().unwrap_or(0);
            let ts = || {
                let (sec, frac) = v.split_once('.').unwrap_or((v, "0"));
                let us: u64 = format!("{frac:0<6}").get(..6).and_then(|f| f.parse().ok()).unwrap_or(0);
                sec.trim().parse::<u64>().unwrap_or(0) * 1_000_000_000 + us * 1000
            };
            match k.trim() {
                "entries" => s.entries = n(),
                "overrun" => s.overrun = n(),
                "commit overrun" => s.commit_overrun = n(),
                "bytes" => s.bytes = n(),
                "oldest event ts" => s.oldest_event_ts_ns = ts(),
                "now ts" => s.now_ts_ns = ts(),
                "dropped events" => s.dropped_events = n(),
                "read events" => s.read_events = n(),
                _ => {}
            }
        }
        s
    }

    /// Events the kernel lost on this CPU (overrun + commit overrun + dropped).
    pub fn lost(&self) -> u64 {
        self.overrun + self.commit_overrun + self.dropped_events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_stats() {
        let t = "entries: 5\noverrun: 2\ncommit overrun: 0\nbytes: 100\noldest event ts:     1.500000\nnow ts:   612.854677\ndropped events: 3\nread events: 7\n";
        let s = CpuStats::parse(t);
        assert_eq!((s.entries, s.overrun, s.dropped_events, s.read_events, s.lost()), (5, 2, 3, 7, 5));
        assert_eq!(s.oldest_event_ts_ns, 1_500_000_000);
        assert_eq!(s.now_ts_ns, 612_854_677_000);
    }
}
