//! The two events of a syscall storm (`raw_syscalls` `sys_enter`/`sys_exit`), most of a
//! syscall trace's events, encoded straight into their bundle: the bytes prost writes for the
//! same `FtraceEvent` (the unit test compares them), without its per-byte varint writes (each a
//! `Vec` capacity check, a fifth of the writer's time, and a loop whose exit depends on the
//! value's size, mispredicted as sizes alternate) and its leaf `encoded_len` computed twice.
//! The field numbers are the generated ones (`vendor/perfetto/protos.rs`), named here.

use prost::encoding::{WireType, encoded_len_varint, key_len};

/// `FtraceEvent.timestamp`.
const TIMESTAMP: u32 = 1;
/// `FtraceEvent.pid`.
const PID: u32 = 2;
/// `FtraceEvent.sys_enter` (the oneof `event`).
const SYS_ENTER: u32 = 329;
/// `FtraceEvent.sys_exit` (the oneof `event`).
const SYS_EXIT: u32 = 330;
/// `SysEnterFtraceEvent.id`, `SysExitFtraceEvent.id`.
const ID: u32 = 1;
/// `SysEnterFtraceEvent.args` (repeated, not packed).
const ARGS: u32 = 2;
/// `SysExitFtraceEvent.ret`.
const RET: u32 = 2;
/// `FtraceEventBundle.event`.
const BUNDLE_EVENT: u32 = 2;

/// The longest event written here: the bundle's key (1) and length (2), the timestamp and pid
/// fields (11 + 6), the oneof key (2) and length (1), the id (11) and six args (6 x 11).
const MAX_EVENT: usize = 100;

/// Room after the last byte of the longest event for a whole 8-byte varint store.
const SLACK: usize = 16;

/// The continuation bits of a varint's first 8 bytes, by its length in bytes: on every byte
/// but the last (on all 8 when the varint is longer).
#[allow(clippy::indexing_slicing, reason = "a const block cannot use get_mut; n stays within 2..=10")]
const CONT: [u64; 11] = {
    let mut t = [0u64; 11];
    let mut n = 2;
    while n <= 10 {
        t[n] = if n > 8 { 0x8080_8080_8080_8080 } else { 0x8080_8080_8080_8080 & ((1u64 << (8 * (n - 1))) - 1) };
        n += 1;
    }
    t
};

/// The low 56 bits of `v` as eight 7-bit groups, one per byte, low group first.
fn spread(v: u64) -> u64 {
    (v & 0x7f)
        | (v << 1 & 0x7f << 8)
        | (v << 2 & 0x7f << 16)
        | (v << 3 & 0x7f << 24)
        | (v << 4 & 0x7f << 32)
        | (v << 5 & 0x7f << 40)
        | (v << 6 & 0x7f << 48)
        | (v << 7 & 0x7f << 56)
}

/// One event's bytes, built on the stack, then appended to the bundle in one copy.
struct Enc {
    buf: [u8; MAX_EVENT + SLACK],
    len: usize,
}

impl Enc {
    /// A base-128 varint, low group first (what `prost::encoding::encode_varint` writes): its
    /// first 8 bytes in one store, whatever its length (the bytes past its end are overwritten
    /// by what follows), so no branch depends on the value's size; the 9th and 10th bytes of a
    /// value of 57 bits or more after them.
    fn varint(&mut self, v: u64) {
        let n = encoded_len_varint(v);
        let Some(dst) = self.buf.get_mut(self.len..self.len + 10) else { return };
        let (head, tail) = dst.split_at_mut(8);
        head.copy_from_slice(&(spread(v) | CONT.get(n).copied().unwrap_or(0)).to_le_bytes());
        if n > 8 {
            let hi = v >> 56;
            if let [a, b] = tail {
                (*a, *b) = (hi as u8 | if n > 9 { 0x80 } else { 0 }, (hi >> 7) as u8);
            }
        }
        self.len += n;
    }

    fn key(&mut self, tag: u32, wire: WireType) {
        self.varint(u64::from(tag << 3 | wire as u32));
    }

    fn uint(&mut self, tag: u32, v: u64) {
        self.key(tag, WireType::Varint);
        self.varint(v);
    }

    /// Appends the bundle's `event` field: `FtraceEvent { timestamp, pid, <leaf> }` whose oneof
    /// field `leaf_tag` holds `leaf_len` bytes that `leaf` then writes.
    fn event(events: &mut Vec<u8>, ts: u64, pid: u32, leaf_tag: u32, leaf_len: usize, leaf: impl FnOnce(&mut Enc)) {
        let pid = u64::from(pid);
        let fe_len = uint_len(TIMESTAMP, ts)
            + uint_len(PID, pid)
            + key_len(leaf_tag)
            + encoded_len_varint(leaf_len as u64)
            + leaf_len;
        let mut e = Enc { buf: [0; MAX_EVENT + SLACK], len: 0 };
        e.key(BUNDLE_EVENT, WireType::LengthDelimited);
        e.varint(fe_len as u64);
        e.uint(TIMESTAMP, ts);
        e.uint(PID, pid);
        e.key(leaf_tag, WireType::LengthDelimited);
        e.varint(leaf_len as u64);
        leaf(&mut e);
        debug_assert_eq!(e.len, key_len(BUNDLE_EVENT) + encoded_len_varint(fe_len as u64) + fe_len);
        events.extend_from_slice(e.buf.get(..e.len).unwrap_or_default());
    }
}

/// The encoded length of field `tag` holding varint `v`.
fn uint_len(tag: u32, v: u64) -> usize {
    key_len(tag) + encoded_len_varint(v)
}

/// Appends `FtraceEvent { timestamp: ts, pid, sys_enter: { id: nr, args } }` to `events`.
pub(super) fn sys_enter(events: &mut Vec<u8>, ts: u64, pid: u32, nr: i64, args: &[u64; 6]) {
    // prost writes an int64 as its two's complement u64.
    let len = uint_len(ID, nr as u64) + args.iter().map(|a| uint_len(ARGS, *a)).sum::<usize>();
    Enc::event(events, ts, pid, SYS_ENTER, len, |e| {
        e.uint(ID, nr as u64);
        for a in args {
            e.uint(ARGS, *a);
        }
    });
}

/// Appends `FtraceEvent { timestamp: ts, pid, sys_exit: { id: nr, ret } }` to `events`.
pub(super) fn sys_exit(events: &mut Vec<u8>, ts: u64, pid: u32, nr: i64, ret: i64) {
    let len = uint_len(ID, nr as u64) + uint_len(RET, ret as u64);
    Enc::event(events, ts, pid, SYS_EXIT, len, |e| {
        e.uint(ID, nr as u64);
        e.uint(RET, ret as u64);
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
    use super::super::protos::{FtraceEvent, SysEnterFtraceEvent, SysExitFtraceEvent, ftrace_event::Event as Fe};
    use super::*;

    /// What prost writes for the same event as the bundle's field 2.
    fn prost_bytes(ts: u64, pid: u32, e: Fe) -> Vec<u8> {
        let mut v = Vec::new();
        let fe = FtraceEvent { timestamp: Some(ts), pid: Some(pid), event: Some(e) };
        prost::encoding::message::encode(BUNDLE_EVENT, &fe, &mut v);
        v
    }

    /// The hand-placed field numbers and varints give prost's bytes, at every varint length
    /// and for negative numbers.
    #[test]
    fn same_bytes_as_prost() {
        let values = [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX >> 1, u64::MAX];
        for &ts in &values {
            for (pid, &v) in [0u32, 1, 200, u32::MAX].into_iter().zip(values.iter().cycle().skip(3)) {
                let (nr, args) = (v as i64, [v, ts, 0, u64::MAX, 5, v ^ ts]);
                let mut ours = Vec::new();
                sys_enter(&mut ours, ts, pid, nr, &args);
                let want = Fe::SysEnter(SysEnterFtraceEvent { id: Some(nr), args: args.to_vec() });
                assert_eq!(ours, prost_bytes(ts, pid, want), "sys_enter ts {ts} pid {pid} nr {nr}");
                for ret in [-1i64, 0, 4096, i64::MIN] {
                    ours.clear();
                    sys_exit(&mut ours, ts, pid, nr, ret);
                    let want = Fe::SysExit(SysExitFtraceEvent { id: Some(nr), ret: Some(ret) });
                    assert_eq!(ours, prost_bytes(ts, pid, want), "sys_exit ts {ts} pid {pid} nr {nr} ret {ret}");
                }
            }
        }
    }
}
