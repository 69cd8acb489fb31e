//! Timestamps and the trace clocks they are taken on.
//!
//! # One common clock: CLOCK_MONOTONIC
//!
//! Every facility can stamp on `CLOCK_MONOTONIC` ([`Clock::Mono`]), the clock a merged timeline
//! uses: ftrace instances with `trace_clock` set to `mono` (kernel 4.0+), perf events opened with
//! `use_clockid` and `clockid = CLOCK_MONOTONIC` (4.1+), ptrace stops stamped with
//! `clock_gettime(CLOCK_MONOTONIC)` when `waitpid` returns, records that carry no time of their
//! own (taskstats exits, inotify events) when the read returns ([`Stamped`]). blktrace records
//! carry `ktime_get()` (`CLOCK_MONOTONIC`) on the relay path, and the top-level ftrace ring's
//! timestamp on the `blk` tracer's path (so its `trace_clock` set to `mono`). [`Clock::Counter`],
//! [`Clock::Uptime`] and [`Clock::X86Tsc`] are not nanoseconds.

use std::fmt;

/// A trace clock, as named in tracefs `trace_clock` or perf's `clockid`.
///
/// Timestamps from different clocks cannot be compared; every [`Timestamp`] says which one it is on.
#[doc(alias = "trace_clock")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Clock {
    /// ftrace `local`: per-CPU sched_clock, fast, not synchronized across CPUs (the default).
    #[default]
    Local,
    /// ftrace `global`: synchronized across CPUs.
    Global,
    /// ftrace `counter`: an atomic counter, not time.
    Counter,
    /// ftrace `uptime`: jiffies since boot.
    Uptime,
    /// ftrace `perf`: the clock perf uses (local_clock).
    Perf,
    /// `CLOCK_MONOTONIC` (ftrace `mono`).
    Mono,
    /// `CLOCK_MONOTONIC_RAW` (ftrace `mono_raw`).
    MonoRaw,
    /// `CLOCK_BOOTTIME` (ftrace `boot`).
    Boot,
    /// `CLOCK_TAI` (ftrace `tai`).
    Tai,
    /// The CPU's time stamp counter in cycles (ftrace `x86-tsc`).
    X86Tsc,
    /// Another clock, by its tracefs name index in [`Clock::from_name`]'s unknown table.
    Other,
}

impl Clock {
    /// Parses a tracefs clock name (`local`, `global`, `mono`, …). Unknown names give [`Clock::Other`].
    pub fn from_name(name: &str) -> Clock {
        match name.trim() {
            "local" => Clock::Local,
            "global" => Clock::Global,
            "counter" => Clock::Counter,
            "uptime" => Clock::Uptime,
            "perf" => Clock::Perf,
            "mono" => Clock::Mono,
            "mono_raw" => Clock::MonoRaw,
            "boot" => Clock::Boot,
            "tai" => Clock::Tai,
            "x86-tsc" => Clock::X86Tsc,
            _ => Clock::Other,
        }
    }

    /// The tracefs name of this clock.
    pub fn name(self) -> &'static str {
        match self {
            Clock::Local => "local",
            Clock::Global => "global",
            Clock::Counter => "counter",
            Clock::Uptime => "uptime",
            Clock::Perf => "perf",
            Clock::Mono => "mono",
            Clock::MonoRaw => "mono_raw",
            Clock::Boot => "boot",
            Clock::Tai => "tai",
            Clock::X86Tsc => "x86-tsc",
            Clock::Other => "other",
        }
    }

    /// Picks the selected clock out of a `trace_clock` file's text (`local [global] mono`).
    pub fn from_trace_clock_file(text: &str) -> Option<Clock> {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
            .map(Clock::from_name)
    }
}

/// A point in time: nanoseconds (or counter units) on a named [`Clock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Nanoseconds since the clock's epoch (units of the clock for `counter` and `x86-tsc`).
    pub ns: u64,
    /// The clock.
    pub clock: ClockOrd,
}

/// A [`Clock`] wrapper that sorts (all timestamps in one stream share one clock; order is by `ns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClockOrd(pub Clock);

impl PartialOrd for ClockOrd {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ClockOrd {
    fn cmp(&self, _other: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Timestamp {
    /// A timestamp of `ns` on `clock`.
    pub const fn new(ns: u64, clock: Clock) -> Timestamp {
        Timestamp { ns, clock: ClockOrd(clock) }
    }
    /// The clock this timestamp was taken on.
    pub fn clock(&self) -> Clock {
        self.clock.0
    }
}

impl fmt::Display for Timestamp {
    /// Seconds with microseconds, as `trace-cmd report` prints them (`12345.678901`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.ns / 1_000_000_000, (self.ns % 1_000_000_000) / 1000)
    }
}

/// Something that has a timestamp in nanoseconds, so streams of it can be merged.
pub trait Timestamped {
    /// The timestamp in nanoseconds used to order items.
    fn timestamp_ns(&self) -> u64;
}

/// An event of a facility whose records carry no time of their own (a ptrace stop, a taskstats
/// exit record, an inotify event), stamped by the facade when it received it: ptrace when
/// `waitpid` returned, taskstats and inotify when the read returned, on `CLOCK_MONOTONIC`.
///
/// ```
/// use ktrace_core::time::{Clock, Stamped, Timestamp, Timestamped};
/// let e = Stamped { ts: Timestamp::new(5, Clock::Mono), event: "exit" };
/// assert_eq!(e.timestamp_ns(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamped<T> {
    /// When it was received.
    pub ts: Timestamp,
    /// The event.
    pub event: T,
}

impl<T> Timestamped for Stamped<T> {
    fn timestamp_ns(&self) -> u64 {
        self.ts.ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn clock_names() {
        assert_eq!(Clock::from_trace_clock_file("[local] global counter\n"), Some(Clock::Local));
        assert_eq!(Clock::from_trace_clock_file("local global [mono]"), Some(Clock::Mono));
        assert_eq!(Clock::from_name("x86-tsc").name(), "x86-tsc");
        assert_eq!(Timestamp::new(12_345_678_901_234, Clock::Local).to_string(), "12345.678901");
    }
}
