//! Perfetto protobuf traces (`.perfetto-trace`), as Perfetto UI and trace_processor open them.
//!
//! The file is a `perfetto.protos.Trace`: a stream of `TracePacket`s (each written as the
//! repeated field 1 of `Trace`, the way Perfetto's own tracing service writes files). The
//! message types come from a subset of Perfetto's published protos (`vendor/perfetto/` in this
//! crate, extracted from the `perfetto` package's `perfetto_trace_pb2`), compiled with prost-build
//! (the generated code is committed there too).
//! - Every event becomes an `FtraceEvent` in an `FtraceEventBundle` per CPU (packet sequence 1):
//!   `sched_switch`, `sched_waking`/`sched_wakeup`/`sched_wakeup_new`, `sched_process_fork`/
//!   `exec`/`exit`, `task_newtask`, `task_rename`, `raw_syscalls` `sys_enter`/`sys_exit` and
//!   `ftrace:print` as their typed messages (Perfetto draws CPU tracks, thread states and
//!   syscall slices from them), any other event as a `GenericFtraceEvent` with its fields.
//! - Block requests (`block_rq_issue` to `block_rq_complete`) also as slices on their device's
//!   tracks (sequence [`BLOCK_SEQUENCE`], see [`block`]), named by their `rwbs`, with the sector,
//!   sector count and error as debug annotations.
//! - Thread groups: a task created during the trace (`task_newtask`) has its `tgid` (itself, or
//!   with `CLONE_THREAD` its creator's when known) in the `ProcessTree`, and each group a process.
//! - Perf samples with their callstacks ([`Perfetto::sample`]) as `PerfSample` packets with
//!   interned frames and callstacks (sequence [`SAMPLE_SEQUENCE`], see [`samples`]).
//! - Probe hits (kprobe/uprobe entry → return on a thread) as slices on thread tracks, single
//!   hits as instants; and what a [`Tracks`](crate::tracks::Tracks) user writes (slices, instants,
//!   counter tracks): sequence [`TRACKS_SEQUENCE`], see [`tracks`].
//! - Thread names (saved cmdlines and every comm seen) as a `ProcessTree` at the end.
//! - Losses: the CPU's next bundle has `lost_events` set, and an instant `TrackEvent`
//!   `lost events` on the track `ktrace losses` (sequence 2) carries the cpu and count as debug
//!   annotations.
//!
//! Each CPU's bundle is encoded into a reused buffer and written out at [`BUNDLE_BYTES`]. Every
//! event fills a reused message (one per typed kind, one per generic event id with its names set
//! the first time), so no event allocates once its kind has been seen. `raw_syscalls`
//! `sys_enter`/`sys_exit`, most of a syscall trace, skip the message: `wire` writes prost's bytes
//! for them straight into the bundle.

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, clippy::indexing_slicing)]
#[rustfmt::skip]
#[path = "../../vendor/perfetto/protos.rs"]
pub mod protos;

pub mod block;
pub use block::{BLOCK_SEQUENCE, BLOCK_TRACKS};
pub mod samples;
pub use samples::{SAMPLE_MAPPING, SAMPLE_SEQUENCE};
pub mod tracks;
pub use tracks::TRACKS_SEQUENCE;
mod wire;

use ktrace_core::{Lost, Value};
use ktrace_ftrace::{BlockPhase, Event, Typed, WakeupKind};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::Writer;
use crate::error::Result;
use crate::names::{Out, Threads, each_comm, hex};
use crate::sink::Sink;
use protos::ftrace_event::Event as Fe;
use protos::generic_ftrace_event::{Field, field::Value as Fv};
use protos::{
    DebugAnnotation, FtraceEvent, FtraceEventBundle, GenericFtraceEvent, ProcessTree, TracePacket, TrackDescriptor,
    TrackEvent, debug_annotation, process_tree, trace_packet, track_descriptor, track_event,
};

/// `CLONE_THREAD` (include/uapi/linux/sched.h): the new task joins its creator's thread group.
const CLONE_THREAD: u64 = 0x0001_0000;

/// A CPU's bundle is written out when its encoded events reach this size.
pub const BUNDLE_BYTES: usize = 64 << 10;
/// The packet sequence of the ftrace bundles.
pub const FTRACE_SEQUENCE: u32 = 1;
/// The packet sequence of the loss markers.
pub const LOSS_SEQUENCE: u32 = 2;
/// The uuid of the `ktrace losses` track.
pub const LOSS_TRACK: u64 = 0x6b74_7261_6365_0001;

/// Room kept before a bundle's events for its packet's head (the packet and bundle keys and
/// lengths, the bundle's `cpu` and `lost_events`: at most 1 + 5 + 1 + 5 + 6 + 2 bytes), so that
/// the packet is one block for the sink, written without a copy.
const HEAD_ROOM: usize = 24;

/// One CPU's bundle being filled: [`HEAD_ROOM`] bytes, then the encoded events.
#[derive(Debug)]
struct Bundle {
    events: Vec<u8>,
    lost: bool,
}

impl Default for Bundle {
    fn default() -> Bundle {
        Bundle { events: vec![0; HEAD_ROOM], lost: false }
    }
}

/// Reused messages, one `FtraceEvent` per typed event kind (holding its kind's message) and one
/// generic message per event format (by id, its event and field names set once): events fill
/// values in place and allocate nothing.
#[derive(Debug, Default)]
struct Pool {
    switch: FtraceEvent,
    waking: FtraceEvent,
    wakeup: FtraceEvent,
    wakeup_new: FtraceEvent,
    print: FtraceEvent,
    fork: FtraceEvent,
    exec: FtraceEvent,
    process_exit: FtraceEvent,
    newtask: FtraceEvent,
    rename: FtraceEvent,
    /// By event id.
    generic: Vec<Option<GenericFtraceEvent>>,
}

/// Streams a Perfetto protobuf trace to `W`.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ktrace_export::{Perfetto, Writer};
/// let dat = ktrace_ftrace::TraceDat::parse(&std::fs::read("trace.dat")?)?;
/// let mut w = Perfetto::new(std::fs::File::create("trace.perfetto-trace")?).with_names(&dat.comms());
/// ktrace_export::write_recording(&dat.recording()?, &mut w)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Perfetto<W: Sink> {
    out: Out<W>,
    bundles: Vec<Bundle>,
    threads: Threads,
    /// `tid -> tgid` of the tasks created during the trace (`task_newtask`'s `CLONE_THREAD`).
    tgids: foldhash::HashMap<i32, i32>,
    pool: Pool,
    blocks: block::Blocks,
    samples: samples::Samples,
    tracks: tracks::TrackState,
    last_ts: u64,
    loss_track: bool,
}

impl<W: Sink> Perfetto<W> {
    /// A writer to `w` (buffered inside: pass a `File`, not a `BufWriter`; or a
    /// [`Background`](crate::Background) to write the file on a thread of its own).
    pub fn new(w: W) -> Perfetto<W> {
        Perfetto {
            out: Out::new(w, "the Perfetto trace"),
            bundles: Vec::new(),
            threads: Threads::default(),
            tgids: foldhash::HashMap::default(),
            pool: Pool::default(),
            blocks: block::Blocks::default(),
            samples: samples::Samples::default(),
            tracks: tracks::TrackState::default(),
            last_ts: 0,
            loss_track: false,
        }
    }

    /// Names threads up front (`pid -> comm`, e.g. [`ktrace_ftrace::TraceDat::comms`]).
    pub fn with_names(mut self, names: &std::collections::BTreeMap<i32, String>) -> Perfetto<W> {
        for (tid, comm) in names {
            self.threads.set(*tid, comm.as_bytes());
        }
        self
    }

    fn bundle(&mut self, cpu: u32) -> Option<&mut Bundle> {
        let i = cpu as usize;
        if self.bundles.len() <= i {
            self.bundles.resize_with(i + 1, Bundle::default);
        }
        self.bundles.get_mut(i)
    }

    /// Appends `e` to its CPU's bundle; hands the message back for reuse.
    fn push(&mut self, ev: &Event<'_>, e: Fe) -> Result<Option<Fe>> {
        let fe = FtraceEvent { timestamp: Some(ev.timestamp().ns), pid: Some(ev.pid() as u32), event: Some(e) };
        if append(&mut self.bundles, ev.cpu(), &fe) {
            self.flush_bundle(ev.cpu())?;
        }
        Ok(fe.event)
    }

    /// A generic event: its id's message (names set the first time) with this event's values.
    fn generic(&mut self, ev: &Event<'_>) -> Result<()> {
        let id = ev.id() as usize;
        if self.pool.generic.len() <= id {
            self.pool.generic.resize_with(id + 1, || None);
        }
        let Some(slot) = self.pool.generic.get_mut(id) else { return Ok(()) };
        let mut g = slot.take().unwrap_or_else(|| GenericFtraceEvent {
            event_name: Some(ev.name().to_owned()),
            field: ev.format.fields.iter().map(|f| Field { name: Some(f.name.clone()), value: None }).collect(),
        });
        for (f, (_, v)) in g.field.iter_mut().zip(ev.fields()) {
            f.value = match v {
                Ok(Value::Signed(s)) => Some(Fv::IntValue(s)),
                Ok(Value::Unsigned(u)) => Some(Fv::UintValue(u)),
                Ok(Value::Str(s)) => {
                    let mut t = reuse_str(f.value.take());
                    push_lossy(&mut t, s);
                    Some(Fv::StrValue(t))
                }
                Ok(Value::Array(a)) => {
                    let mut t = reuse_str(f.value.take());
                    t.push_str("0x");
                    hex(a, |c| t.push(c as char));
                    Some(Fv::StrValue(t))
                }
                Err(_) => None,
            };
        }
        if let Some(Fe::Generic(g)) = self.push(ev, Fe::Generic(g))?
            && let Some(slot) = self.pool.generic.get_mut(id)
        {
            *slot = Some(g);
        }
        Ok(())
    }

    /// Appends to `ev`'s CPU's bundle what `encode` writes (an event), then writes the bundle out
    /// when full.
    fn append_with(&mut self, ev: &Event<'_>, encode: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let Some(b) = self.bundle(ev.cpu()) else { return Ok(()) };
        encode(&mut b.events);
        if b.events.len() >= HEAD_ROOM + BUNDLE_BYTES {
            self.flush_bundle(ev.cpu())?;
        }
        Ok(())
    }

    /// Writes CPU `cpu`'s bundle as one packet: its head put in the room before the events,
    /// the sequence id after them, the whole handed to the sink.
    fn flush_bundle(&mut self, cpu: u32) -> Result<()> {
        let Some(b) = self.bundles.get_mut(cpu as usize) else { return Ok(()) };
        if b.events.len() <= HEAD_ROOM {
            return Ok(());
        }
        let head = FtraceEventBundle { cpu: Some(cpu), event: Vec::new(), lost_events: b.lost.then_some(true) };
        b.lost = false;
        let bundle_len = head.encoded_len() + b.events.len() - HEAD_ROOM;
        let seq = prost::encoding::uint32::encoded_len(10, &FTRACE_SEQUENCE);
        let packet_len = 1 + encoded_len_varint(bundle_len as u64) + bundle_len + seq;
        let mut room = [0u8; HEAD_ROOM];
        let mut r = &mut room[..];
        encode_key(1, WireType::LengthDelimited, &mut r);
        encode_varint(packet_len as u64, &mut r);
        encode_key(1, WireType::LengthDelimited, &mut r);
        encode_varint(bundle_len as u64, &mut r);
        head.encode_raw(&mut r);
        let start = r.len();
        if let (Some(to), Some(from)) = (b.events.get_mut(start..HEAD_ROOM), room.get(..HEAD_ROOM - start)) {
            to.copy_from_slice(from);
        }
        prost::encoding::uint32::encode(10, &FTRACE_SEQUENCE, &mut b.events);
        self.out.put(&mut b.events, start)?;
        b.events.resize(HEAD_ROOM, 0);
        Ok(())
    }

    fn packet(&mut self, p: &TracePacket) -> Result<()> {
        prost::encoding::message::encode(1, p, &mut self.out.buf);
        self.out.spill()
    }
}

/// Appends `fe` to CPU `cpu`'s bundle (made when first used); true when the bundle is full.
fn append(bundles: &mut Vec<Bundle>, cpu: u32, fe: &FtraceEvent) -> bool {
    let i = cpu as usize;
    if bundles.len() <= i {
        bundles.resize_with(i + 1, Bundle::default);
    }
    let Some(b) = bundles.get_mut(i) else { return false };
    encode_event(fe, &mut b.events);
    b.events.len() >= HEAD_ROOM + BUNDLE_BYTES
}

/// Appends `fe` as the bundle's field 2 (`event`), the bytes `prost::encoding::message::encode`
/// writes, but into the space reserved for them: prost's varints go a byte at a time, and each
/// byte pushed on a `Vec` checks its capacity (a fifth of the writer's time), while on a slice
/// it is one store. The sizes come from the message's own `encoded_len`, so the slice is filled
/// exactly.
fn encode_event(fe: &FtraceEvent, events: &mut Vec<u8>) {
    let len = fe.encoded_len();
    let start = events.len();
    events.resize(start + prost::encoding::key_len(2) + encoded_len_varint(len as u64) + len, 0);
    let Some(mut s) = events.get_mut(start..) else { return };
    encode_key(2, WireType::LengthDelimited, &mut s);
    encode_varint(len as u64, &mut s);
    fe.encode_raw(&mut s);
}

/// The string of a reused field value, emptied.
fn reuse_str(v: Option<Fv>) -> String {
    match v {
        Some(Fv::StrValue(mut s)) => {
            s.clear();
            s
        }
        _ => String::new(),
    }
}

/// Appends bytes as UTF-8 (invalid sequences replaced: protobuf readers check strings).
fn push_lossy(t: &mut String, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => t.push_str(s),
        Err(_) => t.push_str(&String::from_utf8_lossy(b)),
    }
}

/// Sets a message's string field to `b`, reusing its allocation.
fn set_str(s: &mut Option<String>, b: &[u8]) {
    let s = s.get_or_insert_with(String::new);
    s.clear();
    push_lossy(s, b);
}

/// Fills a pooled message in place and appends it to its CPU's bundle.
macro_rules! pooled {
    ($self:ident, $ev:ident, $slot:ident, $variant:ident, |$m:ident| $fill:block) => {{
        let fe = &mut $self.pool.$slot;
        (fe.timestamp, fe.pid) = (Some($ev.timestamp().ns), Some($ev.pid() as u32));
        if !matches!(fe.event, Some(Fe::$variant(_))) {
            fe.event = Some(Fe::$variant(Default::default()));
        }
        if let Some(Fe::$variant($m)) = &mut fe.event $fill
        if append(&mut $self.bundles, $ev.cpu(), &$self.pool.$slot) {
            $self.flush_bundle($ev.cpu())?;
        }
    }};
}

impl<W: Sink> Writer for Perfetto<W> {
    fn event(&mut self, ev: &Event<'_>) -> Result<()> {
        // Read where the decoder returned it: moving it out of the `Result` is a copy that
        // stalls on the stores that just wrote it.
        let typed = ev.typed();
        let typed = match &typed {
            Ok(t) => t,
            Err(e) => return Err(e.clone().into()),
        };
        each_comm(typed, |tid, comm| {
            self.threads.set(tid, comm);
        });
        let raw_sys = ev.system() == "raw_syscalls";
        let ts = ev.timestamp().ns;
        self.last_ts = self.last_ts.max(ts);
        if let Typed::BlockRq { phase, dev, sector, nr_sector, rwbs, error } = *typed {
            let packets = match phase {
                BlockPhase::Issue => self.blocks.issue(ts, dev, sector, nr_sector, rwbs),
                BlockPhase::Complete => self.blocks.complete(ts, dev, sector, Some(error)),
                _ => Vec::new(),
            };
            for p in &packets {
                self.packet(p)?;
            }
        }
        match *typed {
            Typed::SchedSwitch { prev_comm, prev_pid, prev_prio, prev_state, next_comm, next_pid, next_prio } => {
                pooled!(self, ev, switch, SchedSwitch, |m| {
                    set_str(&mut m.prev_comm, prev_comm);
                    (m.prev_pid, m.prev_prio, m.prev_state) = (Some(prev_pid), Some(prev_prio), Some(prev_state));
                    set_str(&mut m.next_comm, next_comm);
                    (m.next_pid, m.next_prio) = (Some(next_pid), Some(next_prio));
                })
            }
            Typed::Wakeup { kind, comm, pid, prio, target_cpu } => {
                // The three wakeup messages have the same fields.
                macro_rules! wakeup {
                    ($slot:ident, $variant:ident) => {
                        pooled!(self, ev, $slot, $variant, |m| {
                            set_str(&mut m.comm, comm);
                            (m.pid, m.prio, m.target_cpu, m.success) =
                                (Some(pid), Some(prio), Some(target_cpu), Some(1));
                        })
                    };
                }
                match kind {
                    WakeupKind::Waking => wakeup!(waking, SchedWaking),
                    WakeupKind::Wakeup => wakeup!(wakeup, SchedWakeup),
                    WakeupKind::WakeupNew => wakeup!(wakeup_new, SchedWakeupNew),
                }
            }
            Typed::SysEnter { nr, args } if raw_sys => {
                self.append_with(ev, |b| wire::sys_enter(b, ts, ev.pid() as u32, nr, &args))?
            }
            Typed::SysExit { nr, ret } if raw_sys => {
                self.append_with(ev, |b| wire::sys_exit(b, ts, ev.pid() as u32, nr, ret))?
            }
            Typed::Print { ip, msg } => pooled!(self, ev, print, Print, |m| {
                m.ip = Some(ip);
                set_str(&mut m.buf, msg);
            }),
            Typed::Fork { parent_comm, parent_pid, child_comm, child_pid } => {
                pooled!(self, ev, fork, SchedProcessFork, |m| {
                    set_str(&mut m.parent_comm, parent_comm);
                    set_str(&mut m.child_comm, child_comm);
                    (m.parent_pid, m.child_pid) = (Some(parent_pid), Some(child_pid));
                })
            }
            Typed::Exec { filename, pid, old_pid } => pooled!(self, ev, exec, SchedProcessExec, |m| {
                set_str(&mut m.filename, filename);
                (m.pid, m.old_pid) = (Some(pid), Some(old_pid));
            }),
            Typed::Exit { comm, pid, prio } => pooled!(self, ev, process_exit, SchedProcessExit, |m| {
                set_str(&mut m.comm, comm);
                (m.pid, m.prio) = (Some(pid), Some(prio));
            }),
            Typed::TaskNewtask { pid, comm, clone_flags, oom_score_adj } => {
                // A thread joins its creator's group (when the creator's is known); any other new
                // task leads its own.
                let tgid = match clone_flags & CLONE_THREAD {
                    0 => Some(pid),
                    _ => self.tgids.get(&ev.pid()).copied(),
                };
                if let Some(t) = tgid {
                    self.tgids.insert(pid, t);
                }
                pooled!(self, ev, newtask, TaskNewtask, |m| {
                    set_str(&mut m.comm, comm);
                    (m.pid, m.clone_flags, m.oom_score_adj) = (Some(pid), Some(clone_flags), Some(oom_score_adj));
                })
            }
            Typed::TaskRename { pid, oldcomm, newcomm, oom_score_adj } => pooled!(self, ev, rename, TaskRename, |m| {
                set_str(&mut m.oldcomm, oldcomm);
                set_str(&mut m.newcomm, newcomm);
                (m.pid, m.oom_score_adj) = (Some(pid), Some(oom_score_adj));
            }),
            _ => {
                self.generic(ev)?;
                self.probe_hit(ev)?;
            }
        }
        Ok(())
    }

    fn lost(&mut self, lost: &Lost) -> Result<()> {
        self.flush_bundle(lost.cpu)?;
        if let Some(b) = self.bundle(lost.cpu) {
            b.lost = true;
        }
        let mut flags = None;
        if !self.loss_track {
            self.loss_track = true;
            // SEQ_INCREMENTAL_STATE_CLEARED on the sequence's first packet.
            flags = Some(1);
            self.packet(&TracePacket {
                data: Some(trace_packet::Data::TrackDescriptor(TrackDescriptor {
                    uuid: Some(LOSS_TRACK),
                    static_or_dynamic_name: Some(track_descriptor::StaticOrDynamicName::Name("ktrace losses".into())),
                    ..Default::default()
                })),
                optional_trusted_packet_sequence_id: Some(
                    trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(LOSS_SEQUENCE),
                ),
                sequence_flags: flags,
                ..Default::default()
            })?;
            flags = None;
        }
        let note = |name: &str, v: debug_annotation::Value| DebugAnnotation {
            name_field: Some(debug_annotation::NameField::Name(name.into())),
            value: Some(v),
        };
        let mut notes = vec![note("cpu", debug_annotation::Value::UintValue(lost.cpu as u64))];
        if let Some(c) = lost.count {
            notes.push(note("count", debug_annotation::Value::UintValue(c)));
        }
        self.packet(&TracePacket {
            timestamp: Some(lost.timestamp_ns),
            data: Some(trace_packet::Data::TrackEvent(TrackEvent {
                r#type: Some(track_event::Type::Instant as i32),
                track_uuid: Some(LOSS_TRACK),
                name_field: Some(track_event::NameField::Name("lost events".into())),
                debug_annotations: notes,
                ..Default::default()
            })),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(LOSS_SEQUENCE),
            ),
            sequence_flags: flags,
            ..Default::default()
        })
    }

    fn finish(&mut self) -> Result<()> {
        for cpu in 0..self.bundles.len() {
            self.flush_bundle(cpu as u32)?;
        }
        for p in &self.blocks.finish(self.last_ts) {
            self.packet(p)?;
        }
        self.finish_tracks()?;
        let named = self.threads.sorted();
        let threads = named
            .iter()
            .map(|(tid, c)| process_tree::Thread {
                tid: Some(*tid),
                tgid: self.tgids.get(tid).copied(),
                name: Some(c.lossy().into_owned()),
            })
            .collect();
        // The thread groups known, each named by its leader.
        let mut groups: Vec<i32> = self.tgids.values().copied().collect();
        groups.sort_unstable();
        groups.dedup();
        let processes = groups
            .into_iter()
            .map(|pid| process_tree::Process {
                pid: Some(pid),
                ppid: None,
                cmdline: named
                    .iter()
                    .find(|(t, _)| *t == pid)
                    .map(|(_, c)| c.lossy().into_owned())
                    .into_iter()
                    .collect(),
            })
            .collect();
        self.packet(&TracePacket {
            data: Some(trace_packet::Data::ProcessTree(ProcessTree { processes, threads })),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(FTRACE_SEQUENCE),
            ),
            ..Default::default()
        })?;
        self.out.finish()
    }
}

#[cfg(test)]
mod tests;
