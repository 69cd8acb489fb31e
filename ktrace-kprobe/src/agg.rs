//! Aggregations SystemTap and bpftrace users expect: counts by key, and entry->return latency
//! histograms from probe/retprobe pairs matched per task. They live in [`ktrace_core::agg`] (one place
//! for every facade and tool) and are re-exported here.

pub use ktrace_core::agg::{Counts, EntryReturn, Log2Hist};
