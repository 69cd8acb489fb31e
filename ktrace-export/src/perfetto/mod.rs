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
//! - Thread names (saved cmdlines and every comm seen) as a `ProcessTree` at the end.
//! - Losses: the CPU's next bundle has `lost_events` set, and an instant `TrackEvent`
//!   `lost events` on the track `ktrace losses` (sequence 2) carries the cpu and count as debug
//!   annotations.
//!
//! Each CPU's bundle is encoded into a reused buffer and written out at [`BUNDLE_BYTES`]; events
//! reuse their message structs, so sched, syscall and generic events allocate nothing; the rarer
//! task events (fork, exec, exit, newtask, rename) build theirs each time.

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic, clippy::indexing_slicing)]
#[rustfmt::skip]
#[path = "../../vendor/perfetto/protos.rs"]
pub mod protos;

use std::io::Write;

use ktrace_core::{Lost, Value};
use ktrace_ftrace::{Event, Typed, WakeupKind};
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::Writer;
use crate::error::Result;
use crate::names::{Out, Threads, comms_of, hex, set_str};
use protos::ftrace_event::Event as Fe;
use protos::generic_ftrace_event::{Field, field::Value as Fv};
use protos::{
    DebugAnnotation, FtraceEvent, FtraceEventBundle, GenericFtraceEvent, ProcessTree, TracePacket, TrackDescriptor,
    TrackEvent, debug_annotation, process_tree, trace_packet, track_descriptor, track_event,
};

/// A CPU's bundle is written out when its encoded events reach this size.
pub const BUNDLE_BYTES: usize = 64 << 10;
/// The packet sequence of the ftrace bundles.
pub const FTRACE_SEQUENCE: u32 = 1;
/// The packet sequence of the loss markers.
pub const LOSS_SEQUENCE: u32 = 2;
/// The uuid of the `ktrace losses` track.
pub const LOSS_TRACK: u64 = 0x6b74_7261_6365_0001;

/// One CPU's bundle being filled.
#[derive(Debug, Default)]
struct Bundle {
    events: Vec<u8>,
    lost: bool,
}

/// Reused message structs of the frequent events.
#[derive(Debug, Default)]
struct Pool {
    switch: protos::SchedSwitchFtraceEvent,
    waking: protos::SchedWakingFtraceEvent,
    wakeup: protos::SchedWakeupFtraceEvent,
    enter: protos::SysEnterFtraceEvent,
    exit: protos::SysExitFtraceEvent,
    print: protos::PrintFtraceEvent,
    generic: GenericFtraceEvent,
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
pub struct Perfetto<W: Write> {
    out: Out<W>,
    bundles: Vec<Bundle>,
    threads: Threads,
    pool: Pool,
    loss_track: bool,
}

impl<W: Write> Perfetto<W> {
    /// A writer to `w` (buffered inside: pass a `File`, not a `BufWriter`).
    pub fn new(w: W) -> Perfetto<W> {
        Perfetto {
            out: Out::new(w, "the Perfetto trace"),
            bundles: Vec::new(),
            threads: Threads::default(),
            pool: Pool::default(),
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
        let cpu = ev.cpu();
        let fe = FtraceEvent { timestamp: Some(ev.timestamp().ns), pid: Some(ev.pid() as u32), event: Some(e) };
        let full = match self.bundle(cpu) {
            Some(b) => {
                prost::encoding::message::encode(2, &fe, &mut b.events);
                b.events.len() >= BUNDLE_BYTES
            }
            None => false,
        };
        if full {
            self.flush_bundle(cpu)?;
        }
        Ok(fe.event)
    }

    /// Writes CPU `cpu`'s bundle as one packet.
    fn flush_bundle(&mut self, cpu: u32) -> Result<()> {
        let Some(b) = self.bundles.get_mut(cpu as usize) else { return Ok(()) };
        if b.events.is_empty() {
            return Ok(());
        }
        let head = FtraceEventBundle { cpu: Some(cpu), event: Vec::new(), lost_events: b.lost.then_some(true) };
        b.lost = false;
        let bundle_len = head.encoded_len() + b.events.len();
        let seq = prost::encoding::uint32::encoded_len(10, &FTRACE_SEQUENCE);
        let packet_len = 1 + encoded_len_varint(bundle_len as u64) + bundle_len + seq;
        let o = &mut self.out.buf;
        encode_key(1, WireType::LengthDelimited, o);
        encode_varint(packet_len as u64, o);
        encode_key(1, WireType::LengthDelimited, o);
        encode_varint(bundle_len as u64, o);
        head.encode_raw(o);
        o.extend_from_slice(&b.events);
        prost::encoding::uint32::encode(10, &FTRACE_SEQUENCE, o);
        b.events.clear();
        self.out.spill()
    }

    fn packet(&mut self, p: &TracePacket) -> Result<()> {
        prost::encoding::message::encode(1, p, &mut self.out.buf);
        self.out.spill()
    }

    fn generic(&mut self, ev: &Event<'_>) -> Result<()> {
        let mut g = std::mem::take(&mut self.pool.generic);
        set_str(&mut g.event_name, ev.name().as_bytes());
        let n = ev.format.fields.len();
        g.field.resize_with(n, Field::default);
        for (f, (name, v)) in g.field.iter_mut().zip(ev.fields()) {
            set_str(&mut f.name, name.as_bytes());
            f.value = match v {
                Ok(Value::Signed(s)) => Some(Fv::IntValue(s)),
                Ok(Value::Unsigned(u)) => Some(Fv::UintValue(u)),
                Ok(Value::Str(s)) => {
                    let mut t = reuse_str(f.value.take());
                    t.push_str(&String::from_utf8_lossy(s));
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
        if let Some(Fe::Generic(g)) = self.push(ev, Fe::Generic(g))? {
            self.pool.generic = g;
        }
        Ok(())
    }
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

/// Takes a pooled message, fills it, pushes it, and puts it back.
macro_rules! pooled {
    ($self:ident, $ev:ident, $slot:ident, $variant:ident, |$m:ident| $fill:block) => {{
        let mut $m = std::mem::take(&mut $self.pool.$slot);
        $fill
        if let Some(Fe::$variant(m)) = $self.push($ev, Fe::$variant($m))? {
            $self.pool.$slot = m;
        }
    }};
}

impl<W: Write> Writer for Perfetto<W> {
    fn event(&mut self, ev: &Event<'_>) -> Result<()> {
        let typed = ev.typed()?;
        for (tid, comm) in comms_of(ev, &typed).into_iter().flatten() {
            self.threads.set(tid, comm);
        }
        let raw_sys = ev.system() == "raw_syscalls";
        match typed {
            Typed::SchedSwitch { prev_comm, prev_pid, prev_prio, prev_state, next_comm, next_pid, next_prio } => {
                pooled!(self, ev, switch, SchedSwitch, |m| {
                    set_str(&mut m.prev_comm, prev_comm);
                    m.prev_pid = Some(prev_pid);
                    m.prev_prio = Some(prev_prio);
                    m.prev_state = Some(prev_state);
                    set_str(&mut m.next_comm, next_comm);
                    m.next_pid = Some(next_pid);
                    m.next_prio = Some(next_prio);
                })
            }
            Typed::Wakeup { kind: WakeupKind::Waking, comm, pid, prio, target_cpu } => {
                pooled!(self, ev, waking, SchedWaking, |m| {
                    set_str(&mut m.comm, comm);
                    (m.pid, m.prio, m.target_cpu, m.success) = (Some(pid), Some(prio), Some(target_cpu), Some(1));
                })
            }
            Typed::Wakeup { kind: WakeupKind::Wakeup, comm, pid, prio, target_cpu } => {
                pooled!(self, ev, wakeup, SchedWakeup, |m| {
                    set_str(&mut m.comm, comm);
                    (m.pid, m.prio, m.target_cpu, m.success) = (Some(pid), Some(prio), Some(target_cpu), Some(1));
                })
            }
            Typed::Wakeup { comm, pid, prio, target_cpu, .. } => {
                let mut m = protos::SchedWakeupNewFtraceEvent::default();
                set_str(&mut m.comm, comm);
                (m.pid, m.prio, m.target_cpu, m.success) = (Some(pid), Some(prio), Some(target_cpu), Some(1));
                self.push(ev, Fe::SchedWakeupNew(m))?;
            }
            Typed::SysEnter { nr, args } if raw_sys => pooled!(self, ev, enter, SysEnter, |m| {
                m.id = Some(nr);
                m.args.clear();
                m.args.extend_from_slice(&args);
            }),
            Typed::SysExit { nr, ret } if raw_sys => pooled!(self, ev, exit, SysExit, |m| {
                (m.id, m.ret) = (Some(nr), Some(ret));
            }),
            Typed::Print { ip, msg } => pooled!(self, ev, print, Print, |m| {
                m.ip = Some(ip);
                set_str(&mut m.buf, msg);
            }),
            Typed::Fork { parent_comm, parent_pid, child_comm, child_pid } => {
                let mut m = protos::SchedProcessForkFtraceEvent::default();
                set_str(&mut m.parent_comm, parent_comm);
                set_str(&mut m.child_comm, child_comm);
                (m.parent_pid, m.child_pid) = (Some(parent_pid), Some(child_pid));
                self.push(ev, Fe::SchedProcessFork(m))?;
            }
            Typed::Exec { filename, pid, old_pid } => {
                let mut m = protos::SchedProcessExecFtraceEvent::default();
                set_str(&mut m.filename, filename);
                (m.pid, m.old_pid) = (Some(pid), Some(old_pid));
                self.push(ev, Fe::SchedProcessExec(m))?;
            }
            Typed::Exit { comm, pid, prio } => {
                let mut m = protos::SchedProcessExitFtraceEvent::default();
                set_str(&mut m.comm, comm);
                (m.pid, m.prio) = (Some(pid), Some(prio));
                self.push(ev, Fe::SchedProcessExit(m))?;
            }
            Typed::Other if ev.system() == "task" && matches!(ev.name(), "task_newtask" | "task_rename") => {
                let str_of = |n: &str| match ev.field(n) {
                    Ok(Value::Str(s)) => s,
                    _ => &[],
                };
                let pid = ev.int("pid").ok().map(|p| p as i32);
                let oom = ev.int("oom_score_adj").ok().map(|p| p as i32);
                if ev.name() == "task_newtask" {
                    let mut m = protos::TaskNewtaskFtraceEvent { pid, oom_score_adj: oom, ..Default::default() };
                    set_str(&mut m.comm, str_of("comm"));
                    m.clone_flags = ev.int("clone_flags").ok().map(|f| f as u64);
                    self.push(ev, Fe::TaskNewtask(m))?;
                } else {
                    let mut m = protos::TaskRenameFtraceEvent { pid, oom_score_adj: oom, ..Default::default() };
                    set_str(&mut m.oldcomm, str_of("oldcomm"));
                    set_str(&mut m.newcomm, str_of("newcomm"));
                    self.push(ev, Fe::TaskRename(m))?;
                }
            }
            _ => self.generic(ev)?,
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
            })),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(LOSS_SEQUENCE),
            ),
            sequence_flags: flags,
        })
    }

    fn finish(&mut self) -> Result<()> {
        for cpu in 0..self.bundles.len() {
            self.flush_bundle(cpu as u32)?;
        }
        let threads = self
            .threads
            .sorted()
            .into_iter()
            .map(|(tid, c)| process_tree::Thread { tid: Some(tid), tgid: None, name: Some(c.lossy().into_owned()) })
            .collect();
        self.packet(&TracePacket {
            data: Some(trace_packet::Data::ProcessTree(ProcessTree { processes: Vec::new(), threads })),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(FTRACE_SEQUENCE),
            ),
            ..Default::default()
        })?;
        self.out.finish()
    }
}
