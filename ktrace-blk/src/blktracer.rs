//! Path 2: the ftrace `blk` tracer (`current_tracer=blk`, `/sys/block/<dev>/trace/*`) with the
//! `bin` option, so `trace_pipe` yields blktrace records blkparse can read ([`BlkTracer::read`]);
//! [`BlkTracer::start`] instead takes the ring's raw pages and rewrites them into the same bytes
//! after the trace ([`crate::record::ftrace_bin_from_pages`]). The kernel offers `blk`
//! only in the top-level instance: this guard takes the global tracer, refuses with
//! [`ktrace_ftrace::Error::Busy`] when someone else holds it, and restores everything on drop.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ktrace_core::Clock;
use ktrace_ftrace::{Instance, Recorder, Tracefs};

use crate::error::{Error, Result};

/// What to trace on the device (`/sys/block/<dev>/trace/*`).
#[doc(alias = "blk_user_trace_setup")]
#[doc(alias = "act_mask")]
#[derive(Debug, Clone, Default)]
pub struct BlkFilter {
    /// `act_mask`: categories by name (`read,write,queue,issue,complete…`); all when `None`.
    pub act_mask: Option<String>,
    /// Only this pid.
    pub pid: Option<u32>,
    /// LBA range.
    pub lba: Option<(u64, u64)>,
    /// The top-level instance's `trace_clock` while tracing (restored at the end): on this
    /// path a record's [`time`](crate::BlkRecord::time) is the ftrace ring's timestamp (the
    /// kernel's `bin` output puts it there), so `local` (sched_clock) by default; [`Clock::Mono`]
    /// puts the records on `CLOCK_MONOTONIC`, the clock other sources merge on.
    pub clock: Option<Clock>,
}

/// A running blk-tracer session on one device.
#[doc(alias = "blk")]
#[doc(alias = "current_tracer")]
#[derive(Debug)]
pub struct BlkTracer {
    global: Option<Instance>,
    trace_dir: PathBuf,
    restore: Vec<(PathBuf, String)>,
    /// The guardian's undo actions for what `start` changed (run if this process dies first).
    guardian: Vec<ktrace_owner::Registration>,
    /// The ring's drain threads ([`BlkTracer::start`]).
    reader: Option<Drain>,
    /// `trace_pipe`, when the caller drains it ([`BlkTracer::start_streaming`]).
    pipe: Option<(std::fs::File, PathBuf)>,
}

impl BlkTracer {
    /// Starts tracing block device `dev` (`loop0`, `vda`…); drain threads move the ring's full
    /// pages (`per_cpu/cpuN/trace_pipe_raw`, by splice(2), woken at the `buffer_percent` mark)
    /// into memory until [`BlkTracer::stop`] returns them all, rewritten as `trace_pipe`'s `bin`
    /// output. This keeps the kernel's per-record `trace_pipe` formatting off the machine while
    /// the IO runs (`benches/compare/blk.sh`). To keep memory bounded on a long run, use
    /// [`BlkTracer::start_streaming`].
    pub fn start(fs: &Tracefs, dev: &str, filter: &BlkFilter) -> Result<BlkTracer> {
        Self::open(fs, dev, filter, true)
    }

    /// Starts tracing block device `dev` with no drain thread: the caller reads the records as
    /// they come with [`BlkTracer::read`], into a buffer of its own, so memory is bounded by that
    /// buffer whatever the length of the trace. Records the kernel drops while nobody reads (its
    /// per-CPU rings are `buffer_size_kb` each) come out as [`crate::BlkItem::Lost`] with counts.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use ktrace_blk::{BlkFilter, BlkItem, BlkTracer};
    /// let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
    /// let mut t = BlkTracer::start_streaming(&fs, "loop0", &BlkFilter::default())?;
    /// let mut buf = Vec::with_capacity(1 << 20);
    /// for _ in 0..10 {
    ///     for item in t.read(&mut buf, Duration::from_millis(100))? {
    ///         match item? {
    ///             BlkItem::Record(r) => println!("{} {} {}", r.time(), r.rwbs(), r.sector()),
    ///             BlkItem::Lost(l) => eprintln!("cpu {} lost {:?}", l.cpu, l.count),
    ///         }
    ///     }
    /// }
    /// t.stop()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start_streaming(fs: &Tracefs, dev: &str, filter: &BlkFilter) -> Result<BlkTracer> {
        Self::open(fs, dev, filter, false)
    }

    fn open(fs: &Tracefs, dev: &str, filter: &BlkFilter, drain_thread: bool) -> Result<BlkTracer> {
        let trace_dir = PathBuf::from(format!("/sys/block/{dev}/trace"));
        if !trace_dir.is_dir() {
            return Err(Error::Unsupported {
                feature: "block tracing (CONFIG_BLK_DEV_IO_TRACE)".into(),
                hint: format!("no {}", trace_dir.display()),
            });
        }
        let global = Instance::global(fs);
        let cur = global.tracer()?;
        if cur != "nop" {
            return Err(ktrace_ftrace::Error::Busy { current: cur }.into());
        }
        let mut t =
            BlkTracer { global: None, trace_dir, restore: Vec::new(), guardian: Vec::new(), reader: None, pipe: None };
        // The global instance puts back the clock, the option and the tracer at close, and has
        // this process's guardian do it if the process dies first (also by SIGKILL); `set`
        // does the same for every device file it changes (last first).
        if let Some(clock) = filter.clock {
            global.set_clock(clock)?;
        }
        global.set_option("bin", true)?;
        global.set_tracer("blk")?;
        global.clear()?;
        t.global = Some(global);
        if let Some(mask) = &filter.act_mask {
            t.set("act_mask", mask)?;
        }
        if let Some(p) = filter.pid {
            t.set("pid", &p.to_string())?;
        }
        if let Some((a, b)) = filter.lba {
            t.set("start_lba", &a.to_string())?;
            t.set("end_lba", &b.to_string())?;
        }
        if !drain_thread {
            let pipe = fs.root().join("trace_pipe");
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&pipe)
                .map_err(|e| Error::io("open", &pipe, e))?;
            t.pipe = Some((f, pipe));
            t.set("enable", "1")?;
            return Ok(t);
        }
        // The recorder's global instance puts back tracing_on, which it changes, the same way.
        t.reader = Some(Drain::start(fs)?);
        t.set("enable", "1")?;
        Ok(t)
    }

    /// Reads what `trace_pipe` holds now into `buf` (cleared first, filled up to its capacity,
    /// at least 64 KiB), waiting up to `timeout` for the first bytes, and returns its items. The
    /// kernel hands out whole records, so every read parses on its own. Only for a tracer from
    /// [`BlkTracer::start_streaming`]; the items are empty once tracing stopped.
    pub fn read<'b>(&mut self, buf: &'b mut Vec<u8>, timeout: Duration) -> Result<crate::FtraceBinRecords<'b>> {
        buf.clear();
        if let Some((f, path)) = self.pipe.as_mut() {
            let until = std::time::Instant::now() + timeout;
            buf.reserve(1 << 16);
            while drain_once(f, buf).map_err(|e| Error::io("read", &*path, e))? == 0 && buf.is_empty() {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                // trace_pipe wakes poll(2) when the blk tracer writes a record: no busy polling.
                let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
                let mut fds = [nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&*f), nix::poll::PollFlags::POLLIN)];
                match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(Error::io("poll", &*path, e.into())),
                }
            }
        }
        Ok(crate::FtraceBinRecords::new(buf))
    }

    fn guard(&mut self, path: PathBuf, value: &str) {
        self.guardian.push(ktrace_owner::register(ktrace_owner::Undo::Write { path, value: value.to_owned() }));
    }

    fn set(&mut self, file: &str, val: &str) -> Result<()> {
        let p = self.trace_dir.join(file);
        let old = std::fs::read_to_string(&p).map_err(|e| Error::io("read", &p, e))?;
        if !self.restore.iter().any(|(q, _)| q == &p) {
            self.restore.push((p.clone(), old.trim().to_owned()));
            self.guard(p.clone(), old.trim());
        }
        std::fs::write(&p, val).map_err(|e| Error::privileged("write", &p, e, &[]))
    }

    /// Stops tracing and returns the records as `trace_pipe`'s `bin` bytes (read them with
    /// [`crate::FtraceBinRecords`]).
    pub fn stop(mut self) -> Result<Vec<u8>> {
        let data = self.finish()?;
        Ok(data)
    }

    fn finish(&mut self) -> Result<Vec<u8>> {
        let mut first: Option<Error> = None;
        // Disable the device first so no new records come, then drain.
        let enable = self.trace_dir.join("enable");
        if let Err(e) = std::fs::write(&enable, "0") {
            first.get_or_insert(Error::privileged("write", &enable, e, &[]));
        }
        let mut data = match self.reader.take().map(Drain::finish) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                first.get_or_insert(e);
                Vec::new()
            }
            None => Vec::new(),
        };
        // A streaming tracer: what the caller has not read yet.
        if let Some((mut f, path)) = self.pipe.take() {
            loop {
                data.reserve(1 << 16);
                match drain_once(&mut f, &mut data) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        first.get_or_insert(Error::io("read", &path, e));
                        break;
                    }
                }
            }
        }
        for (p, old) in std::mem::take(&mut self.restore).into_iter().rev() {
            if p.ends_with("enable") {
                continue;
            }
            if let Err(e) = std::fs::write(&p, &old) {
                first.get_or_insert(Error::io("write", &p, e));
            }
        }
        if let Some(g) = self.global.take()
            && let Err(e) = g.close()
        {
            first.get_or_insert(e.into());
        }
        self.guardian.clear();
        match first {
            Some(e) => Err(e),
            None => Ok(data),
        }
    }
}

impl Drop for BlkTracer {
    fn drop(&mut self) {
        if self.global.is_some() || self.reader.is_some() || self.pipe.is_some() {
            let _ = self.finish();
        }
    }
}

/// Reads from the non-blocking `trace_pipe` into the spare capacity of `buf` until it is full or
/// the pipe is empty; returns the bytes added. The kernel's read copies at most a page less one
/// byte and may end inside a record, keeping the record's rest for the next read (which returns
/// only that rest): so after a full read this reads once more, and `buf` always ends on a record.
fn drain_once(f: &mut std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let start = buf.len();
    let mut chunk = [0u8; 4096];
    let mut last_full = false;
    while last_full || buf.capacity() - buf.len() >= chunk.len() {
        match f.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                last_full = n + 1 >= chunk.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(buf.len() - start)
}

/// The ring's drain: a [`Recorder`] on the global instance (one thread per CPU), held by a thread
/// of its own since the recorder borrows the instance. Records it holds become `trace_pipe` `bin`
/// bytes when it finishes, with every loss: the pages' missed-events notices, and what the ring's
/// counters saw beyond them as a lost line at the end.
#[derive(Debug)]
struct Drain {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Result<Vec<u8>>>,
}

impl Drain {
    /// Starts the recorder (which empties the ring and turns tracing on); returns once it runs.
    fn start(fs: &Tracefs) -> Result<Drain> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stop_rx) = mpsc::channel();
        let fs = fs.clone();
        let thread = std::thread::Builder::new()
            .name("ktrace-blk".into())
            .spawn(move || {
                let inst = Instance::global(&fs);
                let rec = Recorder::start(&inst)?;
                // After the recorder's clear, which zeroes the counters.
                let before = ring_lost(&inst);
                let _ = ready_tx.send(());
                let _ = stop_rx.recv();
                let rec = rec.stop()?;
                let after = ring_lost(&inst);
                let cpus = (rec.cpu_chunks().iter().enumerate())
                    .map(|(cpu, chunks)| (cpu as u32, chunks.iter().map(|b| &b[..]).collect()))
                    .collect();
                let mut out = Vec::new();
                let page_lost = crate::record::ftrace_bin_from_pages(
                    cpus,
                    rec.page_size(),
                    rec.layout(),
                    trace_blk_type(&fs),
                    &mut out,
                )?;
                for (cpu, (a, b)) in after.iter().zip(&before).enumerate() {
                    let seen = page_lost.get(&(cpu as u32)).copied().unwrap_or(0);
                    let extra = a.saturating_sub(*b).saturating_sub(seen);
                    if extra > 0 {
                        use std::io::Write;
                        let _ = writeln!(out, "CPU:{cpu} [LOST {extra} EVENTS]");
                    }
                }
                Ok(out)
            })
            .map_err(|e| Error::io("spawn", "ktrace-blk drain", e))?;
        match ready_rx.recv() {
            Ok(()) => Ok(Drain { stop, thread }),
            // The thread ended before the recorder ran: its error.
            Err(_) => Err(Drain { stop, thread }.finish().err().unwrap_or(Error::Panicked { thread: "blk drain" })),
        }
    }

    /// Stops the recorder, drains the rest and returns the records.
    fn finish(self) -> Result<Vec<u8>> {
        let _ = self.stop.send(());
        self.thread.join().map_err(|_| Error::Panicked { thread: "blk drain" })?
    }
}

/// Each CPU's lost-event counters (`per_cpu/cpuN/stats`: overrun and dropped).
fn ring_lost(inst: &Instance) -> Vec<u64> {
    (0..inst.nr_cpus() as u32).map(|c| inst.cpu_stats(c).map_or(0, |s| s.lost())).collect()
}

/// The ring-entry type of the `blk` tracer's records (`TRACE_BLK` in kernel/trace/trace.h), which
/// tracefs does not list: it sits between `user_stack` and `bputs` (13, 14, 15 from 2.6.30 on),
/// whose ids `events/ftrace/*/format` give. `None` when they do not bracket one id.
fn trace_blk_type(fs: &Tracefs) -> Option<u16> {
    let id = |ev: &str| -> Option<u16> {
        let text = fs.read(&format!("events/ftrace/{ev}/format")).ok()?;
        text.lines().find_map(|l| l.strip_prefix("ID:"))?.trim().parse().ok()
    };
    let (below, above) = (id("user_stack")?, id("bputs")?);
    (above.checked_sub(below) == Some(2)).then_some(below + 1)
}
