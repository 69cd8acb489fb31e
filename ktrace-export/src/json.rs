//! Chrome Trace Event JSON, as chrome://tracing, Perfetto UI and speedscope open it.
//!
//! Layout (format reference: "Trace Event Format", the Google doc linked from catapult's
//! `tracing/docs`): one `"traceEvents"` array, timestamps in microseconds with nanosecond
//! decimals, `"displayTimeUnit": "ns"`.
//! - Threads are in their process: `pid` = the thread group when known (a `task_newtask` with
//!   `CLONE_THREAD` puts the new thread in its creator's group;
//!   [`Tracks::thread_group`](crate::tracks::Tracks::thread_group) tells
//!   it), else the thread's own id; named by `process_name`/`thread_name` metadata (`"ph": "M"`)
//!   from the saved cmdlines and every comm the events carry (a rename emits it again).
//! - CPUs are the threads of a process named `CPUs` (pid [`CPU_PID`], tid = cpu): each
//!   `sched_switch` closes a slice (`"ph": "X"`, cat `sched`) named by the task that ran, from its
//!   switch-in to this switch (args `tid`, `prio`, `prev_state`); the task running at the end is
//!   closed at the last timestamp.
//! - `raw_syscalls` `sys_enter`/`sys_exit` pairs are slices on the thread's track (cat `syscall`,
//!   named by the syscall, args `nr`, `ret`); an exit without an entry is an instant, an entry
//!   without an exit a slice to the end with arg `unfinished`.
//! - Every other event is a thread-scoped instant (`"ph": "i"`) named by the event, cat = its
//!   system, args = its fields (integers as numbers, strings as strings, arrays as hex).
//! - Losses are process-scoped instants `lost events` on the CPU's track, args `cpu`, `count`.
//! - Block requests (`block_rq_issue` → `block_rq_complete`) are also slices on their device's
//!   lanes, probe hits (entry → return) slices on their thread, and [`Tracks`](crate::Tracks) users add slices,
//!   instants and counters (`"ph": "C"`): see [`tracks`].

use std::io::Write;

use ktrace_core::{Lost, Value};
use ktrace_ftrace::{Event, Typed, syscall_name};

use crate::Writer;
use crate::error::Result;
use crate::names::{Comm, Out, Threads, each_comm, hex};
use crate::sink::Sink;
#[path = "json_tracks.rs"]
pub mod tracks;
pub use tracks::{BLOCK_PID, GLOBAL_PID};

/// The pid of the synthetic process whose threads are the CPUs (outside the kernel's pid range,
/// `PID_MAX_LIMIT` = 4M).
pub const CPU_PID: i64 = 1 << 30;

/// A task on a CPU since `start`.
#[derive(Debug, Clone, Copy)]
struct Running {
    tid: i32,
    prio: i32,
    comm: Comm,
    start: u64,
}

/// Streams Chrome Trace Event JSON to `W`.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ktrace_export::{ChromeJson, Writer};
/// let dat = ktrace_ftrace::TraceDat::parse(&std::fs::read("trace.dat")?)?;
/// let mut w = ChromeJson::new(std::fs::File::create("trace.json")?).with_names(&dat.comms());
/// ktrace_export::write_recording(&dat.recording()?, &mut w)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ChromeJson<W: Sink> {
    out: Out<W>,
    started: bool,
    first: bool,
    threads: Threads,
    cpus: Vec<Option<Running>>,
    cpus_named: Vec<bool>,
    tracks: tracks::JsonTracks,
    syscalls: SysThreads,
    /// Per syscall number below [`NAMED_SYSCALLS`], a slice's text from after its `{` to the
    /// pid, and its args' opening with the number (written once per number, not per slice).
    syscall_text: Vec<Option<SyscallText>>,
    last_ts: u64,
    /// The whole seconds of the last full timestamp written, as text.
    secs: Secs,
}

/// A thread's syscall state.
#[derive(Debug, Clone, Copy)]
struct SysThread {
    tid: i32,
    /// `(nr, start)` of the call it is in.
    open: Option<(i64, u64)>,
    /// Its slices' `P,"tid":T,"ts":`, written once per thread (again if its process changes).
    ids: Ids,
}

/// Per thread, the syscall it is in and its slices' ids: a slot per thread, kept while empty
/// between calls (a call is a lookup, not an insert and a remove), found through each CPU's last
/// thread before the `tid -> slot` table (a CPU's syscall events come in runs of one thread).
#[derive(Debug, Default)]
struct SysThreads {
    slots: Vec<SysThread>,
    index: foldhash::HashMap<i32, u32>,
    /// Per CPU, `(tid, slot)` of its last syscall event.
    last: Vec<Option<(i32, u32)>>,
}

impl SysThreads {
    /// The state of `tid` in process `tgid`, whose event `cpu` recorded (its ids written again
    /// if its process changed).
    #[inline]
    fn get(&mut self, cpu: u32, tid: i32, tgid: i32) -> Option<&mut SysThread> {
        let slot = match self.last.get(cpu as usize) {
            Some(&Some((t, slot))) if t == tid => slot,
            _ => self.find(cpu, tid, tgid),
        };
        let t = self.slots.get_mut(slot as usize)?;
        if t.ids.tgid != tgid {
            t.ids = Ids::new(tgid, tid);
        }
        Some(t)
    }

    /// The slot of `tid` through the table (made if new), now `cpu`'s last.
    #[cold]
    fn find(&mut self, cpu: u32, tid: i32, tgid: i32) -> u32 {
        let next = self.slots.len() as u32;
        let slot = *self.index.entry(tid).or_insert(next);
        if slot == next {
            self.slots.push(SysThread { tid, open: None, ids: Ids::new(tgid, tid) });
        }
        if self.last.len() <= cpu as usize {
            self.last.resize(cpu as usize + 1, None);
        }
        if let Some(last) = self.last.get_mut(cpu as usize) {
            *last = Some((tid, slot));
        }
        slot
    }
}

/// `P,"tid":T,"ts":` of a thread `T` in process `P` (the text between a syscall slice's head
/// and its timestamp).
#[derive(Debug, Clone, Copy)]
struct Ids {
    tgid: i32,
    len: u8,
    /// Two i32 (11 bytes each) and the 13 between.
    text: [u8; 35],
}

impl Ids {
    fn new(tgid: i32, tid: i32) -> Ids {
        let mut ids = Ids { tgid, len: 0, text: [0; 35] };
        let mut c = std::io::Cursor::new(&mut ids.text[..]);
        // 35 bytes hold both numbers at their longest.
        let _ = write!(c, "{tgid},\"tid\":{tid},\"ts\":");
        ids.len = c.position() as u8;
        ids
    }

    fn as_bytes(&self) -> &[u8] {
        self.text.get(..self.len as usize).unwrap_or_default()
    }
}

/// Whole seconds as text, kept while timestamps stay in the same second.
#[derive(Debug, Clone, Copy, Default)]
struct Secs {
    secs: u64,
    len: u8,
    text: [u8; 20],
}

/// Syscall numbers whose slice text is kept (every syscall of the native tables).
const NAMED_SYSCALLS: usize = 1024;

/// A syscall slice's fixed text: `"ph":"X","name":…,"cat":"syscall","pid":` and
/// `,"args":{"nr":N`.
#[derive(Debug)]
struct SyscallText {
    head: Box<[u8]>,
    args: Box<[u8]>,
}

impl SyscallText {
    fn new(nr: i64) -> SyscallText {
        let mut scratch = [0u8; 40];
        let mut head = b"\"ph\":\"X\",\"name\":".to_vec();
        string(&mut head, syscall_label(nr, &mut scratch));
        head.extend_from_slice(b",\"cat\":\"syscall\",\"pid\":");
        let mut args = b",\"args\":{\"nr\":".to_vec();
        num(&mut args, nr);
        SyscallText { head: head.into(), args: args.into() }
    }
}

impl<W: Sink> ChromeJson<W> {
    /// A writer to `w` (buffered inside: pass a `File`, not a `BufWriter`; or a
    /// [`Background`](crate::Background) to write the file on a thread of its own).
    pub fn new(w: W) -> ChromeJson<W> {
        ChromeJson {
            out: Out::new(w, "the JSON trace"),
            started: false,
            first: true,
            threads: Threads::default(),
            cpus: Vec::new(),
            cpus_named: Vec::new(),
            syscalls: SysThreads::default(),
            tracks: tracks::JsonTracks::default(),
            syscall_text: Vec::new(),
            last_ts: 0,
            secs: Secs::default(),
        }
    }

    /// Names threads up front (`pid -> comm`, e.g. [`ktrace_ftrace::TraceDat::comms`]).
    pub fn with_names(mut self, names: &std::collections::BTreeMap<i32, String>) -> ChromeJson<W> {
        for (tid, comm) in names {
            self.name_thread(*tid, comm.as_bytes());
        }
        self
    }

    fn begin(&mut self) {
        if !self.started {
            self.started = true;
            self.out.buf.extend_from_slice(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
            self.meta("process_name", CPU_PID, 0, b"CPUs");
        }
    }

    /// Starts one trace event object (with the separating comma).
    #[inline]
    fn open(&mut self) {
        if self.first {
            self.first = false;
            self.out.buf.push(b'{');
        } else {
            self.out.buf.extend_from_slice(b",\n{");
        }
    }

    fn name_thread(&mut self, tid: i32, comm: &[u8]) {
        if !self.threads.set(tid, comm) {
            return;
        }
        self.begin();
        let pid = self.tgid_of(tid);
        if pid == tid {
            self.meta("process_name", pid as i64, tid as i64, comm);
        }
        self.meta("thread_name", pid as i64, tid as i64, comm);
    }

    /// A metadata event (`process_name`, `thread_name`) naming a track.
    fn meta(&mut self, kind: &str, pid: i64, tid: i64, name: &[u8]) {
        self.start(b"M", kind.as_bytes(), pid, tid);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"args\":{\"name\":");
        string(b, name);
        b.extend_from_slice(b"}}");
    }

    /// Opens an event object with its phase, name, pid and tid; the caller adds the rest and
    /// closes it.
    fn start(&mut self, ph: &[u8], name: &[u8], pid: i64, tid: i64) {
        self.open();
        let b = &mut self.out.buf;
        b.extend_from_slice(b"\"ph\":\"");
        b.extend_from_slice(ph);
        b.extend_from_slice(b"\",\"name\":");
        string(b, name);
        b.extend_from_slice(b",\"pid\":");
        num(b, pid);
        b.extend_from_slice(b",\"tid\":");
        num(b, tid);
    }

    fn name_cpu(&mut self, cpu: u32) {
        let i = cpu as usize;
        if self.cpus_named.len() <= i {
            self.cpus_named.resize(i + 1, false);
            self.cpus.resize(i + 1, None);
        }
        if let Some(named) = self.cpus_named.get_mut(i).filter(|n| !**n) {
            *named = true;
            self.meta("thread_name", CPU_PID, cpu as i64, format!("CPU {cpu}").as_bytes());
        }
    }

    /// `"ph":"X"` (or another phase) with name, cat, pid, tid and ts; the caller adds the rest
    /// and closes the object.
    fn head(&mut self, ph: &[u8], name: &[u8], cat: &str, pid: i64, tid: i64, ts: u64) {
        self.start(ph, name, pid, tid);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"cat\":");
        string(b, cat.as_bytes());
        b.extend_from_slice(b",\"ts\":");
        timestamp(b, &mut self.secs, ts);
    }

    fn cpu_slice(&mut self, cpu: u32, r: Running, end: u64, prev_state: Option<i64>) {
        self.head(b"X", r.comm.as_bytes(), "sched", CPU_PID, cpu as i64, r.start);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"dur\":");
        micros(b, end.saturating_sub(r.start));
        b.extend_from_slice(b",\"args\":{\"tid\":");
        num(b, r.tid);
        b.extend_from_slice(b",\"prio\":");
        num(b, r.prio);
        if let Some(s) = prev_state {
            b.extend_from_slice(b",\"prev_state\":");
            num(b, s);
        }
        b.extend_from_slice(b"}}");
    }

    fn syscall_slice(&mut self, ids: &Ids, nr: i64, start: u64, end: u64, ret: Option<i64>) {
        let cached = usize::try_from(nr).ok().filter(|n| *n < NAMED_SYSCALLS);
        if let Some(n) = cached
            && self.syscall_text.len() <= n
        {
            self.syscall_text.resize_with(n + 1, || None);
        }
        self.open();
        let mut fresh = None;
        let text = match cached.and_then(|n| self.syscall_text.get_mut(n)) {
            Some(slot) => &*slot.get_or_insert_with(|| SyscallText::new(nr)),
            None => fresh.insert(SyscallText::new(nr)),
        };
        let b = &mut self.out.buf;
        b.extend_from_slice(&text.head);
        b.extend_from_slice(ids.as_bytes());
        timestamp(b, &mut self.secs, start);
        b.extend_from_slice(b",\"dur\":");
        micros(b, end.saturating_sub(start));
        b.extend_from_slice(&text.args);
        match ret {
            Some(r) => {
                b.extend_from_slice(b",\"ret\":");
                num(b, r);
            }
            None => b.extend_from_slice(b",\"unfinished\":true"),
        }
        b.extend_from_slice(b"}}");
    }

    fn instant(&mut self, ev: &Event<'_>) {
        let tid = ev.pid();
        self.head(b"i", ev.name().as_bytes(), ev.system(), self.tgid_of(tid) as i64, tid as i64, ev.timestamp().ns);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"s\":\"t\",\"args\":{");
        for (i, (name, v)) in ev.fields().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            string(b, name.as_bytes());
            b.push(b':');
            match v {
                Ok(Value::Unsigned(u)) => num(b, u),
                Ok(Value::Signed(s)) => num(b, s),
                Ok(Value::Str(s)) => string(b, s),
                Ok(Value::Array(a)) => {
                    b.extend_from_slice(b"\"0x");
                    hex(a, |c| b.push(c));
                    b.push(b'"');
                }
                Err(_) => b.extend_from_slice(b"null"),
            }
        }
        b.extend_from_slice(b"}}");
    }
}

impl<W: Sink> Writer for ChromeJson<W> {
    fn event(&mut self, ev: &Event<'_>) -> Result<()> {
        self.begin();
        let ts = ev.timestamp().ns;
        self.last_ts = self.last_ts.max(ts);
        let cpu = ev.cpu();
        // Read where the decoder returned it: moving it out of the `Result` is a copy that
        // stalls on the stores that just wrote it.
        let typed = ev.typed();
        let typed = match &typed {
            Ok(t) => t,
            Err(e) => return Err(e.clone().into()),
        };
        if let Typed::TaskNewtask { pid, clone_flags, .. } = *typed {
            self.newtask(ev.pid(), pid, clone_flags);
        }
        each_comm(typed, |tid, comm| self.name_thread(tid, comm));
        match *typed {
            Typed::SchedSwitch { prev_state, next_comm, next_pid, next_prio, .. } => {
                self.name_cpu(cpu);
                let next = Running { tid: next_pid, prio: next_prio, comm: Comm::new(next_comm), start: ts };
                if let Some(slot) = self.cpus.get_mut(cpu as usize)
                    && let Some(r) = slot.replace(next)
                {
                    self.cpu_slice(cpu, r, ts, Some(prev_state));
                }
            }
            Typed::SysEnter { nr, .. } if ev.system() == "raw_syscalls" => {
                // An earlier call of the thread that never returned (its exit lost) ends here,
                // unfinished, rather than vanishing.
                let tid = ev.pid();
                let tgid = self.tgid_of(tid);
                if let Some(t) = self.syscalls.get(cpu, tid, tgid)
                    && let (Some((n0, s0)), ids) = (t.open.replace((nr, ts)), t.ids)
                {
                    self.syscall_slice(&ids, n0, s0, ts, None);
                }
            }
            Typed::SysExit { nr, ret } if ev.system() == "raw_syscalls" => {
                let tid = ev.pid();
                let tgid = self.tgid_of(tid);
                match self.syscalls.get(cpu, tid, tgid).and_then(|t| Some((t.open.take()?, t.ids))) {
                    Some(((enr, start), ids)) if enr == nr => self.syscall_slice(&ids, nr, start, ts, Some(ret)),
                    _ => {
                        self.extra(ev, typed)?;
                        self.instant(ev);
                    }
                }
            }
            _ => {
                self.extra(ev, typed)?;
                self.instant(ev);
            }
        }
        self.out.spill()
    }

    fn lost(&mut self, lost: &Lost) -> Result<()> {
        self.begin();
        self.name_cpu(lost.cpu);
        self.head(b"i", b"lost events", "ktrace", CPU_PID, lost.cpu as i64, lost.timestamp_ns);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"s\":\"p\",\"args\":{\"cpu\":");
        num(b, lost.cpu);
        b.extend_from_slice(b",\"count\":");
        match lost.count {
            Some(c) => num(b, c),
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b"}}");
        self.out.spill()
    }

    fn finish(&mut self) -> Result<()> {
        self.begin();
        let end = self.last_ts;
        let cpus: Vec<_> = self.cpus.iter_mut().map(Option::take).collect();
        for (cpu, r) in cpus.into_iter().enumerate() {
            if let Some(r) = r {
                self.cpu_slice(cpu as u32, r, end, None);
            }
        }
        let mut open: Vec<_> = self.syscalls.slots.drain(..).filter_map(|t| Some((t.tid, t.open?))).collect();
        self.syscalls = SysThreads::default();
        open.sort_unstable_by_key(|(tid, (_, start))| (*start, *tid));
        for (tid, (nr, start)) in open {
            let ids = Ids::new(self.tgid_of(tid), tid);
            self.syscall_slice(&ids, nr, start, end, None);
        }
        self.finish_tracks()?;
        self.out.buf.extend_from_slice(b"\n]}\n");
        self.out.finish()
    }
}

/// An integer in decimal.
#[inline]
pub(crate) fn num(b: &mut Vec<u8>, n: impl itoa::Integer) {
    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Nanoseconds as microseconds with three decimals (exact).
#[inline]
pub(crate) fn micros(b: &mut Vec<u8>, ns: u64) {
    let secs = ns / 1_000_000_000;
    if secs > 0 {
        num(b, secs);
    }
    below_second(b, ns, secs > 0);
}

/// `00` to `99`.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
    5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/// A timestamp as [`micros`] writes it, its whole seconds' text kept in `secs` while they last.
#[inline]
fn timestamp(b: &mut Vec<u8>, secs: &mut Secs, ns: u64) {
    let s = ns / 1_000_000_000;
    if s == 0 {
        return below_second(b, ns, false);
    }
    if s != secs.secs {
        let mut itoa = itoa::Buffer::new();
        let text = itoa.format(s).as_bytes();
        secs.text.iter_mut().zip(text).for_each(|(d, c)| *d = *c);
        *secs = Secs { secs: s, len: text.len() as u8, ..*secs };
    }
    b.extend_from_slice(secs.text.get(..secs.len as usize).unwrap_or_default());
    below_second(b, ns, true);
}

/// The microseconds of `ns` below its whole seconds with three decimals (`dddddd.ddd`; without
/// the integer part's leading zeros unless `padded`, whole seconds written before).
#[inline]
fn below_second(b: &mut Vec<u8>, ns: u64, padded: bool) {
    // Fixed width, two digits at a time from a table (divisions by constants: multiplications).
    let pair = |n: u32| DIGIT_PAIRS.as_chunks::<2>().0.get((n % 100) as usize).copied().unwrap_or(*b"00");
    let n = (ns % 1_000_000_000) as u32;
    let (us, frac) = (n / 1000, n % 1000);
    let ([a0, a1], [b0, b1], [c0, c1], [f1, f2]) = (pair(us / 10_000), pair(us / 100), pair(us), pair(frac));
    let text = [a0, a1, b0, b1, c0, c1, b'.', b'0' + (frac / 100) as u8, f1, f2];
    if padded {
        b.extend_from_slice(&text);
    } else {
        // The integer part without leading zeros, keeping its last digit (`0.042`).
        let from = text.iter().take(5).position(|c| *c != b'0').unwrap_or(5);
        b.extend_from_slice(text.get(from..).unwrap_or(&text));
    }
}

/// Bytes as a JSON string (invalid UTF-8 replaced by U+FFFD).
#[inline]
pub(crate) fn string(b: &mut Vec<u8>, s: &[u8]) {
    let s = std::str::from_utf8(s).map_or_else(|_| String::from_utf8_lossy(s), std::borrow::Cow::Borrowed);
    if s.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\') {
        b.push(b'"');
        b.extend_from_slice(s.as_bytes());
        b.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *b, &*s);
    }
}

/// The syscall's name (`openat`), or `syscall_NR` for a number the table lacks (written into
/// `scratch`).
pub(crate) fn syscall_label(nr: i64, scratch: &mut [u8; 40]) -> &[u8] {
    match syscall_name(nr) {
        Some(n) => n.as_bytes(),
        None => {
            let mut c = std::io::Cursor::new(&mut scratch[..]);
            // 40 bytes hold "syscall_" and any i64.
            let _ = write!(c, "syscall_{nr}");
            let n = c.position() as usize;
            scratch.get(..n).unwrap_or_default()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use crate::testing;
    use serde_json::{Value as J, json};

    /// Nanoseconds print as exact microseconds at every digit count.
    #[test]
    fn micros_are_exact() {
        for (ns, text) in [
            (0, "0.000"),
            (5, "0.005"),
            (42, "0.042"),
            (999, "0.999"),
            (1000, "1.000"),
            (123_456_789, "123456.789"),
            (999_999_999, "999999.999"),
            (1_000_000_000, "1000000.000"),
            (1_000_000_042, "1000000.042"),
            (44_834_175_106_454, "44834175106.454"),
            (u64::MAX, "18446744073709551.615"),
        ] {
            let mut b = Vec::new();
            micros(&mut b, ns);
            assert_eq!(String::from_utf8(b).unwrap(), text);
        }
    }

    /// Timestamps write what `micros` writes as their seconds come, go and come back.
    #[test]
    fn timestamps_keep_their_seconds_text() {
        let mut secs = Secs::default();
        for ns in [5, 1_000_000_042, 1_999_999_999, 2_000_000_000, 7, 44_834_175_106_454, 1_000_000_000, u64::MAX] {
            let (mut b, mut want) = (Vec::new(), Vec::new());
            timestamp(&mut b, &mut secs, ns);
            micros(&mut want, ns);
            assert_eq!(String::from_utf8(b).unwrap(), String::from_utf8(want).unwrap());
        }
    }

    /// The synthesized workload parses as JSON with a CPU slice, a syscall slice, named threads,
    /// instants with their fields and the loss.
    #[test]
    fn trace_parses_with_slices_names_and_fields() {
        let mut out = Vec::new();
        let mut w = ChromeJson::new(&mut out);
        testing::write(&mut w);
        drop(w);
        let doc: J = serde_json::from_slice(&out).unwrap();
        let evs = doc["traceEvents"].as_array().unwrap();
        let find =
            |ph: &str, name: &str| -> Vec<&J> { evs.iter().filter(|e| e["ph"] == ph && e["name"] == name).collect() };
        let sys = find("X", syscall_name(110).unwrap());
        assert_eq!(sys.len(), 1);
        assert_eq!(
            (&sys[0]["tid"], &sys[0]["ts"], &sys[0]["dur"], &sys[0]["args"]),
            (&json!(200), &json!(2.0), &json!(1.5), &json!({"nr": 110, "ret": 42}))
        );
        // sh ran before the trace's first switch (unknown start); app from 1 us to the end (5 us).
        let app = find("X", "app");
        assert_eq!((&app[0]["pid"], &app[0]["ts"], &app[0]["dur"]), (&json!(CPU_PID), &json!(1.0), &json!(4.0)));
        let names: Vec<&J> = find("M", "thread_name").into_iter().map(|e| &e["args"]["name"]).collect();
        assert!(names.contains(&&json!("worker")) && names.contains(&&json!("app")), "{names:?}");
        let samples = find("i", "sample");
        assert_eq!(samples.len(), 2);
        assert_eq!(
            samples[0]["args"],
            json!({"value": -5, "name": "hello", "words": "0x0100000002000000", "msg": testing::long_msg()})
        );
        let lost = find("i", "lost events");
        assert_eq!(lost[0]["args"], json!({"cpu": 1, "count": 7}));
    }
}
