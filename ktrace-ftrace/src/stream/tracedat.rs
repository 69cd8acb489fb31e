//! Writing a stream to a trace.dat file.

use std::path::Path;

use ktrace_core::{PageItem, Pages};

use super::{RawItem, Stream, StreamStats};
use crate::error::Result;

/// Writes a stream to a trace.dat (version 6) with bounded memory: pages are appended to per-CPU
/// temporary files (`PATH.cpuN`) as they arrive and assembled into `path` at the end, as
/// `trace-cmd record` does. Returns the stream's counters and the number of events written.
pub fn write_trace_dat(stream: &mut Stream<'_>, path: &Path) -> Result<(StreamStats, u64)> {
    let ncpu = stream.cur.len();
    let mut w = crate::tracedat::CpuFiles::create(path, ncpu)?;
    let mut events = 0u64;
    let layout = stream.shared.layout;
    while let Some(item) = stream.next_raw() {
        if let RawItem::Page { cpu, data } = item? {
            let evs = Pages::new(&data, data.len().max(1), layout, cpu).filter_map(|i| match i {
                Ok(PageItem::Event(e)) => Some(e),
                _ => None,
            });
            stream.decoder.prepare_all(evs.inspect(|_| events += 1));
            w.append(cpu, &data)?;
        }
    }
    let meta = crate::tracedat::capture_metadata_of(stream.inst, &stream.decoder, stream.page_size(), ncpu)?;
    w.finish(&meta)?;
    Ok((stream.stats(), events))
}
