//! Trace events: a generic [`Event`] with every field by name, and [`Typed`] views of the common
//! ones (sched, syscalls, irq, signal, block, function, function_graph, markers).
//!
//! Field names are resolved to offsets once per event id ([`Decoder::prepare`]); decoding an event
//! reads bytes at known offsets and allocates nothing.

use std::sync::{Arc, Mutex, OnceLock};

use ktrace_core::format::{Field, Value};
use ktrace_core::{Clock, Endian, EventFormat, FormatRegistry, ParseError, RawData, RawEvent, Timestamp};

/// Which typed view an event id has, with its fields resolved.
#[derive(Debug, Clone)]
pub struct Kind {
    tag: Tag,
    fields: Vec<Field>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Generic,
    SchedSwitch,
    SchedWakeup,
    SchedWaking,
    SchedWakeupNew,
    SchedFork,
    SchedExec,
    SchedExit,
    RawSysEnter,
    RawSysExit,
    SyscallEnter,
    SyscallExit,
    IrqEntry,
    IrqExit,
    SoftirqEntry,
    SoftirqExit,
    SignalGenerate,
    SignalDeliver,
    BlockInsert,
    BlockIssue,
    BlockComplete,
    Function,
    GraphEntry,
    GraphExit,
    Print,
    RawData,
    KernelStack,
    UserStack,
}

/// The field names each typed view reads, in order.
fn fields_of(system: &str, name: &str) -> (Tag, &'static [&'static str]) {
    match (system, name) {
        ("sched", "sched_switch") => (
            Tag::SchedSwitch,
            &["prev_comm", "prev_pid", "prev_prio", "prev_state", "next_comm", "next_pid", "next_prio"],
        ),
        ("sched", "sched_wakeup") => (Tag::SchedWakeup, &["comm", "pid", "prio", "target_cpu"]),
        ("sched", "sched_waking") => (Tag::SchedWaking, &["comm", "pid", "prio", "target_cpu"]),
        ("sched", "sched_wakeup_new") => (Tag::SchedWakeupNew, &["comm", "pid", "prio", "target_cpu"]),
        ("sched", "sched_process_fork") => (Tag::SchedFork, &["parent_comm", "parent_pid", "child_comm", "child_pid"]),
        ("sched", "sched_process_exec") => (Tag::SchedExec, &["filename", "pid", "old_pid"]),
        ("sched", "sched_process_exit") => (Tag::SchedExit, &["comm", "pid", "prio"]),
        ("raw_syscalls", "sys_enter") => (Tag::RawSysEnter, &["id", "args"]),
        ("raw_syscalls", "sys_exit") => (Tag::RawSysExit, &["id", "ret"]),
        ("syscalls", n) if n.starts_with("sys_enter_") => (Tag::SyscallEnter, &["__syscall_nr"]),
        ("syscalls", n) if n.starts_with("sys_exit_") => (Tag::SyscallExit, &["__syscall_nr", "ret"]),
        ("irq", "irq_handler_entry") => (Tag::IrqEntry, &["irq", "name"]),
        ("irq", "irq_handler_exit") => (Tag::IrqExit, &["irq", "ret"]),
        ("irq", "softirq_entry") => (Tag::SoftirqEntry, &["vec"]),
        ("irq", "softirq_exit") => (Tag::SoftirqExit, &["vec"]),
        ("signal", "signal_generate") => {
            (Tag::SignalGenerate, &["sig", "errno", "code", "comm", "pid", "group", "result"])
        }
        ("signal", "signal_deliver") => (Tag::SignalDeliver, &["sig", "errno", "code", "sa_handler", "sa_flags"]),
        ("block", "block_rq_insert") => (Tag::BlockInsert, &["dev", "sector", "nr_sector", "rwbs"]),
        ("block", "block_rq_issue") => (Tag::BlockIssue, &["dev", "sector", "nr_sector", "rwbs"]),
        ("block", "block_rq_complete") => (Tag::BlockComplete, &["dev", "sector", "nr_sector", "rwbs", "error"]),
        ("ftrace", "function") => (Tag::Function, &["ip", "parent_ip"]),
        ("ftrace", "funcgraph_entry") => (Tag::GraphEntry, &["func", "depth"]),
        ("ftrace", "funcgraph_exit") => (Tag::GraphExit, &["func", "depth", "overrun", "calltime", "rettime"]),
        ("ftrace", "print") => (Tag::Print, &["ip", "buf"]),
        ("ftrace", "raw_data") => (Tag::RawData, &["id", "buf"]),
        ("ftrace", "kernel_stack") => (Tag::KernelStack, &["size", "caller"]),
        ("ftrace", "user_stack") => (Tag::UserStack, &["tgid", "caller"]),
        _ => (Tag::Generic, &[]),
    }
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
}

/// A block-request phase in [`Typed::BlockRq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockPhase {
    /// `block_rq_insert`: put on the scheduler queue.
    Insert,
    /// `block_rq_issue`: sent to the driver.
    Issue,
    /// `block_rq_complete`: completed by the device.
    Complete,
}

/// Which wakeup event a [`Typed::Wakeup`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WakeupKind {
    /// `sched_waking` (the waker's side, 4.3+).
    Waking,
    /// `sched_wakeup` (the task became runnable).
    Wakeup,
    /// `sched_wakeup_new` (a new task's first wakeup).
    WakeupNew,
}

/// Typed views of common events. Strings are bytes from the record (comm names need not be UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Typed<'a> {
    /// `sched:sched_switch`.
    #[doc(alias = "sched_switch")]
    SchedSwitch {
        /// Outgoing task's comm.
        prev_comm: &'a [u8],
        /// Outgoing pid.
        prev_pid: i32,
        /// Outgoing priority.
        prev_prio: i32,
        /// Outgoing state (`TASK_*` bits; 0 = preempted while runnable).
        prev_state: i64,
        /// Incoming comm.
        next_comm: &'a [u8],
        /// Incoming pid.
        next_pid: i32,
        /// Incoming priority.
        next_prio: i32,
    },
    /// `sched:sched_waking`, `sched_wakeup`, `sched_wakeup_new`.
    #[doc(alias = "sched_wakeup")]
    #[doc(alias = "sched_waking")]
    Wakeup {
        /// Which event.
        kind: WakeupKind,
        /// The woken task's comm.
        comm: &'a [u8],
        /// The woken pid.
        pid: i32,
        /// Its priority.
        prio: i32,
        /// The CPU it will run on.
        target_cpu: i32,
    },
    /// `sched:sched_process_fork`.
    #[doc(alias = "sched_process_fork")]
    Fork {
        /// Parent comm.
        parent_comm: &'a [u8],
        /// Parent pid.
        parent_pid: i32,
        /// Child comm.
        child_comm: &'a [u8],
        /// Child pid.
        child_pid: i32,
    },
    /// `sched:sched_process_exec`.
    #[doc(alias = "sched_process_exec")]
    Exec {
        /// The program path.
        filename: &'a [u8],
        /// The pid after exec.
        pid: i32,
        /// The pid before (differs when a non-leader thread execs).
        old_pid: i32,
    },
    /// `sched:sched_process_exit`.
    #[doc(alias = "sched_process_exit")]
    Exit {
        /// comm.
        comm: &'a [u8],
        /// pid.
        pid: i32,
        /// priority.
        prio: i32,
    },
    /// `raw_syscalls:sys_enter` or `syscalls:sys_enter_*`.
    #[doc(alias = "sys_enter")]
    SysEnter {
        /// Syscall number.
        nr: i64,
        /// Arguments (for `syscalls:sys_enter_*`, the event's argument fields in order, rest 0).
        args: [u64; 6],
    },
    /// `raw_syscalls:sys_exit` or `syscalls:sys_exit_*`.
    #[doc(alias = "sys_exit")]
    SysExit {
        /// Syscall number.
        nr: i64,
        /// Return value (negative errno on failure).
        ret: i64,
    },
    /// `irq:irq_handler_entry`.
    #[doc(alias = "irq_handler_entry")]
    IrqEntry {
        /// IRQ number.
        irq: i32,
        /// Handler name.
        name: &'a [u8],
    },
    /// `irq:irq_handler_exit`.
    #[doc(alias = "irq_handler_exit")]
    IrqExit {
        /// IRQ number.
        irq: i32,
        /// Handler result (1 = handled).
        ret: i32,
    },
    /// `irq:softirq_entry`.
    #[doc(alias = "softirq_entry")]
    SoftirqEntry {
        /// Softirq vector.
        vec: u32,
    },
    /// `irq:softirq_exit`.
    #[doc(alias = "softirq_exit")]
    SoftirqExit {
        /// Softirq vector.
        vec: u32,
    },
    /// `signal:signal_generate`.
    #[doc(alias = "signal_generate")]
    SignalGenerate {
        /// Signal number.
        sig: i32,
        /// si_errno.
        errno: i32,
        /// si_code.
        code: i32,
        /// Target comm.
        comm: &'a [u8],
        /// Target pid.
        pid: i32,
        /// Sent to the thread group.
        group: bool,
        /// `TRACE_SIGNAL_*` result (0 delivered, 1 ignored, 2 already pending…).
        result: i32,
    },
    /// `signal:signal_deliver`.
    #[doc(alias = "signal_deliver")]
    SignalDeliver {
        /// Signal number.
        sig: i32,
        /// si_errno.
        errno: i32,
        /// si_code.
        code: i32,
        /// Handler address.
        sa_handler: u64,
        /// sa_flags.
        sa_flags: u64,
    },
    /// `block:block_rq_insert`, `block_rq_issue`, `block_rq_complete`.
    #[doc(alias = "block_rq_issue")]
    #[doc(alias = "block_rq_complete")]
    BlockRq {
        /// Which event.
        phase: BlockPhase,
        /// Device (`dev_t` as the kernel encodes it: major << 20 | minor).
        dev: u32,
        /// First sector.
        sector: u64,
        /// Sectors.
        nr_sector: u32,
        /// R/W/D/F/S… flags as text.
        rwbs: &'a [u8],
        /// Completion error (0 on success; 0 for insert/issue).
        error: i32,
    },
    /// `ftrace:function` (function tracer).
    #[doc(alias = "function")]
    Function {
        /// Traced function address.
        ip: u64,
        /// Caller address.
        parent_ip: u64,
    },
    /// `ftrace:funcgraph_entry`.
    #[doc(alias = "funcgraph_entry")]
    GraphEntry {
        /// Function address.
        func: u64,
        /// Call depth.
        depth: u32,
    },
    /// `ftrace:funcgraph_exit`.
    #[doc(alias = "funcgraph_exit")]
    GraphExit {
        /// Function address.
        func: u64,
        /// Call depth.
        depth: u32,
        /// Entries lost on the return stack.
        overrun: u32,
        /// Entry time.
        calltime: u64,
        /// Return time.
        rettime: u64,
    },
    /// `ftrace:print` (a `trace_marker` write).
    #[doc(alias = "print")]
    #[doc(alias = "trace_marker")]
    Print {
        /// The writer's ip.
        ip: u64,
        /// The message (without the trailing newline).
        msg: &'a [u8],
    },
    /// `ftrace:raw_data` (a `trace_marker_raw` write).
    #[doc(alias = "trace_marker_raw")]
    RawData {
        /// The first u32 written.
        id: u32,
        /// The rest (with alignment padding the kernel adds).
        data: RawData<'a>,
    },
    /// `ftrace:kernel_stack`: the kernel stack recorded after an event (option `stacktrace`, the
    /// `stacktrace` trigger, or `func_stack_trace` with the function tracer).
    #[doc(alias = "kernel_stack")]
    #[doc(alias = "stacktrace")]
    KernelStack {
        /// Return addresses, innermost first (`size` of them: the record is as long as the stack,
        /// whatever the format's `caller[8]` says).
        frames: StackFrames<'a>,
    },
    /// `ftrace:user_stack`: the user stack (option `userstacktrace`), up to 8 frames.
    #[doc(alias = "user_stack")]
    #[doc(alias = "userstacktrace")]
    UserStack {
        /// Thread group of the task.
        tgid: u32,
        /// Return addresses, innermost first (zero entries end it).
        frames: StackFrames<'a>,
    },
    /// Any other event: use [`Event::field`].
    Other,
}

/// One trace event: common fields plus the record, with its format for field lookups by name.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The event's format.
    pub format: &'a EventFormat,
    kind: &'a Kind,
    raw: RawEvent<'a>,
    endian: Endian,
    clock: Clock,
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
        self.raw.cpu
    }
    /// When, on the instance's trace clock.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::new(self.raw.timestamp, self.clock)
    }
    /// The record bytes (starting with `common_type`).
    pub fn data(&self) -> &'a [u8] {
        self.raw.data
    }
    fn rec(&self) -> RawData<'a> {
        RawData::Single(self.raw.data)
    }
    /// `common_pid`: the thread that was running.
    pub fn pid(&self) -> i32 {
        self.rec().int(4, 4, self.endian).unwrap_or(-1) as i32
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
        self.format.require(name)?.value(self.rec(), self.endian)
    }
    /// An integer field by name.
    pub fn int(&self, name: &str) -> Result<i64, ParseError> {
        let f = self.format.require(name)?;
        if f.signed { f.i64(self.rec(), self.endian) } else { f.u64(self.rec(), self.endian).map(|v| v as i64) }
    }
    /// Every event field with its value, in format order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, Result<Value<'a>, ParseError>)> + 'a {
        let rec = self.rec();
        let e = self.endian;
        self.format.fields.iter().map(move |f| (f.name.as_str(), f.value(rec, e)))
    }

    /// The typed view of this event ([`Typed::Other`] for events without one).
    pub fn typed(&self) -> Result<Typed<'a>, ParseError> {
        let r = self.rec();
        let e = self.endian;
        let f = &self.kind.fields;
        let get = |i: usize| f.get(i).ok_or(ParseError::UnknownEvent { id: self.format.id });
        let int = |i: usize| -> Result<i64, ParseError> {
            let fl = get(i)?;
            if fl.signed { fl.i64(r, e) } else { fl.u64(r, e).map(|v| v as i64) }
        };
        let i32_ = |i: usize| int(i).map(|v| v as i32);
        let u64_ = |i: usize| get(i)?.u64(r, e);
        let s = |i: usize| get(i)?.str(r, e);
        Ok(match self.kind.tag {
            Tag::Generic => Typed::Other,
            Tag::SchedSwitch => Typed::SchedSwitch {
                prev_comm: s(0)?,
                prev_pid: i32_(1)?,
                prev_prio: i32_(2)?,
                prev_state: int(3)?,
                next_comm: s(4)?,
                next_pid: i32_(5)?,
                next_prio: i32_(6)?,
            },
            Tag::SchedWakeup | Tag::SchedWaking | Tag::SchedWakeupNew => Typed::Wakeup {
                kind: match self.kind.tag {
                    Tag::SchedWaking => WakeupKind::Waking,
                    Tag::SchedWakeup => WakeupKind::Wakeup,
                    _ => WakeupKind::WakeupNew,
                },
                comm: s(0)?,
                pid: i32_(1)?,
                prio: i32_(2)?,
                target_cpu: i32_(3)?,
            },
            Tag::SchedFork => {
                Typed::Fork { parent_comm: s(0)?, parent_pid: i32_(1)?, child_comm: s(2)?, child_pid: i32_(3)? }
            }
            Tag::SchedExec => Typed::Exec { filename: s(0)?, pid: i32_(1)?, old_pid: i32_(2)? },
            Tag::SchedExit => Typed::Exit { comm: s(0)?, pid: i32_(1)?, prio: i32_(2)? },
            Tag::RawSysEnter => {
                let a = get(1)?;
                let mut args = [0u64; 6];
                for (k, v) in args.iter_mut().enumerate() {
                    *v = r.u64(a.offset + k * 8, e)?;
                }
                Typed::SysEnter { nr: int(0)?, args }
            }
            Tag::RawSysExit | Tag::SyscallExit => Typed::SysExit { nr: int(0)?, ret: int(1)? },
            Tag::SyscallEnter => {
                let mut args = [0u64; 6];
                let after = self.format.fields.iter().filter(|x| x.name != "__syscall_nr");
                for (v, fl) in args.iter_mut().zip(after) {
                    *v = fl.u64(r, e)?;
                }
                Typed::SysEnter { nr: int(0)?, args }
            }
            Tag::IrqEntry => Typed::IrqEntry { irq: i32_(0)?, name: s(1)? },
            Tag::IrqExit => Typed::IrqExit { irq: i32_(0)?, ret: i32_(1)? },
            Tag::SoftirqEntry => Typed::SoftirqEntry { vec: u64_(0)? as u32 },
            Tag::SoftirqExit => Typed::SoftirqExit { vec: u64_(0)? as u32 },
            Tag::SignalGenerate => Typed::SignalGenerate {
                sig: i32_(0)?,
                errno: i32_(1)?,
                code: i32_(2)?,
                comm: s(3)?,
                pid: i32_(4)?,
                group: int(5)? != 0,
                result: i32_(6)?,
            },
            Tag::SignalDeliver => Typed::SignalDeliver {
                sig: i32_(0)?,
                errno: i32_(1)?,
                code: i32_(2)?,
                sa_handler: u64_(3)?,
                sa_flags: u64_(4)?,
            },
            Tag::BlockInsert | Tag::BlockIssue | Tag::BlockComplete => Typed::BlockRq {
                phase: match self.kind.tag {
                    Tag::BlockInsert => BlockPhase::Insert,
                    Tag::BlockIssue => BlockPhase::Issue,
                    _ => BlockPhase::Complete,
                },
                dev: u64_(0)? as u32,
                sector: u64_(1)?,
                nr_sector: u64_(2)? as u32,
                rwbs: s(3)?,
                error: if self.kind.tag == Tag::BlockComplete { i32_(4)? } else { 0 },
            },
            Tag::Function => Typed::Function { ip: u64_(0)?, parent_ip: u64_(1)? },
            Tag::GraphEntry => Typed::GraphEntry { func: u64_(0)?, depth: u64_(1)? as u32 },
            Tag::GraphExit => Typed::GraphExit {
                func: u64_(0)?,
                depth: u64_(1)? as u32,
                overrun: u64_(2)? as u32,
                calltime: u64_(3)?,
                rettime: u64_(4)?,
            },
            Tag::Print => {
                let m = s(1)?;
                Typed::Print { ip: u64_(0)?, msg: m.strip_suffix(b"\n").unwrap_or(m) }
            }
            Tag::RawData => Typed::RawData { id: u64_(0)? as u32, data: get(1)?.bytes(r, e)? },
            Tag::KernelStack | Tag::UserStack => {
                let caller = get(1)?;
                let word = match caller.kind {
                    ktrace_core::FieldKind::Array { elem_size, .. } if elem_size == 4 || elem_size == 8 => elem_size,
                    _ => 8,
                };
                let avail = r.len().saturating_sub(caller.offset) / word;
                let n = if self.kind.tag == Tag::KernelStack {
                    // `size` counts entries; a record never holds more than its length allows.
                    (int(0)?.max(0) as usize).min(avail)
                } else {
                    avail.min(caller.size / word)
                };
                let frames = StackFrames {
                    data: r.slice(caller.offset, n * word)?,
                    word,
                    endian: e,
                    next: 0,
                    stop_at_zero: self.kind.tag == Tag::UserStack,
                };
                if self.kind.tag == Tag::KernelStack {
                    Typed::KernelStack { frames }
                } else {
                    Typed::UserStack { tgid: u64_(0)? as u32, frames }
                }
            }
        })
    }
}

/// The return addresses of a [`Typed::KernelStack`] or [`Typed::UserStack`], borrowed from the
/// record (word size of the traced kernel; an address of 0 ends a user stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackFrames<'a> {
    data: RawData<'a>,
    word: usize,
    endian: Endian,
    next: usize,
    stop_at_zero: bool,
}

impl StackFrames<'_> {
    /// Number of frames left (an upper bound for user stacks, which end at a zero).
    pub fn remaining(&self) -> usize {
        (self.data.len() / self.word.max(1)).saturating_sub(self.next)
    }
}

impl Iterator for StackFrames<'_> {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        let a = self.data.uint(self.next * self.word, self.word, self.endian).ok()?;
        if a == 0 && self.stop_at_zero {
            return None;
        }
        self.next += 1;
        Some(a)
    }
}

/// A format with its typed view, resolved once per event id.
#[derive(Debug)]
struct Slot {
    format: Arc<EventFormat>,
    kind: Kind,
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
                reg.get(id).cloned().map(|format| Box::new(Slot { kind: Kind::of(&format), format }))
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
        let slot = self.slot(id).ok_or(ParseError::UnknownEvent { id })?;
        Ok(Event { format: &slot.format, kind: &slot.kind, raw, endian: self.endian, clock: self.clock })
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
