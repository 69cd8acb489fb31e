//! Slices, instants and counters on tracks of their own, beside the ftrace events: probe hits,
//! syscalls seen by ptrace, block I/Os of the blk tracer, perf counters, taskstats delays,
//! `/proc` readings. [`Perfetto`](crate::Perfetto) and [`ChromeJson`](crate::ChromeJson) are
//! both [`Tracks`], so a session (or any program) writes one stream to either.
//!
//! Probe hits in the ftrace stream become slices by themselves: a
//! kprobe/uprobe entry (an event whose format has `__probe_ip`) opens a slice on its thread, and
//! the return probe of the same function (`__probe_func` equal to the entry's `__probe_ip`, on
//! the same thread) closes it; a hit that no return closes is an instant. A thread holds at most
//! 64 open entries per function (older ones become instants), so memory stays bounded.

use ktrace_ftrace::Event;

use crate::Writer;
use crate::error::Result;

/// A thread: its thread group (`tgid`, the process) and its own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thread {
    /// The process (thread group id).
    pub tgid: i32,
    /// The thread.
    pub tid: i32,
}

/// A value attached to a slice or an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// Text.
    Str(&'a str),
}

/// A slice on a thread's track, from `start_ns` to `end_ns`.
#[derive(Debug, Clone, Copy)]
pub struct Slice<'a> {
    /// Whose track.
    pub thread: Thread,
    /// Its name (`openat`, the probe's event name).
    pub name: &'a str,
    /// Its category (`syscall`, the probe group).
    pub cat: &'a str,
    /// Start, ns.
    pub start_ns: u64,
    /// End, ns.
    pub end_ns: u64,
    /// Named values shown with it.
    pub args: &'a [(&'a str, Arg<'a>)],
}

/// An instant: on a thread's track, or (`thread` `None`) on a global track named by `cat`.
#[derive(Debug, Clone, Copy)]
pub struct Mark<'a> {
    /// Whose track (`None`: the global track `cat`).
    pub thread: Option<Thread>,
    /// Its name.
    pub name: &'a str,
    /// Its category.
    pub cat: &'a str,
    /// When, ns.
    pub ts_ns: u64,
    /// Named values shown with it.
    pub args: &'a [(&'a str, Arg<'a>)],
}

/// One value of a counter track: the track `name` of process `pid` (or global).
#[derive(Debug, Clone, Copy)]
pub struct Count<'a> {
    /// The track's name (`task-clock`, `blkio delay`).
    pub name: &'a str,
    /// Its unit (`ns`, `count`), named with the track.
    pub unit: &'a str,
    /// The process it belongs to (`None`: a global counter).
    pub pid: Option<i32>,
    /// When, ns.
    pub ts_ns: u64,
    /// The value.
    pub value: f64,
}

/// A block I/O request's issue or completion, as the blk tracer (`D`, `C`) or the block
/// tracepoints see it.
#[derive(Debug, Clone, Copy)]
pub struct BlockIo<'a> {
    /// When, ns.
    pub ts_ns: u64,
    /// The device, as the kernel's `dev_t` (major << 20 | minor).
    pub dev: u32,
    /// First sector.
    pub sector: u64,
    /// Sectors.
    pub nr_sector: u32,
    /// blkparse's RWBS text (`WS`, `R`).
    pub rwbs: &'a [u8],
    /// `None` at issue; the error (0: none) at completion.
    pub complete: Option<i32>,
}

/// A writer that draws slices, instants and counters on tracks of their own.
pub trait Tracks: Writer {
    /// Says which process `tid` belongs to (threads not told are their own process, unless the
    /// trace's `task_newtask` events say otherwise).
    fn thread_group(&mut self, tid: i32, tgid: i32);
    /// Writes a slice on a thread's track.
    fn slice(&mut self, s: &Slice<'_>) -> Result<()>;
    /// Writes an instant.
    fn instant(&mut self, m: &Mark<'_>) -> Result<()>;
    /// Writes a counter value.
    fn counter(&mut self, c: &Count<'_>) -> Result<()>;
    /// Writes a block request's issue or completion (an issue → completion pair is a slice on
    /// its device's track).
    fn block(&mut self, b: &BlockIo<'_>) -> Result<()>;
    /// Writes a perf sample with its call chain, leaf first (JSON: an instant named by the
    /// leaf).
    fn sample(&mut self, ts: u64, cpu: u32, thread: Thread, frames: &mut dyn Iterator<Item = &str>) -> Result<()>;
}

/// What an event id is, to [`Probes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    Other,
    /// An entry probe (`__probe_ip`).
    Entry,
    /// A return probe (`__probe_func`, `__probe_ret_ip`).
    Return,
}

/// Entries a thread may hold open per function before the oldest is written as an instant
/// (bounds memory for an entry probe without a return probe).
const DEPTH: usize = 64;

/// A probe hit that became a slice or an instant ([`Probes::hit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hit {
    /// Entry (event id `id`) at `start`, return at `end` (`None`: unfinished at the end).
    Slice { tid: i32, id: u16, start: u64, end: Option<u64> },
    /// A hit nothing closed (event id `id`).
    Instant { tid: i32, id: u16, ts: u64 },
}

/// Pairs probe hits: entries per (thread, function) on a stack, closed by the return probe of
/// the function. Memory: the open entries (at most [`DEPTH`] per thread and function) and a name
/// per probe.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    kinds: Vec<Kind>,
    /// Event name and system by id, of the probes seen.
    names: foldhash::HashMap<u16, (String, String)>,
    open: foldhash::HashMap<(i32, u64), std::collections::VecDeque<(u64, u16)>>,
    /// Functions whose return probe has hit.
    returns: foldhash::HashSet<u64>,
}

impl Probes {
    fn kind(&mut self, ev: &Event<'_>) -> Kind {
        let id = ev.id() as usize;
        if self.kinds.len() <= id {
            self.kinds.resize(id + 1, Kind::Unknown);
        }
        let k = self.kinds.get(id).copied().unwrap_or(Kind::Other);
        if k != Kind::Unknown {
            return k;
        }
        let has = |n: &str| ev.format.fields.iter().any(|f| f.name == n);
        let k = if has("__probe_ip") {
            Kind::Entry
        } else if has("__probe_func") && has("__probe_ret_ip") {
            Kind::Return
        } else {
            Kind::Other
        };
        if k != Kind::Other {
            self.names.insert(ev.id(), (ev.name().to_owned(), ev.system().to_owned()));
        }
        if let Some(s) = self.kinds.get_mut(id) {
            *s = k;
        }
        k
    }

    /// A probe's event name and system (group) by id.
    pub(crate) fn name(&self, id: u16) -> (&str, &str) {
        self.names.get(&id).map_or(("probe", "probe"), |(n, s)| (n.as_str(), s.as_str()))
    }

    /// The slice or instant `ev` completes, if it is a probe hit that does.
    #[inline]
    pub(crate) fn hit(&mut self, ev: &Event<'_>) -> Option<Hit> {
        let kind = self.kind(ev);
        if kind == Kind::Other {
            return None;
        }
        let (tid, ts, id) = (ev.pid(), ev.timestamp().ns, ev.id());
        match kind {
            Kind::Entry => {
                let func = ev.int("__probe_ip").ok()? as u64;
                let stack = self.open.entry((tid, func)).or_default();
                stack.push_back((ts, id));
                if stack.len() > DEPTH {
                    let (start, id) = stack.pop_front()?;
                    return Some(Hit::Instant { tid, id, ts: start });
                }
                None
            }
            Kind::Return => {
                let func = ev.int("__probe_func").ok()? as u64;
                self.returns.insert(func);
                match self.open.get_mut(&(tid, func)).and_then(std::collections::VecDeque::pop_back) {
                    Some((start, entry)) => Some(Hit::Slice { tid, id: entry, start, end: Some(ts) }),
                    None => Some(Hit::Instant { tid, id, ts }),
                }
            }
            _ => None,
        }
    }

    /// The entries still open at the end: unfinished slices of functions whose return probe
    /// hit, instants of the others (by time).
    pub(crate) fn finish(&mut self) -> Vec<Hit> {
        let mut out: Vec<Hit> = Vec::new();
        for ((tid, func), stack) in self.open.drain() {
            for (start, id) in stack {
                out.push(match self.returns.contains(&func) {
                    true => Hit::Slice { tid, id, start, end: None },
                    false => Hit::Instant { tid, id, ts: start },
                });
            }
        }
        out.sort_unstable_by_key(|h| match *h {
            Hit::Slice { tid, start, .. } => (start, tid),
            Hit::Instant { tid, ts, .. } => (ts, tid),
        });
        out
    }
}

impl Hit {
    /// The thread hit.
    pub(crate) fn tid(&self) -> i32 {
        match *self {
            Hit::Slice { tid, .. } | Hit::Instant { tid, .. } => tid,
        }
    }
}

/// Writes what a probe hit completed: a slice (unfinished ones end at `last_ts`, arg
/// `unfinished`) or an instant on the thread's track, in process `tgid`.
pub(crate) fn write_hit<T: Tracks + ?Sized>(
    w: &mut T,
    probes: &Probes,
    hit: Hit,
    tgid: i32,
    last_ts: u64,
) -> Result<()> {
    match hit {
        Hit::Slice { tid, id, start, end } => {
            let (name, cat) = probes.name(id);
            let unfinished = [("unfinished", Arg::Uint(1))];
            let args: &[(&str, Arg<'_>)] = if end.is_none() { &unfinished } else { &[] };
            let thread = Thread { tgid, tid };
            w.slice(&Slice { thread, name, cat, start_ns: start, end_ns: end.unwrap_or(last_ts).max(start), args })
        }
        Hit::Instant { tid, id, ts } => {
            let (name, cat) = probes.name(id);
            let thread = Some(Thread { tgid, tid });
            w.instant(&Mark { thread, name, cat, ts_ns: ts, args: &[] })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use crate::testing::{self, PROBE, PROBE_RET, probe};

    /// What `records` complete, in order, then what [`Probes::finish`] closes.
    fn hits(records: &[(u64, u32, Vec<u8>)]) -> Vec<Hit> {
        let dec = testing::decoder();
        let mut p = Probes::default();
        let mut out: Vec<Hit> = records.iter().filter_map(|r| p.hit(&testing::event(&dec, r))).collect();
        out.extend(p.finish());
        assert_eq!(p.name(PROBE), ("work", "x"));
        out
    }

    /// Nested calls (recursion) close innermost first; a return without its entry is an instant;
    /// an entry left open is unfinished when its function has returned, else an instant.
    #[test]
    fn entries_and_returns_pair_per_thread_and_function() {
        let got = hits(&[
            probe(1, 7, 0x100, false),
            probe(2, 7, 0x100, false),
            probe(3, 8, 0x100, false),
            probe(4, 7, 0x100, true),
            probe(5, 7, 0x100, true),
            probe(6, 9, 0x100, true),
            probe(7, 7, 0x200, false),
        ]);
        assert_eq!(
            got,
            [
                Hit::Slice { tid: 7, id: PROBE, start: 2, end: Some(4) },
                Hit::Slice { tid: 7, id: PROBE, start: 1, end: Some(5) },
                Hit::Instant { tid: 9, id: PROBE_RET, ts: 6 },
                Hit::Slice { tid: 8, id: PROBE, start: 3, end: None },
                Hit::Instant { tid: 7, id: PROBE, ts: 7 },
            ]
        );
    }

    /// An entry probe whose return never comes holds at most DEPTH hits per thread: older ones
    /// are written as instants as new ones come.
    #[test]
    fn entries_without_returns_are_bounded() {
        let recs: Vec<_> = (0..DEPTH as u64 + 3).map(|t| probe(t, 7, 0x300, false)).collect();
        let got = hits(&recs);
        assert_eq!(got.len(), DEPTH + 3);
        assert_eq!(&got[..3], [0, 1, 2].map(|ts| Hit::Instant { tid: 7, id: PROBE, ts }));
        assert!(got.iter().all(|h| matches!(h, Hit::Instant { .. })));
    }
}
