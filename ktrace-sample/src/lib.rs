//! # ktrace-sample
//!
//! The sampling side: perf_event counters and groups (perfmon2's job, [`counters`]), `top`-style
//! process sampling ([`top`]), typed in-kernel statistics from /proc ([`procfs`]), and inotify
//! watches as a typed event stream ([`inotify`]).
//!
//! ```no_run
//! # #[cfg(feature = "perf")] {
//! use ktrace_sample::counters::{Counters, Ev};
//! let mut c = Counters::task(std::process::id() as i32, &[Ev::TaskClock, Ev::ContextSwitches], false)?;
//! c.enable()?;
//! let v: u64 = (0..1_000_000u64).sum();
//! for r in c.read()? {
//!     println!("{:>16} {}", r.ev.name(), r.scaled());
//! }
//! # let _ = v;
//! # }
//! # Ok::<(), ktrace_sample::Error>(())
//! ```
//!
//! Kernel interfaces: perf_event_open(2) (2.6.31+), proc(5), PSI (4.20+), inotify(7) (2.6.13+).
//! Also: sampling profiles with callchains, symbolization and flame graphs ([`profile`]), taskstats
//! delay accounting ([`taskstats`]), and BootChart ([`bootchart`]).
//!
//! ## Features
//!
//! All on by default. With `default-features = false` the crate's direct dependencies are only
//! ktrace-core, ktrace-owner, nix, libc, bitflags and thiserror, and offers /proc statistics ([`procfs`]), [`top`], [`bootchart`],
//! [`inotify`], the `struct taskstats` parser and the delay-accounting guard ([`taskstats`]).
//!
//! | feature | what | adds |
//! |---|---|---|
//! | `perf` | perf_event counters and groups (`counters`), sampling profiles (`profile`) | `perf-event2`, `memmap2` |
//! | `symbolize` | `symbolize::Symbolizer` (ELF symbols of mapped files, kallsyms), `symbolize::demangle`, `Profile::folded` | `object`, `crc32fast`, `rustc-demangle`, `cpp_demangle`, `memmap2` |
//! | `flamegraph` | `profile::flamegraph` (SVG; implies `perf`) | `inferno` |
//! | `taskstats` | `taskstats::query` and `taskstats::ExitListener` over generic netlink | `neli` |

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod bootchart;
pub mod error;
pub mod inotify;
pub mod perf;
pub mod proc;
mod sys;
pub mod taskstats;

// The paths from before the facility layout (`perf/`, `proc/`) keep working.
pub use perf::symbolize;
#[cfg(feature = "perf")]
pub use perf::{counters, profile};
pub use proc::stats as procfs;
pub use proc::top;

pub use error::{Error, Result};

// The README's examples are compiled as doctests.
#[cfg(all(doctest, feature = "perf"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
