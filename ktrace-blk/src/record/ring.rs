//! The ftrace `blk` tracer's records as its ring buffer holds them (`per_cpu/cpuN/trace_pipe_raw`
//! pages), rewritten as the bytes `trace_pipe` gives with the `bin` option, so one parser
//! ([`super::FtraceBinRecords`]) reads both. Reading the raw pages by splice(2) and rewriting them
//! after the trace spares the traced machine the kernel's per-record formatting on `trace_pipe`
//! while the IO runs.

use ktrace_core::{Cursor, Lost, Merge, PageItem, PageLayout, Pages, ParseError};

use super::{LEN_V7, MAGIC, VERSION};

/// Where `struct blk_io_trace`'s `sector` starts: the kernel's binary output
/// (`blk_trace_event_print_binary()` in kernel/trace/blktrace.c) writes its own magic, a zero
/// sequence and the ring's timestamp before it, and the ring entry's bytes from here on (the
/// entry's first 8 bytes are ftrace's `struct trace_entry`, not the magic and sequence).
const SECTOR_OFFSET: usize = 16;
/// `pdu_len` in `struct blk_io_trace`.
const PDU_LEN_OFFSET: usize = 46;

/// Rewrites raw ring pages of the `blk` tracer as `trace_pipe`'s `bin` output, appended to `out`:
/// all CPUs merged in time order, each record prefixed by the ftrace context (pid u32, cpu u32,
/// timestamp u64) and a missed-events page as the kernel's `CPU:<cpu> [LOST <n> EVENTS]` line.
/// `cpus` holds each CPU's number and its pages (in buffers of whole `page_size` pages, in read
/// order). Only entries of type `blk_type` (`TRACE_BLK`, which tracefs does not list) are
/// records; with `None`, every entry is taken as one. Returns the events each CPU's pages say
/// were lost (by CPU number; a page that lost an unknown number counts as one), for matching
/// against the ring's counters.
///
/// ```
/// use ktrace_core::PageLayout;
/// let mut out = Vec::new();
/// let lost = ktrace_blk::record::ftrace_bin_from_pages(vec![(0, vec![])], 4096, PageLayout::LE64, Some(14), &mut out)?;
/// assert!(out.is_empty() && lost.is_empty());
/// # Ok::<(), ktrace_core::ParseError>(())
/// ```
pub fn ftrace_bin_from_pages(
    cpus: Vec<(u32, Vec<&[u8]>)>,
    page_size: usize,
    layout: PageLayout,
    blk_type: Option<u16>,
    out: &mut Vec<u8>,
) -> Result<std::collections::BTreeMap<u32, u64>, ParseError> {
    let streams: Vec<_> = cpus
        .into_iter()
        .map(|(cpu, bufs)| bufs.into_iter().flat_map(move |b| Pages::new(b, page_size, layout, cpu)))
        .collect();
    let mut lost = std::collections::BTreeMap::new();
    for item in Merge::new(streams) {
        match item? {
            PageItem::Lost(l) => {
                *lost.entry(l.cpu).or_insert(0u64) += l.count.unwrap_or(1);
                lost_line(&l, out);
            }
            PageItem::Event(e) => {
                if let Some(t) = blk_type
                    && e.id(layout.endian)? != t
                {
                    continue;
                }
                record(e.data, e.cpu, e.timestamp, out).map_err(|err| err.reading("ftrace blk entry"))?;
            }
        }
    }
    Ok(lost)
}

/// The kernel's lost-events line (`print_trace_line()` in kernel/trace/trace.c).
fn lost_line(l: &Lost, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = match l.count {
        Some(n) => writeln!(out, "CPU:{} [LOST {n} EVENTS]", l.cpu),
        None => writeln!(out, "CPU:{} [LOST EVENTS]", l.cpu),
    };
}

/// One ring entry as `print_bin_fmt()` and `blk_trace_event_print_binary()` write it (in native
/// byte order, as the kernel does: the pages come from this machine).
fn record(data: &[u8], cpu: u32, ts: u64, out: &mut Vec<u8>) -> Result<(), ParseError> {
    let pid = Cursor::at(data, 4)?.array::<4>("trace_entry pid")?;
    let pdu_len = Cursor::at(data, PDU_LEN_OFFSET)?.u16()? as usize;
    let body = Cursor::at(data, SECTOR_OFFSET)?.bytes(LEN_V7 - SECTOR_OFFSET + pdu_len)?;
    out.extend_from_slice(&pid);
    out.extend_from_slice(&cpu.to_ne_bytes());
    out.extend_from_slice(&ts.to_ne_bytes());
    out.extend_from_slice(&(MAGIC | VERSION as u32).to_ne_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&ts.to_ne_bytes());
    out.extend_from_slice(body);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests fail by panicking")]

    use super::*;
    use crate::{Action, BlkItem, FtraceBinRecords};

    const PAGE: usize = 4096;
    const TRACE_BLK: u16 = 14;

    /// A `blk` tracer ring entry: `struct trace_entry` over magic and sequence, an unset time,
    /// then the record's fields.
    fn entry(ty: u16, pid: u32, sector: u64, action: u32, cpu: u32) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&ty.to_ne_bytes());
        e.extend_from_slice(&[0, 0]);
        e.extend_from_slice(&pid.to_ne_bytes());
        e.extend_from_slice(&u64::MAX.to_ne_bytes());
        e.extend_from_slice(&sector.to_ne_bytes());
        e.extend_from_slice(&4096u32.to_ne_bytes());
        e.extend_from_slice(&action.to_ne_bytes());
        e.extend_from_slice(&pid.to_ne_bytes());
        e.extend_from_slice(&((7u32 << 20) | 1).to_ne_bytes());
        e.extend_from_slice(&cpu.to_ne_bytes());
        e.extend_from_slice(&[0; 4]);
        e
    }

    /// One 64-bit little-endian ring page: base time, events as (delta, payload), and a stored
    /// missed-events count.
    fn page(ts: u64, events: &[(u32, Vec<u8>)], missed: Option<u64>) -> Vec<u8> {
        let mut data = Vec::new();
        for (delta, payload) in events {
            data.extend_from_slice(&(((payload.len() / 4) as u32) | (delta << 5)).to_le_bytes());
            data.extend_from_slice(payload);
        }
        let mut commit = data.len() as u64;
        if missed.is_some() {
            commit |= ktrace_core::page::RB_MISSED_EVENTS | ktrace_core::page::RB_MISSED_STORED;
        }
        let mut p = Vec::new();
        p.extend_from_slice(&ts.to_le_bytes());
        p.extend_from_slice(&commit.to_le_bytes());
        p.extend_from_slice(&data);
        if let Some(n) = missed {
            p.extend_from_slice(&n.to_le_bytes());
        }
        p.resize(PAGE, 0);
        p
    }

    #[test]
    fn ring_pages_read_as_trace_pipe_bin_output() {
        let queue = 1 << 16 | 1; // __BLK_TA_QUEUE with the read category
        let cpu0 = page(1000, &[(10, entry(TRACE_BLK, 77, 8, queue, 0)), (1, vec![5, 0, 0, 0, 0, 0, 0, 0])], None);
        let cpu1 = page(1005, &[(0, entry(TRACE_BLK, 78, 16, queue, 1))], Some(3));
        let mut out = Vec::new();
        let lost = ftrace_bin_from_pages(
            vec![(0, vec![&cpu0[..]]), (1, vec![&cpu1[..]])],
            PAGE,
            PageLayout::LE64,
            Some(TRACE_BLK),
            &mut out,
        )
        .unwrap();
        assert_eq!(lost.get(&1), Some(&3));
        let items: Vec<_> = FtraceBinRecords::new(&out).map(Result::unwrap).collect();
        assert_eq!(items.len(), 3, "the loss, both records, not the other entry: {items:?}");
        let BlkItem::Lost(l) = items[0] else { panic!("{items:?}") };
        assert_eq!((l.cpu, l.count, l.timestamp_ns), (1, Some(3), 1005));
        let recs: Vec<_> = items.iter().filter_map(|i| i.record()).collect();
        assert_eq!(
            recs.iter().map(|r| (r.time(), r.cpu(), r.pid(), r.sector())).collect::<Vec<_>>(),
            [(1005, 1, 78, 16), (1010, 0, 77, 8)]
        );
        assert!(recs.iter().all(|r| r.action() == Action::QUEUE && r.bytes() == 4096 && r.sequence() == 0));
    }

    #[test]
    fn a_short_entry_is_an_error() {
        let p = page(1, &[(0, entry(TRACE_BLK, 1, 0, 0, 0)[..40].to_vec())], None);
        let mut out = Vec::new();
        assert!(ftrace_bin_from_pages(vec![(0, vec![&p[..]])], PAGE, PageLayout::LE64, None, &mut out).is_err());
    }
}
