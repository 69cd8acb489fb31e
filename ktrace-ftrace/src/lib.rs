//! # ktrace-ftrace
//!
//! Drive ftrace, the kernel's built-in tracer, from Rust: find tracefs, make a private instance,
//! enable events with filters, record every CPU's ring buffer without loss, and iterate typed
//! events in time order. Losses the kernel reports come out as [`Item::Lost`] with counts.
//!
//! ```no_run
//! use ktrace_ftrace::{Recorder, Tracefs, Typed};
//!
//! let fs = Tracefs::find()?;                 // never mounts; see Tracefs::find_or_mount
//! let inst = fs.new_instance()?;             // instances/ktrace_<pid>_<n>, removed on drop
//! inst.enable_event("sched", "sched_switch")?;
//! let rec = Recorder::start(&inst)?;
//! std::thread::sleep(std::time::Duration::from_millis(50));
//! let recording = rec.stop()?;
//! for ev in recording.events() {
//!     let ev = ev?;
//!     if let Typed::SchedSwitch { prev_pid, next_pid, .. } = ev.typed()? {
//!         println!("{} cpu{} {prev_pid} -> {next_pid}", ev.timestamp(), ev.cpu());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Minimum kernel: 4.1 (tracefs at /sys/kernel/tracing; older kernels work through debugfs),
//! 3.10 for instances, 6.8 for `buffer_subbuf_size_kb`. Needs root (or tracefs permissions).
//!
//! Kernel documentation: `Documentation/trace/ftrace.rst`, `events.rst`.
//!
//! ## Features
//!
//! Both on by default; without them the crate's direct dependencies are only ktrace-core,
//! ktrace-owner, nix, libc, memmap2, bytes, glob, syscalls and thiserror, and reading a compressed section of a trace.dat v7 file returns an error naming the
//! missing feature (v6 files, uncompressed v7 files and everything live work the same).
//!
//! | feature | what | adds |
//! |---|---|---|
//! | `zstd` | zstd-compressed trace.dat v7 sections ([`TraceDat::parse`]; trace-cmd 3.x's default) | `ruzstd` |
//! | `zlib` | zlib-compressed trace.dat v7 sections | `flate2` |

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod event;
pub mod graph;
pub mod hist;
pub mod instance;
pub mod latency;
pub mod mapped;
pub mod reader;
pub mod recorder;
pub mod stats;
pub mod stream;
pub mod synth;
mod sys;
pub mod tracedat;
pub mod tracefs;

pub use error::{Error, Result};
pub use event::{BlockPhase, Decoder, Event, StackFrames, Typed, WakeupKind, syscall_name};
pub use instance::{Instance, Marker};
pub use ktrace_core::Kallsyms;

/// Reads `/proc/kallsyms` (addresses are zero unless root or `kptr_restrict` allows).
pub fn load_kallsyms() -> Result<Kallsyms> {
    Ok(Kallsyms::parse(&tracefs::read_file(std::path::Path::new("/proc/kallsyms"))?))
}
pub use mapped::{MappedCpuReader, MappedPage};
pub use reader::CpuReader;
pub use recorder::{Item, Recorder, Recording};
pub use stats::CpuStats;
pub use stream::{Budget, Stream, StreamStats};
pub use tracedat::TraceDat;
pub use tracefs::Tracefs;

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
