//! Lossless background draining of every CPU's ring buffer, then a time-ordered event stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use ktrace_core::{Clock, Endian, Lost, Merge, Page, PageItem, PageLayout, Pages, ParseError, Timestamped};

use crate::error::{Error, Result};
use crate::event::{Decoder, Event};
use crate::instance::Instance;
use crate::mapped::MappedCpuReader;
use crate::reader::CpuReader;
use crate::stats::CpuStats;

mod supply;
use supply::Supply;

/// Drains all CPUs of an instance in background threads (one per CPU, woken by poll) into memory
/// until [`Recorder::stop`]. [`Recorder::start`] empties the buffers and turns tracing on, so a
/// recording holds only events from after the start; `stop` turns it off, then reads what
/// remains, partial pages included. (Instances are made with tracing off.) To consume events
/// while tracing runs, with bounded memory, see [`Recorder::stream`].
///
/// The drain threads' own system calls (a few per 64 pages read) are traced like any other
/// thread's: they are in the recording's pages, and in a trace.dat written from them, as
/// trace-cmd's recorders' are in its files; [`Recording::items`] and [`Recording::events`] skip
/// them (`raw_syscalls` and `syscalls` events of [`Recorder::drain_tids`]; their other events,
/// such as the `sched_switch` from a drain thread to a traced task, stay). A kernel pid filter
/// (`set_event_notrace_pid`) would keep them out of the ring, but it costs every traced event:
/// measured with `benches/compare/ftrace-record.sh`, the traced child's 2M getppid took 29-36%
/// longer than under `trace-cmd record` with the filter, and -8% to +7% without it.
///
/// ```no_run
/// use ktrace_ftrace::{Item, Recorder, Tracefs, Typed};
/// let fs = Tracefs::find()?;
/// let inst = fs.new_instance()?;
/// inst.enable_event("raw_syscalls", "sys_enter")?;
/// let rec = Recorder::start(&inst)?;
/// std::process::Command::new("true").status().unwrap();
/// let mut recording = rec.stop()?;
/// for item in recording.items() {
///     match item? {
///         Item::Event(ev) => if let Typed::SysEnter { nr, .. } = ev.typed()? { println!("{} {nr}", ev.pid()) },
///         Item::Lost(l) => eprintln!("lost {:?} events on cpu {}", l.count, l.cpu),
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Recorder<'i> {
    inst: &'i Instance,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<Vec<Vec<u8>>>>>,
    start_stats: Vec<CpuStats>,
    page_size: usize,
    mapped: bool,
    own: OwnTids,
    /// The thread keeping recording memory ready off the traced CPUs.
    supply: Option<(Arc<Supply>, JoinHandle<()>)>,
}

impl<'i> Recorder<'i> {
    /// Turns tracing off, empties the ring buffers, opens every CPU's `trace_pipe_raw`, starts the
    /// drain threads and turns tracing on: the recording holds only events from after this call
    /// (an instance someone turned on earlier, or the global one, is cleared first).
    ///
    /// Full pages are taken by splice(2) while tracing runs and the rest flushed by read(2) at
    /// stop; [`Recorder::start_mapped`] reads through the memory-mapped ring instead.
    pub fn start(inst: &'i Instance) -> Result<Recorder<'i>> {
        Recorder::start_with(inst, false)
    }

    /// Like [`Recorder::start`], but on 6.10+ each CPU's ring is memory-mapped and each
    /// sub-buffer copied once from the mapping into the recording ([`crate::MappedCpuReader`]);
    /// where the kernel refuses the mapping, this is [`Recorder::start`] ([`Recorder::mapped`]
    /// says which). Not the default: measured with `benches/compare/ftrace-record.sh` on a 2-CPU
    /// 6.18 VM, the mapped drain used ~98-148 ns of recorder CPU per event against ~43-70 ns
    /// for splice, with the traced child no faster: the kernel's `TRACE_MMAP_IOCTL_GET_READER`
    /// (one per sub-buffer, against one splice(2) per 64) took ~5 us with interrupts off (perf).
    pub fn start_mapped(inst: &'i Instance) -> Result<Recorder<'i>> {
        let mapped = match inst.mapped_reader(0) {
            Ok(_) => true,
            Err(Error::Unsupported { .. }) => false,
            Err(e) => return Err(e),
        };
        Recorder::start_with(inst, mapped)
    }

    fn start_with(inst: &'i Instance, mapped: bool) -> Result<Recorder<'i>> {
        let page_size = inst.subbuf_size();
        let stop = Arc::new(AtomicBool::new(false));
        let (supply, supplier, supply_tid) = Supply::start(chunk_bytes(page_size))?;
        let stop_supply = |e| {
            supply.stop();
            e
        };
        let (threads, start_stats, own) = if mapped {
            start_drains(
                inst,
                |cpu| inst.mapped_reader(cpu),
                |r| {
                    let (stop, supply) = (stop.clone(), supply.clone());
                    move || mapped_drain_loop(r, &stop, supply)
                },
            )
        } else {
            start_drains(
                inst,
                |cpu| inst.cpu_reader(cpu),
                |r| {
                    let (stop, supply) = (stop.clone(), supply.clone());
                    move || drain_loop(r, &stop, supply)
                },
            )
        }
        .map_err(stop_supply)?;
        let own = own.with(supply_tid);
        Ok(Recorder { inst, stop, threads, start_stats, page_size, mapped, own, supply: Some((supply, supplier)) })
    }

    /// Stops and joins the supply thread.
    fn stop_supply(&mut self) {
        if let Some((supply, thread)) = self.supply.take() {
            supply.stop();
            let _ = thread.join();
        }
    }

    /// The recorder's thread ids, sorted: the drain threads (`ktrace-cpuN`) and the thread that
    /// makes recording memory ready (`ktrace-supply`, see below). Their own system calls are in the
    /// recording's pages (and a trace.dat written from them), and skipped by [`Recording::items`].
    ///
    /// A drain thread runs on the CPU it drains, usually the traced task's: a page fault and the
    /// kernel zeroing a page for each page copied into new memory cost it ~40% of its time. The
    /// supply thread, placed by the scheduler, keeps two 4 MiB chunks touched in advance; a drain
    /// takes one when its chunk is full (2M getppid: drain threads 380-410 ms of CPU without it,
    /// 210-240 ms with it, the supply thread 160 ms, mostly on the other CPU).
    pub fn drain_tids(&self) -> &[i32] {
        self.own.as_slice()
    }

    /// Whether the drain threads read the memory-mapped ring (6.10+) rather than by splice/read(2).
    pub fn mapped(&self) -> bool {
        self.mapped
    }

    /// Starts a live stream instead of a recording: the same drain threads hand each page to
    /// the consumer as it is read, holding at most `budget` bytes of pages in between (more is
    /// dropped and reported as [`Item::Lost`]). See [`crate::stream`].
    pub fn stream(inst: &'i Instance, budget: crate::stream::Budget) -> Result<crate::stream::Stream<'i>> {
        crate::stream::Stream::start(inst, budget)
    }

    /// Turns tracing off, drains what remains, and returns the recording.
    pub fn stop(mut self) -> Result<Recording> {
        self.inst.set_tracing_on(false)?;
        self.stop.store(true, Ordering::Release);
        let mut cpus = Vec::new();
        let mut first_err = None;
        for t in std::mem::take(&mut self.threads) {
            match t.join() {
                Ok(Ok(buf)) => cpus.push(buf),
                Ok(Err(e)) => {
                    cpus.push(Vec::new());
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    cpus.push(Vec::new());
                    first_err.get_or_insert(Error::Panicked { thread: "drain" });
                }
            }
        }
        self.stop_supply();
        if let Some(e) = first_err {
            return Err(e);
        }
        let mut stats_lost = Vec::new();
        for (cpu, before) in self.start_stats.iter().enumerate() {
            let after = self.inst.cpu_stats(cpu as u32)?;
            stats_lost.push((after.lost().saturating_sub(before.lost()), after.now_ts_ns));
        }
        let clock = self.inst.clock().unwrap_or(Clock::Local);
        Ok(Recording::from_chunks(
            cpus,
            self.page_size,
            self.inst.page_layout()?,
            stats_lost,
            // Formats of the enabled events now, while dynamic ones (probes) still exist.
            Decoder::new(self.inst.formats_with_enabled(), Endian::NATIVE, clock),
        )
        .hiding(std::mem::take(&mut self.own)))
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            let _ = self.inst.set_tracing_on(false);
            self.stop.store(true, Ordering::Release);
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
        self.stop_supply();
    }
}

/// Opens every CPU's `trace_pipe_raw` (`open` makes the reader of a CPU), starts one drain thread
/// per CPU (the body `make` returns for its reader) and turns tracing on. Returns the threads,
/// each CPU's counters at the start and the threads' ids (whose events readers skip).
pub(crate) fn start_drains<R, T, B>(
    inst: &Instance,
    mut open: impl FnMut(u32) -> Result<R>,
    mut make: impl FnMut(R) -> B,
) -> Result<(Vec<JoinHandle<T>>, Vec<CpuStats>, OwnTids)>
where
    B: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Off first, then clear: nothing from before the start is recorded, and the drain threads
    // never see a page from before it.
    inst.set_tracing_on(false)?;
    inst.clear()?;
    let ncpu = inst.nr_cpus() as u32;
    let mut readers = Vec::new();
    let mut start_stats = Vec::new();
    for cpu in 0..ncpu {
        readers.push((cpu, open(cpu)?));
        start_stats.push(inst.cpu_stats(cpu)?);
    }
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let threads = readers
        .into_iter()
        .map(|(cpu, r)| {
            let tid_tx = tid_tx.clone();
            let name = format!("ktrace-cpu{cpu}");
            let body = make(r);
            std::thread::Builder::new()
                .name(name)
                .spawn(move || {
                    let _ = tid_tx.send(nix::unistd::gettid().as_raw());
                    pin_to(cpu);
                    body()
                })
                .map_err(|source| Error::Spawn { thread: "drain", source })
        })
        .collect::<Result<Vec<_>>>()?;
    drop(tid_tx);
    // The drain threads' own events are not kept out of the ring by `set_event_notrace_pid`:
    // with any pid filter set, every traced event pays the check (see [`Recorder`]). Readers skip
    // them instead; a few per 64 pages do not feed back.
    let own = OwnTids::new(tid_rx.iter().take(threads.len()).collect());
    // The function tracers do feed back (function_graph under ksys_read grows the buffer as
    // fast as it is drained), and their pid filter costs no event tracepoint: the threads are
    // kept out there. Refused under lockdown, where the function tracers are refused too.
    if inst.path().join("set_ftrace_notrace_pid").exists() && !own.as_slice().is_empty() {
        let tids: Vec<String> = own.as_slice().iter().map(i32::to_string).collect();
        let _ = inst.write("set_ftrace_notrace_pid", &tids.join(" "));
    }
    inst.set_tracing_on(true)?;
    Ok((threads, start_stats, own))
}

/// The drain threads' ids, sorted: their events are skipped by the readers of what they drain.
#[derive(Debug, Default, Clone)]
pub(crate) struct OwnTids(Vec<i32>);

impl OwnTids {
    fn new(mut tids: Vec<i32>) -> OwnTids {
        tids.sort_unstable();
        OwnTids(tids)
    }

    /// These and `tid`.
    fn with(mut self, tid: i32) -> OwnTids {
        self.0.push(tid);
        OwnTids::new(self.0)
    }

    /// The ids, sorted.
    pub(crate) fn as_slice(&self) -> &[i32] {
        &self.0
    }

    /// Whether `pid` is one of the drain threads.
    #[inline]
    pub(crate) fn holds(&self, pid: i32) -> bool {
        match (self.0.first(), self.0.last()) {
            (Some(&lo), Some(&hi)) if (lo..=hi).contains(&pid) => self.0.binary_search(&pid).is_ok(),
            _ => false,
        }
    }

    /// Whether `raw` is a system call event (`raw_syscalls`, `syscalls`) of a drain thread,
    /// decoded by `decoder` (only when a drain thread wrote it: the common case reads the pid).
    #[inline]
    pub(crate) fn hides(&self, raw: ktrace_core::RawEvent<'_>, decoder: &Decoder) -> bool {
        !self.0.is_empty()
            && ktrace_core::RawData::Single(raw.data).int(4, 4, decoder.endian()).is_ok_and(|p| self.holds(p as i32))
            && decoder.decode(raw).is_ok_and(|ev| matches!(ev.system(), "raw_syscalls" | "syscalls"))
    }
}

/// Places the calling drain thread on `cpu`, the CPU whose ring it reads: the pages it moves were
/// written there (cache-local), and on a busy machine it is woken where its data is instead of
/// waiting for a migration. Best effort: a CPU outside the process's allowed set (cgroup, taskset)
/// leaves the thread where the scheduler put it.
fn pin_to(cpu: u32) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu as usize).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// Pages are kept in chunks of this many bytes (a multiple of any sub-buffer size), so a long
/// recording never reallocates and copies what it already holds.
const CHUNK: usize = 4 << 20;

/// [`CHUNK`] rounded down to whole pages of `page` bytes.
fn chunk_bytes(page: usize) -> usize {
    let page = page.max(1);
    CHUNK.max(page) / page * page
}

/// The recording's pages of one CPU: full chunks, and the chunk being filled.
struct Chunks {
    done: Vec<Vec<u8>>,
    buf: Vec<u8>,
    chunk: usize,
    /// Where chunks after the first come from: touched in advance. The first is faulted in as
    /// it fills, so a CPU with few events holds little memory.
    supply: Arc<Supply>,
}

impl Chunks {
    /// Chunks of [`chunk_bytes`] for pages of `page` bytes.
    fn new(page: usize, supply: Arc<Supply>) -> Chunks {
        let chunk = chunk_bytes(page);
        Chunks { done: Vec::new(), buf: Vec::with_capacity(chunk), chunk, supply }
    }

    /// The chunk to append `bytes` to: a new one when the current one has no room.
    fn room_for(&mut self, bytes: usize) -> &mut Vec<u8> {
        if self.buf.len() + bytes > self.chunk {
            let next = self.supply.take();
            self.done.push(std::mem::replace(&mut self.buf, next));
        }
        &mut self.buf
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if !self.buf.is_empty() {
            self.done.push(self.buf);
        }
        self.done
    }
}

/// The loop of both drains: wait for the `buffer_percent` watermark (or 20 ms), then `take`
/// pages (given whether tracing has stopped and how many pages it may take) until it finds
/// none, at most 1024 pages per wakeup so a stop request is seen even under a flood. After the
/// stop, the rest is taken until `empty_rounds` rounds in a row (1 ms apart) find nothing.
fn drain_until_stopped<R>(
    r: &mut R,
    stop: &AtomicBool,
    supply: Arc<Supply>,
    page: usize,
    empty_rounds: u32,
    wait: impl Fn(&R) -> Result<bool>,
    mut take: impl FnMut(&mut R, &mut Chunks, bool, usize) -> Result<usize>,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Chunks::new(page, supply);
    let mut finishing = 0;
    loop {
        let done = stop.load(Ordering::Acquire);
        if !done {
            wait(r)?;
        }
        let mut budget = 1024;
        while budget > 0 {
            let got = take(r, &mut out, done, budget)?;
            if got == 0 {
                break;
            }
            budget = budget.saturating_sub(got);
            finishing = 0;
        }
        if done {
            finishing += 1;
            if finishing >= empty_rounds {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(out.finish())
}

fn drain_loop(mut r: CpuReader, stop: &AtomicBool, supply: Arc<Supply>) -> Result<Vec<Vec<u8>>> {
    let page = r.page_size().max(1);
    // After the stop a read may return 0 while data remains, so only several empty reads in a
    // row mean empty.
    let wait = |r: &CpuReader| r.wait(Duration::from_millis(20));
    drain_until_stopped(&mut r, stop, supply, page, 5, wait, |r, out, done, budget| {
        let chunk = out.chunk;
        let buf = out.room_for(page);
        // While tracing runs, take only full pages (splice), as many as fit in the chunk in one
        // splice and one read: a read(2) would copy the page being written event by event,
        // racing the writer and slowing the traced tasks. At the end, read(2) flushes the
        // partial pages.
        let room = chunk.saturating_sub(buf.len()) / page;
        if done { Ok(usize::from(r.read_page_into(buf)?)) } else { r.read_full_pages_into(buf, room.min(budget)) }
    })
}

/// [`drain_loop`] through the mapped ring: each sub-buffer the kernel swaps in is copied once,
/// from the mapping straight into the recording's chunk (no read(2), splice(2) or pipe). The
/// sub-buffer may be the one the kernel is still writing (the reader caught up); when it comes
/// back grown, its copy at the end of the chunk is replaced, so every event is kept once.
fn mapped_drain_loop(mut r: MappedCpuReader, stop: &AtomicBool, supply: Arc<Supply>) -> Result<Vec<Vec<u8>>> {
    let (size, layout) = (r.subbuf_size().max(1), r.layout());
    let wait = |r: &MappedCpuReader| r.wait(Duration::from_millis(20));
    // After the stop, an empty swap means empty; a few in a row allow for a late commit.
    drain_until_stopped(&mut r, stop, supply, size, 3, wait, |r, out, done, _| {
        let Some(page) = r.next_page()? else { return Ok(0) };
        // The sub-buffer copied last, grown: copy it again over its earlier copy.
        if page.skip > 0 && out.buf.len() >= size {
            let at = out.buf.len() - size;
            page.copy_to(out.buf.get_mut(at..).unwrap_or_default(), &layout)?;
            // The reader has caught up with the writer, which is filling this sub-buffer: while
            // tracing runs, wait for the next wakeup rather than copying it again event by
            // event (a spin on the traced task's CPU: 180 ns of drain CPU per event).
            return Ok(usize::from(done));
        }
        page.append_to(out.room_for(size), &layout)?;
        Ok(1)
    })
}

/// One item of a recording: an event or a loss.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    /// An event.
    Event(Event<'a>),
    /// Events the kernel dropped (from a missed-events page, or from the per-CPU counters when they
    /// say more was lost than the pages reported).
    Lost(Lost),
}

impl Timestamped for Item<'_> {
    #[inline]
    fn timestamp_ns(&self) -> u64 {
        match self {
            Item::Event(e) => e.timestamp().ns,
            Item::Lost(l) => l.timestamp_ns,
        }
    }
}

/// Per-CPU pages recorded by a [`Recorder`] (or loaded from a trace.dat), with their decoder.
pub struct Recording {
    cpus: Vec<Vec<Bytes>>,
    page_size: usize,
    layout: PageLayout,
    /// Extra losses per CPU from the counters, beyond what pages reported: (count, when).
    extra_lost: Vec<Option<Lost>>,
    decoder: Decoder,
    /// The recorder's drain threads, whose events are skipped.
    hidden: OwnTids,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").field("cpus", &self.cpus.len()).field("page_size", &self.page_size).finish()
    }
}

impl Recording {
    /// Builds a recording from per-CPU page buffers. `stats_lost[cpu]` is what the CPU's counters
    /// say was lost during the recording, with the time it was read.
    pub fn new(
        cpus: Vec<impl Into<Bytes>>,
        page_size: usize,
        layout: PageLayout,
        stats_lost: Vec<(u64, u64)>,
        decoder: Decoder,
    ) -> Recording {
        let cpus = cpus.into_iter().map(|b| vec![b.into()]).collect();
        Recording::from_chunks(cpus, page_size, layout, stats_lost, decoder)
    }

    /// Like [`Recording::new`], with each CPU's pages in several buffers (each a whole number of
    /// pages). `Vec<u8>` and [`Bytes`] chunks are both taken without a copy.
    pub fn from_chunks(
        cpus: Vec<Vec<impl Into<Bytes>>>,
        page_size: usize,
        layout: PageLayout,
        stats_lost: Vec<(u64, u64)>,
        decoder: Decoder,
    ) -> Recording {
        let cpus: Vec<Vec<Bytes>> = cpus.into_iter().map(|c| c.into_iter().map(Into::into).collect()).collect();
        // Losses the pages report, from their headers only (formats load as events decode).
        let mut extra_lost = Vec::new();
        for (cpu, chunks) in cpus.iter().enumerate() {
            let page_lost: u64 = chunks
                .iter()
                .flat_map(|buf| buf.chunks_exact(page_size.max(1)))
                .filter_map(|p| Page::parse(p, &layout, cpu as u32).ok()?.missed.flatten())
                // Saturating: a corrupted page's count (up to u64::MAX each) must not wrap to a small total.
                .fold(0u64, u64::saturating_add);
            let (stat, when) = stats_lost.get(cpu).copied().unwrap_or((0, 0));
            extra_lost.push((stat > page_lost).then(|| Lost {
                source: ktrace_core::LostSource::FtraceRing,
                cpu: cpu as u32,
                count: Some(stat - page_lost),
                timestamp_ns: when,
            }));
        }
        Recording { cpus, page_size, layout, extra_lost, decoder, hidden: OwnTids::default() }
    }

    /// The ids of the drain threads that recorded this (sorted; empty for a recording read from a
    /// file): their system call events are in the pages and are skipped by [`Recording::items`]
    /// and [`Recording::events`]; a trace.dat written from the pages holds them.
    pub fn drain_tids(&self) -> &[i32] {
        self.hidden.as_slice()
    }

    /// The same recording, its readers skipping the events of `tids` (the drain threads).
    pub(crate) fn hiding(mut self, tids: OwnTids) -> Recording {
        self.hidden = tids;
        self
    }

    /// The raw pages of each CPU, in chunks (each a whole number of pages).
    pub fn cpu_chunks(&self) -> &[Vec<Bytes>] {
        &self.cpus
    }

    /// Sub-buffer size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Page layout.
    pub fn layout(&self) -> PageLayout {
        self.layout
    }

    /// The decoder (formats by id).
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Total losses the kernel reported (pages and counters).
    /// Saturates at `u64::MAX` (only a corrupted recording claims that many) rather than wrapping.
    pub fn lost_total(&self) -> u64 {
        self.items()
            .filter_map(|i| match i {
                Ok(Item::Lost(l)) => l.count,
                _ => None,
            })
            .fold(0, u64::saturating_add)
    }

    /// All CPUs' items merged in time order. Yields `Result`; stops after the first error.
    pub fn items(&self) -> impl Iterator<Item = Result<Item<'_>, ParseError>> + '_ {
        Merge::new(self.cpu_streams())
    }

    /// Only the events (losses skipped), merged in time order.
    pub fn events(&self) -> impl Iterator<Item = Result<Event<'_>, ParseError>> + '_ {
        Merge::new(self.cpu_streams())
    }

    /// Each CPU's items in order, as `T`.
    fn cpu_streams<'a, T: FromPage<'a>>(&'a self) -> Vec<CpuItems<'a, T>> {
        self.cpus
            .iter()
            .enumerate()
            .map(|(cpu, chunks)| CpuItems {
                chunks: chunks.iter(),
                pages: None,
                decoder: &self.decoder,
                page_size: self.page_size,
                layout: self.layout,
                cpu: cpu as u32,
                extra_lost: self.extra_lost.get(cpu).copied().flatten(),
                hidden: &self.hidden,
                ids: Default::default(),
                out: std::marker::PhantomData,
            })
            .collect()
    }
}

/// What a per-CPU stream yields: an [`Item`], or only the [`Event`]s (each built once, in its
/// final type: the merge passes it through without another move).
trait FromPage<'a>: Sized + Timestamped {
    fn event(e: Event<'a>) -> Self;
    /// `None`: the loss is skipped.
    fn lost(l: Lost) -> Option<Self>;
}

impl<'a> FromPage<'a> for Item<'a> {
    #[inline(always)]
    fn event(e: Event<'a>) -> Self {
        Item::Event(e)
    }
    #[inline(always)]
    fn lost(l: Lost) -> Option<Self> {
        Some(Item::Lost(l))
    }
}

impl<'a> FromPage<'a> for Event<'a> {
    #[inline(always)]
    fn event(e: Event<'a>) -> Self {
        e
    }
    #[inline(always)]
    fn lost(_: Lost) -> Option<Self> {
        None
    }
}

impl Timestamped for Event<'_> {
    #[inline]
    fn timestamp_ns(&self) -> u64 {
        self.timestamp().ns
    }
}

/// One CPU's items in order: its chunks' pages, decoded, then the counters' extra loss. One
/// flat loop instead of nested iterator adapters, as this is the per-event path of every reader.
struct CpuItems<'a, T> {
    chunks: std::slice::Iter<'a, Bytes>,
    pages: Option<Pages<'a>>,
    decoder: &'a Decoder,
    page_size: usize,
    layout: PageLayout,
    cpu: u32,
    extra_lost: Option<Lost>,
    hidden: &'a OwnTids,
    /// The slots of the ids decoded last (see [`Decoder::decode_cached`]).
    ids: crate::event::IdCache<'a>,
    out: std::marker::PhantomData<T>,
}

impl<'a, T: FromPage<'a>> Iterator for CpuItems<'a, T> {
    type Item = Result<T, ParseError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pages) = &mut self.pages {
                match pages.next() {
                    Some(Ok(PageItem::Event(ev))) => {
                        if self.hidden.hides(ev, self.decoder) {
                            continue;
                        }
                        return Some(self.decoder.decode_cached(ev, &mut self.ids).map(T::event));
                    }
                    Some(Ok(PageItem::Lost(l))) => {
                        if let Some(t) = T::lost(l) {
                            return Some(Ok(t));
                        }
                    }
                    Some(Err(e)) => {
                        // Stop here: the merge ends after the first error anyway.
                        self.chunks = Default::default();
                        self.extra_lost = None;
                        self.pages = None;
                        return Some(Err(e));
                    }
                    None => self.pages = None,
                }
                continue;
            }
            match self.chunks.next() {
                Some(buf) => self.pages = Some(Pages::new(buf, self.page_size, self.layout, self.cpu)),
                None => return self.extra_lost.take().and_then(T::lost).map(Ok),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktrace_core::FormatRegistry;

    /// A page with no events that says 42 events were missed before it.
    fn missed_page(n: u64) -> Vec<u8> {
        let mut p = vec![0u8; 4096];
        p[..8].copy_from_slice(&100u64.to_le_bytes());
        let commit: u64 = ktrace_core::page::RB_MISSED_EVENTS | ktrace_core::page::RB_MISSED_STORED;
        p[8..16].copy_from_slice(&commit.to_le_bytes());
        p[16..24].copy_from_slice(&n.to_le_bytes());
        p
    }

    fn lost(stats: u64) -> Vec<Option<u64>> {
        let dec = Decoder::new(FormatRegistry::new(), Endian::Little, Clock::Local);
        let r = Recording::new(vec![missed_page(42)], 4096, PageLayout::LE64, vec![(stats, 900)], dec);
        r.items().map(|i| if let Ok(Item::Lost(l)) = i { l.count } else { None }).collect()
    }

    #[test]
    fn counters_add_only_what_pages_did_not_report() {
        assert_eq!(lost(10), vec![Some(42)]);
        assert_eq!(lost(42), vec![Some(42)]);
        assert_eq!(lost(50), vec![Some(42), Some(8)]);
    }
}
