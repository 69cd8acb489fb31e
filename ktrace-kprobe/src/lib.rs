//! # ktrace-kprobe
//!
//! Dynamic probes: kprobes and kretprobes on kernel functions, uprobes and uretprobes on functions
//! of programs and libraries (found by ELF symbol), and USDT (`sys/sdt.h`) probe sites, as typed
//! definitions ([`ProbeDef`]) that render to and parse from the kernel's syntax, created through
//! tracefs by a guard ([`Probes`]) that removes them on drop. Hits arrive as ftrace events (read
//! them with a `ktrace_ftrace::Instance` and `Recorder`), fetch args decoded by name, or printed
//! as `perf script` prints them by [`print::PrintFmt`] (`(55d0c2a1516f) a=-500 s="text"`).
//!
//! ```no_run
//! use ktrace_ftrace::{Recorder, Tracefs};
//! use ktrace_kprobe::{ArgType, FetchArg, Probes};
//! let fs = Tracefs::find()?;
//! let mut probes = Probes::new(&fs);
//! probes.kprobe("open", "do_sys_openat2", &[FetchArg::new("path", "+0(%si)", Some(ArgType::String))], false)?;
//! let inst = fs.new_instance()?;
//! inst.enable_event(probes.group(), "open")?;
//! let rec = Recorder::start(&inst)?;
//! let _ = std::fs::read("/etc/hostname");
//! for ev in rec.stop()?.events() {
//!     println!("{:?}", ev?.field("path"));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Kernel interfaces: `kprobe_events` (2.6.33+), `uprobe_events` (3.5+), `ustring` (5.5+),
//! `ref_ctr_offset` for USDT semaphores (4.20+), `error_log` (5.4+). Docs:
//! `Documentation/trace/kprobetrace.rst`, `uprobetracer.rst`.
//!
//! ## Features
//!
//! Both on by default. Without them the crate's direct dependencies are only ktrace-core,
//! ktrace-ftrace, ktrace-owner, libc and thiserror: kprobes, kretprobes, fprobes and uprobes at file offsets ([`ProbeDef`] given to
//! [`Probes::add`]) all work; what follows needs its feature.
//!
//! | feature | what | adds |
//! |---|---|---|
//! | `elf` | uprobes by symbol name ([`Probes::uprobe`]), USDT sites ([`Probes::usdt`], `usdt::probes`), the `elf` module | `object`, `memmap2` |
//! | `pmu` | counting probes through the perf kprobe/uprobe PMUs, the `pmu` module (uprobes there also need `elf`) | `perf-event2`, `perf-event-open-sys2` |

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod agg;
#[cfg(feature = "elf")]
pub mod elf;
pub mod error;
#[cfg(feature = "pmu")]
pub mod pmu;
pub mod print;
pub mod probe;
pub mod probes;
pub mod usdt;

#[cfg(feature = "elf")]
mod sys;

pub use error::{Error, Result};
pub use probe::{ArgType, FetchArg, ProbeDef, Target};
pub use probes::{Probes, btf_args_supported, reap_stale};

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
