//! Delay accounting through the TASKSTATS generic-netlink family (`Documentation/accounting/`):
//! per-pid and per-tgid queries, `struct taskstats` parsed by its version and payload length, and
//! a guard that turns `kernel.task_delayacct` on and restores it. The netlink side ([`query`],
//! [`ExitListener`]) needs the `taskstats` feature (on by default); parsing and the guard do not.

#[cfg(feature = "taskstats")]
use neli::{
    consts::{nl::NlmF, socket::NlFamily},
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder},
    nl::NlPayload,
    router::synchronous::NlRouter,
    types::{Buffer, GenlBuffer},
    utils::Groups,
};

use ktrace_core::{Cursor, ParseError, Reading};

use crate::error::{Error, Result};

#[cfg(feature = "taskstats")]
const TASKSTATS_CMD_GET: u8 = 1;
#[cfg(feature = "taskstats")]
const TASKSTATS_CMD_ATTR_PID: u16 = 1;
#[cfg(feature = "taskstats")]
const TASKSTATS_CMD_ATTR_TGID: u16 = 2;
#[cfg(feature = "taskstats")]
const TASKSTATS_CMD_ATTR_REGISTER_CPUMASK: u16 = 3;
#[cfg(feature = "taskstats")]
const TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK: u16 = 4;
#[cfg(feature = "taskstats")]
const TASKSTATS_TYPE_PID: u16 = 1;
#[cfg(feature = "taskstats")]
const TASKSTATS_TYPE_TGID: u16 = 2;
#[cfg(feature = "taskstats")]
const TASKSTATS_TYPE_STATS: u16 = 3;
#[cfg(feature = "taskstats")]
const TASKSTATS_TYPE_AGGR_PID: u16 = 4;
#[cfg(feature = "taskstats")]
const TASKSTATS_TYPE_AGGR_TGID: u16 = 5;

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
fn nl(e: impl std::fmt::Display) -> Error {
    Error::io("netlink", "TASKSTATS family", std::io::Error::other(e.to_string()))
}

#[cfg(feature = "taskstats")]
/// The error the kernel answered a TASKSTATS request with (`errno`, positive): EPERM names
/// CAP_NET_ADMIN (the family's commands are GENL_ADMIN_PERM), ESRCH is "no such process".
fn refused(call: &'static str, what: &str, pid: Option<u32>, errno: i32) -> Error {
    match (errno, pid) {
        (libc::EPERM | libc::EACCES, _) => Error::Permission {
            call,
            what: what.to_owned(),
            hint: ktrace_core::hint::permission(&["CAP_NET_ADMIN"], None),
        },
        (libc::ESRCH, Some(pid)) => Error::NoSuchProcess { call, pid },
        _ => Error::io(call, what, std::io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(feature = "taskstats")]
/// A router error, with the kernel's error answer turned into [`refused`].
fn routed<T: std::fmt::Debug, P: std::fmt::Debug>(
    call: &'static str,
    what: &str,
    pid: Option<u32>,
    e: neli::err::RouterError<T, P>,
) -> Error {
    match e {
        neli::err::RouterError::Nlmsgerr(m) => refused(call, what, pid, -*m.error()),
        e => Error::io(call, what, std::io::Error::other(e.to_string())),
    }
}

/// Queries the stats of a task (`tgid = false`: delays and accounting) or of a whole thread group
/// (`tgid = true`: the kernel sums only the delays and times; accounting fields stay zero).
#[cfg(feature = "taskstats")]
#[doc(alias = "TASKSTATS_CMD_GET")]
#[doc(alias = "TASKSTATS_CMD_ATTR_PID")]
#[doc(alias = "TASKSTATS_CMD_ATTR_TGID")]
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
    let what = format!("{} {pid}", if tgid { "tgid" } else { "pid" });
    for r in recv {
        let r = r.map_err(|e| routed("netlink(TASKSTATS_CMD_GET)", &what, Some(pid), e))?;
        let Some(p) = r.get_payload() else { continue };
        if let Some(s) = stats_in(p)?.into_iter().next() {
            return Ok(s.1);
        }
    }
    Err(nl(format!("no taskstats for pid {pid}")))
}

/// The `(is_tgid, stats)` in a TASKSTATS reply or exit message.
#[cfg(feature = "taskstats")]
fn stats_in(p: &Genlmsghdr<u8, u16>) -> Result<Vec<(bool, TaskStats)>> {
    let mut out = Vec::new();
    for a in p.attrs().iter() {
        let t = *a.nla_type().nla_type();
        if t == TASKSTATS_TYPE_AGGR_PID || t == TASKSTATS_TYPE_AGGR_TGID {
            let nested = a.get_attr_handle::<u16>().map_err(nl)?;
            for inner in nested.iter() {
                let it = *inner.nla_type().nla_type();
                if it == TASKSTATS_TYPE_STATS {
                    out.push((t == TASKSTATS_TYPE_AGGR_TGID, TaskStats::parse(inner.nla_payload().as_ref())?));
                } else if it != TASKSTATS_TYPE_PID && it != TASKSTATS_TYPE_TGID {
                    continue;
                }
            }
        }
    }
    Ok(out)
}

/// What an [`ExitListener`] receives.
#[cfg(feature = "taskstats")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// A task exited: its final stats.
    Task(TaskStats),
    /// The last task of a multi-threaded group exited: the group's summed delays and times.
    Group(TaskStats),
    /// The socket overflowed (ENOBUFS): exit records were dropped, how many is not known.
    Lost,
}

/// Receives the final taskstats of every task that exits on the given CPUs
/// (`TASKSTATS_CMD_ATTR_REGISTER_CPUMASK`, as `getdelays -m` does); deregisters on drop.
///
/// ```no_run
/// use ktrace_sample::taskstats::{Exit, ExitListener};
/// let mut l = ExitListener::register(None)?;
/// std::process::Command::new("true").status().ok();
/// for e in l.recv(std::time::Duration::from_secs(1))? {
///     if let Exit::Task(t) = e {
///         println!("{} ({}) exited: cpu delay {} ns", t.pid, t.comm, t.cpu.total_ns);
///     }
/// }
/// # Ok::<(), ktrace_sample::Error>(())
/// ```
#[cfg(feature = "taskstats")]
#[doc(alias = "TASKSTATS_CMD_ATTR_REGISTER_CPUMASK")]
pub struct ExitListener {
    sock: neli::socket::synchronous::NlSocketHandle,
    family: u16,
    cpus: String,
    /// Exit records that arrived before the registration's acknowledgement.
    pending: Vec<Exit>,
}

/// The call an [`ExitListener`] registration is named by in errors.
#[cfg(feature = "taskstats")]
const CALL_REGISTER: &str = "netlink(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK)";

#[cfg(feature = "taskstats")]
impl std::fmt::Debug for ExitListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitListener").field("family", &self.family).field("cpus", &self.cpus).finish()
    }
}

#[cfg(feature = "taskstats")]
fn cpumask_msg(
    family: u16,
    attr: u16,
    cpus: &str,
    flags: NlmF,
) -> Result<neli::nl::Nlmsghdr<u16, Genlmsghdr<u8, u16>>> {
    let mut mask = cpus.as_bytes().to_vec();
    mask.push(0);
    let a = NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(attr).build().map_err(nl)?)
        .nla_payload(mask)
        .build()
        .map_err(nl)?;
    let attrs: GenlBuffer<u16, Buffer> = std::iter::once(a).collect();
    let g =
        GenlmsghdrBuilder::<u8, u16>::default().cmd(TASKSTATS_CMD_GET).version(1).attrs(attrs).build().map_err(nl)?;
    neli::nl::NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags)
        .nl_payload(NlPayload::Payload(g))
        .build()
        .map_err(nl)
}

#[cfg(feature = "taskstats")]
impl ExitListener {
    /// Registers for exits on `cpus` (a cpulist such as `"0-3"`; `None`: every online CPU).
    pub fn register(cpus: Option<&str>) -> Result<ExitListener> {
        let cpus = match cpus {
            Some(c) => c.to_owned(),
            None => std::fs::read_to_string("/sys/devices/system/cpu/online")
                .map_err(|e| Error::io("read", "/sys/devices/system/cpu/online", e))?
                .trim()
                .to_owned(),
        };
        let family = {
            let (router, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty()).map_err(nl)?;
            router.resolve_genl_family("TASKSTATS").map_err(|e| Error::Unsupported {
                feature: "taskstats (CONFIG_TASKSTATS)".into(),
                hint: e.to_string(),
            })?
        };
        let sock =
            neli::socket::synchronous::NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty()).map_err(nl)?;
        // Exits come in bursts; a larger buffer keeps ENOBUFS rare (it is reported when it happens).
        let _ = sock.set_recv_buffer_size(4 << 20);
        // Ask for an acknowledgement: without one a refused registration (EPERM without
        // CAP_NET_ADMIN) is silent and the listener would wait for exits that never come.
        let msg = cpumask_msg(family, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, &cpus, NlmF::REQUEST | NlmF::ACK)?;
        sock.send(&msg).map_err(nl)?;
        let mut l = ExitListener { sock, family, cpus, pending: Vec::new() };
        let what = format!("register cpus {}", l.cpus);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if !crate::sys::readable(&l.sock, left).map_err(|e| Error::io("poll", "taskstats socket", e))? {
                return Err(Error::io(CALL_REGISTER, what, std::io::Error::from_raw_os_error(libc::ETIMEDOUT)));
            }
            let (msgs, _) = l.sock.recv::<u16, Genlmsghdr<u8, u16>>().map_err(nl)?;
            let mut acked = false;
            for m in msgs {
                // Exits on other CPUs may be queued before the acknowledgement: keep them.
                match m.map_err(nl)?.nl_payload() {
                    NlPayload::Ack(_) => acked = true,
                    NlPayload::Err(e) => {
                        // Registered nothing: do not send a deregistration on drop.
                        l.cpus.clear();
                        return Err(refused(CALL_REGISTER, &what, None, -*e.error()));
                    }
                    NlPayload::Payload(p) => {
                        for (group, s) in stats_in(p)? {
                            l.pending.push(if group { Exit::Group(s) } else { Exit::Task(s) });
                        }
                    }
                    _ => {}
                }
            }
            if acked {
                return Ok(l);
            }
        }
    }

    /// Waits up to `timeout` for exit records and returns those that arrived (empty on timeout).
    pub fn recv(&mut self, timeout: std::time::Duration) -> Result<Vec<Exit>> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        if !crate::sys::readable(&self.sock, timeout).map_err(|e| Error::io("poll", "taskstats socket", e))? {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match self.sock.recv::<u16, Genlmsghdr<u8, u16>>() {
            Ok((msgs, _)) => {
                for m in msgs {
                    let m = m.map_err(nl)?;
                    if let Some(p) = m.get_payload() {
                        for (group, s) in stats_in(p)? {
                            out.push(if group { Exit::Group(s) } else { Exit::Task(s) });
                        }
                    }
                }
            }
            Err(neli::err::SocketError::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => out.push(Exit::Lost),
            Err(e) => return Err(nl(e)),
        }
        Ok(out)
    }
}

#[cfg(feature = "taskstats")]
impl Drop for ExitListener {
    fn drop(&mut self) {
        if self.cpus.is_empty() {
            return;
        }
        if let Ok(m) = cpumask_msg(self.family, TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, &self.cpus, NlmF::REQUEST) {
            let _ = self.sock.send(&m);
        }
    }
}

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
        assert_eq!(t.cpu.max_ns, 0, "no max before v15");
        // A payload ending at a field boundary is an older layout: the later fields are zero.
        let short = TaskStats::parse(&b[..80]).unwrap();
        assert_eq!((short.wpcopy, short.comm.as_str(), short.blkio.total_ns), (Delay::default(), "", 777));
        // One ending inside a field is malformed, naming the field (comm at 80), never zeros.
        match TaskStats::parse(&b[..100]) {
            Err(Error::Malformed { offset: 80, expected, .. }) => {
                assert_eq!(expected, "32 bytes for a char[] field, found 20")
            }
            r => panic!("{r:?}"),
        }
        match TaskStats::parse(&[1]) {
            Err(Error::Malformed { offset: 1, .. }) => {}
            r => panic!("{r:?}"),
        }
    }

    fn put(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    #[test]
    fn v17_when_each_maximum_happened() {
        // As Debian sid's 7.2 sent it: 688 bytes, timespecs from byte 560.
        let mut b = vec![0u8; 688];
        b[0..2].copy_from_slice(&17u16.to_ne_bytes());
        put(&mut b, 432, 5000); // cpu_delay_max (v16 place)
        put(&mut b, 560, 0x6b08_51d3); // cpu_delay_max_ts.tv_sec
        put(&mut b, 568, 0x2995_0791); // .tv_nsec
        put(&mut b, 576 + 16, 7); // swapin (third) .tv_sec
        let t = TaskStats::parse(&b).unwrap();
        assert_eq!((t.version, t.cpu.max_ns), (17, 5000));
        assert_eq!(t.cpu.max_at_ns, 0x6b08_51d3 * 1_000_000_000 + 0x2995_0791);
        assert_eq!((t.blkio.max_at_ns, t.swapin.max_at_ns), (0, 7_000_000_000));
        // A v16 payload of the same bytes has no times.
        b[0..2].copy_from_slice(&16u16.to_ne_bytes());
        assert_eq!(TaskStats::parse(&b).unwrap().cpu.max_at_ns, 0);
    }

    #[test]
    fn v15_interleaved_and_v16_appended_max_min() {
        // Same values, placed by each version's layout.
        let mut v15 = vec![0u8; 560];
        v15[0..2].copy_from_slice(&15u16.to_ne_bytes());
        put(&mut v15, 16, 3); // cpu_count
        put(&mut v15, 24, 300); // cpu_delay_total
        put(&mut v15, 32, 200); // cpu_delay_max
        put(&mut v15, 40, 40); // cpu_delay_min
        put(&mut v15, 48, 2); // blkio_count
        put(&mut v15, 112, 123_456); // cpu_run_real_total
        v15[128..131].copy_from_slice(b"fio");
        v15[176..180].copy_from_slice(&77u32.to_ne_bytes()); // ac_pid
        put(&mut v15, 320, 9); // nvcsw
        put(&mut v15, 528, 1); // irq_count
        put(&mut v15, 544, 5); // irq_delay_max
        let mut v16 = vec![0u8; 560];
        v16[0..2].copy_from_slice(&16u16.to_ne_bytes());
        put(&mut v16, 16, 3);
        put(&mut v16, 24, 300);
        put(&mut v16, 432, 200);
        put(&mut v16, 440, 40);
        put(&mut v16, 32, 2);
        put(&mut v16, 64, 123_456);
        v16[80..83].copy_from_slice(b"fio");
        v16[128..132].copy_from_slice(&77u32.to_ne_bytes());
        put(&mut v16, 272, 9);
        put(&mut v16, 416, 1);
        put(&mut v16, 544, 5);
        for b in [&v15, &v16] {
            let t = TaskStats::parse(b).unwrap();
            let cpu = Delay { count: 3, total_ns: 300, max_ns: 200, min_ns: 40, max_at_ns: 0 };
            assert_eq!((t.cpu, t.blkio.count, t.cpu_run_real_ns, t.comm.as_str()), (cpu, 2, 123_456, "fio"));
            assert_eq!((t.pid, t.nvcsw, t.irq.count, t.irq.max_ns, t.cpu.avg_ns()), (77, 9, 1, 5, 100));
        }
    }
}
