//! [`Tracks`] for Perfetto: slices and instants as `TrackEvent`s on thread tracks
//! (`TrackDescriptor.thread`: Perfetto shows them under the thread, in its process), counters
//! as `TYPE_COUNTER` events on counter tracks (`TrackDescriptor.counter`, under their process's
//! track when they have one), global instants on a track per category. All on packet sequence
//! [`TRACKS_SEQUENCE`]; probe hits of the ftrace stream become slices here too.

use super::protos::{
    CounterDescriptor, DebugAnnotation, ProcessDescriptor, ThreadDescriptor, TracePacket, TrackDescriptor, TrackEvent,
};
use super::protos::{debug_annotation, trace_packet, track_descriptor, track_event};
use super::{Perfetto, Result};
use crate::sink::Sink;
use crate::tracks::{Arg, BlockIo, Count, Mark, Probes, Slice, Thread, Tracks, write_hit};
use ktrace_ftrace::Event;

/// The packet sequence of the thread, process, counter and global tracks.
pub const TRACKS_SEQUENCE: u32 = 5;
/// Track uuids of threads: this | tid.
pub const THREAD_TRACKS: u64 = 0x6b74_0000_0000_0000;
/// Track uuids of processes: this | pid.
pub const PROCESS_TRACKS: u64 = 0x6b70_0000_0000_0000;
/// Track uuids of counters: this | their index (in the order first written).
pub const COUNTER_TRACKS: u64 = 0x6b63_0000_0000_0000;
/// Track uuids of the global instant tracks: this | their index.
pub const GLOBAL_TRACKS: u64 = 0x6b67_0000_0000_0000;

/// The tracks described so far, and the probe pairing.
#[derive(Debug, Default)]
pub(super) struct TrackState {
    started: bool,
    threads: foldhash::HashSet<i32>,
    processes: foldhash::HashSet<i32>,
    counters: foldhash::HashMap<(String, Option<i32>), u64>,
    globals: foldhash::HashMap<String, u64>,
    pub(super) probes: Probes,
}

fn note(name: &str, v: debug_annotation::Value) -> DebugAnnotation {
    DebugAnnotation { name_field: Some(debug_annotation::NameField::Name(name.into())), value: Some(v) }
}

fn notes(args: &[(&str, Arg<'_>)]) -> Vec<DebugAnnotation> {
    args.iter()
        .map(|(n, a)| {
            note(
                n,
                match *a {
                    Arg::Int(i) => debug_annotation::Value::IntValue(i),
                    Arg::Uint(u) => debug_annotation::Value::UintValue(u),
                    Arg::Str(s) => debug_annotation::Value::StringValue(s.to_owned()),
                },
            )
        })
        .collect()
}

fn name(s: &str) -> Option<track_descriptor::StaticOrDynamicName> {
    Some(track_descriptor::StaticOrDynamicName::Name(s.to_owned()))
}

impl<W: Sink> Perfetto<W> {
    /// Writes a packet of the tracks' sequence (the first clears its incremental state).
    fn track_packet(&mut self, ts: Option<u64>, data: trace_packet::Data) -> Result<()> {
        let first = !std::mem::replace(&mut self.tracks.started, true);
        if let Some(t) = ts {
            self.last_ts = self.last_ts.max(t);
        }
        self.packet(&TracePacket {
            timestamp: ts,
            data: Some(data),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(TRACKS_SEQUENCE),
            ),
            sequence_flags: first.then_some(1),
            ..Default::default()
        })
    }

    fn describe(&mut self, d: TrackDescriptor) -> Result<()> {
        self.track_packet(None, trace_packet::Data::TrackDescriptor(d))
    }

    /// The track of process `pid`, described the first time.
    fn process_track(&mut self, pid: i32) -> Result<u64> {
        let uuid = PROCESS_TRACKS | pid as u32 as u64;
        if self.tracks.processes.insert(pid) {
            let process = ProcessDescriptor { pid: Some(pid), ..Default::default() };
            self.describe(TrackDescriptor { uuid: Some(uuid), process: Some(process), ..Default::default() })?;
        }
        Ok(uuid)
    }

    /// The track of thread `t`, described the first time (its process's group noted for the
    /// process tree).
    fn thread_track(&mut self, t: Thread) -> Result<u64> {
        let uuid = THREAD_TRACKS | t.tid as u32 as u64;
        if self.tracks.threads.insert(t.tid) {
            if t.tgid != t.tid {
                self.tgids.entry(t.tid).or_insert(t.tgid);
            }
            let thread = ThreadDescriptor { pid: Some(t.tgid), tid: Some(t.tid as i64), ..Default::default() };
            self.describe(TrackDescriptor { uuid: Some(uuid), thread: Some(thread), ..Default::default() })?;
        }
        Ok(uuid)
    }

    /// The process `tid` is in: as told or seen (`task_newtask`), else its own.
    fn tgid_of(&self, tid: i32) -> i32 {
        self.tgids.get(&tid).copied().unwrap_or(tid)
    }

    fn track_event(&mut self, ts: u64, ev: TrackEvent) -> Result<()> {
        self.track_packet(Some(ts), trace_packet::Data::TrackEvent(ev))
    }

    /// The slice or instant a probe hit completes, if `ev` is one.
    #[inline]
    pub(super) fn probe_hit(&mut self, ev: &Event<'_>) -> Result<()> {
        if let Some(hit) = self.tracks.probes.hit(ev) {
            self.write_probe(hit)?;
        }
        Ok(())
    }

    fn write_probe(&mut self, hit: crate::tracks::Hit) -> Result<()> {
        let probes = std::mem::take(&mut self.tracks.probes);
        let r = write_hit(self, &probes, hit, self.tgid_of(hit.tid()), self.last_ts);
        self.tracks.probes = probes;
        r
    }

    /// Closes the probe entries still open (at the last timestamp).
    pub(super) fn finish_tracks(&mut self) -> Result<()> {
        for hit in self.tracks.probes.finish() {
            self.write_probe(hit)?;
        }
        Ok(())
    }
}

impl<W: Sink> Tracks for Perfetto<W> {
    fn thread_group(&mut self, tid: i32, tgid: i32) {
        self.tgids.insert(tid, tgid);
    }

    fn slice(&mut self, s: &Slice<'_>) -> Result<()> {
        let uuid = self.thread_track(s.thread)?;
        let cat = vec![s.cat.to_owned()];
        self.track_event(
            s.start_ns,
            TrackEvent {
                r#type: Some(track_event::Type::SliceBegin as i32),
                track_uuid: Some(uuid),
                name_field: Some(track_event::NameField::Name(s.name.to_owned())),
                categories: cat,
                debug_annotations: notes(s.args),
                ..Default::default()
            },
        )?;
        self.track_event(
            s.end_ns,
            TrackEvent {
                r#type: Some(track_event::Type::SliceEnd as i32),
                track_uuid: Some(uuid),
                ..Default::default()
            },
        )
    }

    fn instant(&mut self, m: &Mark<'_>) -> Result<()> {
        let uuid = match m.thread {
            Some(t) => self.thread_track(t)?,
            None => {
                let next = GLOBAL_TRACKS | self.tracks.globals.len() as u64;
                let uuid = *self.tracks.globals.entry(m.cat.to_owned()).or_insert(next);
                if uuid == next {
                    self.describe(TrackDescriptor {
                        uuid: Some(uuid),
                        static_or_dynamic_name: name(m.cat),
                        ..Default::default()
                    })?;
                }
                uuid
            }
        };
        self.track_event(
            m.ts_ns,
            TrackEvent {
                r#type: Some(track_event::Type::Instant as i32),
                track_uuid: Some(uuid),
                name_field: Some(track_event::NameField::Name(m.name.to_owned())),
                categories: vec![m.cat.to_owned()],
                debug_annotations: notes(m.args),
                ..Default::default()
            },
        )
    }

    fn counter(&mut self, c: &Count<'_>) -> Result<()> {
        let key = (c.name.to_owned(), c.pid);
        let uuid = match self.tracks.counters.get(&key) {
            Some(u) => *u,
            None => {
                let uuid = COUNTER_TRACKS | self.tracks.counters.len() as u64;
                let parent = c.pid.map(|p| self.process_track(p)).transpose()?;
                self.tracks.counters.insert(key, uuid);
                self.describe(TrackDescriptor {
                    uuid: Some(uuid),
                    parent_uuid: parent,
                    static_or_dynamic_name: name(c.name),
                    counter: Some(CounterDescriptor { unit_name: Some(c.unit.to_owned()) }),
                    ..Default::default()
                })?;
                uuid
            }
        };
        self.track_event(
            c.ts_ns,
            TrackEvent {
                r#type: Some(track_event::Type::Counter as i32),
                track_uuid: Some(uuid),
                counter_value_field: Some(track_event::CounterValueField::DoubleCounterValue(c.value)),
                ..Default::default()
            },
        )
    }

    fn block(&mut self, b: &BlockIo<'_>) -> Result<()> {
        self.last_ts = self.last_ts.max(b.ts_ns);
        let packets = match b.complete {
            None => self.blocks.issue(b.ts_ns, b.dev, b.sector, b.nr_sector, b.rwbs),
            Some(e) => self.blocks.complete(b.ts_ns, b.dev, b.sector, Some(e)),
        };
        for p in &packets {
            self.packet(p)?;
        }
        Ok(())
    }

    fn sample(&mut self, ts: u64, cpu: u32, thread: Thread, frames: &mut dyn Iterator<Item = &str>) -> Result<()> {
        Perfetto::sample(self, ts, cpu, thread.tgid, thread.tid, frames)
    }
}
