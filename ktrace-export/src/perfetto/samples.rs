//! Perf samples with callstacks, in Perfetto's own CPU-profile form: each sample a `PerfSample`
//! packet (cpu, pid, tid, `callstack_iid`) on sequence [`SAMPLE_SEQUENCE`], its frames and
//! callstack interned on that sequence (`InternedData`: `function_names`, `frames`, `callstacks`,
//! and one `mappings` entry, [`SAMPLE_MAPPING`], that every frame points to; frames come in
//! already symbolized). Each function name and each distinct callstack is interned once, in the
//! packet of the first sample that has it; a sample whose stack was seen before allocates nothing.

use super::Perfetto;
use super::protos::{Callstack, Frame, InternedData, InternedString, Mapping, PerfSample, TracePacket, trace_packet};
use crate::error::Result;
use crate::sink::Sink;

/// The packet sequence of the perf samples.
pub const SAMPLE_SEQUENCE: u32 = 4;
/// The path of the one mapping every sample frame points to (Perfetto wants a mapping per frame;
/// ktrace's frames arrive as names, e.g. from ktrace-sample's `Symbolizer::name`).
pub const SAMPLE_MAPPING: &str = "[ktrace symbolized]";
/// `SEQ_INCREMENTAL_STATE_CLEARED`.
const CLEARED: u32 = 1;
/// `SEQ_NEEDS_INCREMENTAL_STATE`: the packet refers to interned data.
const NEEDS_STATE: u32 = 2;

/// The interning tables of the sample sequence.
#[derive(Debug, Default)]
pub(super) struct Samples {
    /// Function name -> its frame's iid (a frame per name; the name's iid is the same).
    frames: foldhash::HashMap<String, u64>,
    /// Frame iids, root first -> callstack iid.
    stacks: foldhash::HashMap<Vec<u64>, u64>,
    /// The sample being interned's frame iids.
    scratch: Vec<u64>,
    started: bool,
}

impl Samples {
    /// Interns `frames` (leaf first, as perf's callchains are): what the sample's packet must
    /// carry first (nothing once its names and stack were seen), its callstack iid and the
    /// packet's sequence flags.
    fn intern<'a>(&mut self, frames: impl IntoIterator<Item = &'a str>) -> (Option<InternedData>, u64, u32) {
        let mut new = InternedData::default();
        let mut flags = NEEDS_STATE;
        if !self.started {
            self.started = true;
            flags |= CLEARED;
            new.mapping_paths.push(InternedString { iid: Some(1), str: Some(SAMPLE_MAPPING.as_bytes().to_vec()) });
            new.mappings.push(Mapping { iid: Some(1), build_id: None, path_string_ids: vec![1] });
        }
        self.scratch.clear();
        for name in frames {
            let iid = match self.frames.get(name) {
                Some(&iid) => iid,
                None => {
                    let iid = self.frames.len() as u64 + 1;
                    self.frames.insert(name.to_owned(), iid);
                    new.function_names.push(InternedString { iid: Some(iid), str: Some(name.as_bytes().to_vec()) });
                    new.frames.push(Frame {
                        iid: Some(iid),
                        function_name_id: Some(iid),
                        mapping_id: Some(1),
                        rel_pc: Some(0),
                    });
                    iid
                }
            };
            self.scratch.push(iid);
        }
        // Perfetto's callstacks are root first.
        self.scratch.reverse();
        let stack = match self.stacks.get(self.scratch.as_slice()) {
            Some(&iid) => iid,
            None => {
                let iid = self.stacks.len() as u64 + 1;
                self.stacks.insert(self.scratch.clone(), iid);
                new.callstacks.push(Callstack { iid: Some(iid), frame_ids: self.scratch.clone() });
                iid
            }
        };
        let fresh = !(new.mappings.is_empty() && new.frames.is_empty() && new.callstacks.is_empty());
        (fresh.then_some(new), stack, flags)
    }
}

impl<W: Sink> Perfetto<W> {
    /// Writes one perf sample at `ts` (ns) with its callchain, `frames` named and leaf first (as
    /// perf gives callchains, and ktrace-sample's `Profile::frames` holds them): a `PerfSample`
    /// whose callstack resolves, root first, to these names in Perfetto. New names and stacks
    /// are interned; a stack seen before allocates nothing.
    ///
    /// ```
    /// use ktrace_export::{Perfetto, Writer};
    /// let mut out = Vec::new();
    /// let mut w = Perfetto::new(&mut out);
    /// w.sample(1_000, 0, 42, 42, ["inner", "outer", "main"])?;
    /// w.sample(2_000, 0, 42, 42, ["inner", "outer", "main"])?;
    /// w.finish()?;
    /// # Ok::<(), ktrace_export::Error>(())
    /// ```
    pub fn sample<'a>(
        &mut self,
        ts: u64,
        cpu: u32,
        pid: i32,
        tid: i32,
        frames: impl IntoIterator<Item = &'a str>,
    ) -> Result<()> {
        self.last_ts = self.last_ts.max(ts);
        let (interned_data, stack, flags) = self.samples.intern(frames);
        self.packet(&TracePacket {
            timestamp: Some(ts),
            interned_data,
            data: Some(trace_packet::Data::PerfSample(PerfSample {
                cpu: Some(cpu),
                pid: Some(pid as u32),
                tid: Some(tid as u32),
                callstack_iid: Some(stack),
            })),
            optional_trusted_packet_sequence_id: Some(
                trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(SAMPLE_SEQUENCE),
            ),
            sequence_flags: Some(flags),
        })
    }
}
