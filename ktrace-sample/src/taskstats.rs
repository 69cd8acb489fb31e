//! Delay accounting through the TASKSTATS generic-netlink family (`Documentation/accounting/`):
//! per-pid and per-tgid queries, `struct taskstats` parsed by its version and payload length, and
//! a guard that turns `kernel.task_delayacct` on and restores it.

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder};
use neli::nl::NlPayload;
use neli::router::synchronous::NlRouter;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;

use crate::error::{Error, Result};

const TASKSTATS_CMD_GET: u8 = 1;
const TASKSTATS_CMD_ATTR_PID: u16 = 1;
const TASKSTATS_CMD_ATTR_TGID: u16 = 2;
const TASKSTATS_TYPE_STATS: u16 = 3;
const TASKSTATS_TYPE_AGGR_PID: u16 = 4;
const TASKSTATS_TYPE_AGGR_TGID: u16 = 5;

/// A delay: how many times and how long in total (ns).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delay {
    /// Occurrences.
    pub count: u64,
    /// Total ns.
    pub total_ns: u64,
}

/// `struct taskstats`, the fields of versions 1-14 that sit at the same offsets in every version
/// (fields are only ever appended; what a shorter payload lacks is zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Struct version the kernel sent.
    pub version: u16,
    /// Payload length in bytes.
    pub len: usize,
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
    /// pid.
    pub pid: u32,
    /// Parent pid.
    pub ppid: u32,
    /// User time (µs).
    pub utime_us: u64,
    /// System time (µs).
    pub stime_us: u64,
    /// Bytes read/written through syscalls.
    pub read_char: u64,
    /// Bytes written through syscalls.
    pub write_char: u64,
    /// Bytes read from storage.
    pub read_bytes: u64,
    /// Bytes written to storage.
    pub write_bytes: u64,
    /// Voluntary context switches.
    pub nvcsw: u64,
    /// Involuntary context switches.
    pub nivcsw: u64,
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_ne_bytes)
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_ne_bytes)
}

impl TaskStats {
    /// Parses a `TASKSTATS_TYPE_STATS` payload (offsets of `linux/taskstats.h`, checked against
    /// the v13 header: 416 bytes).
    pub fn parse(b: &[u8]) -> Option<TaskStats> {
        let version = u16::from_ne_bytes(b.get(0..2)?.try_into().ok()?);
        let d = |c: usize, t: usize| Delay { count: u64_at(b, c), total_ns: u64_at(b, t) };
        let comm = b.get(80..112).map(|c| {
            let n = c.iter().position(|&x| x == 0).unwrap_or(c.len());
            String::from_utf8_lossy(c.get(..n).unwrap_or_default()).into_owned()
        });
        Some(TaskStats {
            version,
            len: b.len(),
            cpu: d(16, 24),
            blkio: d(32, 40),
            swapin: d(48, 56),
            freepages: d(312, 320),
            thrashing: d(328, 336),
            compact: d(352, 360),
            wpcopy: d(400, 408),
            irq: if version >= 14 { d(416, 424) } else { Delay::default() },
            cpu_run_real_ns: u64_at(b, 64),
            cpu_run_virtual_ns: u64_at(b, 72),
            comm: comm.unwrap_or_default(),
            pid: u32_at(b, 128),
            ppid: u32_at(b, 132),
            utime_us: u64_at(b, 152),
            stime_us: u64_at(b, 160),
            read_char: u64_at(b, 216),
            write_char: u64_at(b, 224),
            read_bytes: u64_at(b, 248),
            write_bytes: u64_at(b, 256),
            nvcsw: u64_at(b, 272),
            nivcsw: u64_at(b, 280),
        })
    }
}

fn nl(e: impl std::fmt::Display) -> Error {
    Error::io("netlink(TASKSTATS)", "", std::io::Error::other(e.to_string()))
}

/// Queries the stats of a task (`tgid = false`: delays and accounting) or of a whole thread group
/// (`tgid = true`: the kernel sums only the delays and times; accounting fields stay zero).
pub fn query(pid: u32, tgid: bool) -> Result<TaskStats> {
    let (sock, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty()).map_err(nl)?;
    let family = sock
        .resolve_genl_family("TASKSTATS")
        .map_err(|e| Error::Unsupported { feature: "taskstats (CONFIG_TASKSTATS)".into(), hint: e.to_string() })?;
    let attr = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(if tgid { TASKSTATS_CMD_ATTR_TGID } else { TASKSTATS_CMD_ATTR_PID })
                .build()
                .map_err(nl)?,
        )
        .nla_payload(pid)
        .build()
        .map_err(nl)?;
    let attrs: GenlBuffer<u16, Buffer> = std::iter::once(attr).collect();
    let msg =
        GenlmsghdrBuilder::<u8, u16>::default().cmd(TASKSTATS_CMD_GET).version(1).attrs(attrs).build().map_err(nl)?;
    let recv = sock
        .send::<u16, Genlmsghdr<u8, u16>, u16, Genlmsghdr<u8, u16>>(family, NlmF::REQUEST, NlPayload::Payload(msg))
        .map_err(nl)?;
    for r in recv {
        let r = r.map_err(nl)?;
        let Some(p) = r.get_payload() else { continue };
        for a in p.attrs().iter() {
            let t = *a.nla_type().nla_type();
            if t == TASKSTATS_TYPE_AGGR_PID || t == TASKSTATS_TYPE_AGGR_TGID {
                let nested = a.get_attr_handle::<u16>().map_err(nl)?;
                for inner in nested.iter() {
                    if *inner.nla_type().nla_type() == TASKSTATS_TYPE_STATS {
                        let bytes: &[u8] = inner.nla_payload().as_ref();
                        return TaskStats::parse(bytes).ok_or_else(|| nl("short taskstats payload"));
                    }
                }
            }
        }
    }
    Err(nl(format!("no taskstats for pid {pid}")))
}

/// Turns `kernel.task_delayacct` on (so delays are counted, 5.14+) and restores it on drop.
#[derive(Debug)]
pub struct DelayAcctGuard {
    old: Option<String>,
}

const SYSCTL: &str = "/proc/sys/kernel/task_delayacct";

impl DelayAcctGuard {
    /// Enables delay accounting.
    pub fn enable() -> Result<DelayAcctGuard> {
        let old = std::fs::read_to_string(SYSCTL).ok();
        if old.is_none() {
            return Ok(DelayAcctGuard { old: None }); // always on before 5.14
        }
        std::fs::write(SYSCTL, "1").map_err(|e| Error::io("write", SYSCTL, e))?;
        Ok(DelayAcctGuard { old })
    }
}

impl Drop for DelayAcctGuard {
    fn drop(&mut self) {
        if let Some(o) = self.old.take() {
            let _ = std::fs::write(SYSCTL, o.trim());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_by_length_and_version() {
        let mut b = vec![0u8; 416];
        b[0..2].copy_from_slice(&13u16.to_ne_bytes());
        b[16..24].copy_from_slice(&5u64.to_ne_bytes());
        b[40..48].copy_from_slice(&777u64.to_ne_bytes());
        b[80..84].copy_from_slice(b"dd\0\0");
        let t = TaskStats::parse(&b).unwrap();
        assert_eq!((t.version, t.cpu.count, t.blkio.total_ns, t.comm.as_str(), t.irq.count), (13, 5, 777, "dd", 0));
        let short = TaskStats::parse(&b[..100]).unwrap();
        assert_eq!(short.wpcopy, Delay::default());
        assert!(TaskStats::parse(&[1]).is_none());
    }
}
