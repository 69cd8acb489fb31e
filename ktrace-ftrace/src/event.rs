//! Trace events: a generic [`Event`] with every field by name, and [`Typed`] views of the common
//! ones (sched, syscalls, irq, signal, block, function, function_graph, markers).
//!
//! Field names are resolved to offsets once per event id ([`Decoder::prepare`]); decoding an event
//! reads bytes at known offsets and allocates nothing.

use std::sync::{Arc, Mutex, OnceLock};

use ktrace_core::format::{Field, Value};
use ktrace_core::{Clock, Endian, EventFormat, FormatRegistry, ParseError, RawData, RawEvent, Timestamp};

mod plan;
mod typed;
pub use typed::{BlockPhase, StackFrames, Typed, WakeupKind};
use typed::{Tag, fields_of};

/// Which typed view an event id has, with its fields resolved.
#[derive(Debug, Clone)]
pub struct Kind {
    tag: Tag,
    fields: Vec<Field>,
}

impl Kind {
    /// Resolves the typed view of `format` (a generic view when the event is not one we type, or
    /// when a field we need is missing on this kernel).
    pub fn of(format: &EventFormat) -> Kind {
        let (tag, names) = fields_of(&format.system, &format.name);
        let fields: Option<Vec<Field>> = names.iter().map(|n| format.require(n).ok().cloned()).collect();
        match fields {
            Some(fields) => Kind { tag, fields },
            None => Kind { tag: Tag::Generic, fields: Vec::new() },
        }
    }

    /// The typed view of one record of `format`'s event (`data` from `common_type` on), for
    /// records kept apart from their [`Decoder`] (an owned copy of the bytes and the format):
    /// `Kind::of(format).decode(format, data, endian)`. An [`Event`] has this as [`Event::typed`],
    /// its kind resolved once per id.
    ///
    /// ```
    /// use ktrace_core::{Endian, EventFormat};
    /// use ktrace_ftrace::{Typed, event::Kind};
    /// let f = EventFormat::parse("sched", "name: sched_process_exit\nID: 7\nformat:\n\
    ///     \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
    ///     \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
    ///     \tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
    ///     \tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\
    ///     \tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n\n\
    ///     print fmt: \"\"\n")?;
    /// let mut rec = [0u8; 32];
    /// rec[8..10].copy_from_slice(b"sh");
    /// rec[24..28].copy_from_slice(&42i32.to_ne_bytes());
    /// let Typed::Exit { pid, .. } = Kind::of(&f).decode(&f, &rec, Endian::NATIVE)? else { panic!() };
    /// assert_eq!(pid, 42);
    /// # Ok::<(), ktrace_core::ParseError>(())
    /// ```
    pub fn decode<'a>(&self, format: &'a EventFormat, data: &'a [u8], endian: Endian) -> Result<Typed<'a>, ParseError> {
        typed::decode(self.tag, &self.fields, data, endian, format)
    }
}

/// One trace event: common fields plus the record, with its format for field lookups by name.
///
/// Small (48 bytes on 64-bit) as every reader moves one per event: what is the same for every
/// event of an id (byte order, clock, field plan) stays in the decoder's per-id slot.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The event's format.
    pub format: &'a EventFormat,
    slot: &'a Slot,
    data: &'a [u8],
    timestamp: u64,
    cpu: u32,
}

/// The name of syscall `nr` of a `raw_syscalls` event (`openat` for 257 on x86_64), from the
/// native architecture's table of the `syscalls` crate: the table ktrace-ptrace names syscalls
/// by, so both facades print the same names. A 32-bit task on a 64-bit kernel reports numbers of
/// its compat table (i386 on x86_64), which this does not know from the event alone. `None` for a
/// number the table lacks.
#[doc(alias = "sys_enter")]
pub fn syscall_name(nr: i64) -> Option<&'static str> {
    syscalls::Sysno::new(usize::try_from(nr).ok()?).map(|s| s.name())
}

impl<'a> Event<'a> {
    /// The event name (`sched_switch`).
    pub fn name(&self) -> &'a str {
        &self.format.name
    }
    /// The system (`sched`).
    pub fn system(&self) -> &'a str {
        &self.format.system
    }
    /// The event id.
    pub fn id(&self) -> u16 {
        self.format.id
    }
    /// The CPU that recorded it.
    pub fn cpu(&self) -> u32 {
        self.cpu
    }
    /// When, on the instance's trace clock.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::new(self.timestamp, self.slot.clock)
    }
    /// The record bytes (starting with `common_type`).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
    fn rec(&self) -> RawData<'a> {
        RawData::Single(self.data)
    }
    /// `common_pid`: the thread that was running.
    pub fn pid(&self) -> i32 {
        self.rec().int(4, 4, self.slot.endian).unwrap_or(-1) as i32
    }
    /// `common_flags` (`TRACE_FLAG_*`: irqs off, need resched, hardirq, softirq…).
    pub fn flags(&self) -> u8 {
        self.rec().u8(2).unwrap_or(0)
    }
    /// `common_preempt_count`.
    pub fn preempt_count(&self) -> u8 {
        self.rec().u8(3).unwrap_or(0)
    }
    /// A field by name (common fields included).
    pub fn field(&self, name: &str) -> Result<Value<'a>, ParseError> {
        self.format.require(name)?.value(self.rec(), self.slot.endian)
    }
    /// An integer field by name.
    pub fn int(&self, name: &str) -> Result<i64, ParseError> {
        let f = self.format.require(name)?;
        if f.signed {
            f.i64(self.rec(), self.slot.endian)
        } else {
            f.u64(self.rec(), self.slot.endian).map(|v| v as i64)
        }
    }
    /// Every event field with its value, in format order (each value as [`Field::value`] reads
    /// it, through a plan made once per event id).
    #[inline]
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, Result<Value<'a>, ParseError>)> + 'a {
        let rec = self.data;
        let e = self.slot.endian;
        self.format.fields.iter().zip(&self.slot.plan).map(move |(f, s)| (f.name.as_str(), s.value(f, rec, e)))
    }

    /// The typed view of this event ([`Typed::Other`] for events without one).
    #[inline]
    pub fn typed(&self) -> Result<Typed<'a>, ParseError> {
        typed::decode(self.slot.kind.tag, &self.slot.kind.fields, self.data, self.slot.endian, self.format)
    }
}

/// A format with its typed view, resolved once per event id.
#[derive(Debug)]
pub(crate) struct Slot {
    format: Arc<EventFormat>,
    kind: Kind,
    /// How to read each of `format.fields`.
    plan: Vec<plan::Step>,
    /// The decoder's, here so that an [`Event`] need not carry them.
    endian: Endian,
    clock: Clock,
}

/// 256 ids' slots; allocated when one of its ids is first seen. A slot is set once (`None` for
/// ids nobody knows) and never moves, so events can borrow from it.
type Block = [OnceLock<Option<Box<Slot>>>; 256];

/// Turns raw page events into [`Event`]s: formats and typed views resolved once per event id,
/// the first time the id is decoded (through `&self`: decoding needs no preparation pass).
pub struct Decoder {
    registry: Mutex<FormatRegistry>,
    table: [OnceLock<Box<Block>>; 256],
    endian: Endian,
    clock: Clock,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("endian", &self.endian).field("clock", &self.clock).finish()
    }
}

impl Decoder {
    /// A decoder over `registry` (usually [`crate::Instance::formats`]).
    pub fn new(registry: FormatRegistry, endian: Endian, clock: Clock) -> Decoder {
        Decoder { registry: Mutex::new(registry), table: std::array::from_fn(|_| OnceLock::new()), endian, clock }
    }

    /// The slot of `id`, loading its format on first use (one lock per id, ever).
    #[inline]
    fn slot(&self, id: u16) -> Option<&Slot> {
        // Every event after an id's first: two loads, no call.
        if let Some(block) = self.table.get((id >> 8) as usize)?.get()
            && let Some(slot) = block.get((id & 0xff) as usize)?.get()
        {
            return slot.as_deref();
        }
        self.load_slot(id)
    }

    /// [`Decoder::slot`] for an id seen the first time.
    #[cold]
    fn load_slot(&self, id: u16) -> Option<&Slot> {
        let block =
            self.table.get((id >> 8) as usize)?.get_or_init(|| Box::new(std::array::from_fn(|_| OnceLock::new())));
        block
            .get((id & 0xff) as usize)?
            .get_or_init(|| {
                let mut reg = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                reg.get(id).cloned().map(|format| {
                    let plan = plan::plan(&format.fields, self.endian);
                    Box::new(Slot { kind: Kind::of(&format), plan, format, endian: self.endian, clock: self.clock })
                })
            })
            .as_deref()
    }

    /// Loads the format and typed view for `id` now; false when no format is known for it.
    /// (Decoding loads on first use; this only moves the cost.)
    pub fn prepare(&self, id: u16) -> bool {
        self.slot(id).is_some()
    }

    /// Prepares every id found in `raw` events.
    pub fn prepare_all<'a>(&self, events: impl Iterator<Item = RawEvent<'a>>) {
        for ev in events {
            if let Ok(id) = ev.id(self.endian) {
                self.prepare(id);
            }
        }
    }

    /// Decodes a raw event; an id with no known format is [`ParseError::UnknownEvent`].
    #[inline]
    pub fn decode<'a>(&'a self, raw: RawEvent<'a>) -> Result<Event<'a>, ParseError> {
        let id = raw.id(self.endian)?;
        // Not `ok_or`: that builds (and drops) the error for every event.
        let Some(slot) = self.slot(id) else { return Err(ParseError::UnknownEvent { id }) };
        Ok(Event { format: &slot.format, slot, data: raw.data, timestamp: raw.timestamp, cpu: raw.cpu })
    }

    /// [`Decoder::decode`] through `cache`, the slots of the ids a stream decoded last (one
    /// entry per `id % IDS`): a CPU's events are mostly a few ids (sys_enter and sys_exit in
    /// turn…), which then skip the table and the format's `Arc`.
    #[inline(always)]
    pub(crate) fn decode_cached<'a>(
        &'a self,
        raw: RawEvent<'a>,
        cache: &mut IdCache<'a>,
    ) -> Result<Event<'a>, ParseError> {
        let id = raw.id(self.endian)?;
        let (format, slot) = match cache.0.get(id as usize % IdCache::IDS) {
            Some(&Some((i, format, slot))) if i == id => (format, slot),
            _ => cache.load(self, id)?,
        };
        Ok(Event { format, slot, data: raw.data, timestamp: raw.timestamp, cpu: raw.cpu })
    }

    /// The format of `id` as the decoder shares it (loaded on first use): to keep with an owned
    /// copy of an event's bytes without cloning the format.
    pub fn format(&self, id: u16) -> Option<&Arc<EventFormat>> {
        self.slot(id).map(|s| &s.format)
    }

    /// The formats resolved so far (the ids decoded or prepared), by id.
    pub fn formats(&self) -> Vec<Arc<EventFormat>> {
        let mut out = Vec::new();
        for block in self.table.iter().filter_map(OnceLock::get) {
            out.extend(block.iter().filter_map(|s| s.get().and_then(Option::as_ref)).map(|s| s.format.clone()));
        }
        out
    }

    /// Byte order of the records.
    pub fn endian(&self) -> Endian {
        self.endian
    }

    /// The trace clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }
}

/// A stream's small direct-mapped cache of [`Decoder`] slots by id (see [`Decoder::decode_cached`]).
#[derive(Default)]
pub(crate) struct IdCache<'a>([Option<(u16, &'a EventFormat, &'a Slot)>; IdCache::IDS]);

impl<'a> IdCache<'a> {
    const IDS: usize = 8;

    /// Looks `id` up in the decoder's table and keeps it.
    #[cold]
    fn load(&mut self, d: &'a Decoder, id: u16) -> Result<(&'a EventFormat, &'a Slot), ParseError> {
        let slot = d.slot(id).ok_or(ParseError::UnknownEvent { id })?;
        if let Some(e) = self.0.get_mut(id as usize % IdCache::IDS) {
            *e = Some((id, &slot.format, slot));
        }
        Ok((&slot.format, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KSTACK: &str = "name: kernel_stack\nID: 4\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n\nprint fmt: \"\"\n";
    const USTACK: &str = "name: user_stack\nID: 13\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:unsigned int tgid;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n\nprint fmt: \"\"\n";

    fn record(id: u16, word8: u32, frames: &[u64]) -> Vec<u8> {
        let mut v = vec![0u8; 16];
        v[0..2].copy_from_slice(&id.to_ne_bytes());
        v[8..12].copy_from_slice(&word8.to_ne_bytes());
        for f in frames {
            v.extend_from_slice(&f.to_ne_bytes());
        }
        v
    }

    fn decoder() -> Decoder {
        let mut reg = FormatRegistry::new();
        reg.add_text("ftrace", KSTACK).unwrap();
        reg.add_text("ftrace", USTACK).unwrap();
        let d = Decoder::new(reg, Endian::NATIVE, Clock::Local);
        assert!(d.prepare(4) && d.prepare(13) && !d.prepare(99));
        d
    }

    #[test]
    fn kernel_stacks_longer_than_the_format_and_lying_sizes() {
        let d = decoder();
        // 12 frames: the record is as long as the stack, past the format's caller[8].
        let frames: Vec<u64> = (1..=12).map(|i| 0xffff_ffff_8100_0000 + i).collect();
        let rec = record(4, 12, &frames);
        let ev = d.decode(RawEvent { timestamp: 1, cpu: 0, offset: 0, data: &rec }).unwrap();
        let Typed::KernelStack { frames: got } = ev.typed().unwrap() else { panic!("not a kernel stack") };
        assert_eq!(got.collect::<Vec<_>>(), frames);
        // A size larger than the record: only what is there, no error, no panic.
        let rec = record(4, 1000, &frames[..3]);
        let ev = d.decode(RawEvent { timestamp: 1, cpu: 0, offset: 0, data: &rec }).unwrap();
        let Typed::KernelStack { frames: got } = ev.typed().unwrap() else { panic!("not a kernel stack") };
        assert_eq!(got.count(), 3);
        // Negative size: empty.
        let rec = record(4, u32::MAX, &frames[..3]);
        let ev = d.decode(RawEvent { timestamp: 1, cpu: 0, offset: 0, data: &rec }).unwrap();
        let Typed::KernelStack { frames: got } = ev.typed().unwrap() else { panic!("not a kernel stack") };
        assert_eq!(got.count(), 0);
    }

    #[test]
    fn user_stacks_end_at_zero() {
        let d = decoder();
        let rec = record(13, 4242, &[0x401000, 0x402000, 0, 0, 0, 0, 0, 0]);
        let ev = d.decode(RawEvent { timestamp: 1, cpu: 0, offset: 0, data: &rec }).unwrap();
        let Typed::UserStack { tgid, frames } = ev.typed().unwrap() else { panic!("not a user stack") };
        assert_eq!((tgid, frames.collect::<Vec<_>>()), (4242, vec![0x401000, 0x402000]));
    }
}
