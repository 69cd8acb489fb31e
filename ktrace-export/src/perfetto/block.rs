//! Block requests as slices: each `block_rq_issue` → `block_rq_complete` pair of a device and
//! sector becomes a `TrackEvent` slice on a track of its device (`block MAJ:MIN`). Requests in
//! flight at once go on separate lane tracks under the device track (slices on one track must
//! nest; requests overlap): a request takes the lowest free lane at issue and frees it at
//! completion. Memory is the requests in flight and the lanes, not the trace.

use super::protos::{DebugAnnotation, TracePacket, TrackDescriptor, TrackEvent};
use super::protos::{debug_annotation, trace_packet, track_descriptor, track_event};
use crate::names::Comm;

/// The packet sequence of the block slices.
pub const BLOCK_SEQUENCE: u32 = 3;
/// Track uuids of block devices: this, `dev << 16` and the lane + 1 (0 for the device track).
pub const BLOCK_TRACKS: u64 = 0x6b62_0000_0000_0000;

/// A request in flight.
#[derive(Debug, Clone, Copy)]
struct Io {
    start: u64,
    nr_sector: u32,
    rwbs: Comm,
    lane: u32,
}

/// Requests in flight by (device, sector), and each device's busy lanes.
#[derive(Debug, Default)]
pub(super) struct Blocks {
    inflight: foldhash::HashMap<(u32, u64), Io>,
    lanes: foldhash::HashMap<u32, Vec<bool>>,
    /// Lane tracks described so far (lane `u32::MAX`: the device's own track).
    described: foldhash::HashSet<(u32, u32)>,
    started: bool,
}

fn track(dev: u32, lane: u32) -> u64 {
    BLOCK_TRACKS | (dev as u64) << 16 | (lane.wrapping_add(1) as u64 & 0xffff)
}

fn packet(ts: Option<u64>, data: trace_packet::Data, first: bool) -> TracePacket {
    TracePacket {
        timestamp: ts,
        data: Some(data),
        optional_trusted_packet_sequence_id: Some(
            trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(BLOCK_SEQUENCE),
        ),
        // SEQ_INCREMENTAL_STATE_CLEARED on the sequence's first packet.
        sequence_flags: first.then_some(1),
        ..Default::default()
    }
}

fn note(name: &str, v: debug_annotation::Value) -> DebugAnnotation {
    DebugAnnotation { name_field: Some(debug_annotation::NameField::Name(name.into())), value: Some(v) }
}

impl Blocks {
    /// `block_rq_issue`: the request starts; returns the track descriptors to write first.
    pub(super) fn issue(&mut self, ts: u64, dev: u32, sector: u64, nr_sector: u32, rwbs: &[u8]) -> Vec<TracePacket> {
        let mut out = Vec::new();
        // A request issued again (requeued) before completing starts over.
        if let Some(old) = self.inflight.remove(&(dev, sector)) {
            self.free(dev, old.lane);
        }
        let lanes = self.lanes.entry(dev).or_default();
        let lane = match lanes.iter().position(|busy| !busy) {
            Some(l) => l,
            None => {
                lanes.push(false);
                lanes.len() - 1
            }
        };
        if let Some(b) = lanes.get_mut(lane) {
            *b = true;
        }
        let lane = lane as u32;
        for (l, parent) in [(u32::MAX, None), (lane, Some(track(dev, u32::MAX)))] {
            if self.described.insert((dev, l)) {
                let name = match l {
                    u32::MAX => format!("block {}:{}", dev >> 20, dev & 0xfffff),
                    l => format!("lane {l}"),
                };
                let first = !std::mem::replace(&mut self.started, true);
                out.push(packet(
                    None,
                    trace_packet::Data::TrackDescriptor(TrackDescriptor {
                        uuid: Some(track(dev, l)),
                        parent_uuid: parent,
                        static_or_dynamic_name: Some(track_descriptor::StaticOrDynamicName::Name(name)),
                        ..Default::default()
                    }),
                    first,
                ));
            }
        }
        self.inflight.insert((dev, sector), Io { start: ts, nr_sector, rwbs: Comm::new(rwbs), lane });
        out
    }

    fn free(&mut self, dev: u32, lane: u32) {
        if let Some(b) = self.lanes.get_mut(&dev).and_then(|l| l.get_mut(lane as usize)) {
            *b = false;
        }
    }

    /// `block_rq_complete` (or the trace's end, `error` `None`): the request's slice, as its
    /// begin and end events; nothing for a request whose issue was not seen.
    pub(super) fn complete(&mut self, ts: u64, dev: u32, sector: u64, error: Option<i32>) -> Vec<TracePacket> {
        let Some(io) = self.inflight.remove(&(dev, sector)) else { return Vec::new() };
        self.free(dev, io.lane);
        Self::slice(dev, sector, io, ts, error)
    }

    fn slice(dev: u32, sector: u64, io: Io, end: u64, error: Option<i32>) -> Vec<TracePacket> {
        let uuid = track(dev, io.lane);
        let mut notes = vec![
            note("sector", debug_annotation::Value::UintValue(sector)),
            note("nr_sector", debug_annotation::Value::UintValue(io.nr_sector as u64)),
        ];
        match error {
            Some(e) => notes.push(note("error", debug_annotation::Value::IntValue(e as i64))),
            None => notes.push(note("unfinished", debug_annotation::Value::UintValue(1))),
        }
        let ev = |ty: track_event::Type, name: Option<String>, notes: Vec<DebugAnnotation>| TrackEvent {
            r#type: Some(ty as i32),
            track_uuid: Some(uuid),
            name_field: name.map(track_event::NameField::Name),
            debug_annotations: notes,
        };
        let begin = ev(track_event::Type::SliceBegin, Some(io.rwbs.lossy().into_owned()), notes);
        vec![
            packet(Some(io.start), trace_packet::Data::TrackEvent(begin), false),
            packet(Some(end), trace_packet::Data::TrackEvent(ev(track_event::Type::SliceEnd, None, Vec::new())), false),
        ]
    }

    /// The requests still in flight at `end`, as unfinished slices (by start, then device).
    pub(super) fn finish(&mut self, end: u64) -> Vec<TracePacket> {
        let mut open: Vec<_> = self.inflight.drain().collect();
        open.sort_unstable_by_key(|((dev, sector), io)| (io.start, *dev, *sector));
        open.into_iter().flat_map(|((dev, sector), io)| Self::slice(dev, sector, io, end, None)).collect()
    }
}
