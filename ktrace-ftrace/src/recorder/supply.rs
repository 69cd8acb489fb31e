//! Recording memory made ready off the traced CPUs.
//!
//! A drain thread runs on the CPU whose ring it reads, which is the traced task's CPU, so what
//! it spends is taken from that task. Copying a page into fresh memory costs it a page fault
//! and the kernel's zeroing of the page, about 40% of its time (perf, 2M getppid storm). A
//! supply thread, left for the scheduler to place (on an idle CPU when there is one), keeps a
//! few chunks touched in advance; a drain swaps a full chunk for one of them.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// How many touched chunks are kept ready: the memory held beyond the recording.
const READY: usize = 2;

/// Chunks of recording memory, touched before a drain writes to them.
#[derive(Debug)]
pub(super) struct Supply {
    chunk: usize,
    state: Mutex<State>,
    wanted: Condvar,
}

#[derive(Debug, Default)]
struct State {
    ready: Vec<Vec<u8>>,
    stop: bool,
}

impl Supply {
    /// Starts the supply thread for chunks of `chunk` bytes; returns it with the thread and the
    /// thread's id (its system calls are in the trace, like the drain threads').
    pub(super) fn start(chunk: usize) -> Result<(Arc<Supply>, JoinHandle<()>, i32)> {
        let supply = Arc::new(Supply { chunk, state: Mutex::default(), wanted: Condvar::new() });
        let (tid_tx, tid_rx) = std::sync::mpsc::sync_channel(1);
        let s = supply.clone();
        let thread = std::thread::Builder::new()
            .name("ktrace-supply".into())
            .spawn(move || {
                let _ = tid_tx.send(nix::unistd::gettid().as_raw());
                s.run();
            })
            .map_err(|source| Error::Spawn { thread: "supply", source })?;
        let tid = tid_rx.recv().unwrap_or(0);
        Ok((supply, thread, tid))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps [`READY`] chunks touched until stopped.
    fn run(&self) {
        loop {
            {
                let mut st = self.lock();
                while st.ready.len() >= READY && !st.stop {
                    st = self.wanted.wait(st).unwrap_or_else(PoisonError::into_inner);
                }
                if st.stop {
                    return;
                }
            }
            // Written once, so every page is faulted in and zeroed here; emptied, it keeps them.
            #[allow(
                clippy::slow_vector_initialization,
                reason = "vec![0; n] takes pages the kernel zeroes without touching them; touching them is the point"
            )]
            let mut v = Vec::with_capacity(self.chunk);
            v.resize(self.chunk, 0u8);
            v.clear();
            self.lock().ready.push(v);
        }
    }

    /// A touched chunk if one is ready, else a fresh one (faulted in as it is written).
    pub(super) fn take(&self) -> Vec<u8> {
        let ready = self.lock().ready.pop();
        self.wanted.notify_one();
        ready.unwrap_or_else(|| Vec::with_capacity(self.chunk))
    }

    /// Stops the thread and frees the chunks still ready.
    pub(super) fn stop(&self) {
        let mut st = self.lock();
        st.stop = true;
        st.ready = Vec::new();
        drop(st);
        self.wanted.notify_all();
    }
}
