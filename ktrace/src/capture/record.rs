//! Owned records of a capture, converted from ftrace events as the recording ends (a capture
//! outlives its tracefs instance, so nothing borrows from ring pages).

use std::collections::HashMap;
use std::sync::Arc;

use ktrace_core::{Endian, EventFormat, ParseError, Value};
use ktrace_ftrace::event::Kind;
use ktrace_ftrace::{BlockPhase, Typed};

use crate::session::FtraceEvent;

/// One event of a capture: when (nanoseconds since the capture began, on `CLOCK_MONOTONIC`),
/// where, which thread, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Nanoseconds since the workload started (the `mono` trace clock minus the start time).
    pub ts_ns: u64,
    /// The CPU that recorded it.
    pub cpu: u32,
    /// `common_pid`: the thread that was running (for block completions, often an unrelated task
    /// or an interrupt).
    pub tid: i32,
    /// What happened.
    pub what: What,
}

/// What a [`Record`] says happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum What {
    /// `syscalls:sys_enter_<name>`.
    SysEnter {
        /// The syscall name (from the event name).
        name: String,
        /// Its number.
        nr: i64,
        /// The arguments, in the event's field order.
        args: Vec<Arg>,
    },
    /// `syscalls:sys_exit_<name>`.
    SysExit {
        /// The syscall name.
        name: String,
        /// Its number.
        nr: i64,
        /// The return value (negative errno on failure).
        ret: i64,
    },
    /// `sched:sched_process_fork` (threads included).
    Fork {
        /// The parent.
        parent_pid: i32,
        /// The new task.
        child_pid: i32,
        /// Its comm.
        child_comm: String,
    },
    /// `sched:sched_process_exec`.
    Exec {
        /// The program path as the kernel resolved it.
        filename: String,
        /// The pid after exec.
        pid: i32,
        /// The thread that called execve (differs from `pid` when a thread other than the leader
        /// execs: it takes the leader's id).
        old_pid: i32,
    },
    /// `sched:sched_process_exit` (one per thread).
    Exit {
        /// The exiting task.
        pid: i32,
        /// Its comm.
        comm: String,
    },
    /// `signal:signal_generate`.
    SignalGenerate {
        /// Signal number.
        sig: i32,
        /// Target pid.
        pid: i32,
        /// Target comm.
        comm: String,
        /// `TRACE_SIGNAL_*` result (0 delivered, 1 ignored…).
        result: i32,
    },
    /// `signal:signal_deliver` (to the recording thread).
    SignalDeliver {
        /// Signal number.
        sig: i32,
        /// si_code.
        code: i32,
    },
    /// `sched:sched_switch`.
    Switch {
        /// Outgoing pid.
        prev_pid: i32,
        /// Outgoing comm.
        prev_comm: String,
        /// Outgoing state (0 = preempted while runnable).
        prev_state: i64,
        /// Incoming pid.
        next_pid: i32,
        /// Incoming comm.
        next_comm: String,
    },
    /// `block:block_rq_issue` / `block_rq_complete` / `block_rq_insert`.
    Block {
        /// Which event.
        phase: BlockPhase,
        /// Device `(major, minor)`.
        dev: (u32, u32),
        /// First sector.
        sector: u64,
        /// Sectors.
        nr_sector: u32,
        /// R/W/D/F/S flags.
        rwbs: String,
        /// Completion error.
        error: i32,
    },
    /// Any other event (probe hits among them), with its fields.
    Event {
        /// The event's system (a probe's group).
        system: String,
        /// The event name (a probe's name).
        name: String,
        /// Its fields except the common ones, in format order.
        fields: Vec<(String, FieldValue)>,
    },
}

/// One syscall argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The argument's name in the event format (`dfd`, `filename`, `flags`).
    pub name: String,
    /// Its value (a pointer for strings).
    pub value: u64,
    /// The string the kernel recorded for it, on kernels whose syscall events carry strings.
    pub string: Option<String>,
}

/// A field value of a generic event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldValue {
    /// An integer (unsigned fields zero-extended).
    Int(i64),
    /// A string.
    Str(String),
    /// Array bytes.
    Bytes(Vec<u8>),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Int(v) => write!(f, "{v}"),
            FieldValue::Str(s) => write!(f, "{s:?}"),
            FieldValue::Bytes(b) => write!(f, "{b:02x?}"),
        }
    }
}

impl Record {
    /// A field of a generic event ([`What::Event`]) by name.
    pub fn field(&self, name: &str) -> Option<&FieldValue> {
        match &self.what {
            What::Event { fields, .. } => fields.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn field_value(v: Value<'_>) -> FieldValue {
    match v {
        Value::Unsigned(u) => FieldValue::Int(u as i64),
        Value::Signed(i) => FieldValue::Int(i),
        Value::Str(s) => FieldValue::Str(text(s)),
        Value::Array(a) => FieldValue::Bytes(a.to_vec()),
    }
}

/// Converts a session's events to records, each event's typed view resolved once per format.
#[derive(Default)]
pub(crate) struct Converter {
    /// By the address of the format (kept alive here, so the address is not reused).
    kinds: HashMap<usize, (Arc<EventFormat>, Kind)>,
}

impl Converter {
    /// `ev` as a record stamped `ts_ns`.
    pub(crate) fn convert(&mut self, ev: &FtraceEvent, ts_ns: u64) -> Result<Record, ParseError> {
        if ev.system() == "syscalls" {
            return convert(ev, None, ts_ns);
        }
        let (_, kind) = self
            .kinds
            .entry(Arc::as_ptr(&ev.format) as usize)
            .or_insert_with(|| (ev.format.clone(), Kind::of(&ev.format)));
        convert(ev, Some(kind.decode(&ev.format, &ev.data, Endian::NATIVE)?), ts_ns)
    }
}

/// An event (with its typed view, unless a syscall's) as a record stamped `ts_ns`.
fn convert(ev: &FtraceEvent, typed: Option<Typed<'_>>, ts_ns: u64) -> Result<Record, ParseError> {
    let what = match typed {
        None => syscall(ev)?,
        Some(typed) => match typed {
            Typed::SchedSwitch { prev_comm, prev_pid, prev_state, next_comm, next_pid, .. } => {
                What::Switch { prev_pid, prev_comm: text(prev_comm), prev_state, next_pid, next_comm: text(next_comm) }
            }
            Typed::Fork { child_comm, child_pid, parent_pid, .. } => {
                What::Fork { parent_pid, child_pid, child_comm: text(child_comm) }
            }
            Typed::Exec { filename, pid, old_pid } => What::Exec { filename: text(filename), pid, old_pid },
            Typed::Exit { comm, pid, .. } => What::Exit { pid, comm: text(comm) },
            Typed::SignalGenerate { sig, comm, pid, result, .. } => {
                What::SignalGenerate { sig, pid, comm: text(comm), result }
            }
            Typed::SignalDeliver { sig, code, .. } => What::SignalDeliver { sig, code },
            Typed::BlockRq { phase, dev, sector, nr_sector, rwbs, error } => {
                What::Block { phase, dev: (dev >> 20, dev & 0xf_ffff), sector, nr_sector, rwbs: text(rwbs), error }
            }
            _ => What::Event {
                system: ev.system().to_owned(),
                name: ev.name().to_owned(),
                fields: ev
                    .fields()
                    .map(|(n, v)| v.map(|v| (n.to_owned(), field_value(v))))
                    .collect::<Result<_, _>>()?,
            },
        },
    };
    Ok(Record { ts_ns, cpu: ev.cpu, tid: ev.pid, what })
}

/// `syscalls:sys_enter_<name>` / `sys_exit_<name>`: the arguments by their format names; a string
/// field (kernels whose syscall events read user strings) is attached to the pointer argument it
/// names, or to `filename`/`pathname`.
fn syscall(ev: &FtraceEvent) -> Result<What, ParseError> {
    let nr = ev.int("__syscall_nr")?;
    if let Some(name) = ev.name().strip_prefix("sys_exit_") {
        return Ok(What::SysExit { name: name.to_owned(), nr, ret: ev.int("ret")? });
    }
    let name = ev.name().strip_prefix("sys_enter_").unwrap_or(ev.name()).to_owned();
    let mut args: Vec<Arg> = Vec::new();
    let mut strings = Vec::new();
    for (n, v) in ev.fields().filter(|(n, _)| *n != "__syscall_nr") {
        match v? {
            Value::Unsigned(u) => args.push(Arg { name: n.to_owned(), value: u, string: None }),
            Value::Signed(i) => args.push(Arg { name: n.to_owned(), value: i as u64, string: None }),
            Value::Str(s) => strings.push((n, text(s))),
            Value::Array(_) => {}
        }
    }
    for (n, s) in strings {
        let target = args
            .iter()
            .position(|a| n.contains(a.name.as_str()))
            .or_else(|| args.iter().position(|a| a.name == "filename" || a.name == "pathname"));
        match target.and_then(|i| args.get_mut(i)) {
            Some(a) => a.string = Some(s),
            None => args.push(Arg { name: n.to_owned(), value: 0, string: Some(s) }),
        }
    }
    Ok(What::SysEnter { name, nr, args })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]
    use super::*;
    use std::sync::Arc;

    use ktrace_core::{Clock, EventFormat, Timestamp};

    /// `sys_enter_openat` as Linux 6.18 writes it, plus the string field newer kernels add.
    const OPENAT: &str = "name: sys_enter_openat\nID: 782\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
        \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
        \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
        \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
        \tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
        \tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\
        \tfield:__data_loc char[] __filename_val;\toffset:48;\tsize:4;\tsigned:0;\n\n\
        print fmt: \"\"\n";

    /// A syscall event whose format carries the path string: the string lands on `filename`,
    /// the pointer stays its value.
    #[test]
    fn a_string_field_of_a_syscall_event_names_its_pointer_argument() {
        let format = Arc::new(EventFormat::parse("syscalls", OPENAT).unwrap());
        let mut rec = vec![0u8; 52];
        rec[0..2].copy_from_slice(&782u16.to_ne_bytes());
        rec[4..8].copy_from_slice(&4711i32.to_ne_bytes());
        rec[8..12].copy_from_slice(&257i32.to_ne_bytes());
        rec[16..24].copy_from_slice(&0xffff_ff9cu64.to_ne_bytes());
        rec[24..32].copy_from_slice(&0x7ffd_0000u64.to_ne_bytes());
        let s = b"/tmp/x\0";
        rec[48..52].copy_from_slice(&(((s.len() as u32) << 16) | 52).to_ne_bytes());
        rec.extend_from_slice(s);
        let ts = Timestamp::new(5, Clock::Mono);
        let ev = FtraceEvent { ts, cpu: 1, pid: 4711, format, data: rec.into(), label: None };
        let r = Converter::default().convert(&ev, 5).unwrap();
        assert_eq!(r.tid, 4711);
        let What::SysEnter { name, nr, args } = r.what else { panic!("not a syscall entry: {r:?}") };
        assert_eq!((name.as_str(), nr, args.len()), ("openat", 257, 4));
        assert_eq!((args[1].name.as_str(), args[1].value), ("filename", 0x7ffd_0000));
        assert_eq!(args[1].string.as_deref(), Some("/tmp/x"));
    }
}
