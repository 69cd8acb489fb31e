//! One time-ordered stream out of several live sources, each with a watermark, in bounded memory.
//!
//! Each source (a thread draining ftrace, ptrace, perf…) pushes its items in its own time order
//! through a [`Feed`]; the consumer takes them from the [`Timeline`] merged by
//! [`Timestamped::timestamp_ns`]. An item is released only when no live source can still produce
//! an older one: every other source either has an item queued (its queue head is newer) or has
//! promised, by its **watermark**, that nothing older will come. So a slow or quiet source holds
//! the merge back, never breaks its order. A source's watermark is the timestamp of the last item
//! it pushed, or more with [`Feed::advance`] (ftrace: a marker the source wrote itself came out of
//! the ring), or "now" on the timeline's clock while it waits ([`Feed::idle`], for a source whose
//! items are stamped when they are received, like ptrace stops stamped when `waitpid` returns).
//!
//! Memory is bounded: each source may queue at most its share of the budget (by the weight the
//! timeline was made with); past that, [`Feed::push`] waits for the consumer. A source that must
//! not wait (a kernel ring) keeps its own bounded buffer and reports what it drops as a loss item.
//!
//! ```
//! use ktrace::timeline::Timeline;
//! use ktrace::core::Timestamped;
//! #[derive(Debug)] struct Ev(u64, &'static str);
//! impl Timestamped for Ev { fn timestamp_ns(&self) -> u64 { self.0 } }
//! let mut t = Timeline::new(1 << 20, |_: &Ev| 16, || 0);
//! let (mut a, mut b) = (t.feed("a"), t.feed("b"));
//! let ta = std::thread::spawn(move || { for ts in [1, 4, 9] { a.push(Ev(ts, "a")) } });
//! let tb = std::thread::spawn(move || { for ts in [2, 3, 10] { b.push(Ev(ts, "b")) } });
//! let order: Vec<u64> = t.by_ref().map(|e| e.0).collect();
//! assert_eq!(order, vec![1, 2, 3, 4, 9, 10]);
//! # ta.join().unwrap(); tb.join().unwrap();
//! ```

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use ktrace_core::Timestamped;

/// `CLOCK_MONOTONIC` now, in ns (clock_gettime(2)): the clock sessions merge on, to pass as a
/// timeline's `now` and to stamp a source's items with.
pub fn monotonic_ns() -> u64 {
    crate::sys::monotonic_ns()
}

/// Items a feed collects before it takes the lock (fewer lock round trips at high rates).
const BATCH: usize = 256;
/// Items the consumer releases per lock.
const RELEASE: usize = 4096;

struct Source<T> {
    name: &'static str,
    queue: VecDeque<T>,
    bytes: usize,
    /// No later item is older than this.
    watermark: u64,
    /// Waiting for its next item, which will be stamped later than now.
    idle: bool,
    done: bool,
}

struct State<T> {
    sources: Vec<Source<T>>,
    /// The consumer is waiting for items or watermarks.
    waiting: bool,
    peak_bytes: usize,
    bytes: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// The consumer waits here for items or watermarks.
    items: Condvar,
    /// Feeds wait here for room in their share of the budget.
    room: Condvar,
    budget: usize,
    weight: fn(&T) -> usize,
    now: fn() -> u64,
    /// The timeline was dropped: feeds discard what they push.
    closed: AtomicBool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The consumer's side: an iterator of every source's items in time order. It ends when every
/// [`Feed`] is finished (dropped) and everything is delivered.
pub struct Timeline<T> {
    shared: Arc<Shared<T>>,
    out: VecDeque<T>,
}

impl<T> std::fmt::Debug for Timeline<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.lock();
        let names: Vec<_> = st.sources.iter().map(|s| s.name).collect();
        f.debug_struct("Timeline").field("sources", &names).field("budget", &self.shared.budget).finish()
    }
}

/// What a timeline holds, for budgets and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimelineStats {
    /// Weight (bytes) queued now.
    pub bytes: usize,
    /// The most weight queued at once.
    pub peak_bytes: usize,
    /// Sources whose feed is not finished.
    pub live_sources: usize,
}

impl<T: Timestamped> Timeline<T> {
    /// A timeline whose sources together queue at most `budget` (in the units of `weight`, the
    /// bytes an item holds), stamping idle sources with `now` (the clock the items are on; for
    /// a session, `CLOCK_MONOTONIC`).
    pub fn new(budget: usize, weight: fn(&T) -> usize, now: fn() -> u64) -> Timeline<T> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { sources: Vec::new(), waiting: false, peak_bytes: 0, bytes: 0 }),
            items: Condvar::new(),
            room: Condvar::new(),
            budget,
            weight,
            now,
            closed: AtomicBool::new(false),
        });
        Timeline { shared, out: VecDeque::new() }
    }

    /// A new source named `name`: add every source before the first item is taken (a source
    /// added later may bring items older than ones already released).
    pub fn feed(&mut self, name: &'static str) -> Feed<T> {
        let mut st = self.shared.lock();
        st.sources.push(Source { name, queue: VecDeque::new(), bytes: 0, watermark: 0, idle: false, done: false });
        Feed { shared: self.shared.clone(), id: st.sources.len() - 1, batch: Vec::new(), last: 0 }
    }

    /// The counters now.
    pub fn stats(&self) -> TimelineStats {
        let st = self.shared.lock();
        TimelineStats {
            bytes: st.bytes,
            peak_bytes: st.peak_bytes,
            live_sources: st.sources.iter().filter(|s| !s.done).count(),
        }
    }

    /// Moves every item that no live source can precede into `self.out`; how many.
    fn release(&mut self, st: &mut State<T>) -> usize {
        let now = (self.shared.now)();
        // An idle source's next item will be stamped no earlier than now (Feed::received clamps).
        for s in st.sources.iter_mut().filter(|s| s.idle) {
            s.watermark = s.watermark.max(now);
        }
        let mut n = 0;
        while n < RELEASE {
            // The oldest queued head (ties: the source added first).
            let mut best: Option<(u64, usize)> = None;
            for (i, s) in st.sources.iter().enumerate() {
                if let Some(h) = s.queue.front() {
                    let ts = h.timestamp_ns();
                    if best.is_none_or(|(b, _)| ts < b) {
                        best = Some((ts, i));
                    }
                }
            }
            let Some((ts, i)) = best else { break };
            // Every other live source with nothing queued must have promised nothing older.
            let held =
                st.sources.iter().enumerate().any(|(j, s)| j != i && !s.done && s.queue.is_empty() && s.watermark < ts);
            if held {
                break;
            }
            let Some(s) = st.sources.get_mut(i) else { break };
            let Some(item) = s.queue.pop_front() else { break };
            let w = (self.shared.weight)(&item);
            s.bytes = s.bytes.saturating_sub(w);
            st.bytes = st.bytes.saturating_sub(w);
            self.out.push_back(item);
            n += 1;
        }
        n
    }
}

impl<T: Timestamped> Iterator for Timeline<T> {
    type Item = T;

    /// The next item in time order, waiting for it; `None` once every feed is finished and
    /// everything is delivered.
    fn next(&mut self) -> Option<T> {
        if let Some(x) = self.out.pop_front() {
            return Some(x);
        }
        let shared = self.shared.clone();
        let mut st = shared.lock();
        loop {
            if self.release(&mut st) > 0 {
                shared.room.notify_all();
                return self.out.pop_front();
            }
            if st.sources.iter().all(|s| s.done && s.queue.is_empty()) {
                return None;
            }
            // Idle sources' watermarks move with the clock, without a notification.
            st.waiting = true;
            st = match shared.items.wait_timeout(st, Duration::from_millis(5)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            st.waiting = false;
        }
    }
}

impl<T> Drop for Timeline<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        let mut st = self.shared.lock();
        for s in &mut st.sources {
            s.queue.clear();
        }
        self.shared.room.notify_all();
    }
}

/// A source's side of a [`Timeline`]: push items in time order, move the watermark, finish by
/// dropping it.
pub struct Feed<T> {
    shared: Arc<Shared<T>>,
    id: usize,
    batch: Vec<T>,
    last: u64,
}

impl<T> std::fmt::Debug for Feed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").field("id", &self.id).field("last", &self.last).finish()
    }
}

impl<T: Timestamped> Feed<T> {
    /// Adds an item. Items of one feed must come in time order (an older item than the last is
    /// released after it). Waits while this source's share of the budget is full.
    pub fn push(&mut self, item: T) {
        self.last = self.last.max(item.timestamp_ns());
        self.batch.push(item);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    /// Hands the collected items to the timeline (waiting for room), with the watermark of the
    /// last one.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let w: usize = self.batch.iter().map(self.shared.weight).sum();
        let mut st = self.shared.lock();
        let share = self.shared.budget / st.sources.len().max(1);
        loop {
            if self.shared.closed.load(Ordering::Acquire) {
                self.batch.clear();
                return;
            }
            let queued = st.sources.get(self.id).map_or(0, |s| s.bytes);
            if queued == 0 || queued + w <= share {
                break;
            }
            st = match self.shared.room.wait_timeout(st, Duration::from_millis(50)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        let st = &mut *st;
        if let Some(s) = st.sources.get_mut(self.id) {
            let wake = s.queue.is_empty() && st.waiting;
            s.queue.extend(self.batch.drain(..));
            s.bytes += w;
            s.watermark = s.watermark.max(self.last);
            st.bytes += w;
            st.peak_bytes = st.peak_bytes.max(st.bytes);
            if wake {
                self.shared.items.notify_one();
            }
        }
    }

    /// Promises that no later item of this feed is older than `ns` (flushing first).
    pub fn advance(&mut self, ns: u64) {
        self.flush();
        let mut st = self.shared.lock();
        let waiting = st.waiting;
        if let Some(s) = st.sources.get_mut(self.id) {
            s.watermark = s.watermark.max(ns);
            // Only an empty queue's watermark can be what holds the consumer.
            if s.queue.is_empty() && waiting {
                self.shared.items.notify_one();
            }
        }
    }

    /// Marks this feed waiting for its next item, which [`Feed::received`] (or [`Feed::stamp`])
    /// will stamp: until then its watermark is "now" on the timeline's clock (flushing first).
    pub fn idle(&mut self) {
        self.flush();
        let mut st = self.shared.lock();
        let waiting = st.waiting;
        if let Some(s) = st.sources.get_mut(self.id) {
            s.idle = true;
            if s.queue.is_empty() && waiting {
                self.shared.items.notify_one();
            }
        }
    }

    /// Ends [`Feed::idle`] and returns the time to stamp the item just received with: now on the
    /// timeline's clock ([`Feed::received`] of now).
    pub fn stamp(&mut self) -> u64 {
        let now = (self.shared.now)();
        self.received(now)
    }

    /// Ends [`Feed::idle`] for an item the source stamped itself at `ts` when it received it (a
    /// ptrace stop when `waitpid` returned): returns the time to give it, `ts` or, should the
    /// consumer have released items up to a later "now" while this feed was idle (the stamp was
    /// taken just before this call), that "now", so the merge's order holds.
    pub fn received(&mut self, ts: u64) -> u64 {
        let mut st = self.shared.lock();
        match st.sources.get_mut(self.id) {
            Some(s) => {
                s.idle = false;
                s.watermark = s.watermark.max(ts);
                s.watermark
            }
            None => ts,
        }
    }

    /// Whether the timeline was dropped (a source thread may stop).
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}

impl<T> Drop for Feed<T> {
    fn drop(&mut self) {
        // Finish: what is batched goes out first (a feed of a type without `Timestamped` has none).
        let batch = std::mem::take(&mut self.batch);
        let w: usize = batch.iter().map(self.shared.weight).sum();
        let mut st = self.shared.lock();
        let st = &mut *st;
        if let Some(s) = st.sources.get_mut(self.id) {
            if !self.shared.closed.load(Ordering::Acquire) {
                s.queue.extend(batch);
                s.bytes += w;
                st.bytes += w;
            }
            s.done = true;
        }
        self.shared.items.notify_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]
    use super::*;

    #[derive(Debug, PartialEq)]
    struct E(u64, u8);
    impl Timestamped for E {
        fn timestamp_ns(&self) -> u64 {
            self.0
        }
    }

    /// A quiet source with an old watermark holds newer items back until it moves.
    #[test]
    fn a_quiet_source_holds_the_merge_until_its_watermark_passes() {
        let mut t = Timeline::new(1 << 20, |_: &E| 16, || 0);
        let mut fast = t.feed("fast");
        let mut slow = t.feed("slow");
        fast.push(E(10, 0));
        fast.push(E(20, 0));
        fast.flush();
        let t = std::sync::Arc::new(std::sync::Mutex::new(t));
        let t2 = t.clone();
        let h = std::thread::spawn(move || {
            let mut t = t2.lock().unwrap();
            (t.next(), t.next(), t.next())
        });
        std::thread::sleep(Duration::from_millis(30));
        slow.advance(15); // releases 10 only
        std::thread::sleep(Duration::from_millis(30));
        slow.push(E(17, 1));
        drop(slow);
        drop(fast);
        let got = h.join().unwrap();
        assert_eq!(got, (Some(E(10, 0)), Some(E(17, 1)), Some(E(20, 0))));
    }

    /// An idle source's watermark is the clock: others flow while it waits.
    #[test]
    fn an_idle_source_follows_the_clock() {
        let mut t = Timeline::new(1 << 20, |_: &E| 16, || 100);
        let mut a = t.feed("a");
        let mut b = t.feed("b");
        b.idle();
        a.push(E(50, 0));
        a.push(E(150, 0));
        a.flush();
        assert_eq!(t.next(), Some(E(50, 0))); // 150 waits: b may still stamp 100
        assert_eq!(b.stamp(), 100);
        b.push(E(100, 1));
        drop(b);
        drop(a);
        assert_eq!(t.by_ref().collect::<Vec<_>>(), vec![E(100, 1), E(150, 0)]);
    }

    /// A stamp taken before the consumer released items up to a later "now" is raised to it.
    #[test]
    fn a_stamp_older_than_what_was_released_is_raised() {
        let mut t = Timeline::new(1 << 20, |_: &E| 16, || 100);
        let mut a = t.feed("a");
        let mut b = t.feed("b");
        b.idle();
        a.push(E(90, 0));
        a.flush();
        assert_eq!(t.next(), Some(E(90, 0))); // released up to now = 100 while b was idle
        assert_eq!(b.received(95), 100);
        assert_eq!(b.received(120), 120);
    }

    /// A full share makes the feed wait; memory stays within the budget.
    #[test]
    fn the_budget_bounds_what_is_queued() {
        let mut t = Timeline::new(64 * 16 * 2, |_: &E| 16, || 0);
        let mut a = t.feed("a");
        let b = t.feed("b");
        drop(b);
        let h = std::thread::spawn(move || {
            for i in 0..100_000 {
                a.push(E(i, 0));
            }
        });
        let n = t.by_ref().enumerate().map(|(i, e)| assert_eq!(e.0, i as u64)).count();
        h.join().unwrap();
        assert_eq!(n, 100_000);
        // One batch may go over a share that is smaller than a batch (it is never split).
        assert!(t.stats().peak_bytes <= BATCH * 16, "{:?}", t.stats());
    }
}
