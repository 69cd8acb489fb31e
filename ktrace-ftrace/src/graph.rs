//! Function-graph (KFT-style) call trees with durations from `funcgraph_entry`/`funcgraph_exit`.
//!
//! The `function_graph` tracer (CONFIG_FUNCTION_GRAPH_TRACER, 2.6.29+) records an entry and an exit
//! per call; [`CallTrees`] pairs them per task into nested calls with their durations, tolerating
//! lost records (an exit whose entry is missing, or entries never closed).

use std::collections::HashMap;

/// One call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Task (pid).
    pub pid: i32,
    /// Function address.
    pub func: u64,
    /// Depth reported by the kernel.
    pub depth: u32,
    /// Entry time (ns).
    pub entry_ns: u64,
    /// Duration (ns), `None` when the exit was not seen.
    pub duration_ns: Option<u64>,
    /// Index of the calling [`Call`] in [`CallTrees::calls`].
    pub parent: Option<usize>,
}

/// Call trees of every task, in entry order.
#[derive(Debug, Default)]
pub struct CallTrees {
    /// All calls in the order their entries were seen.
    pub calls: Vec<Call>,
    open: HashMap<i32, Vec<usize>>,
    /// Exits whose entry was not seen (lost or before the trace started).
    pub unmatched_exits: u64,
}

impl CallTrees {
    /// Empty trees.
    pub fn new() -> Self {
        Self::default()
    }

    /// A `funcgraph_entry` of `pid` at `ts`.
    pub fn entry(&mut self, pid: i32, ts: u64, func: u64, depth: u32) {
        let stack = self.open.entry(pid).or_default();
        // An entry shallower than open calls means their exits were lost: close them.
        while let Some(&top) = stack.last() {
            if self.calls.get(top).is_some_and(|c| c.depth >= depth) {
                stack.pop();
            } else {
                break;
            }
        }
        let parent = stack.last().copied();
        self.calls.push(Call { pid, func, depth, entry_ns: ts, duration_ns: None, parent });
        stack.push(self.calls.len() - 1);
    }

    /// A `funcgraph_exit` of `pid` (with the kernel's calltime/rettime).
    pub fn exit(&mut self, pid: i32, func: u64, depth: u32, calltime: u64, rettime: u64) {
        let stack = self.open.entry(pid).or_default();
        while let Some(top) = stack.pop() {
            let Some(c) = self.calls.get_mut(top) else {
                continue;
            };
            if c.depth == depth && c.func == func {
                c.duration_ns = Some(rettime.saturating_sub(calltime));
                return;
            }
            if c.depth < depth {
                stack.push(top);
                break;
            }
        }
        self.unmatched_exits += 1;
    }

    /// Children of call `i`.
    pub fn children(&self, i: usize) -> impl Iterator<Item = (usize, &Call)> {
        self.calls.iter().enumerate().filter(move |(_, c)| c.parent == Some(i))
    }

    /// Total and count of durations per function address.
    pub fn totals(&self) -> HashMap<u64, (u64, u64)> {
        let mut m: HashMap<u64, (u64, u64)> = HashMap::new();
        for c in &self.calls {
            if let Some(d) = c.duration_ns {
                let e = m.entry(c.func).or_default();
                e.0 += d;
                e.1 += 1;
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn nests_and_times() {
        let mut t = CallTrees::new();
        t.entry(1, 10, 0xa, 0);
        t.entry(1, 11, 0xb, 1);
        t.exit(1, 0xb, 1, 11, 15);
        t.entry(1, 16, 0xc, 1);
        t.entry(2, 16, 0xa, 0); // another task interleaved
        t.exit(1, 0xc, 1, 16, 20);
        t.exit(1, 0xa, 0, 10, 30);
        t.exit(2, 0xa, 0, 16, 17);
        t.exit(2, 0xf, 0, 1, 2); // no entry
        assert_eq!(t.calls.len(), 4);
        assert_eq!(t.calls[0].duration_ns, Some(20));
        assert_eq!(t.children(0).map(|(_, c)| c.func).collect::<Vec<_>>(), vec![0xb, 0xc]);
        assert_eq!(t.calls[3].duration_ns, Some(1));
        assert_eq!(t.unmatched_exits, 1);
        assert_eq!(t.totals()[&0xa], (21, 2));
    }
}
