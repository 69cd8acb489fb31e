//! Where a writer's bytes go: any [`Write`], written on the calling thread, or a [`Background`]
//! thread that takes each filled block whole.
//!
//! A writer fills a block (a `Vec<u8>`) and hands it to its [`Sink`]. A plain [`Write`] writes the
//! block's bytes and hands the block back emptied; a [`Background`] sink swaps it for an empty
//! block that its thread has already written out, so formatting the next block overlaps writing
//! this one (the `write(2)` calls of a file on ext4 are a fifth of an export's time), with no copy
//! and, once warm, no allocation: a fixed number of blocks go round.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

/// Where a trace writer's output goes, a block at a time: every [`Write`] is one (written on the
/// calling thread), and so is a [`Background`] writer thread.
pub trait Sink {
    /// Takes the bytes of `block` from `start` on, leaving `block` empty with at least the
    /// capacity it had (another allocation, for a sink that keeps the bytes to write them later).
    /// An error may be a previous block's: a background sink reports its thread's error here.
    fn put(&mut self, block: &mut Vec<u8>, start: usize) -> io::Result<()>;
    /// Returns when everything put so far is written, after flushing the destination.
    fn sync(&mut self) -> io::Result<()>;
}

impl<W: Write> Sink for W {
    #[inline]
    fn put(&mut self, block: &mut Vec<u8>, start: usize) -> io::Result<()> {
        self.write_all(block.get(start..).unwrap_or_default())?;
        block.clear();
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// Blocks handed to the thread in one message, at most: waking a thread is dear (tens of µs
/// in a VM, where an idle vCPU sleeps in the host), so it is woken once per group, not per block.
const GROUP: usize = 8;
/// A group is sent once it holds this many bytes (or [`GROUP`] blocks).
const GROUP_BYTES: usize = 1 << 20;
/// Groups that go round between a writer and its thread: one being filled, two being written.
const GROUPS: usize = 3;
/// Blocks made, at most (the writer's own block not counted).
const BLOCKS: usize = GROUP * GROUPS;

/// A block to write: `bytes[start..]` to destination `dest`.
struct Block {
    dest: usize,
    bytes: Vec<u8>,
    start: usize,
}

/// A message to the writer thread.
enum Msg<W> {
    /// A new destination, with its name for errors; the next index.
    Open(W, String),
    /// Blocks to write, in order.
    Blocks(Vec<Block>),
    /// Flush every destination, then say so.
    Sync,
}

/// What the writer thread hands back.
enum Back {
    /// A group written (its blocks emptied).
    Blocks(Vec<Block>),
    /// Everything before the `Sync` is written and flushed.
    Synced,
}

/// A writer thread with its destinations (one for [`Background`], one per CPU stream for
/// [`Ctf`](crate::Ctf)): blocks go to it in groups over a bounded channel and come back
/// emptied.
pub(crate) struct Pipe<W> {
    to: Option<SyncSender<Msg<W>>>,
    back: Receiver<Back>,
    /// The group being filled, and its bytes.
    group: Vec<Block>,
    group_bytes: usize,
    /// Written blocks and emptied groups, for reuse.
    spare: Vec<Vec<u8>>,
    spare_groups: Vec<Vec<Block>>,
    /// Blocks and groups made so far (at most [`BLOCKS`] and [`GROUPS`]).
    made: usize,
    made_groups: usize,
    dests: usize,
    thread: Option<JoinHandle<io::Result<Vec<W>>>>,
    /// The thread's error once it stopped, repeated on every later call.
    failed: Option<(io::ErrorKind, String)>,
}

impl<W> std::fmt::Debug for Pipe<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe").field("dests", &self.dests).field("failed", &self.failed).finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> Pipe<W> {
    /// Starts the writer thread (no destination yet).
    pub(crate) fn new() -> io::Result<Pipe<W>> {
        let (to, rx) = sync_channel(GROUPS);
        let (back_to, back) = channel();
        let thread = std::thread::Builder::new().name("ktrace-export".into()).spawn(move || run(rx, back_to))?;
        Ok(Pipe {
            to: Some(to),
            back,
            group: Vec::with_capacity(GROUP),
            group_bytes: 0,
            spare: Vec::new(),
            spare_groups: Vec::new(),
            made: 0,
            made_groups: 1,
            dests: 0,
            thread: Some(thread),
            failed: None,
        })
    }

    /// Adds a destination (its errors name it `name`); returns its index.
    pub(crate) fn open(&mut self, w: W, name: String) -> io::Result<usize> {
        self.send_group()?;
        self.send(Msg::Open(w, name))?;
        self.dests += 1;
        Ok(self.dests - 1)
    }

    /// Hands `block[start..]` to the thread for destination `dest`, leaving in `block` an empty
    /// block of at least its capacity.
    pub(crate) fn put(&mut self, dest: usize, block: &mut Vec<u8>, start: usize) -> io::Result<()> {
        let mut empty = self.empty_block()?;
        empty.reserve_exact(block.capacity());
        let bytes = std::mem::replace(block, empty);
        self.group_bytes += bytes.len().saturating_sub(start);
        self.group.push(Block { dest, bytes, start });
        if self.group.len() >= GROUP || self.group_bytes >= GROUP_BYTES { self.send_group() } else { Ok(()) }
    }

    /// Waits for every block handed over to be written and the destinations flushed.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.send_group()?;
        self.send(Msg::Sync)?;
        loop {
            match self.back.recv() {
                Ok(Back::Synced) => return Ok(()),
                Ok(Back::Blocks(g)) => self.take_back(g),
                Err(_) => return Err(self.stopped()),
            }
        }
    }

    /// Stops the thread after it wrote everything; its destinations, or its error.
    pub(crate) fn close(mut self) -> io::Result<Vec<W>> {
        self.send_group()?;
        self.to = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Err(self.stopped()),
        }
    }

    /// Sends the group being filled (if any), taking an emptied one in its place.
    fn send_group(&mut self) -> io::Result<()> {
        if self.group.is_empty() {
            return Ok(());
        }
        self.collect();
        let next = match self.spare_groups.pop() {
            Some(g) => g,
            None if self.made_groups < GROUPS => {
                self.made_groups += 1;
                Vec::with_capacity(GROUP)
            }
            None => loop {
                match self.back.recv() {
                    Ok(Back::Blocks(mut g)) => {
                        self.spare.extend(g.drain(..).map(|b| b.bytes));
                        break g;
                    }
                    Ok(Back::Synced) => {}
                    Err(_) => return Err(self.stopped()),
                }
            },
        };
        let group = std::mem::replace(&mut self.group, next);
        self.group_bytes = 0;
        self.send(Msg::Blocks(group))
    }

    /// Keeps a written group's blocks, and the group.
    fn take_back(&mut self, mut g: Vec<Block>) {
        self.spare.extend(g.drain(..).map(|b| b.bytes));
        self.spare_groups.push(g);
    }

    /// Takes the groups written so far, without waiting.
    fn collect(&mut self) {
        while let Ok(b) = self.back.try_recv() {
            if let Back::Blocks(g) = b {
                self.take_back(g);
            }
        }
    }

    /// A written block: one back from the thread, or a new one while fewer than [`BLOCKS`] exist.
    fn empty_block(&mut self) -> io::Result<Vec<u8>> {
        if self.spare.is_empty() {
            self.collect();
        }
        if let Some(b) = self.spare.pop() {
            return Ok(b);
        }
        if self.made < BLOCKS {
            self.made += 1;
            return Ok(Vec::new());
        }
        // Every block is in the group being filled or at the thread: the filled group goes too.
        self.send_group()?;
        loop {
            if let Some(b) = self.spare.pop() {
                return Ok(b);
            }
            match self.back.recv() {
                Ok(Back::Blocks(g)) => self.take_back(g),
                Ok(Back::Synced) => {}
                Err(_) => return Err(self.stopped()),
            }
        }
    }

    fn send(&mut self, m: Msg<W>) -> io::Result<()> {
        match &self.to {
            Some(to) if to.send(m).is_ok() => Ok(()),
            _ => Err(self.stopped()),
        }
    }

    /// The thread stopped (after an error): its error, joined for the first time.
    fn stopped(&mut self) -> io::Error {
        let (kind, msg) = self.failed.get_or_insert_with(|| {
            self.to = None;
            match self.thread.take().map(JoinHandle::join) {
                Some(Ok(Err(e))) => (e.kind(), e.to_string()),
                Some(Err(_)) => (io::ErrorKind::Other, "the writer thread panicked".into()),
                _ => (io::ErrorKind::Other, "the writer thread stopped".into()),
            }
        });
        io::Error::new(*kind, msg.clone())
    }
}

impl<W> Drop for Pipe<W> {
    fn drop(&mut self) {
        // The thread writes what it holds and the group being filled, then ends with the
        // channel (errors unseen: a writer's `finish` syncs first).
        if let Some(to) = self.to.take()
            && !self.group.is_empty()
        {
            let _ = to.send(Msg::Blocks(std::mem::take(&mut self.group)));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread: writes each block to its destination and hands the groups back, until
/// the channel closes or a write fails (its error, naming the destination).
fn run<W: Write>(rx: Receiver<Msg<W>>, back: Sender<Back>) -> io::Result<Vec<W>> {
    let mut dests: Vec<(W, String)> = Vec::new();
    let named = |name: &str, e: io::Error| io::Error::new(e.kind(), format!("{name}: {e}"));
    for m in rx {
        match m {
            Msg::Open(w, name) => dests.push((w, name)),
            Msg::Blocks(mut group) => {
                for b in &mut group {
                    if let Some((w, name)) = dests.get_mut(b.dest) {
                        w.write_all(b.bytes.get(b.start..).unwrap_or_default()).map_err(|e| named(name, e))?;
                    }
                    b.bytes.clear();
                }
                let _ = back.send(Back::Blocks(group));
            }
            Msg::Sync => {
                for (w, name) in &mut dests {
                    w.flush().map_err(|e| named(name, e))?;
                }
                let _ = back.send(Back::Synced);
            }
        }
    }
    Ok(dests.into_iter().map(|(w, _)| w).collect())
}

/// A [`Sink`] that writes on a thread of its own: a writer's filled blocks are handed to it
/// whole (no copy), in groups of up to 8 blocks or 1 MiB, over a bounded channel, a fixed number
/// of blocks going round (bounded memory: at most 24, no allocation once warm), so the calling
/// thread formats while the file is written. The file lags the writer by up to the groups in
/// flight until the writer's `finish`.
///
/// The thread's error (naming the destination) comes back from the writer's next call that
/// reaches the sink (its next full block, or its `finish`), and from every call after. The
/// thread is joined by [`Background::finish`], or when the sink is dropped (what is left is
/// then written, errors unseen: call the writer's `finish` first).
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use ktrace_export::{Background, Perfetto, Writer};
/// let dat = ktrace_ftrace::TraceDat::parse(&std::fs::read("trace.dat")?)?;
/// let out = Background::create("trace.perfetto-trace".as_ref())?;
/// let mut w = Perfetto::new(out).with_names(&dat.comms());
/// ktrace_export::write_recording(&dat.recording()?, &mut w)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Background<W> {
    pipe: Pipe<W>,
}

impl<W: Write + Send + 'static> Background<W> {
    /// Writes to `w` on a new thread; its errors say `name: error`.
    pub fn new(w: W, name: impl Into<String>) -> io::Result<Background<W>> {
        let mut pipe = Pipe::new()?;
        pipe.open(w, name.into())?;
        Ok(Background { pipe })
    }

    /// Waits for everything to be written, stops the thread and returns the destination (not
    /// flushed: a writer's `finish` flushes it).
    pub fn finish(self) -> io::Result<W> {
        self.pipe.close()?.pop().ok_or_else(|| io::Error::other("the writer thread lost its destination"))
    }
}

impl Background<File> {
    /// Creates (truncates) the file at `path` and writes it on a new thread; errors name `path`.
    pub fn create(path: &Path) -> io::Result<Background<File>> {
        let name = path.display().to_string();
        let f = File::create(path).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
        Background::new(f, name)
    }
}

impl<W: Write + Send + 'static> Sink for Background<W> {
    #[inline]
    fn put(&mut self, block: &mut Vec<u8>, start: usize) -> io::Result<()> {
        self.pipe.put(0, block, start)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.pipe.sync()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail by panicking")]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A destination that keeps what it was given, and fails from the `fail_at`th write on.
    #[derive(Clone, Default)]
    struct Shared {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: usize,
        fail_at: Option<usize>,
    }

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            if self.fail_at.is_some_and(|n| self.writes >= n) {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "no space"));
            }
            self.bytes.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Blocks arrive in order, whole, from their start; the blocks handed back are empty with
    /// the capacity asked for; no more than the fixed number of blocks are made.
    #[test]
    fn blocks_are_written_in_order_and_recycled() {
        let dest = Shared::default();
        let mut bg = Background::new(dest.clone(), "dest").unwrap();
        let mut want = Vec::new();
        let mut block = Vec::with_capacity(1000);
        for i in 0..100u32 {
            block.extend_from_slice(b"xx");
            block.extend_from_slice(&i.to_le_bytes());
            want.extend_from_slice(&i.to_le_bytes());
            bg.put(&mut block, 2).unwrap();
            assert!(block.is_empty() && block.capacity() >= 1000);
        }
        bg.sync().unwrap();
        assert_eq!(*dest.bytes.lock().unwrap(), want);
        assert!(bg.pipe.made <= BLOCKS);
        bg.finish().unwrap();
    }

    /// The thread's error comes back on a later call, naming the destination, and keeps coming.
    #[test]
    fn the_threads_error_names_the_destination() {
        let dest = Shared { fail_at: Some(3), ..Shared::default() };
        let mut bg = Background::new(dest, "out.json").unwrap();
        let mut err = None;
        for _ in 0..20 {
            let mut block = vec![1u8; 10];
            if let Err(e) = bg.put(&mut block, 0).and_then(|()| bg.sync()) {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("the third write fails");
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(err.to_string(), "out.json: no space");
        assert_eq!(bg.sync().unwrap_err().to_string(), "out.json: no space", "and again");
        assert!(bg.finish().is_err());
    }
}
