//! Thread names seen in the stream, and the buffered output every writer streams through.

use std::borrow::Cow;

use ktrace_ftrace::Typed;

use crate::error::{IoContext, Result};
use crate::sink::Sink;

/// A comm as the kernel keeps it (`TASK_COMM_LEN`: 15 bytes and a NUL), stored inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Comm {
    bytes: [u8; 16],
    len: u8,
}

impl Comm {
    pub(crate) fn new(b: &[u8]) -> Comm {
        let mut c = Comm::default();
        let n = b.len().min(16);
        for (d, s) in c.bytes.iter_mut().zip(b) {
            *d = *s;
        }
        c.len = n as u8;
        c
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or_default()
    }

    pub(crate) fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }
}

/// `tid -> comm` for every thread named so far (bounded by the number of threads, not events).
#[derive(Debug, Default)]
pub(crate) struct Threads {
    names: foldhash::HashMap<i32, Comm>,
}

impl Threads {
    /// Records `tid`'s name; true when it is new or changed.
    pub(crate) fn set(&mut self, tid: i32, comm: &[u8]) -> bool {
        // Most calls repeat a known name: a lookup, no insert.
        if self.names.get(&tid).is_some_and(|c| c.as_bytes() == comm.get(..comm.len().min(16)).unwrap_or(comm)) {
            return false;
        }
        self.names.insert(tid, Comm::new(comm));
        true
    }

    /// Every thread with its name, by tid.
    pub(crate) fn sorted(&self) -> Vec<(i32, Comm)> {
        let mut v: Vec<_> = self.names.iter().map(|(t, c)| (*t, *c)).collect();
        v.sort_unstable_by_key(|(t, _)| *t);
        v
    }
}

/// Hands `name` the (tid, comm) pairs an event tells: both tasks of a sched_switch, the woken
/// task, a fork's child, `task:task_newtask`'s new task and `task:task_rename`'s new name (most
/// events tell none: one test).
#[inline(always)]
pub(crate) fn each_comm<'a>(typed: &Typed<'a>, mut name: impl FnMut(i32, &'a [u8])) {
    match *typed {
        Typed::SchedSwitch { prev_comm, prev_pid, next_comm, next_pid, .. } => {
            name(prev_pid, prev_comm);
            name(next_pid, next_comm);
        }
        Typed::Wakeup { comm, pid, .. } => name(pid, comm),
        Typed::Fork { child_comm, child_pid, .. } => name(child_pid, child_comm),
        Typed::TaskNewtask { pid, comm, .. } => name(pid, comm),
        Typed::TaskRename { pid, newcomm, .. } => name(pid, newcomm),
        _ => {}
    }
}

/// Output buffered in one block, handed to the [`Sink`] whenever it passes [`Out::BLOCK`]: the
/// memory a writer holds is this block, whatever the trace's length (a [`Write`](std::io::Write) sink writes it
/// and hands it back; a [`Background`](crate::Background) one swaps it for a written one).
#[derive(Debug)]
pub(crate) struct Out<W: Sink> {
    pub(crate) buf: Vec<u8>,
    pub(crate) w: W,
    what: &'static str,
}

impl<W: Sink> Out<W> {
    pub(crate) const BLOCK: usize = 256 << 10;

    pub(crate) fn new(w: W, what: &'static str) -> Out<W> {
        Out { buf: Vec::with_capacity(Self::BLOCK + 4096), w, what }
    }

    /// Hands the block to the sink when it is full.
    #[inline]
    pub(crate) fn spill(&mut self) -> Result<()> {
        if self.buf.len() >= Self::BLOCK { self.flush() } else { Ok(()) }
    }

    /// Hands everything buffered to the sink.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let what = self.what;
        self.w.put(&mut self.buf, 0).writing(|| what.to_owned())
    }

    /// Hands what is buffered to the sink, then `block[start..]` (a large block that the buffer
    /// would only pass on: no copy), leaving `block` empty.
    pub(crate) fn put(&mut self, block: &mut Vec<u8>, start: usize) -> Result<()> {
        self.flush()?;
        let what = self.what;
        self.w.put(block, start).writing(|| what.to_owned())
    }

    /// Hands everything to the sink and waits for it to be written and flushed.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.flush()?;
        let what = self.what;
        self.w.sync().writing(|| what.to_owned())
    }
}

/// Array bytes as lowercase hex digits, each handed to `push`.
pub(crate) fn hex(a: ktrace_core::RawData<'_>, mut push: impl FnMut(u8)) {
    let nibble = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
    let (x, y) = match a {
        ktrace_core::RawData::Single(s) => (s, &[][..]),
        ktrace_core::RawData::Split(x, y) => (x, y),
    };
    for c in x.iter().chain(y) {
        push(nibble(c >> 4));
        push(nibble(c & 15));
    }
}
