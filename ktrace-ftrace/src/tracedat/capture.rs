//! Collecting a trace.dat's metadata from a live tracefs.

use std::collections::BTreeMap;

use ktrace_core::{Clock, Endian};

use super::{Buffer, TraceDat};
use crate::error::{Error, Result};
use crate::event::Decoder;
use crate::recorder::Recording;

/// Collects what a trace.dat needs from a live tracefs for a recording: header texts, the
/// formats of every event id in the recording plus the whole `ftrace` system, kallsyms,
/// printk formats, saved cmdlines, the clock and per-CPU stats — and a copy of the pages. To
/// write a file, [`capture_metadata`] and [`TraceDat::write_recording_v6`] avoid the copy.
pub fn capture(inst: &crate::Instance, rec: &Recording) -> Result<TraceDat> {
    let mut t = capture_metadata(inst, rec)?;
    if let Some(b) = t.buffers.first_mut() {
        for (i, chunks) in rec.cpu_chunks().iter().enumerate() {
            b.cpus.insert(i as u32, chunks.concat().into());
        }
    }
    Ok(t)
}

/// [`capture`] without the pages (`buffers[0].cpus` left empty).
pub fn capture_metadata(inst: &crate::Instance, rec: &Recording) -> Result<TraceDat> {
    // Resolve the format of every id the recording holds (ids nobody knows are left out).
    for (cpu, chunks) in rec.cpu_chunks().iter().enumerate() {
        for buf in chunks {
            let evs = ktrace_core::Pages::new(buf, rec.page_size(), rec.layout(), cpu as u32).filter_map(|i| match i {
                Ok(ktrace_core::PageItem::Event(e)) => Some(e),
                _ => None,
            });
            rec.decoder().prepare_all(evs);
        }
    }
    capture_metadata_of(inst, rec.decoder(), rec.page_size(), rec.cpu_chunks().len())
}

/// [`capture_metadata`] for events whose ids `decoder` has prepared (a stream's), `ncpu` CPUs
/// of `page_size`-byte pages.
pub fn capture_metadata_of(
    inst: &crate::Instance,
    decoder: &Decoder,
    page_size: usize,
    ncpu: usize,
) -> Result<TraceDat> {
    let fs = inst.tracefs();
    let mut formats = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in decoder.formats() {
        if seen.insert((f.system.clone(), f.name.clone()))
            && let Ok(t) = fs.event_format_text(&f.system, &f.name)
        {
            formats.push((f.system.clone(), t));
        }
    }
    let ftrace_dir = fs.root().join("events/ftrace");
    for e in std::fs::read_dir(&ftrace_dir).map_err(|e| Error::io("readdir", &ftrace_dir, e))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !seen.contains(&("ftrace".to_owned(), name.clone()))
            && let Ok(t) = crate::tracefs::read_file(&e.path().join("format"))
        {
            formats.push(("ftrace".into(), t));
        }
    }
    let cpus = BTreeMap::new();
    let clock = inst.read("trace_clock").ok();
    let cpu_stats = (0..ncpu)
        .filter_map(|c| inst.read(&format!("per_cpu/cpu{c}/stats")).ok().map(|s| format!("CPU: {c}\n{s}")))
        .collect();
    Ok(TraceDat {
        version: 6,
        endian: Endian::NATIVE,
        long_size: 8,
        page_size: page_size as u32,
        header_page: fs.read("events/header_page")?,
        header_event: fs.read("events/header_event")?,
        formats,
        kallsyms: std::fs::read_to_string("/proc/kallsyms").unwrap_or_default(),
        printk: fs.read("printk_formats").unwrap_or_default(),
        cmdlines: fs.read("saved_cmdlines").unwrap_or_default(),
        buffers: vec![Buffer {
            name: String::new(),
            clock: Clock::from_trace_clock_file(clock.as_deref().unwrap_or("[local]"))
                .unwrap_or_default()
                .name()
                .into(),
            page_size,
            cpus,
        }],
        trace_clock: clock,
        cpu_stats,
    })
}
