//! Timestamps and the trace clocks they are taken on.
//!
//! # One common clock: CLOCK_MONOTONIC
//!
//! Every facility can stamp on `CLOCK_MONOTONIC` ([`Clock::Mono`]), the clock a merged timeline
//! uses: ftrace instances with `trace_clock` set to `mono` (kernel 4.0+), perf events opened with
//! `use_clockid` and `clockid = CLOCK_MONOTONIC` (4.1+), ptrace stops stamped with
//! `clock_gettime(CLOCK_MONOTONIC)` when `waitpid` returns. Timestamps taken on another clock are
//! put on it with a [`ClockOffset`]: read the other clock and `CLOCK_MONOTONIC` back to back (a
//! facade's job; this crate makes no syscalls) and add the difference. That is exact for
//! [`Clock::Boot`], [`Clock::Realtime`] and [`Clock::Tai`] between suspends and clock steps (they
//! run at the monotonic rate, offset by the time suspended or the epoch); for [`Clock::Local`],
//! [`Clock::Global`] and [`Clock::Perf`] (sched_clock) it holds to within the drift since the
//! offset was measured (microseconds per second at worst), so measure it at the start and end of a
//! trace. [`Clock::Counter`], [`Clock::Uptime`] and [`Clock::X86Tsc`] are not nanoseconds and
//! have no offset.

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
    /// `CLOCK_REALTIME` (wall-clock time; perf `clockid`, never a tracefs clock).
    Realtime,
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
            Clock::Realtime => "realtime",
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

/// How far a clock is ahead of `CLOCK_MONOTONIC`, measured by reading both back to back: puts
/// timestamps taken on [`ClockOffset::clock`] on the common clock (see the [module docs](self)).
///
/// ```
/// use ktrace_core::time::{Clock, ClockOffset, Timestamp};
/// // CLOCK_BOOTTIME read 5 s ahead of CLOCK_MONOTONIC (the machine was suspended 5 s).
/// let off = ClockOffset::measured(Clock::Boot, 105_000_000_000, 100_000_000_000);
/// assert_eq!(off.to_mono(Timestamp::new(107_000_000_000, Clock::Boot)), Some(Timestamp::new(102_000_000_000, Clock::Mono)));
/// assert_eq!(off.to_mono(Timestamp::new(1, Clock::Local)), None); // another clock
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffset {
    /// The clock converted from.
    pub clock: Clock,
    /// Its reading minus `CLOCK_MONOTONIC`'s, in ns.
    pub ahead_ns: i128,
}

impl ClockOffset {
    /// The offset from readings of `clock` (`clock_ns`) and `CLOCK_MONOTONIC` (`mono_ns`) taken
    /// back to back.
    pub fn measured(clock: Clock, clock_ns: u64, mono_ns: u64) -> ClockOffset {
        ClockOffset { clock, ahead_ns: clock_ns as i128 - mono_ns as i128 }
    }

    /// `ts` on `CLOCK_MONOTONIC`; `None` when `ts` is on another clock than this offset's, on a
    /// clock that is not nanoseconds, or would fall before the monotonic epoch.
    pub fn to_mono(&self, ts: Timestamp) -> Option<Timestamp> {
        if ts.clock() == Clock::Mono {
            return Some(ts);
        }
        if ts.clock() != self.clock
            || matches!(self.clock, Clock::Counter | Clock::Uptime | Clock::X86Tsc | Clock::Other)
        {
            return None;
        }
        let ns = u64::try_from(ts.ns as i128 - self.ahead_ns).ok()?;
        Some(Timestamp::new(ns, Clock::Mono))
    }
}

/// Something that has a timestamp in nanoseconds, so streams of it can be merged.
pub trait Timestamped {
    /// The timestamp in nanoseconds used to order items.
    fn timestamp_ns(&self) -> u64;
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
