//! Live consumption of an instance's events while tracing runs, with memory bounded by a budget.
//!
//! [`Recorder::stream`](crate::Recorder::stream) starts one drain thread per CPU, as
//! [`Recorder::start`](crate::Recorder::start) does, but instead of keeping every page until stop
//! it hands each page to the consumer as a [`bytes::Bytes`] (the buffer read(2) filled, moved, not
//! copied). Pages wait in a queue whose size is bounded by a [`Budget`]: when the consumer is too
//! slow and the queue is full, a drain thread drops the page it just read and counts its events
//! into an [`Item::Lost`], so the kernel is never held back beyond its own ring, memory does not
//! grow with the length of the trace, and nothing is lost silently.
//!
//! Events come out in time order across CPUs: a CPU's next item is released only when every other
//! CPU either has an item queued (the smallest timestamp goes first) or has reported its ring empty
//! after the page was read (its later events are newer). A quiet CPU's partial page is read every
//! ~10 ms so it never holds the others back for long.
//!
//! ```no_run
//! use ktrace_ftrace::{Item, Recorder, Tracefs, stream::Budget};
//! let fs = Tracefs::find()?;
//! let inst = fs.new_instance()?;
//! inst.enable_event("raw_syscalls", "sys_enter")?;
//! let mut stream = Recorder::stream(&inst, Budget::mib(8))?;
//! let stop = stream.stop_handle();
//! std::thread::spawn(move || { std::thread::sleep(std::time::Duration::from_secs(1)); stop.stop() });
//! let (mut events, mut lost) = (0u64, 0u64);
//! while let Some(item) = stream.next() {
//!     match item? {
//!         Item::Event(_) => events += 1,
//!         Item::Lost(l) => lost += l.count.unwrap_or(0),
//!     }
//! }
//! println!("{events} events, {lost} lost ({:?})", stream.stats());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use ktrace_core::{Clock, Cursor, Endian, Lost, LostSource, PageItem, PageLayout, Pages, ParseError, RawEvent};

use crate::error::{Error, Result};
use crate::event::Decoder;
use crate::instance::Instance;
use crate::recorder::{Item, OwnTids, start_drains};
use crate::stats::CpuStats;

mod queue;
mod tracedat;

use queue::{Entry, Shared, State, stream_loop};
pub use tracedat::write_trace_dat;

/// The most bytes of pages held between the drain threads and the consumer (the pages the
/// consumer is reading, one per CPU, come on top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of queued pages.
    pub bytes: usize,
}

impl Budget {
    /// `n` MiB.
    pub const fn mib(n: usize) -> Budget {
        Budget { bytes: n << 20 }
    }
}

/// What a stream has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Pages the drain threads took from the rings.
    pub pages: u64,
    /// Pages dropped because the budget was full (the consumer was too slow).
    pub dropped_pages: u64,
    /// The events in those pages (reported as [`Item::Lost`]).
    pub dropped_events: u64,
    /// Events the kernel reported lost (in page headers and, at the end, its counters; reported
    /// as [`Item::Lost`] too). Losses of unknown size count as 0.
    pub kernel_lost: u64,
    /// The most bytes queued at once.
    pub peak_bytes: usize,
}

/// Ends a [`Stream`] from another thread (a timer, a signal handler's thread, the thread that
/// waits for a command): the stream turns tracing off, delivers what remains, then ends.
#[derive(Clone)]
pub struct StopHandle(Arc<Shared>);

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle").finish_non_exhaustive()
    }
}

impl StopHandle {
    /// Asks the stream to stop.
    pub fn stop(&self) {
        self.0.stop_requested.store(true, Ordering::Release);
        let _g = self.0.lock();
        self.0.cond.notify_all();
    }
}

/// One parsed item of the page a CPU's consumer side is reading.
#[derive(Clone, Copy)]
enum Slot {
    Event {
        ts: u64,
        offset: usize,
        start: usize,
        len: usize,
    },
    /// A loss; true for pages dropped over the budget.
    Lost(Lost, bool),
}

impl Slot {
    fn ts(&self) -> u64 {
        match self {
            Slot::Event { ts, .. } => *ts,
            Slot::Lost(l, _) => l.timestamp_ns,
        }
    }
}

/// The consumer's side of one CPU: the page being read and its remaining items.
struct Current {
    page: Bytes,
    slots: VecDeque<Slot>,
    read_at: Instant,
    /// Bumped for each page or loss taken from the queue.
    generation: u64,
}

/// The CPUs found empty and caught up (idle since, or finished) when `cpu`'s page `generation`
/// was released: while no other CPU runs empty, its items go out without taking the lock.
struct Released {
    cpu: usize,
    generation: u64,
    caught_up: Vec<bool>,
}

/// A raw item of [`Stream::next_raw`]: a whole page, or a loss no page carries.
#[derive(Debug, Clone)]
pub enum RawItem {
    /// A page of `cpu`'s ring buffer (a sub-buffer in the format of [`ktrace_core::page`]).
    Page {
        /// The CPU.
        cpu: u32,
        /// The page.
        data: Bytes,
    },
    /// Events lost outside the delivered pages: pages dropped for the budget, or the kernel's
    /// counters at the end.
    Lost(Lost),
}

/// A live stream of an instance's events, made by [`Recorder::stream`](crate::Recorder::stream).
/// Iterate with [`Stream::next`] (events in time order) or [`Stream::next_raw`] (pages as they
/// arrive, for writing a file), not both. Ends after [`Stream::stop`] (or a [`StopHandle`]) once
/// what remained in the rings is delivered. Dropping it stops tracing.
pub struct Stream<'i> {
    inst: &'i Instance,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    start_stats: Vec<CpuStats>,
    decoder: Decoder,
    cur: Vec<Current>,
    stopped: bool,
    /// The end's counter losses were queued.
    tail_done: bool,
    released: Option<Released>,
    last_dropped: bool,
    /// The drain threads, whose events [`Stream::next`] skips (see [`crate::Recorder`]).
    own: OwnTids,
}

impl std::fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("cpus", &self.cur.len()).field("stopped", &self.stopped).finish()
    }
}

impl<'i> Stream<'i> {
    pub(crate) fn start(inst: &'i Instance, budget: Budget) -> Result<Stream<'i>> {
        let ncpu = inst.nr_cpus();
        let clock = inst.clock().unwrap_or(Clock::Local);
        // Formats of the enabled events now (the stream decodes while tracing).
        let decoder = Decoder::new(inst.formats_with_enabled(), Endian::NATIVE, clock);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queues: (0..ncpu).map(|_| VecDeque::new()).collect(),
                bytes: 0,
                idle: vec![None; ncpu],
                done: vec![false; ncpu],
                page_missed: vec![0; ncpu],
                error: None,
                stats: StreamStats::default(),
            }),
            cond: Condvar::new(),
            budget: budget.bytes,
            layout: PageLayout::LE64,
            finish: AtomicBool::new(false),
            stop_requested: AtomicBool::new(false),
        });
        let sh = shared.clone();
        let (threads, start_stats, own) = start_drains(
            inst,
            |cpu| inst.cpu_reader(cpu),
            move |r| {
                let sh = sh.clone();
                move || {
                    let cpu = r.cpu() as usize;
                    if let Err(e) = stream_loop(r, &sh) {
                        sh.lock().error.get_or_insert(e);
                    }
                    let mut st = sh.lock();
                    if let Some(d) = st.done.get_mut(cpu) {
                        *d = true;
                    }
                    sh.cond.notify_all();
                }
            },
        )?;
        let cur = (0..ncpu)
            .map(|_| Current { page: Bytes::new(), slots: VecDeque::new(), read_at: Instant::now(), generation: 0 })
            .collect();
        Ok(Stream {
            inst,
            shared,
            threads,
            start_stats,
            decoder,
            cur,
            stopped: false,
            tail_done: false,
            released: None,
            last_dropped: false,
            own,
        })
    }

    /// The drain threads' ids, sorted: their own system calls are in the pages
    /// [`Stream::next_raw`] gives, and skipped by [`Stream::next`].
    pub fn drain_tids(&self) -> &[i32] {
        self.own.as_slice()
    }

    /// A handle that stops this stream from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.shared.clone())
    }

    /// Turns tracing off; the stream then delivers what remains in the rings and ends.
    pub fn stop(&mut self) -> Result<()> {
        if !self.stopped {
            self.stopped = true;
            let r = self.inst.set_tracing_on(false);
            self.shared.finish.store(true, Ordering::Release);
            r?;
        }
        Ok(())
    }

    /// Whether the last [`Item::Lost`] that [`Stream::next`] returned counted pages dropped over
    /// the budget (the consumer fell behind) rather than events the kernel lost.
    pub fn last_loss_was_dropped(&self) -> bool {
        self.last_dropped
    }

    /// The counters so far.
    pub fn stats(&self) -> StreamStats {
        self.shared.lock().stats
    }

    /// The decoder (formats by id) events are decoded with.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Sub-buffer (page) size.
    pub fn page_size(&self) -> usize {
        self.inst.subbuf_size()
    }

    /// The next item in time order, waiting for it; `None` once the stream is stopped and
    /// everything is delivered. Losses, the kernel's and the budget's, come as [`Item::Lost`].
    #[allow(clippy::should_implement_trait)] // A lending iterator: items borrow the stream's page.
    pub fn next(&mut self) -> Option<Result<Item<'_>>> {
        let c = match self.step() {
            Ok(Some(c)) => c,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        let cur = self.cur.get_mut(c)?;
        match cur.slots.pop_front()? {
            Slot::Lost(l, dropped) => {
                self.last_dropped = dropped;
                Some(Ok(Item::Lost(l)))
            }
            Slot::Event { ts, offset, start, len } => {
                let cur = self.cur.get(c)?;
                let data = Cursor::at(cur.page.as_ref(), start).and_then(|mut r| r.bytes(len));
                let raw = |data| RawEvent { timestamp: ts, cpu: c as u32, offset, data };
                Some(data.and_then(|d| self.decoder.decode(raw(d))).map(Item::Event).map_err(Error::from))
            }
        }
    }

    /// Calls `f` with each item until the stream ends or `f` fails.
    pub fn for_each<E: From<Error>>(&mut self, mut f: impl FnMut(Item<'_>) -> Result<(), E>) -> Result<(), E> {
        while let Some(item) = self.next() {
            f(item?)?;
        }
        Ok(())
    }

    /// The next page or loss as it arrives, in no order across CPUs (within a CPU, in order);
    /// `None` once the stream is stopped and everything is delivered.
    pub fn next_raw(&mut self) -> Option<Result<RawItem>> {
        let shared = self.shared.clone();
        let mut st = shared.lock();
        loop {
            if let Some(e) = st.error.take() {
                return Some(Err(e));
            }
            if self.shared.stop_requested.load(Ordering::Acquire) && !self.stopped {
                drop(st);
                if let Err(e) = self.stop() {
                    return Some(Err(e));
                }
                st = shared.lock();
            }
            let s = &mut *st;
            for (cpu, q) in s.queues.iter_mut().enumerate() {
                match q.pop_front() {
                    Some(Entry::Page { data, .. }) => {
                        s.bytes -= data.len();
                        return Some(Ok(RawItem::Page { cpu: cpu as u32, data }));
                    }
                    Some(Entry::Lost { lost, .. }) => return Some(Ok(RawItem::Lost(lost))),
                    None => {}
                }
            }
            if st.done.iter().all(|d| *d) {
                if self.tail_done {
                    return None;
                }
                drop(st);
                if let Err(e) = self.queue_counter_losses() {
                    return Some(Err(e));
                }
                st = shared.lock();
                continue;
            }
            st = shared.wait(st);
        }
    }

    /// Losses the kernel's counters know of beyond what the pages reported, queued once at the end.
    fn queue_counter_losses(&mut self) -> Result<()> {
        self.tail_done = true;
        let mut extra = Vec::new();
        let missed = self.shared.lock().page_missed.clone();
        for (cpu, before) in self.start_stats.iter().enumerate() {
            let after = self.inst.cpu_stats(cpu as u32)?;
            let lost = after.lost().saturating_sub(before.lost());
            let seen = missed.get(cpu).copied().unwrap_or(0);
            if lost > seen {
                let count = Some(lost - seen);
                extra.push((
                    cpu,
                    Lost { source: LostSource::FtraceRing, cpu: cpu as u32, count, timestamp_ns: after.now_ts_ns },
                ));
            }
        }
        let mut st = self.shared.lock();
        for (cpu, l) in extra {
            st.stats.kernel_lost += l.count.unwrap_or(0);
            if let Some(q) = st.queues.get_mut(cpu) {
                q.push_back(Entry::Lost { lost: l, dropped: false, read_at: Instant::now() });
            }
        }
        Ok(())
    }

    /// The CPU with the oldest next item when that is sure without the lock: its page was
    /// released before and every CPU with nothing to read was caught up then (a page such a CPU
    /// queues later holds only newer events).
    fn fast_step(&self) -> Option<usize> {
        if self.shared.stop_requested.load(Ordering::Relaxed) && !self.stopped {
            return None;
        }
        let r = self.released.as_ref()?;
        let mut best: Option<(u64, usize)> = None;
        for (c, cur) in self.cur.iter().enumerate() {
            match cur.slots.front() {
                Some(s) if best.is_none_or(|b| (s.ts(), c) < b) => best = Some((s.ts(), c)),
                Some(_) => {}
                None if r.caught_up.get(c).copied().unwrap_or(false) => {}
                None => return None,
            }
        }
        let (_, c) = best?;
        (c == r.cpu && self.cur.get(c)?.generation == r.generation).then_some(c)
    }

    /// Waits until some CPU's next item may be released (time order) and returns that CPU, or
    /// `None` at the end.
    fn step(&mut self) -> Result<Option<usize>> {
        if let Some(c) = self.fast_step() {
            return Ok(Some(c));
        }
        let shared = self.shared.clone();
        let mut st = shared.lock();
        loop {
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            if shared.stop_requested.load(Ordering::Acquire) && !self.stopped {
                drop(st);
                self.stop()?;
                st = shared.lock();
            }
            // Each CPU whose page is used up takes its next queued entry.
            for (cpu, cur) in self.cur.iter_mut().enumerate() {
                if !cur.slots.is_empty() {
                    continue;
                }
                let Some(entry) = st.queues.get_mut(cpu).and_then(VecDeque::pop_front) else {
                    continue;
                };
                cur.generation += 1;
                match entry {
                    Entry::Page { data, read_at } => {
                        st.bytes -= data.len();
                        cur.read_at = read_at;
                        parse_slots(&data, shared.layout, cpu as u32, (&self.own, &self.decoder), &mut cur.slots)?;
                        cur.page = data;
                    }
                    Entry::Lost { lost, dropped, read_at } => {
                        cur.read_at = read_at;
                        cur.page = Bytes::new();
                        cur.slots.push_back(Slot::Lost(lost, dropped));
                    }
                }
            }
            let best = (self.cur.iter().enumerate())
                .filter_map(|(c, cur)| Some((cur.slots.front()?.ts(), c)))
                .min()
                .map(|(_, c)| c);
            let Some(best) = best else {
                if st.done.iter().all(|d| *d) && st.queues.iter().all(VecDeque::is_empty) {
                    if self.tail_done {
                        return Ok(None);
                    }
                    drop(st);
                    self.queue_counter_losses()?;
                    st = shared.lock();
                } else {
                    st = shared.wait(st);
                }
                continue;
            };
            let read_at = self.cur.get(best).map_or_else(Instant::now, |c| c.read_at);
            // Another CPU with nothing queued may still hold older events in its ring, unless it
            // found its ring empty after this page was read (or its drain has finished).
            let caught_up: Vec<bool> = (0..self.cur.len())
                .map(|c| {
                    st.done.get(c).copied().unwrap_or(true)
                        || st.idle.get(c).copied().flatten().is_some_and(|t| t >= read_at)
                })
                .collect();
            let blocked = (self.cur.iter().enumerate())
                .any(|(c, cur)| c != best && cur.slots.is_empty() && !caught_up.get(c).copied().unwrap_or(true));
            if !blocked {
                let generation = self.cur.get(best).map_or(0, |c| c.generation);
                self.released = Some(Released { cpu: best, generation, caught_up });
                return Ok(Some(best));
            }
            st = shared.wait(st);
        }
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        let _ = self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Parses a page's items into offsets within it (the consumer borrows them from the page later),
/// leaving out the system call events of the drain threads `own` (decoded by the decoder).
fn parse_slots(
    page: &[u8],
    layout: PageLayout,
    cpu: u32,
    (own, decoder): (&OwnTids, &Decoder),
    out: &mut VecDeque<Slot>,
) -> Result<(), ParseError> {
    let base = page.as_ptr() as usize;
    for it in Pages::new(page, page.len().max(1), layout, cpu) {
        out.push_back(match it? {
            PageItem::Event(e) if own.hides(e, decoder) => continue,
            PageItem::Event(e) => Slot::Event {
                ts: e.timestamp,
                offset: e.offset,
                start: (e.data.as_ptr() as usize).saturating_sub(base),
                len: e.data.len(),
            },
            PageItem::Lost(l) => Slot::Lost(l, false),
        });
    }
    Ok(())
}
