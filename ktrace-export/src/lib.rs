//! Export ktrace recordings to the formats trace viewers open, streamed with bounded memory.
//!
//! | format | writer | opens in |
//! |---|---|---|
//! | Perfetto protobuf (`.perfetto-trace`) | [`Perfetto`] | Perfetto UI, trace_processor |
//! | Chrome Trace Event JSON | [`ChromeJson`] | Perfetto UI, chrome://tracing, speedscope |
//! | CTF 1.8 (metadata + per-CPU streams) | [`Ctf`] | babeltrace2, Trace Compass |
//! | speedscope profile JSON | [`speedscope`] | speedscope |
//!
//! Every trace writer is a [`Writer`]: feed it the items of a [`Recording`] (a recording made
//! live, or a trace.dat read with [`ktrace_ftrace::TraceDat`]) or of a live
//! [`ktrace_ftrace::Stream`], then [`Writer::finish`]. Writers hold a fixed buffer (and per-thread
//! or per-CPU state), never the trace, and allocate nothing per event once its kind has been seen
//! (Perfetto fills reused messages, one per typed kind and one per generic event id; JSON and CTF
//! write bytes).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ktrace_export::{Format, export_tracedat};
//! let dat = ktrace_ftrace::TraceDat::from_bytes(std::fs::read("trace.dat")?.into())?;
//! let n = export_tracedat(&dat, Format::Perfetto, "trace.perfetto-trace".as_ref())?;
//! println!("{n} events");
//! # Ok(()) }
//! ```
//!
//! Writers write through a [`Sink`]: any [`std::io::Write`] on the calling thread, or a
//! [`Background`] thread that takes each filled block whole; [`write_recording`] decodes on a
//! thread of its own, so an export keeps both CPUs of a small machine busy (a 2M-event syscall
//! trace: 16M events/s to Perfetto, 20M to JSON, where one thread wrote 10.6M and 12.2M).
//!
//! Beside the ftrace events, [`Perfetto`] and [`ChromeJson`] are [`Tracks`]: slices and instants
//! on thread tracks, counter tracks, block I/Os on device tracks and perf samples, from any
//! source (a `ktrace::session::Exporter` writes a whole session's timeline this way); probe hits
//! (kprobe/uprobe entry → return) in the ftrace stream become slices by themselves.
//!
//! Live, while tracing, with memory bounded by the stream's budget:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ktrace_export::{Perfetto, Writer};
//! use ktrace_ftrace::{Budget, Recorder, Tracefs};
//! let inst = Tracefs::find()?.new_instance()?;
//! inst.enable_event("sched", "sched_switch")?;
//! let mut stream = Recorder::stream(&inst, Budget::mib(4))?;
//! let mut w = Perfetto::new(std::fs::File::create("live.perfetto-trace")?);
//! stream.for_each(|item| w.item(&item))?; // until a StopHandle stops the stream
//! w.finish()?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ctf;
pub mod error;
pub mod json;
mod lanes;
mod names;
pub mod perfetto;
pub mod sink;
pub mod speedscope;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test data")]
mod testing;
pub mod tracks;

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use ktrace_core::{Lost, ParseError};
use ktrace_ftrace::{Event, Item, Recording, TraceDat};

pub use ctf::Ctf;
pub use error::{Error, Result};
pub use json::ChromeJson;
pub use perfetto::Perfetto;
pub use sink::{Background, Sink};
pub use tracks::Tracks;

/// A trace writer: events and losses in time order in, a file (or directory) out.
pub trait Writer {
    /// Writes one event.
    fn event(&mut self, ev: &Event<'_>) -> Result<()>;
    /// Writes a loss (events the kernel dropped).
    fn lost(&mut self, lost: &Lost) -> Result<()>;
    /// Writes an item of a recording or stream.
    fn item(&mut self, item: &Item<'_>) -> Result<()> {
        match item {
            Item::Event(ev) => self.event(ev),
            Item::Lost(l) => self.lost(l),
        }
    }
    /// Closes what is open (slices still running end at the last timestamp) and flushes.
    fn finish(&mut self) -> Result<()>;
}

/// Writes every item, then finishes; returns how many events (losses not counted).
pub fn write_items<'a>(
    items: impl IntoIterator<Item = std::result::Result<Item<'a>, ParseError>>,
    w: &mut dyn Writer,
) -> Result<u64> {
    let mut n = 0;
    for item in items {
        let item = item?;
        n += matches!(item, Item::Event(_)) as u64;
        w.item(&item)?;
    }
    w.finish()?;
    Ok(n)
}

/// Items per batch handed from the decoding thread to the writer.
const BATCH: usize = 8192;
/// Batches that go round between the two threads.
const BATCHES: usize = 8;

/// A batch of items from the decoding thread, or the error it stopped at.
type Batch<'a> = std::result::Result<Vec<Item<'a>>, ParseError>;

/// Writes a whole recording, then finishes; returns how many events.
///
/// The pages are walked and merged in time order on a scoped thread while `w` writes on the
/// calling one: items go over in batches of 8192 through a bounded channel, 8 batches going
/// round (3 MiB; no allocation per item), in the order [`write_items`] writes them (the same
/// bytes). A parse error stops the writing at the item where it occurred, as [`write_items`]
/// does; a writer error stops the walk. On a machine with one CPU, the walk and the writing take
/// turns on the calling thread.
pub fn write_recording(rec: &Recording, w: &mut dyn Writer) -> Result<u64> {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return write_items(rec.items(), w);
    }
    std::thread::scope(|s| {
        let (to, batches) = sync_channel::<Batch<'_>>(BATCHES);
        let (give_back, spares) = sync_channel(BATCHES);
        s.spawn(move || walk(rec, to, spares));
        let mut n = 0;
        // Ends when the walk ends (its sender dropped); an early return (an error) drops the
        // receiver and the walk ends at its next batch.
        for batch in batches.iter() {
            let mut batch = batch?;
            for item in &batch {
                n += matches!(item, Item::Event(_)) as u64;
                w.item(item)?;
            }
            batch.clear();
            // Never full: no more than `BATCHES` batches exist.
            let _ = give_back.try_send(batch);
        }
        w.finish()?;
        Ok(n)
    })
}

/// The decoding side of [`write_recording`]: `rec`'s items in batches to `to`, the batches back
/// from `spares`, until the end, an error (sent after the items before it), or the writer gone.
fn walk<'a>(rec: &'a Recording, to: SyncSender<Batch<'a>>, spares: Receiver<Vec<Item<'a>>>) {
    let mut made = 1;
    let mut batch = Vec::with_capacity(BATCH);
    for item in rec.items() {
        match item {
            Ok(item) => batch.push(item),
            Err(e) => {
                if !batch.is_empty() && to.send(Ok(batch)).is_err() {
                    return;
                }
                let _ = to.send(Err(e));
                return;
            }
        }
        if batch.len() < BATCH {
            continue;
        }
        if to.send(Ok(batch)).is_err() {
            return;
        }
        batch = match spares.try_recv() {
            Ok(b) => b,
            Err(_) if made < BATCHES => {
                made += 1;
                Vec::with_capacity(BATCH)
            }
            Err(_) => match spares.recv() {
                Ok(b) => b,
                Err(_) => return,
            },
        };
    }
    if !batch.is_empty() {
        let _ = to.send(Ok(batch));
    }
}

/// An output format of [`export_tracedat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Perfetto protobuf trace (a file).
    Perfetto,
    /// Chrome Trace Event JSON (a file).
    Json,
    /// CTF 1.8 (a directory).
    Ctf,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Format, String> {
        match s {
            "perfetto" => Ok(Format::Perfetto),
            "json" => Ok(Format::Json),
            "ctf" => Ok(Format::Ctf),
            _ => Err(format!("unknown format {s:?} (perfetto, json or ctf)")),
        }
    }
}

/// Exports the top buffer of a trace.dat to `out` (a file; a directory for CTF), naming threads
/// from its saved cmdlines. Returns how many events were written.
///
/// Three threads share the work: the pages are decoded on one ([`write_recording`]), the
/// format is written on the calling one and the file on a [`Background`] one.
pub fn export_tracedat(dat: &TraceDat, format: Format, out: &Path) -> Result<u64> {
    let rec = dat.recording()?;
    let comms = dat.comms();
    let what = || out.display().to_string();
    let file = || {
        let f = std::fs::File::create(out).map_err(|source| Error::Io { what: what(), source })?;
        Background::new(f, what()).map_err(|source| Error::Io { what: what(), source })
    };
    match format {
        Format::Perfetto => write_recording(&rec, &mut Perfetto::new(file()?).with_names(&comms)),
        Format::Json => write_recording(&rec, &mut ChromeJson::new(file()?).with_names(&comms)),
        Format::Ctf => write_recording(&rec, &mut Ctf::create(out, dat.endian)?),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]
mod tests {
    use super::*;

    /// The workload of [`testing::records`], then 3 CPUs running 60000 syscalls with a switch
    /// every 1000 (8 batches), as pages.
    fn pages() -> Vec<Vec<u8>> {
        let mut recs = testing::records();
        for i in 0..60_000u64 {
            let (cpu, ts) = ((i % 3) as u32, 10_000 + i * 7);
            let tid = 1000 + cpu as i32;
            recs.push(testing::syscall(ts, cpu, tid, 39, (i % 2 == 1).then_some(i as i64)));
        }
        for i in 0..60 {
            let mut r = testing::records().swap_remove(0);
            r.0 = 10_000 + i * 7000 + 3;
            recs.push(r);
        }
        recs.sort_by_key(|r| r.0);
        testing::pages(&recs)
    }

    /// What each format writes from `rec`: by the pipelined `write_recording`, or (`sequential`)
    /// by `write_items` on the calling thread; CTF's files by name.
    fn outputs(rec: &Recording, sequential: bool, dir: &Path) -> (Vec<Result<u64>>, Vec<Vec<u8>>) {
        let write = |w: &mut dyn Writer| match sequential {
            true => write_items(rec.items(), w),
            false => write_recording(rec, w),
        };
        let (mut p, mut j) = (Vec::new(), Vec::new());
        let mut ns = vec![write(&mut Perfetto::new(&mut p)), write(&mut ChromeJson::new(&mut j))];
        let _ = std::fs::remove_dir_all(dir);
        ns.push(write(&mut Ctf::create(dir, ktrace_core::Endian::NATIVE).unwrap()));
        let mut out = vec![p, j];
        let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read(f).unwrap()));
        let _ = std::fs::remove_dir_all(dir);
        (ns, out)
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("ktrace-export-{name}-{}", std::process::id()))
    }

    /// Decoding on a thread of its own changes nothing: each format's bytes are the ones the
    /// calling thread alone writes, over many batches.
    #[test]
    fn pipelined_writes_the_sequential_bytes() {
        let rec = testing::recording(pages());
        let (n, out) = outputs(&rec, false, &tmp("pipelined"));
        let (n_seq, out_seq) = outputs(&rec, true, &tmp("sequential"));
        let n: Vec<u64> = n.into_iter().map(|n| n.unwrap()).collect();
        assert_eq!(n, [60_066; 3]);
        assert_eq!(n, n_seq.into_iter().map(|n| n.unwrap()).collect::<Vec<_>>());
        assert_eq!(out.len(), 2 + 3 + 1, "perfetto, json, 3 CTF streams and the metadata");
        for (i, (a, b)) in out.iter().zip(&out_seq).enumerate() {
            assert!(a.len() > 100, "output {i} is written");
            assert!(a == b, "output {i} differs");
        }
    }

    /// A page that does not parse stops both ways at the same point with the same error.
    #[test]
    fn pipelined_stops_at_the_sequential_error() {
        let mut cpus = pages();
        // CPU 1's 150th page (past 4 batches) claims more data than a page holds.
        cpus[1][150 * testing::PAGE + 8..][..8].copy_from_slice(&(2 * testing::PAGE as u64).to_le_bytes());
        let rec = testing::recording(cpus);
        let (n, _) = outputs(&rec, false, &tmp("pipelined-bad"));
        let (n_seq, _) = outputs(&rec, true, &tmp("sequential-bad"));
        let err = |n: Vec<Result<u64>>| n.into_iter().map(|n| n.unwrap_err().to_string()).collect::<Vec<_>>();
        let (e, e_seq) = (err(n), err(n_seq));
        assert!(e[0].contains("page commit size"), "{e:?}");
        assert_eq!(e, e_seq);
    }

    /// A write that fails on the [`Background`] thread comes back from the writer, naming the
    /// file, and stops the export.
    #[test]
    fn background_write_errors_name_the_file() {
        let rec = testing::recording(pages());
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let mut w = ChromeJson::new(Background::new(full, "/dev/full").unwrap());
        let err = write_recording(&rec, &mut w).unwrap_err();
        let Error::Io { what, source } = &err else { panic!("{err}") };
        assert_eq!((what.as_str(), source.kind()), ("the JSON trace", std::io::ErrorKind::StorageFull), "{err}");
        assert!(err.to_string().starts_with("writing the JSON trace: /dev/full: "), "{err}");
    }

    /// A [`Background`] file holds what the writer writes to memory.
    #[test]
    fn background_file_is_the_written_bytes() {
        let rec = testing::recording(pages());
        let path = tmp("background.json");
        let mut want = Vec::new();
        write_items(rec.items(), &mut ChromeJson::new(&mut want)).unwrap();
        write_recording(&rec, &mut ChromeJson::new(Background::create(&path).unwrap())).unwrap();
        let got = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(got == want, "{} bytes, want {}", got.len(), want.len());
    }
}

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
