//! The record that stands for events the kernel dropped.

/// Events the kernel dropped before this point in a per-CPU stream.
///
/// Produced from a ring-buffer page whose commit word carries the "missed events" flag
/// (`RB_MISSED_EVENTS`, with the count when `RB_MISSED_STORED` is also set), from per-CPU
/// overrun statistics, from perf `PERF_RECORD_LOST`/`LOST_SAMPLES`, and from blktrace's `dropped`
/// counter. A count of `None` means the kernel said events were lost but not how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lost {
    /// The CPU whose buffer dropped events.
    pub cpu: u32,
    /// How many, when the kernel says.
    pub count: Option<u64>,
    /// When the loss was noticed (the timestamp of the page or record that reported it), in ns.
    pub timestamp_ns: u64,
}

impl crate::time::Timestamped for Lost {
    fn timestamp_ns(&self) -> u64 {
        self.timestamp_ns
    }
}
