//! trace.dat files, as `trace-cmd record` writes and `trace-cmd report` reads them.
//!
//! **Reading:** versions 6 and 7 (7 is what trace-cmd 3.x writes by default, with sections that may
//! be zstd- or zlib-compressed: the `zstd` and `zlib` features, both on by default). **Writing:**
//! version 6, uncompressed, which every trace-cmd since 2.x reads and whose CPU data can be mapped
//! straight from the file. Format documentation: trace-cmd.dat.v6(5), trace-cmd.dat.v7(5).
//!
//! A file's event formats, kallsyms, saved cmdlines and per-CPU pages come back as a [`TraceDat`];
//! [`TraceDat::recording`] turns it into a [`Recording`] for the same time-ordered event iterator as a
//! live recording.

use std::collections::BTreeMap;

use bytes::Bytes;
use ktrace_core::{Clock, Endian, FormatRegistry, PageLayout};

use crate::error::{Error, Result};
use crate::event::Decoder;
use crate::recorder::Recording;

mod capture;
mod read;
#[cfg(test)]
mod tests;
mod write;

pub use capture::{capture, capture_metadata, capture_metadata_of};
pub use write::CpuFiles;

const MAGIC: &[u8] = b"\x17\x08\x44tracing";
/// Largest cpu id read from a file, far above any kernel's NR_CPUS (8192 on x86 MAXSMP): a
/// [`Recording`] holds one slot per cpu id up to the largest, so a corrupted id must not size it.
const MAX_CPU_ID: u32 = 1 << 16;
/// Option ids (and, in v7, the matching section ids).
mod opt {
    pub(super) const DONE: u16 = 0;
    pub(super) const CPUSTAT: u16 = 2;
    pub(super) const BUFFER: u16 = 3;
    pub(super) const TRACECLOCK: u16 = 4;
    pub(super) const HEADER_INFO: u16 = 16;
    pub(super) const FTRACE_EVENTS: u16 = 17;
    pub(super) const EVENT_FORMATS: u16 = 18;
    pub(super) const KALLSYMS: u16 = 19;
    pub(super) const PRINTK: u16 = 20;
    pub(super) const CMDLINES: u16 = 21;
}

/// One buffer (instance) of trace data.
#[derive(Debug, Clone, Default)]
pub struct Buffer {
    /// Instance name ("" for the top instance).
    pub name: String,
    /// Trace clock name (`local`, `mono`…).
    pub clock: String,
    /// Sub-buffer size.
    pub page_size: usize,
    /// Per-CPU page data, by CPU id: views of the file's buffer (no copy) unless the section was
    /// compressed.
    pub cpus: BTreeMap<u32, Bytes>,
}

/// The contents of a trace.dat file.
#[derive(Debug, Clone, Default)]
pub struct TraceDat {
    /// File version (6 or 7).
    pub version: u32,
    /// Byte order of the traced machine.
    pub endian: Endian,
    /// `long` size of the traced machine's user space.
    pub long_size: u8,
    /// The traced machine's page size.
    pub page_size: u32,
    /// `events/header_page` text.
    pub header_page: String,
    /// `events/header_event` text.
    pub header_event: String,
    /// Event formats as `(system, format text)`, `ftrace` system included.
    pub formats: Vec<(String, String)>,
    /// `/proc/kallsyms` text.
    pub kallsyms: String,
    /// `printk_formats` text.
    pub printk: String,
    /// `saved_cmdlines` text.
    pub cmdlines: String,
    /// Trace buffers: the top instance first.
    pub buffers: Vec<Buffer>,
    /// `trace_clock` text of the top instance, when recorded.
    pub trace_clock: Option<String>,
    /// Per-CPU stats texts (`CPUSTAT` options).
    pub cpu_stats: Vec<String>,
}

impl TraceDat {
    /// A [`Recording`] of the top buffer (or of `buffer`), decoded with the file's own formats.
    pub fn recording(&self) -> Result<Recording> {
        self.recording_of(0)
    }

    /// A [`Recording`] of buffer `i`.
    pub fn recording_of(&self, i: usize) -> Result<Recording> {
        let buf = self.buffers.get(i).ok_or_else(|| Error::TraceDat { offset: 0, what: format!("no buffer {i}") })?;
        let layout = PageLayout::from_header_page(&self.header_page, self.endian)?;
        let mut reg = FormatRegistry::new();
        for (sys, text) in &self.formats {
            // A format we cannot parse only makes its events undecodable.
            let _ = reg.add_text(sys, text);
        }
        let ncpu = buf.cpus.keys().next_back().map_or(0, |&c| c as usize + 1);
        if ncpu > MAX_CPU_ID as usize + 1 {
            return Err(Error::TraceDat { offset: 0, what: format!("cpu id {} beyond {MAX_CPU_ID}", ncpu - 1) });
        }
        let mut cpus = vec![Vec::new(); ncpu];
        for (&cpu, d) in &buf.cpus {
            if let Some(slot) = cpus.get_mut(cpu as usize) {
                // A view of the same buffer, not a copy.
                *slot = vec![d.clone()];
            }
        }
        let dec = Decoder::new(reg, self.endian, Clock::from_name(&buf.clock));
        Ok(Recording::from_chunks(cpus, buf.page_size.max(layout.data_offset + 8), layout, Vec::new(), dec))
    }

    /// `pid -> comm` from the saved cmdlines.
    pub fn comms(&self) -> BTreeMap<i32, String> {
        self.cmdlines
            .lines()
            .filter_map(|l| {
                let (p, c) = l.split_once(' ')?;
                Some((p.trim().parse().ok()?, c.to_owned()))
            })
            .collect()
    }
}
