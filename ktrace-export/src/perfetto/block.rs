//! Block requests as slices: each `block_rq_issue` → `block_rq_complete` pair of a device and
//! sector becomes a `TrackEvent` slice on a track of its device (`block MAJ:MIN`). Requests in
//! flight at once go on separate lane tracks under the device track (slices on one track must
//! nest; requests overlap): a request takes its device's lowest free lane at issue and frees it
//! at completion.

use super::protos::{DebugAnnotation, TracePacket, TrackDescriptor, TrackEvent};
use super::protos::{debug_annotation, trace_packet, track_descriptor, track_event};
use crate::lanes::{Io, Lanes, dev_name};

/// The packet sequence of the block slices.
pub const BLOCK_SEQUENCE: u32 = 3;
/// Track uuids of block devices: this, `dev << 16` and the lane + 1 (0 for the device track).
pub const BLOCK_TRACKS: u64 = 0x6b62_0000_0000_0000;

/// Requests in flight on their lanes, and the tracks described so far.
#[derive(Debug, Default)]
pub(super) struct Blocks {
    lanes: Lanes,
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
        let is = self.lanes.issue(ts, dev, sector, nr_sector, rwbs);
        let lane = is.lane;
        let new = [(u32::MAX, None, is.new_device), (lane, Some(track(dev, u32::MAX)), is.new_lane)];
        for (l, parent, _) in new.into_iter().filter(|t| t.2) {
            let name = match l {
                u32::MAX => format!("block {}", dev_name(dev)),
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
        out
    }

    /// `block_rq_complete` (or the trace's end, `error` `None`): the request's slice, as its
    /// begin and end events; nothing for a request whose issue was not seen.
    pub(super) fn complete(&mut self, ts: u64, dev: u32, sector: u64, error: Option<i32>) -> Vec<TracePacket> {
        let Some(io) = self.lanes.complete(dev, sector) else { return Vec::new() };
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
            ..Default::default()
        };
        let begin = ev(track_event::Type::SliceBegin, Some(io.rwbs.lossy().into_owned()), notes);
        vec![
            packet(Some(io.start), trace_packet::Data::TrackEvent(begin), false),
            packet(Some(end), trace_packet::Data::TrackEvent(ev(track_event::Type::SliceEnd, None, Vec::new())), false),
        ]
    }

    /// The requests still in flight at `end`, as unfinished slices (by start, then device).
    pub(super) fn finish(&mut self, end: u64) -> Vec<TracePacket> {
        self.lanes.drain().into_iter().flat_map(|((dev, sector), io)| Self::slice(dev, sector, io, end, None)).collect()
    }
}
