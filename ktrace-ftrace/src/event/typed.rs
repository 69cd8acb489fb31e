//! The typed views of common events ([`Typed`]), each defined once in the table of
//! [`typed_events!`]: the event it matches, the fields it reads (by name, resolved per event id) and
//! how it builds its [`Typed`] variant. The tag, the field list and the decode all follow from that
//! one entry, so they cannot disagree.

use ktrace_core::format::{Field, FieldKind};
use ktrace_core::{Endian, EventFormat, ParseError, RawData};

use super::plan;

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
    /// `task:task_newtask`: a task was created (fork, clone, kthread).
    #[doc(alias = "task_newtask")]
    TaskNewtask {
        /// The new task's pid.
        pid: i32,
        /// Its comm (the parent's, until it execs or renames).
        comm: &'a [u8],
        /// `CLONE_*` flags it was created with.
        clone_flags: u64,
        /// Its `oom_score_adj`.
        oom_score_adj: i32,
    },
    /// `task:task_rename`: a task's comm changed (exec, `prctl(PR_SET_NAME)`, a write to
    /// `/proc/PID/comm`).
    #[doc(alias = "task_rename")]
    TaskRename {
        /// The renamed task's pid.
        pid: i32,
        /// The comm before.
        oldcomm: &'a [u8],
        /// The comm after.
        newcomm: &'a [u8],
        /// Its `oom_score_adj`.
        oom_score_adj: i32,
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
    /// Any other event: use [`Event::field`](super::Event::field).
    Other,
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

/// A record with its byte order and format: what a table entry's decode reads fields through.
#[derive(Clone, Copy)]
struct Rec<'a> {
    r: RawData<'a>,
    e: Endian,
    format: &'a EventFormat,
}

impl<'a> Rec<'a> {
    /// The record as one slice in the native byte order, which fields are read from directly
    /// (an [`Event`](super::Event)'s always is, unless recorded on a foreign machine).
    #[inline(always)]
    fn native(&self) -> Option<&'a [u8]> {
        match self.r {
            RawData::Single(r) if self.e == Endian::NATIVE => Some(r),
            _ => None,
        }
    }
    /// An integer or pointer field read directly ([`plan::int_at`]), `None` for any other field
    /// or record, or a read past the end.
    #[inline(always)]
    fn direct(&self, f: &Field, signed: bool) -> Option<i64> {
        match f.kind {
            FieldKind::Int | FieldKind::Pointer => plan::int_at(self.native()?, f.offset, f.size, signed),
            _ => None,
        }
    }
    /// An integer field, sign-extended when the format says signed.
    #[inline(always)]
    fn int(&self, f: &Field) -> Result<i64, ParseError> {
        match self.direct(f, f.signed) {
            Some(v) => Ok(v),
            None => self.int_by_field(f),
        }
    }
    /// [`Rec::int`] through the field's own checked reads (and their errors). The `*_by_field`
    /// fallbacks take the `Rec` by value: a `&self` would keep it in memory on the hot path too
    /// (20 instructions per typed event more under cachegrind).
    #[inline(never)]
    fn int_by_field(self, f: &Field) -> Result<i64, ParseError> {
        if f.signed { f.i64(self.r, self.e) } else { f.u64(self.r, self.e).map(|v| v as i64) }
    }
    #[inline(always)]
    fn i32(&self, f: &Field) -> Result<i32, ParseError> {
        self.int(f).map(|v| v as i32)
    }
    /// The three wakeup events' common shape.
    fn wakeup(&self, kind: WakeupKind, [comm, pid, prio, cpu]: [&Field; 4]) -> Result<Typed<'a>, ParseError> {
        Ok(Typed::Wakeup {
            kind,
            comm: self.str(comm)?,
            pid: self.i32(pid)?,
            prio: self.i32(prio)?,
            target_cpu: self.i32(cpu)?,
        })
    }
    /// The three block request events' common shape.
    fn block(
        &self,
        phase: BlockPhase,
        [dev, sector, nr, rwbs]: [&Field; 4],
        error: i32,
    ) -> Result<Typed<'a>, ParseError> {
        Ok(Typed::BlockRq {
            phase,
            dev: self.u32(dev)?,
            sector: self.u64(sector)?,
            nr_sector: self.u32(nr)?,
            rwbs: self.str(rwbs)?,
            error,
        })
    }
    #[inline(always)]
    fn bool(&self, f: &Field) -> Result<bool, ParseError> {
        self.int(f).map(|v| v != 0)
    }
    #[inline(always)]
    fn u64(&self, f: &Field) -> Result<u64, ParseError> {
        match self.direct(f, false) {
            Some(v) => Ok(v as u64),
            None => self.u64_by_field(f),
        }
    }
    /// [`Rec::u64`] through the field's own checked read.
    #[inline(never)]
    fn u64_by_field(self, f: &Field) -> Result<u64, ParseError> {
        f.u64(self.r, self.e)
    }
    #[inline(always)]
    fn u32(&self, f: &Field) -> Result<u32, ParseError> {
        self.u64(f).map(|v| v as u32)
    }
    #[inline(always)]
    fn str(&self, f: &Field) -> Result<&'a [u8], ParseError> {
        // A `char[N]`: its bytes up to the first NUL, as `Field::str` reads it.
        if let (RawData::Single(r), FieldKind::CharArray, 1..) = (self.r, f.kind, f.size)
            && let Some(s) = f.offset.checked_add(f.size).and_then(|end| r.get(f.offset..end))
        {
            return Ok(s.iter().position(|&c| c == 0).map_or(s, |n| s.get(..n).unwrap_or_default()));
        }
        self.str_by_field(f)
    }
    /// [`Rec::str`] through the field's own checked read.
    #[inline(never)]
    fn str_by_field(self, f: &Field) -> Result<&'a [u8], ParseError> {
        f.str(self.r, self.e)
    }
    /// `raw_syscalls:sys_enter`'s `args` array: six words.
    #[inline(always)]
    fn args_array(&self, args: &Field) -> Result<[u64; 6], ParseError> {
        let mut out = [0u64; 6];
        if let Some(w) = self.native().and_then(|r| r.get(args.offset..)).and_then(<[u8]>::first_chunk::<48>) {
            // Six whole words: `first_chunk` checked the length, `as_chunks` cannot come up short.
            for (v, b) in out.iter_mut().zip(w.as_chunks::<8>().0) {
                *v = u64::from_ne_bytes(*b);
            }
            return Ok(out);
        }
        self.args_by_field(args)
    }
    /// [`Rec::args_array`] word by word through the checked reads.
    #[inline(never)]
    fn args_by_field(self, args: &Field) -> Result<[u64; 6], ParseError> {
        let mut out = [0u64; 6];
        for (k, v) in out.iter_mut().enumerate() {
            *v = self.r.u64(args.offset + k * 8, self.e)?;
        }
        Ok(out)
    }
    /// `syscalls:sys_enter_*`: the event's argument fields in order (all but `__syscall_nr`), rest 0.
    fn args_fields(&self) -> Result<[u64; 6], ParseError> {
        let mut out = [0u64; 6];
        let after = self.format.fields.iter().filter(|x| x.name != "__syscall_nr");
        for (v, fl) in out.iter_mut().zip(after) {
            *v = fl.u64(self.r, self.e)?;
        }
        Ok(out)
    }
    /// The `caller` array of a stack event: `size` entries for a kernel stack (never more than the
    /// record holds: it is as long as the stack, whatever the format's `caller[8]` says); for a
    /// user stack the array, ending at the first zero.
    fn stack(&self, size: Option<&Field>, caller: &Field) -> Result<StackFrames<'a>, ParseError> {
        let word = match caller.kind {
            ktrace_core::FieldKind::Array { elem_size, .. } if elem_size == 4 || elem_size == 8 => elem_size,
            _ => 8,
        };
        let avail = self.r.len().saturating_sub(caller.offset) / word;
        let n = match size {
            Some(size) => (self.int(size)?.max(0) as usize).min(avail),
            None => avail.min(caller.size / word),
        };
        Ok(StackFrames {
            data: self.r.slice(caller.offset, n * word)?,
            word,
            endian: self.e,
            next: 0,
            stop_at_zero: size.is_none(),
        })
    }
}

/// The table of typed events. An entry is one of
///
/// - `Tag: (system, name) pattern => Variant { field: how, … };` where each field of the
///   [`Typed`] variant is the event field of the same name, read by the [`Rec`] method `how`
///   (`str`, `int`, `i32`, `u32`, `u64`, `bool`);
/// - `Tag: (system, name) pattern => [fields it reads] decode;` where the decode is an expression
///   building a [`Typed`] from `rec` ([`Rec`]) and each listed field, bound by its own name to the
///   event's [`Field`].
///
/// From it follow the `Tag` enum, [`fields_of`] and [`decode`].
macro_rules! typed_events {
    ($rec:ident; $($entries:tt)*) => {
        typed_events!(@munch $rec [] $($entries)*);
    };
    (@munch $rec:ident [$($done:tt)*]
        $tag:ident: $m:pat $(if $g:expr)? => $v:ident { $($f:ident: $how:ident),* $(,)? }; $($rest:tt)*) => {
        typed_events!(@munch $rec [$($done)*
            {$tag, ($m $(if $g)?), [$($f),*], Typed::$v { $($f: $rec.$how($f)?),* }}] $($rest)*);
    };
    (@munch $rec:ident [$($done:tt)*]
        $tag:ident: $m:pat $(if $g:expr)? => [$($f:ident),*] $body:expr; $($rest:tt)*) => {
        typed_events!(@munch $rec [$($done)* {$tag, ($m $(if $g)?), [$($f),*], $body}] $($rest)*);
    };
    (@munch $rec:ident [$({$tag:ident, ($m:pat $(if $g:expr)?), [$($f:ident),*], $body:expr})*]) => {
        /// Which typed view an event id has.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum Tag {
            /// No typed view: [`Typed::Other`].
            Generic,
            $($tag,)*
        }

        /// The typed view of event `system:name` and the field names it reads, in order.
        pub(super) fn fields_of(system: &str, name: &str) -> (Tag, &'static [&'static str]) {
            match (system, name) {
                $($m $(if $g)? => (Tag::$tag, &[$(stringify!($f)),*]),)*
                _ => (Tag::Generic, &[]),
            }
        }

        /// Decodes a record of `format` as `tag`, whose `fields` were resolved from [`fields_of`].
        pub(super) fn decode<'a>(
            tag: Tag,
            fields: &[Field],
            r: &'a [u8],
            e: Endian,
            format: &'a EventFormat,
        ) -> Result<Typed<'a>, ParseError> {
            // The record comes as a slice (two registers), not as a `RawData` in memory.
            let $rec = Rec { r: RawData::Single(r), e, format };
            Ok(match tag {
                Tag::Generic => Typed::Other,
                $(Tag::$tag => {
                    let [$($f),*] = fields else { return Err(ParseError::UnknownEvent { id: format.id }) };
                    $body
                })*
            })
        }
    };
}

typed_events! { rec;
    SchedSwitch: ("sched", "sched_switch") => SchedSwitch {
        prev_comm: str, prev_pid: i32, prev_prio: i32, prev_state: int,
        next_comm: str, next_pid: i32, next_prio: i32,
    };
    SchedWakeup: ("sched", "sched_wakeup") => [comm, pid, prio, target_cpu]
        rec.wakeup(WakeupKind::Wakeup, [comm, pid, prio, target_cpu])?;
    SchedWaking: ("sched", "sched_waking") => [comm, pid, prio, target_cpu]
        rec.wakeup(WakeupKind::Waking, [comm, pid, prio, target_cpu])?;
    SchedWakeupNew: ("sched", "sched_wakeup_new") => [comm, pid, prio, target_cpu]
        rec.wakeup(WakeupKind::WakeupNew, [comm, pid, prio, target_cpu])?;
    SchedFork: ("sched", "sched_process_fork") => Fork { parent_comm: str, parent_pid: i32, child_comm: str, child_pid: i32 };
    SchedExec: ("sched", "sched_process_exec") => Exec { filename: str, pid: i32, old_pid: i32 };
    SchedExit: ("sched", "sched_process_exit") => Exit { comm: str, pid: i32, prio: i32 };
    TaskNewtask: ("task", "task_newtask") => TaskNewtask { pid: i32, comm: str, clone_flags: u64, oom_score_adj: i32 };
    TaskRename: ("task", "task_rename") => TaskRename { pid: i32, oldcomm: str, newcomm: str, oom_score_adj: i32 };
    RawSysEnter: ("raw_syscalls", "sys_enter") => [id, args]
        Typed::SysEnter { nr: rec.int(id)?, args: rec.args_array(args)? };
    RawSysExit: ("raw_syscalls", "sys_exit") => [id, ret] Typed::SysExit { nr: rec.int(id)?, ret: rec.int(ret)? };
    SyscallEnter: ("syscalls", n) if n.starts_with("sys_enter_") => [__syscall_nr]
        Typed::SysEnter { nr: rec.int(__syscall_nr)?, args: rec.args_fields()? };
    SyscallExit: ("syscalls", n) if n.starts_with("sys_exit_") => [__syscall_nr, ret]
        Typed::SysExit { nr: rec.int(__syscall_nr)?, ret: rec.int(ret)? };
    IrqEntry: ("irq", "irq_handler_entry") => IrqEntry { irq: i32, name: str };
    IrqExit: ("irq", "irq_handler_exit") => IrqExit { irq: i32, ret: i32 };
    SoftirqEntry: ("irq", "softirq_entry") => SoftirqEntry { vec: u32 };
    SoftirqExit: ("irq", "softirq_exit") => SoftirqExit { vec: u32 };
    SignalGenerate: ("signal", "signal_generate") => SignalGenerate {
        sig: i32, errno: i32, code: i32, comm: str, pid: i32, group: bool, result: i32,
    };
    SignalDeliver: ("signal", "signal_deliver") => SignalDeliver {
        sig: i32, errno: i32, code: i32, sa_handler: u64, sa_flags: u64,
    };
    BlockInsert: ("block", "block_rq_insert") => [dev, sector, nr_sector, rwbs]
        rec.block(BlockPhase::Insert, [dev, sector, nr_sector, rwbs], 0)?;
    BlockIssue: ("block", "block_rq_issue") => [dev, sector, nr_sector, rwbs]
        rec.block(BlockPhase::Issue, [dev, sector, nr_sector, rwbs], 0)?;
    BlockComplete: ("block", "block_rq_complete") => [dev, sector, nr_sector, rwbs, error]
        rec.block(BlockPhase::Complete, [dev, sector, nr_sector, rwbs], rec.i32(error)?)?;
    Function: ("ftrace", "function") => Function { ip: u64, parent_ip: u64 };
    GraphEntry: ("ftrace", "funcgraph_entry") => GraphEntry { func: u64, depth: u32 };
    GraphExit: ("ftrace", "funcgraph_exit") => GraphExit {
        func: u64, depth: u32, overrun: u32, calltime: u64, rettime: u64,
    };
    Print: ("ftrace", "print") => [ip, buf]
        {
            let m = rec.str(buf)?;
            Typed::Print { ip: rec.u64(ip)?, msg: m.strip_suffix(b"\n").unwrap_or(m) }
        };
    RawData: ("ftrace", "raw_data") => [id, buf]
        Typed::RawData { id: rec.u32(id)?, data: buf.bytes(rec.r, rec.e)? };
    KernelStack: ("ftrace", "kernel_stack") => [size, caller]
        Typed::KernelStack { frames: rec.stack(Some(size), caller)? };
    UserStack: ("ftrace", "user_stack") => [tgid, caller]
        Typed::UserStack { tgid: rec.u32(tgid)?, frames: rec.stack(None, caller)? };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct reads of [`Rec`] (a native single-slice record) equal the fields' own checked
    /// reads over every record length, values and errors alike.
    #[test]
    fn direct_reads_equal_field_reads() {
        let (fmt, rec) = plan::every_kind();
        for len in 0..=rec.len() {
            let r = Rec { r: RawData::Single(&rec[..len]), e: Endian::NATIVE, format: &fmt };
            for f in fmt.fields.iter().chain(&fmt.common_fields) {
                let int = if f.signed { f.i64(r.r, r.e) } else { f.u64(r.r, r.e).map(|v| v as i64) };
                assert_eq!(r.int(f), int, "int {} at len {len}", f.name);
                assert_eq!(r.u64(f), f.u64(r.r, r.e), "u64 {} at len {len}", f.name);
                assert_eq!(r.str(f), f.str(r.r, r.e), "str {} at len {len}", f.name);
            }
            let args = fmt.require("args").unwrap();
            let slow: Result<Vec<u64>, _> = (0..6).map(|k| r.r.u64(args.offset + k * 8, r.e)).collect();
            assert_eq!(r.args_array(args).map(|a| a.to_vec()), slow, "args at len {len}");
        }
    }
}
