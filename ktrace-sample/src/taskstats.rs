//! Delay accounting through the TASKSTATS generic-netlink family (`Documentation/accounting/`):
//! per-pid and per-tgid queries, `struct taskstats` parsed by its version and payload length, and
//! a guard that turns `kernel.task_delayacct` on and restores it. The netlink side ([`query`],
//! [`ExitListener`]) needs the `taskstats` feature (on by default); parsing and the guard do not.

use ktrace_core::{Cursor, ParseError, Reading};

use crate::error::{Error, Result};

/// A delay: how many times, how long in total, and (v15+) the longest and shortest one (ns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delay {
    /// Occurrences.
    pub count: u64,
    /// Total ns.
    pub total_ns: u64,
    /// Longest single delay, ns (0 before v15).
    pub max_ns: u64,
    /// Shortest single delay, ns (0 before v15).
    pub min_ns: u64,
    /// When the longest delay happened, ns since the epoch (CLOCK_REALTIME; v17+, 0 before).
    pub max_at_ns: u64,
}

impl Delay {
    /// Mean delay in ns (0 when none happened).
    pub fn avg_ns(&self) -> u64 {
        self.total_ns.checked_div(self.count).unwrap_or(0)
    }
}

/// `struct taskstats` of any version, parsed by its version and payload length.
///
/// Fields were appended over the versions, except in v15 (Linux 6.16), which put each delay's
/// max/min beside its count and total; v16 (6.17) moved them to the end again; v17 appends when
/// each maximum happened (`*_delay_max_ts`, 688 bytes; Debian sid's 7.2 sends it). A field that
/// starts at or past the payload's end (one of a later version than the kernel's) is zero; a
/// payload that ends inside a field is [`Error::Malformed`] naming the field's offset.
#[doc(alias = "taskstats")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Struct version the kernel sent.
    pub version: u16,
    /// Payload length in bytes.
    pub len: usize,
    /// Exit code (`ac_exitcode`, for exit records).
    pub exit_code: u32,
    /// Accounting flags (`ac_flag`: AFORK, ASU, ACORE, AXSIG).
    pub flags: u8,
    /// Nice value.
    pub nice: i8,
    /// Waiting for a CPU.
    pub cpu: Delay,
    /// Waiting for block IO.
    pub blkio: Delay,
    /// Waiting for swap-in.
    pub swapin: Delay,
    /// Memory reclaim.
    pub freepages: Delay,
    /// Thrashing.
    pub thrashing: Delay,
    /// Memory compaction (v9+).
    pub compact: Delay,
    /// Write-protect copy (v13+).
    pub wpcopy: Delay,
    /// IRQ/softirq time charged (v14+).
    pub irq: Delay,
    /// ns on CPU (wall), `cpu_run_real_total`.
    pub cpu_run_real_ns: u64,
    /// ns on CPU (virtual).
    pub cpu_run_virtual_ns: u64,
    /// Command name.
    pub comm: String,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// Thread group id (v12+; 0 before).
    pub tgid: u32,
    /// Start time, seconds since the epoch (`ac_btime64` when present).
    pub btime: u64,
    /// Elapsed time (µs).
    pub etime_us: u64,
    /// User time (µs).
    pub utime_us: u64,
    /// System time (µs).
    pub stime_us: u64,
    /// Minor faults.
    pub minflt: u64,
    /// Major faults.
    pub majflt: u64,
    /// High-water RSS (KiB).
    pub hiwater_rss_kb: u64,
    /// High-water virtual memory (KiB).
    pub hiwater_vm_kb: u64,
    /// Bytes read through syscalls.
    pub read_char: u64,
    /// Bytes written through syscalls.
    pub write_char: u64,
    /// read syscalls.
    pub read_syscalls: u64,
    /// write syscalls.
    pub write_syscalls: u64,
    /// Bytes read from storage.
    pub read_bytes: u64,
    /// Bytes written to storage.
    pub write_bytes: u64,
    /// Written bytes whose writeback was cancelled (truncation).
    pub cancelled_write_bytes: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Involuntary context switches.
    pub nivcsw: u64,
}

/// Where one delay's fields sit: count, total, max, min (max/min absent before v15).
#[derive(Clone, Copy)]
struct DelayAt(usize, usize, Option<usize>, Option<usize>);

/// Byte offsets of one layout of `struct taskstats`.
struct Layout {
    delays: [DelayAt; 8],
    run_real: usize,
    comm: usize,
    uid: usize,
    btime: usize,
    etime: usize,
    minflt: usize,
    hiwater_rss: usize,
    read_char: usize,
    nvcsw: usize,
    btime64: usize,
    tgid: usize,
}

/// v1–v14 and v16+: fields appended; v16 appends each delay's max and min at 432.
const APPENDED: Layout = Layout {
    delays: [
        DelayAt(16, 24, Some(432), Some(440)),
        DelayAt(32, 40, Some(448), Some(456)),
        DelayAt(48, 56, Some(464), Some(472)),
        DelayAt(312, 320, Some(480), Some(488)),
        DelayAt(328, 336, Some(496), Some(504)),
        DelayAt(352, 360, Some(512), Some(520)),
        DelayAt(400, 408, Some(528), Some(536)),
        DelayAt(416, 424, Some(544), Some(552)),
    ],
    run_real: 64,
    comm: 80,
    uid: 120,
    btime: 136,
    etime: 144,
    minflt: 168,
    hiwater_rss: 200,
    read_char: 216,
    nvcsw: 272,
    btime64: 344,
    tgid: 368,
};

/// v15: max and min right after each delay's count and total.
const V15: Layout = Layout {
    delays: [
        DelayAt(16, 24, Some(32), Some(40)),
        DelayAt(48, 56, Some(64), Some(72)),
        DelayAt(80, 88, Some(96), Some(104)),
        DelayAt(360, 368, Some(376), Some(384)),
        DelayAt(392, 400, Some(408), Some(416)),
        DelayAt(432, 440, Some(448), Some(456)),
        DelayAt(496, 504, Some(512), Some(520)),
        DelayAt(528, 536, Some(544), Some(552)),
    ],
    run_real: 112,
    comm: 128,
    uid: 168,
    btime: 184,
    etime: 192,
    minflt: 216,
    hiwater_rss: 248,
    read_char: 264,
    nvcsw: 320,
    btime64: 424,
    tgid: 464,
};

/// Smallest payload that is a taskstats at all: version, exit code, flag, nice, padding.
const MIN_LEN: usize = 16;

/// A taskstats payload's fields by offset, read with core's [`Cursor`]. Fields were appended over
/// the versions, so one that starts at or past the end is one the kernel's version does not
/// have: zero. A payload that ends inside a field is malformed.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn field<T: Default>(&self, off: usize, read: impl FnOnce(&mut Cursor<'a>) -> Result<T, ParseError>) -> Result<T> {
        if off >= self.0.len() {
            return Ok(T::default());
        }
        Cursor::at(self.0, off).and_then(|mut c| read(&mut c)).map_err(|e| match e {
            ParseError::Truncated { offset, wanted, available, what } => Error::Malformed {
                what: "taskstats",
                offset,
                expected: format!("{wanted} bytes for a {what} field, found {available}"),
            },
            e => Error::Malformed { what: "taskstats", offset: off, expected: e.to_string() },
        })
    }
    fn u64(&self, off: usize) -> Result<u64> {
        self.field(off, Cursor::u64)
    }
    fn u32(&self, off: usize) -> Result<u32> {
        self.field(off, Cursor::u32)
    }
    fn u8(&self, off: usize) -> Result<u8> {
        self.field(off, Cursor::u8)
    }
    /// A NUL-padded `char[n]`.
    fn string(&self, off: usize, n: usize) -> Result<String> {
        self.field(off, |c| c.cstr_in(n).reading("char[]").map(|b| String::from_utf8_lossy(b).into_owned()))
    }
}

impl TaskStats {
    /// Parses a `TASKSTATS_TYPE_STATS` payload (offsets of `linux/taskstats.h` v1–v16; checked
    /// against the 6.1 header's v13 (416 bytes) and Linux 6.18's v16 (560 bytes)).
    ///
    /// ```
    /// let mut b = vec![0u8; 560];
    /// b[0..2].copy_from_slice(&16u16.to_ne_bytes());
    /// b[432..440].copy_from_slice(&9000u64.to_ne_bytes()); // v16: cpu_delay_max
    /// let t = ktrace_sample::taskstats::TaskStats::parse(&b)?;
    /// assert_eq!((t.version, t.cpu.max_ns), (16, 9000));
    /// # Ok::<(), ktrace_sample::Error>(())
    /// ```
    pub fn parse(b: &[u8]) -> Result<TaskStats> {
        if b.len() < MIN_LEN {
            return Err(Error::Malformed {
                what: "taskstats",
                offset: b.len(),
                expected: format!("at least {MIN_LEN} bytes (version, exit code, flags)"),
            });
        }
        let f = Fields(b);
        let version = f.field(0, Cursor::u16)?;
        let l = if version == 15 { &V15 } else { &APPENDED };
        let mut i = 0;
        let d = |a: DelayAt| -> Result<Delay> {
            // v17: a `struct __kernel_timespec` per delay, in the same order, from byte 560.
            let ts = 560 + 16 * i;
            i += 1;
            let (sec, nsec) = (f.u64(ts)?, f.u64(ts + 8)?);
            let since_v15 = |o: Option<usize>| o.filter(|_| version >= 15).map_or(Ok(0), |o| f.u64(o));
            Ok(Delay {
                count: f.u64(a.0)?,
                total_ns: f.u64(a.1)?,
                max_ns: since_v15(a.2)?,
                min_ns: since_v15(a.3)?,
                max_at_ns: if version >= 17 && nsec < 1_000_000_000 {
                    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
                } else {
                    0
                },
            })
        };
        let [cpu, blkio, swapin, freepages, thrashing, compact, wpcopy, irq] = l.delays.map(d);
        let btime64 = f.u64(l.btime64)?;
        Ok(TaskStats {
            version,
            len: b.len(),
            exit_code: f.u32(4)?,
            flags: f.u8(8)?,
            nice: f.u8(9)? as i8,
            cpu: cpu?,
            blkio: blkio?,
            swapin: swapin?,
            freepages: freepages?,
            thrashing: thrashing?,
            compact: compact?,
            wpcopy: wpcopy?,
            irq: if version >= 14 { irq? } else { Delay::default() },
            cpu_run_real_ns: f.u64(l.run_real)?,
            cpu_run_virtual_ns: f.u64(l.run_real + 8)?,
            comm: f.string(l.comm, 32)?,
            uid: f.u32(l.uid)?,
            gid: f.u32(l.uid + 4)?,
            pid: f.u32(l.uid + 8)?,
            ppid: f.u32(l.uid + 12)?,
            tgid: f.u32(l.tgid)?,
            btime: if btime64 != 0 { btime64 } else { u64::from(f.u32(l.btime)?) },
            etime_us: f.u64(l.etime)?,
            utime_us: f.u64(l.etime + 8)?,
            stime_us: f.u64(l.etime + 16)?,
            minflt: f.u64(l.minflt)?,
            majflt: f.u64(l.minflt + 8)?,
            hiwater_rss_kb: f.u64(l.hiwater_rss)?,
            hiwater_vm_kb: f.u64(l.hiwater_rss + 8)?,
            read_char: f.u64(l.read_char)?,
            write_char: f.u64(l.read_char + 8)?,
            read_syscalls: f.u64(l.read_char + 16)?,
            write_syscalls: f.u64(l.read_char + 24)?,
            read_bytes: f.u64(l.read_char + 32)?,
            write_bytes: f.u64(l.read_char + 40)?,
            cancelled_write_bytes: f.u64(l.read_char + 48)?,
            nvcsw: f.u64(l.nvcsw)?,
            nivcsw: f.u64(l.nvcsw + 8)?,
        })
    }

    /// The delays by their getdelays names, in getdelays' order.
    pub fn delays(&self) -> [(&'static str, Delay); 8] {
        [
            ("cpu", self.cpu),
            ("blkio", self.blkio),
            ("swapin", self.swapin),
            ("reclaim", self.freepages),
            ("thrashing", self.thrashing),
            ("compact", self.compact),
            ("wpcopy", self.wpcopy),
            ("irq", self.irq),
        ]
    }
}

#[cfg(feature = "taskstats")]
mod netlink;
#[cfg(feature = "taskstats")]
pub use netlink::{Exit, ExitListener, query};

/// Turns `kernel.task_delayacct` on (so delays are counted, 5.14+) and restores it on drop.
///
/// The hold is counted across processes ([`ktrace_owner::Shared`]): with several at once, the last
/// one out, in any order, writes back the value from before the first; one killed (also by SIGKILL)
/// is released by its guardian.
#[doc(alias = "task_delayacct")]
#[derive(Debug)]
pub struct DelayAcctGuard {
    /// A hold on the sysctl, shared with other processes (`None` before 5.14: always on).
    _hold: Option<ktrace_owner::Shared>,
}

const SYSCTL: &str = "/proc/sys/kernel/task_delayacct";

impl DelayAcctGuard {
    /// Enables delay accounting.
    pub fn enable() -> Result<DelayAcctGuard> {
        if !std::path::Path::new(SYSCTL).exists() {
            return Ok(DelayAcctGuard { _hold: None }); // always on before 5.14
        }
        let hold =
            ktrace_owner::Shared::acquire(std::path::Path::new(SYSCTL), "1").map_err(|e| match e.raw_os_error() {
                Some(libc::EACCES | libc::EPERM) => Error::Permission {
                    call: "write",
                    what: SYSCTL.into(),
                    hint: format!(
                        "{}; or have an administrator run `sysctl kernel.task_delayacct=1` (or boot with `delayacct`)",
                        ktrace_core::hint::permission(&["CAP_SYS_ADMIN"], None)
                    ),
                },
                _ => Error::io("write", SYSCTL, e),
            })?;
        Ok(DelayAcctGuard { _hold: Some(hold) })
    }
}

#[cfg(test)]
mod tests;
