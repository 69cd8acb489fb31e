//! Protobuf wire encoding of `FtraceEvent`s, written field by field into a CPU's bundle buffer.
//!
//! The field numbers are those of Perfetto's protos (`vendor/perfetto/perfetto_subset.proto`; the
//! unit tests decode what this writes with the prost types generated from it). A nested message's
//! length is written as one byte before its body and widened (the body moved) in the rare case it
//! passes 127 bytes: one pass, no length precomputation, no message struct.

use ktrace_core::{RawData, Value};
use ktrace_ftrace::{Event, Typed, WakeupKind};

/// Field numbers of `FtraceEvent`'s `event` oneof.
mod tag {
    pub(super) const PRINT: u32 = 3;
    pub(super) const SCHED_SWITCH: u32 = 4;
    pub(super) const SCHED_WAKEUP: u32 = 17;
    pub(super) const SCHED_WAKING: u32 = 20;
    pub(super) const SCHED_WAKEUP_NEW: u32 = 114;
    pub(super) const TASK_NEWTASK: u32 = 235;
    pub(super) const TASK_RENAME: u32 = 236;
    pub(super) const SCHED_PROCESS_EXEC: u32 = 237;
    pub(super) const SCHED_PROCESS_EXIT: u32 = 238;
    pub(super) const SCHED_PROCESS_FORK: u32 = 239;
    pub(super) const GENERIC: u32 = 327;
    pub(super) const SYS_ENTER: u32 = 329;
    pub(super) const SYS_EXIT: u32 = 330;
}

const VARINT: u32 = 0;
const LEN: u32 = 2;

/// A varint, staged in registers and copied once (one capacity check, not one per byte).
#[inline(always)]
fn varint(b: &mut Vec<u8>, mut v: u64) {
    if v < 0x80 {
        b.push(v as u8);
        return;
    }
    let mut buf = [0u8; 10];
    let mut n = 0;
    for slot in buf.iter_mut() {
        n += 1;
        if v < 0x80 {
            *slot = v as u8;
            break;
        }
        *slot = v as u8 | 0x80;
        v >>= 7;
    }
    b.extend_from_slice(buf.get(..n).unwrap_or_default());
}

#[inline(always)]
fn key(b: &mut Vec<u8>, field: u32, wire: u32) {
    varint(b, u64::from(field << 3 | wire));
}

/// An unsigned varint field (`uint32`, `uint64`).
#[inline(always)]
fn uint(b: &mut Vec<u8>, field: u32, v: u64) {
    key(b, field, VARINT);
    varint(b, v);
}

/// A signed varint field (`int32`, `int64`: negative values take ten bytes, as protobuf says).
#[inline(always)]
fn int(b: &mut Vec<u8>, field: u32, v: i64) {
    uint(b, field, v as u64);
}

/// A `string` field from bytes (invalid UTF-8 replaced by U+FFFD: readers check strings).
#[inline]
fn string(b: &mut Vec<u8>, field: u32, s: &[u8]) {
    key(b, field, LEN);
    match std::str::from_utf8(s) {
        Ok(s) => bytes(b, s.as_bytes()),
        Err(_) => bytes(b, String::from_utf8_lossy(s).as_bytes()),
    }
}

#[inline(always)]
fn bytes(b: &mut Vec<u8>, s: &[u8]) {
    varint(b, s.len() as u64);
    b.extend_from_slice(s);
}

/// A `string` field holding `0x` and the bytes of `a` in hex.
fn hex_string(b: &mut Vec<u8>, field: u32, a: RawData<'_>) {
    key(b, field, LEN);
    varint(b, 2 + 2 * a.len() as u64);
    b.extend_from_slice(b"0x");
    crate::names::hex(a, |c| b.push(c));
}

/// Starts a length-delimited field; returns where its body starts, for [`close`].
#[inline(always)]
fn open(b: &mut Vec<u8>, field: u32) -> usize {
    key(b, field, LEN);
    b.push(0);
    b.len()
}

/// Ends the field [`open`] started: writes its body's length.
#[inline(always)]
fn close(b: &mut Vec<u8>, start: usize) {
    let len = b.len() - start;
    if len < 0x80 {
        if let Some(l) = b.get_mut(start - 1) {
            *l = len as u8;
        }
    } else {
        let mut l = Vec::with_capacity(10);
        varint(&mut l, len as u64);
        b.splice(start - 1..start, l);
    }
}

/// Appends `ev` to a bundle as its repeated field 2 (`FtraceEvent`): the typed message Perfetto
/// draws tracks from for the events it knows, a `GenericFtraceEvent` with every field otherwise.
pub(super) fn ftrace_event(b: &mut Vec<u8>, ev: &Event<'_>, typed: &Typed<'_>) {
    b.reserve(160);
    let outer = open(b, 2);
    uint(b, 1, ev.timestamp().ns);
    uint(b, 2, ev.pid() as u32 as u64);
    let raw_sys = || ev.system() == "raw_syscalls";
    match *typed {
        Typed::SchedSwitch { prev_comm, prev_pid, prev_prio, prev_state, next_comm, next_pid, next_prio } => {
            let m = open(b, tag::SCHED_SWITCH);
            string(b, 1, prev_comm);
            int(b, 2, prev_pid.into());
            int(b, 3, prev_prio.into());
            int(b, 4, prev_state);
            string(b, 5, next_comm);
            int(b, 6, next_pid.into());
            int(b, 7, next_prio.into());
            close(b, m);
        }
        Typed::Wakeup { kind, comm, pid, prio, target_cpu } => {
            let t = match kind {
                WakeupKind::Waking => tag::SCHED_WAKING,
                WakeupKind::Wakeup => tag::SCHED_WAKEUP,
                WakeupKind::WakeupNew => tag::SCHED_WAKEUP_NEW,
            };
            let m = open(b, t);
            string(b, 1, comm);
            int(b, 2, pid.into());
            int(b, 3, prio.into());
            int(b, 4, 1);
            int(b, 5, target_cpu.into());
            close(b, m);
        }
        Typed::SysEnter { nr, args } if raw_sys() => {
            let m = open(b, tag::SYS_ENTER);
            int(b, 1, nr);
            for a in args {
                uint(b, 2, a);
            }
            close(b, m);
        }
        Typed::SysExit { nr, ret } if raw_sys() => {
            let m = open(b, tag::SYS_EXIT);
            int(b, 1, nr);
            int(b, 2, ret);
            close(b, m);
        }
        Typed::Print { ip, msg } => {
            let m = open(b, tag::PRINT);
            uint(b, 1, ip);
            string(b, 2, msg);
            close(b, m);
        }
        Typed::Fork { parent_comm, parent_pid, child_comm, child_pid } => {
            let m = open(b, tag::SCHED_PROCESS_FORK);
            string(b, 1, parent_comm);
            int(b, 2, parent_pid.into());
            string(b, 3, child_comm);
            int(b, 4, child_pid.into());
            close(b, m);
        }
        Typed::Exec { filename, pid, old_pid } => {
            let m = open(b, tag::SCHED_PROCESS_EXEC);
            string(b, 1, filename);
            int(b, 2, pid.into());
            int(b, 3, old_pid.into());
            close(b, m);
        }
        Typed::Exit { comm, pid, prio } => {
            let m = open(b, tag::SCHED_PROCESS_EXIT);
            string(b, 1, comm);
            int(b, 2, pid.into());
            int(b, 4, prio.into());
            close(b, m);
        }
        Typed::TaskNewtask { pid, comm, clone_flags, oom_score_adj } => {
            let m = open(b, tag::TASK_NEWTASK);
            int(b, 1, pid.into());
            string(b, 2, comm);
            uint(b, 3, clone_flags);
            int(b, 4, oom_score_adj.into());
            close(b, m);
        }
        Typed::TaskRename { pid, oldcomm, newcomm, oom_score_adj } => {
            let m = open(b, tag::TASK_RENAME);
            int(b, 1, pid.into());
            string(b, 2, oldcomm);
            string(b, 3, newcomm);
            int(b, 4, oom_score_adj.into());
            close(b, m);
        }
        _ => generic(b, ev),
    }
    close(b, outer);
}

/// `GenericFtraceEvent`: the event's name and each field by name (integers as `int_value` or
/// `uint_value`, strings as `str_value`, arrays as a hex `str_value`; an undecodable field
/// without a value).
fn generic(b: &mut Vec<u8>, ev: &Event<'_>) {
    let m = open(b, tag::GENERIC);
    string(b, 1, ev.name().as_bytes());
    for (name, v) in ev.fields() {
        let f = open(b, 2);
        string(b, 1, name.as_bytes());
        match v {
            Ok(Value::Str(s)) => string(b, 3, s),
            Ok(Value::Signed(s)) => int(b, 4, s),
            Ok(Value::Unsigned(u)) => uint(b, 5, u),
            Ok(Value::Array(a)) => hex_string(b, 3, a),
            Err(_) => {}
        }
        close(b, f);
    }
    close(b, m);
}
