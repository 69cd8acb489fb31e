//! The page queue between a stream's drain threads and its consumer, bounded by the [`Budget`](super::Budget),
//! and the drain threads that fill it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ktrace_core::{Lost, LostSource, Page, PageItem, PageLayout, Pages};

use super::StreamStats;
use crate::error::{Error, Result};
use crate::reader::CpuReader;

/// A queued page or loss of one CPU.
pub(super) enum Entry {
    Page { data: Bytes, read_at: Instant },
    Lost { lost: Lost, dropped: bool, read_at: Instant },
}

pub(super) struct State {
    pub(super) queues: Vec<VecDeque<Entry>>,
    pub(super) bytes: usize,
    /// When each CPU's ring was last found empty (everything written before is queued).
    pub(super) idle: Vec<Option<Instant>>,
    /// Drain threads that finished.
    pub(super) done: Vec<bool>,
    /// Kernel losses each CPU's pages reported (to compare with the counters at the end).
    pub(super) page_missed: Vec<u64>,
    pub(super) error: Option<Error>,
    pub(super) stats: StreamStats,
}

pub(super) struct Shared {
    pub(super) state: Mutex<State>,
    pub(super) cond: Condvar,
    pub(super) budget: usize,
    pub(super) layout: PageLayout,
    /// Set (with tracing off) when the drain threads are to read what remains and finish.
    pub(super) finish: AtomicBool,
    /// Set by a [`StopHandle`](super::StopHandle): the consumer turns tracing off on its next call.
    pub(super) stop_requested: AtomicBool,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for a drain thread's news (or 20 ms).
    pub(super) fn wait<'s>(&'s self, st: MutexGuard<'s, State>) -> MutexGuard<'s, State> {
        match self.cond.wait_timeout(st, Duration::from_millis(20)) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        }
    }
}

/// A drain thread of a stream: takes full pages while tracing runs, a quiet CPU's partial page
/// every ~10 ms (reporting the ring empty when there is none), everything at the end.
pub(super) fn stream_loop(mut r: CpuReader, sh: &Shared) -> Result<()> {
    let ps = r.page_size();
    let mut finishing = 0;
    let mut last_flush = Instant::now();
    loop {
        let done = sh.finish.load(Ordering::Acquire);
        let ready = if done { true } else { r.wait(Duration::from_millis(20))? };
        let mut got = 0;
        // At most this many pages per wakeup, so a stop request is seen even under a flood.
        while got < 1024 {
            let mut buf = Vec::with_capacity(ps);
            // Full pages by splice while tracing runs (see crate::reader), read(2) at the end.
            let ok = if done { r.read_page_into(&mut buf)? } else { r.read_full_page_into(&mut buf)? };
            if !ok {
                break;
            }
            got += 1;
            push_page(sh, r.cpu(), buf);
        }
        if done {
            // A read may return 0 while data remains: several empty rounds in a row mean empty.
            finishing = if got == 0 { finishing + 1 } else { 0 };
            if finishing >= 5 {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        } else if got == 0 {
            if last_flush.elapsed() >= Duration::from_millis(10) {
                let t = Instant::now();
                let mut buf = Vec::with_capacity(ps);
                if r.read_page_into(&mut buf)? {
                    push_page(sh, r.cpu(), buf);
                } else {
                    let mut st = sh.lock();
                    if let Some(i) = st.idle.get_mut(r.cpu() as usize) {
                        *i = Some(t);
                    }
                    sh.cond.notify_all();
                }
                last_flush = Instant::now();
            } else if ready {
                // Readable but no full page (buffer_percent 0): do not spin.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// Queues a page read from `cpu`'s ring, or drops it when the budget is full, counting its events.
fn push_page(sh: &Shared, cpu: u32, buf: Vec<u8>) {
    let read_at = Instant::now();
    let page = Page::parse(&buf, &sh.layout, cpu).ok();
    let missed = page.as_ref().and_then(|p| p.missed);
    let full = {
        let st = sh.lock();
        st.bytes + buf.len() > sh.budget
    };
    // Counted outside the lock.
    let dropped_events = full.then(|| {
        Pages::new(&buf, buf.len().max(1), sh.layout, cpu).filter(|i| matches!(i, Ok(PageItem::Event(_)))).count()
            as u64
    });
    let first_ts = page.map_or(0, |p| p.timestamp);
    let mut st = sh.lock();
    let missed_count = missed.flatten().unwrap_or(0);
    st.stats.pages += 1;
    st.stats.kernel_lost += missed_count;
    if let Some(m) = st.page_missed.get_mut(cpu as usize) {
        *m += missed_count;
    }
    let st = &mut *st;
    let Some(q) = st.queues.get_mut(cpu as usize) else {
        return;
    };
    match dropped_events {
        None => {
            st.bytes += buf.len();
            st.stats.peak_bytes = st.stats.peak_bytes.max(st.bytes);
            q.push_back(Entry::Page { data: Bytes::from(buf), read_at });
        }
        Some(n) => {
            st.stats.dropped_pages += 1;
            st.stats.dropped_events += n;
            if let Some(m) = missed {
                // The kernel's loss before the dropped page, still its own item.
                let lost = Lost { source: LostSource::FtraceRing, cpu, count: m, timestamp_ns: first_ts };
                q.push_back(Entry::Lost { lost, dropped: false, read_at });
            }
            match q.back_mut() {
                Some(Entry::Lost { lost, dropped: true, read_at: at }) => {
                    lost.count = Some(lost.count.unwrap_or(0) + n);
                    *at = read_at;
                }
                _ => {
                    let lost = Lost { source: LostSource::FtraceBudget, cpu, count: Some(n), timestamp_ns: first_ts };
                    q.push_back(Entry::Lost { lost, dropped: true, read_at });
                }
            }
        }
    }
    sh.cond.notify_all();
}
