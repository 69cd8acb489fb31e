//! [`Tracks`] for Chrome JSON, and what the JSON writer draws beside the events: threads in
//! their processes (`pid` = tgid), block requests as slices on their device's lanes, probe hits
//! as slices, counters as `"ph": "C"` events.
//! - Block devices are processes `block MAJ:MIN` (pid [`BLOCK_PID`] + the device's index), each
//!   lane a thread `lane N` (requests in flight at once overlap; slices on one thread nest).
//! - Global counters and instants are on the process `ktrace` (pid [`GLOBAL_PID`]); a global
//!   instant on its category's thread.
//! - Counters: `{"ph":"C","name":NAME,"args":{UNIT:VALUE}}` (Perfetto names the track
//!   `NAME UNIT`).

use super::{ChromeJson, micros, num, string};
use crate::error::Result;
use crate::lanes::{Io, Lanes, dev_name};
use crate::sink::Sink;
use crate::tracks::{Arg, BlockIo, Count, Hit, Mark, Probes, Slice, Thread, Tracks, write_hit};
use ktrace_ftrace::{BlockPhase, Event, Typed};

/// The pid of the process of global counters and instants.
pub const GLOBAL_PID: i64 = super::CPU_PID + 1;
/// The pid of the first block device's process (the next ones follow).
pub const BLOCK_PID: i64 = super::CPU_PID + 16;

/// `CLONE_THREAD`: the new task joins its creator's thread group.
const CLONE_THREAD: u64 = 0x0001_0000;

/// The writer's state for tracks.
#[derive(Debug, Default)]
pub(super) struct JsonTracks {
    /// `tid -> tgid`, of threads not their own process.
    tgids: foldhash::HashMap<i32, i32>,
    lanes: Lanes,
    probes: Probes,
    /// Global instant tracks by category (their tid is the index).
    globals: Vec<String>,
    global_named: bool,
}

impl<W: Sink> ChromeJson<W> {
    /// The process of `tid`.
    #[inline]
    pub(super) fn tgid_of(&self, tid: i32) -> i32 {
        if self.tracks.tgids.is_empty() { tid } else { self.tracks.tgids.get(&tid).copied().unwrap_or(tid) }
    }

    /// `task_newtask`: a thread (`CLONE_THREAD`) joins its creator's group.
    pub(super) fn newtask(&mut self, creator: i32, pid: i32, clone_flags: u64) {
        if clone_flags & CLONE_THREAD != 0 {
            let tgid = self.tgid_of(creator);
            self.tracks.tgids.insert(pid, tgid);
        }
    }

    /// What the events draw beside their instants: block slices and probe hits.
    pub(super) fn extra(&mut self, ev: &Event<'_>, typed: &Typed<'_>) -> Result<()> {
        if let Typed::BlockRq { phase, dev, sector, nr_sector, rwbs, error } = *typed {
            let complete = match phase {
                BlockPhase::Issue => None,
                BlockPhase::Complete => Some(error),
                _ => return Ok(()),
            };
            return self.block(&BlockIo { ts_ns: ev.timestamp().ns, dev, sector, nr_sector, rwbs, complete });
        }
        if let Some(hit) = self.tracks.probes.hit(ev) {
            self.write_probe(hit)?;
        }
        Ok(())
    }

    fn write_probe(&mut self, hit: Hit) -> Result<()> {
        let probes = std::mem::take(&mut self.tracks.probes);
        let r = write_hit(self, &probes, hit, self.tgid_of(hit.tid()), self.last_ts);
        self.tracks.probes = probes;
        r
    }

    /// Closes what is open at the end: block requests and probe entries.
    pub(super) fn finish_tracks(&mut self) -> Result<()> {
        let end = self.last_ts;
        for ((dev, sector), io) in self.tracks.lanes.drain() {
            self.block_slice(dev, sector, io, end, None);
        }
        for hit in self.tracks.probes.finish() {
            self.write_probe(hit)?;
        }
        Ok(())
    }

    fn block_slice(&mut self, dev: u32, sector: u64, io: Io, end: u64, error: Option<i32>) {
        let pid = BLOCK_PID + self.tracks.lanes.device_index(dev) as i64;
        self.head(b"X", io.rwbs.as_bytes(), "block", pid, io.lane as i64, io.start);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"dur\":");
        micros(b, end.saturating_sub(io.start));
        b.extend_from_slice(b",\"args\":{\"sector\":");
        num(b, sector);
        b.extend_from_slice(b",\"nr_sector\":");
        num(b, io.nr_sector);
        match error {
            Some(e) => {
                b.extend_from_slice(b",\"error\":");
                num(b, e);
            }
            None => b.extend_from_slice(b",\"unfinished\":true"),
        }
        b.extend_from_slice(b"}}");
    }

    /// Writes `,"args":{...}}` closing an event.
    fn args(&mut self, args: &[(&str, Arg<'_>)]) {
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"args\":{");
        for (i, (n, a)) in args.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            string(b, n.as_bytes());
            b.push(b':');
            match *a {
                Arg::Int(v) => num(b, v),
                Arg::Uint(v) => num(b, v),
                Arg::Str(s) => string(b, s.as_bytes()),
            }
        }
        b.extend_from_slice(b"}}");
    }

    /// The process of global tracks, named the first time.
    fn global_process(&mut self) {
        if !std::mem::replace(&mut self.tracks.global_named, true) {
            self.meta("process_name", GLOBAL_PID, 0, b"ktrace");
        }
    }

    /// A thread's `thread_name` again under its process, once it is known.
    fn rename_in_group(&mut self, tid: i32) {
        let named = self.threads.sorted();
        if let Some((_, c)) = named.iter().find(|(t, _)| *t == tid) {
            let pid = self.tgid_of(tid) as i64;
            self.meta("thread_name", pid, tid as i64, c.as_bytes());
        }
    }
}

impl<W: Sink> Tracks for ChromeJson<W> {
    fn thread_group(&mut self, tid: i32, tgid: i32) {
        if self.tgid_of(tid) == tgid {
            return;
        }
        self.begin();
        if tid == tgid {
            self.tracks.tgids.remove(&tid);
        } else {
            self.tracks.tgids.insert(tid, tgid);
        }
        self.rename_in_group(tid);
    }

    fn slice(&mut self, s: &Slice<'_>) -> Result<()> {
        self.begin();
        self.last_ts = self.last_ts.max(s.end_ns);
        let Thread { tgid, tid } = s.thread;
        self.head(b"X", s.name.as_bytes(), s.cat, tgid as i64, tid as i64, s.start_ns);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"dur\":");
        micros(b, s.end_ns.saturating_sub(s.start_ns));
        self.args(s.args);
        self.out.spill()
    }

    fn instant(&mut self, m: &Mark<'_>) -> Result<()> {
        self.begin();
        self.last_ts = self.last_ts.max(m.ts_ns);
        let (pid, tid, scope) = match m.thread {
            Some(t) => (t.tgid as i64, t.tid as i64, b"t"),
            None => {
                self.global_process();
                let i = match self.tracks.globals.iter().position(|c| c == m.cat) {
                    Some(i) => i,
                    None => {
                        self.tracks.globals.push(m.cat.to_owned());
                        let i = self.tracks.globals.len() - 1;
                        self.meta("thread_name", GLOBAL_PID, i as i64, m.cat.as_bytes());
                        i
                    }
                };
                (GLOBAL_PID, i as i64, b"t")
            }
        };
        self.head(b"i", m.name.as_bytes(), m.cat, pid, tid, m.ts_ns);
        self.out.buf.extend_from_slice(b",\"s\":\"");
        self.out.buf.extend_from_slice(scope);
        self.out.buf.push(b'"');
        self.args(m.args);
        self.out.spill()
    }

    fn counter(&mut self, c: &Count<'_>) -> Result<()> {
        self.begin();
        self.last_ts = self.last_ts.max(c.ts_ns);
        let pid = match c.pid {
            Some(p) => p as i64,
            None => {
                self.global_process();
                GLOBAL_PID
            }
        };
        self.head(b"C", c.name.as_bytes(), "counter", pid, 0, c.ts_ns);
        let b = &mut self.out.buf;
        b.extend_from_slice(b",\"args\":{");
        string(b, c.unit.as_bytes());
        b.push(b':');
        if c.value.is_finite() {
            // Writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *b, &c.value);
        } else {
            b.extend_from_slice(b"null");
        }
        b.extend_from_slice(b"}}");
        self.out.spill()
    }

    fn block(&mut self, io: &BlockIo<'_>) -> Result<()> {
        self.begin();
        self.last_ts = self.last_ts.max(io.ts_ns);
        match io.complete {
            None => {
                let is = self.tracks.lanes.issue(io.ts_ns, io.dev, io.sector, io.nr_sector, io.rwbs);
                let pid = BLOCK_PID + self.tracks.lanes.device_index(io.dev) as i64;
                if is.new_device {
                    self.meta("process_name", pid, 0, format!("block {}", dev_name(io.dev)).as_bytes());
                }
                if is.new_lane {
                    self.meta("thread_name", pid, is.lane as i64, format!("lane {}", is.lane).as_bytes());
                }
            }
            Some(e) => {
                if let Some(done) = self.tracks.lanes.complete(io.dev, io.sector) {
                    self.block_slice(io.dev, io.sector, done, io.ts_ns, Some(e));
                }
            }
        }
        self.out.spill()
    }

    fn sample(&mut self, ts: u64, cpu: u32, thread: Thread, frames: &mut dyn Iterator<Item = &str>) -> Result<()> {
        let leaf = frames.next().unwrap_or("?");
        let args = [("cpu", Arg::Uint(cpu as u64))];
        Tracks::instant(self, &Mark { thread: Some(thread), name: leaf, cat: "sample", ts_ns: ts, args: &args })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use crate::Writer;
    use crate::testing;
    use serde_json::{Value as J, json};

    /// The JSON of `records` written in order.
    fn written(records: &[(u64, u32, Vec<u8>)]) -> Vec<J> {
        let dec = testing::decoder();
        let mut out = Vec::new();
        let mut w = ChromeJson::new(&mut out);
        for r in records {
            w.event(&testing::event(&dec, r)).unwrap();
        }
        w.finish().unwrap();
        drop(w);
        let doc: J = serde_json::from_slice(&out).unwrap();
        doc["traceEvents"].as_array().unwrap().clone()
    }

    /// Threads created during the trace (`CLONE_THREAD`) are named in their creator's process;
    /// a fork leads its own.
    #[test]
    fn threads_are_in_their_process() {
        let evs = written(&[
            testing::newtask(1, 10, 500, "app", 0x11),
            testing::newtask(2, 500, 501, "worker", 0x3d_0f00),
            testing::newtask(3, 501, 502, "worker2", 0x3d_0f00),
        ]);
        let names: Vec<(&J, &J, &J)> = evs
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .map(|e| (&e["pid"], &e["tid"], &e["args"]["name"]))
            .collect();
        assert_eq!(
            names,
            [
                (&json!(500), &json!(500), &json!("app")),
                (&json!(500), &json!(501), &json!("worker")),
                (&json!(500), &json!(502), &json!("worker2"))
            ]
        );
        let procs = evs.iter().filter(|e| e["name"] == "process_name" && e["pid"] == 500).count();
        assert_eq!(procs, 1, "one process 500, named once");
    }

    /// Syscall slices pair per thread while threads interleave on a CPU and one moves to
    /// another CPU mid-call, each in its process: a thread that joins a group mid-trace has its
    /// next slices in the group.
    #[test]
    fn syscall_slices_pair_per_thread_in_their_process() {
        let evs = written(&[
            testing::syscall(1_000, 0, 600, 1, None),
            testing::syscall(1_500, 0, 601, 2, None),
            testing::syscall(2_000, 1, 600, 1, Some(5)),
            testing::newtask(2_100, 500, 601, "worker", 0x3d_0f00),
            testing::syscall(3_000, 0, 601, 2, Some(7)),
            testing::syscall(4_000, 1, 600, 3, None),
        ]);
        let slices: Vec<J> = evs
            .iter()
            .filter(|e| e["ph"] == "X" && e["cat"] == "syscall")
            .map(|e| json!([e["pid"], e["tid"], e["ts"], e["dur"], e["args"]]))
            .collect();
        assert_eq!(
            slices,
            [
                json!([600, 600, 1.0, 1.0, {"nr": 1, "ret": 5}]),
                json!([500, 601, 1.5, 1.5, {"nr": 2, "ret": 7}]),
                json!([600, 600, 4.0, 0.0, {"nr": 3, "unfinished": true}]),
            ]
        );
    }

    /// Overlapping block requests are slices on two lanes of their device's process; a request
    /// in flight at the end is unfinished.
    #[test]
    fn block_requests_are_slices_on_device_lanes() {
        let evs = written(&[
            testing::block(1000, 100, None),
            testing::block(1500, 200, None),
            testing::block(2000, 100, Some(0)),
            testing::block(3000, 200, Some(-5)),
            testing::block(3500, 300, None),
        ]);
        let slices: Vec<J> = evs
            .iter()
            .filter(|e| e["ph"] == "X" && e["cat"] == "block")
            .map(|e| json!([e["pid"], e["tid"], e["name"], e["ts"], e["dur"], e["args"]]))
            .collect();
        let p = BLOCK_PID;
        assert_eq!(
            slices,
            [
                json!([p, 0, "R", 1.0, 1.0, {"sector": 100, "nr_sector": 8, "error": 0}]),
                json!([p, 1, "R", 1.5, 1.5, {"sector": 200, "nr_sector": 8, "error": -5}]),
                json!([p, 0, "R", 3.5, 0.0, {"sector": 300, "nr_sector": 8, "unfinished": true}]),
            ]
        );
        let meta: Vec<(&J, &J)> =
            evs.iter().filter(|e| e["ph"] == "M" && e["pid"] == p).map(|e| (&e["name"], &e["args"]["name"])).collect();
        assert_eq!(meta.len(), 3, "{meta:?}");
        assert_eq!(meta[0], (&json!("process_name"), &json!("block 8:0")));
    }
}
