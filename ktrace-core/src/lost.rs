//! The record that stands for events the kernel dropped.

/// Which stream dropped events: the kernel facility (and, for ftrace, whether the kernel or the
/// consumer's budget dropped them), so a merged stream of several sources says whose loss it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LostSource {
    /// A CPU's ftrace ring buffer overwrote or refused events (`RB_MISSED_EVENTS` in a page
    /// header, or the `per_cpu/cpuN/stats` overrun counters).
    FtraceRing,
    /// Whole ftrace pages a live stream dropped because its budget was full (the consumer was slow).
    FtraceBudget,
    /// A perf ring buffer: `PERF_RECORD_LOST` / `PERF_RECORD_LOST_SAMPLES`.
    PerfRing,
    /// blktrace's relay channel (`dropped` in debugfs), or the blk tracer's ring.
    Blktrace,
    /// A hist trigger's table was full (`Dropped:` in its `hist` file).
    Hist,
    /// A taskstats exit listener's netlink socket overflowed (`ENOBUFS`; count unknown).
    Taskstats,
    /// An inotify queue overflowed (`IN_Q_OVERFLOW`; count unknown).
    Inotify,
    /// Another source (a user's own stream merged into a timeline).
    Other,
}

impl LostSource {
    /// A short name for output (`ftrace`, `ftrace-budget`, `perf`, `blk`, `hist`, `taskstats`, `inotify`, `other`).
    pub fn name(self) -> &'static str {
        match self {
            LostSource::FtraceRing => "ftrace",
            LostSource::FtraceBudget => "ftrace-budget",
            LostSource::PerfRing => "perf",
            LostSource::Blktrace => "blk",
            LostSource::Hist => "hist",
            LostSource::Taskstats => "taskstats",
            LostSource::Inotify => "inotify",
            LostSource::Other => "other",
        }
    }
}

/// Events the kernel dropped before this point in a per-CPU stream.
///
/// Produced from a ring-buffer page whose commit word carries the "missed events" flag
/// (`RB_MISSED_EVENTS`, with the count when `RB_MISSED_STORED` is also set), from per-CPU
/// overrun statistics, from perf `PERF_RECORD_LOST`/`LOST_SAMPLES`, and from blktrace's `dropped`
/// counter. A count of `None` means the kernel said events were lost but not how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lost {
    /// Which stream dropped them.
    pub source: LostSource,
    /// The CPU whose buffer dropped events (`u32::MAX` when the source is not per CPU).
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
