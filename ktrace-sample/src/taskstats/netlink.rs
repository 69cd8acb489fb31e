//! The TASKSTATS generic-netlink side (feature `taskstats`): [`query`] of one task or thread group,
//! and the per-CPU exit notices of [`ExitListener`].

use neli::{
    consts::{nl::NlmF, socket::NlFamily},
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder},
    nl::NlPayload,
    router::synchronous::NlRouter,
    types::{Buffer, GenlBuffer},
    utils::Groups,
};

use ktrace_core::{Clock, Stamped, Timestamp};

use super::TaskStats;
use crate::error::{Error, Result};

const TASKSTATS_CMD_GET: u8 = 1;
const TASKSTATS_CMD_ATTR_PID: u16 = 1;
const TASKSTATS_CMD_ATTR_TGID: u16 = 2;
const TASKSTATS_CMD_ATTR_REGISTER_CPUMASK: u16 = 3;
const TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK: u16 = 4;
const TASKSTATS_TYPE_TGID: u16 = 2;
const TASKSTATS_TYPE_STATS: u16 = 3;
const TASKSTATS_TYPE_AGGR_PID: u16 = 4;
const TASKSTATS_TYPE_AGGR_TGID: u16 = 5;

fn nl(e: impl std::fmt::Display) -> Error {
    Error::io("netlink", "TASKSTATS family", std::io::Error::other(e.to_string()))
}

/// A `TASKSTATS_CMD_GET` message with the one attribute `attr` = `payload`.
fn get_msg(attr: u16, payload: impl neli::Size + neli::ToBytes) -> Result<Genlmsghdr<u8, u16>> {
    let a = NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(attr).build().map_err(nl)?)
        .nla_payload(payload)
        .build()
        .map_err(nl)?;
    let attrs: GenlBuffer<u16, Buffer> = std::iter::once(a).collect();
    GenlmsghdrBuilder::<u8, u16>::default().cmd(TASKSTATS_CMD_GET).version(1).attrs(attrs).build().map_err(nl)
}

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
#[doc(alias = "TASKSTATS_CMD_GET")]
#[doc(alias = "TASKSTATS_CMD_ATTR_PID")]
#[doc(alias = "TASKSTATS_CMD_ATTR_TGID")]
pub fn query(pid: u32, tgid: bool) -> Result<TaskStats> {
    let (sock, _) = NlRouter::connect(NlFamily::Generic, None, Groups::empty()).map_err(nl)?;
    let family = sock
        .resolve_genl_family("TASKSTATS")
        .map_err(|e| Error::Unsupported { feature: "taskstats (CONFIG_TASKSTATS)".into(), hint: e.to_string() })?;
    let msg = get_msg(if tgid { TASKSTATS_CMD_ATTR_TGID } else { TASKSTATS_CMD_ATTR_PID }, pid)?;
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
fn stats_in(p: &Genlmsghdr<u8, u16>) -> Result<Vec<(bool, TaskStats)>> {
    let mut out = Vec::new();
    for a in p.attrs().iter() {
        let t = *a.nla_type().nla_type();
        if t == TASKSTATS_TYPE_AGGR_PID || t == TASKSTATS_TYPE_AGGR_TGID {
            let nested = a.get_attr_handle::<u16>().map_err(nl)?;
            // A group's stats leave their ids zero: its tgid is the attribute before them.
            let mut tgid = None;
            for inner in nested.iter() {
                let it = *inner.nla_type().nla_type();
                if it == TASKSTATS_TYPE_STATS {
                    let mut s = TaskStats::parse(inner.nla_payload().as_ref())?;
                    if s.tgid == 0
                        && let Some(id) = tgid
                    {
                        s.tgid = id;
                    }
                    out.push((t == TASKSTATS_TYPE_AGGR_TGID, s));
                } else if it == TASKSTATS_TYPE_TGID {
                    tgid = <[u8; 4]>::try_from(inner.nla_payload().as_ref()).ok().map(u32::from_ne_bytes);
                }
            }
        }
    }
    Ok(out)
}

/// What an [`ExitListener`] receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// A task exited: its final stats.
    Task(TaskStats),
    /// The last task of a multi-threaded group exited: the group's summed delays and times, its
    /// id in `tgid` (the kernel leaves the record's own ids zero; the listener fills `tgid` from
    /// the message's `TASKSTATS_TYPE_TGID`).
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
#[doc(alias = "TASKSTATS_CMD_ATTR_REGISTER_CPUMASK")]
pub struct ExitListener {
    sock: neli::socket::synchronous::NlSocketHandle,
    family: u16,
    cpus: String,
    /// Exit records that arrived before the registration's acknowledgement.
    pending: Vec<Exit>,
    /// `CLOCK_MONOTONIC` when the registration was acknowledged (the stamp of `pending`).
    registered_ns: u64,
}

/// The call an [`ExitListener`] registration is named by in errors.
const CALL_REGISTER: &str = "netlink(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK)";

impl std::fmt::Debug for ExitListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExitListener").field("family", &self.family).field("cpus", &self.cpus).finish()
    }
}

fn cpumask_msg(
    family: u16,
    attr: u16,
    cpus: &str,
    flags: NlmF,
) -> Result<neli::nl::Nlmsghdr<u16, Genlmsghdr<u8, u16>>> {
    let mut mask = cpus.as_bytes().to_vec();
    mask.push(0);
    neli::nl::NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(flags)
        .nl_payload(NlPayload::Payload(get_msg(attr, mask)?))
        .build()
        .map_err(nl)
}

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
        let mut l = ExitListener { sock, family, cpus, pending: Vec::new(), registered_ns: 0 };
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
                l.registered_ns = crate::sys::monotonic_ns();
                return Ok(l);
            }
        }
    }

    /// Waits up to `timeout` for exit records and returns those that arrived (empty on timeout).
    pub fn recv(&mut self, timeout: std::time::Duration) -> Result<Vec<Exit>> {
        Ok(self.recv_stamped(timeout)?.into_iter().map(|s| s.event).collect())
    }

    /// [`ExitListener::recv`] with the time each record was received: when the socket read
    /// returned, on `CLOCK_MONOTONIC` (a taskstats record carries no time of its own; the task
    /// exited shortly before, by the netlink delivery latency). Records that arrived during
    /// [`ExitListener::register`] carry the time of its acknowledgement.
    #[doc(alias = "CLOCK_MONOTONIC")]
    pub fn recv_stamped(&mut self, timeout: std::time::Duration) -> Result<Vec<Stamped<Exit>>> {
        if !self.pending.is_empty() {
            let ts = Timestamp::new(self.registered_ns, Clock::Mono);
            return Ok(std::mem::take(&mut self.pending).into_iter().map(|event| Stamped { ts, event }).collect());
        }
        Ok(self
            .read_exits(timeout)?
            .map(|(ts, exits)| {
                let ts = Timestamp::new(ts, Clock::Mono);
                exits.into_iter().map(|event| Stamped { ts, event }).collect()
            })
            .unwrap_or_default())
    }

    /// One socket read's records and when it returned; `None` on timeout.
    fn read_exits(&mut self, timeout: std::time::Duration) -> Result<Option<(u64, Vec<Exit>)>> {
        if !crate::sys::readable(&self.sock, timeout).map_err(|e| Error::io("poll", "taskstats socket", e))? {
            return Ok(None);
        }
        let mut out = Vec::new();
        let got = self.sock.recv::<u16, Genlmsghdr<u8, u16>>();
        let ts = crate::sys::monotonic_ns();
        match got {
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
        Ok(Some((ts, out)))
    }
}

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
