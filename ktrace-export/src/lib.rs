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
pub mod speedscope;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test data")]
mod testing;
pub mod tracks;

use std::path::Path;

use ktrace_core::{Lost, ParseError};
use ktrace_ftrace::{Event, Item, Recording, TraceDat};

pub use ctf::Ctf;
pub use error::{Error, Result};
pub use json::ChromeJson;
pub use perfetto::Perfetto;
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

/// Writes a whole recording, then finishes; returns how many events.
pub fn write_recording(rec: &Recording, w: &mut dyn Writer) -> Result<u64> {
    write_items(rec.items(), w)
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
pub fn export_tracedat(dat: &TraceDat, format: Format, out: &Path) -> Result<u64> {
    let rec = dat.recording()?;
    let comms = dat.comms();
    let file = || std::fs::File::create(out).map_err(|source| Error::Io { what: out.display().to_string(), source });
    match format {
        Format::Perfetto => write_recording(&rec, &mut Perfetto::new(file()?).with_names(&comms)),
        Format::Json => write_recording(&rec, &mut ChromeJson::new(file()?).with_names(&comms)),
        Format::Ctf => write_recording(&rec, &mut Ctf::create(out, dat.endian)?),
    }
}
