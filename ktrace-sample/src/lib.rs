//! # ktrace-sample
//!
//! The sampling side: perf_event counters and groups (perfmon2's job, [`counters`]), `top`-style
//! process sampling ([`top`]), typed in-kernel statistics from /proc ([`procfs`]), and inotify
//! watches as a typed event stream ([`inotify`]).
//!
//! ```no_run
//! use ktrace_sample::counters::{Counters, Ev};
//! let mut c = Counters::task(std::process::id() as i32, &[Ev::TaskClock, Ev::ContextSwitches], false)?;
//! c.enable()?;
//! let v: u64 = (0..1_000_000u64).sum();
//! for r in c.read()? {
//!     println!("{:>16} {}", r.ev.name(), r.scaled());
//! }
//! # let _ = v;
//! # Ok::<(), ktrace_sample::Error>(())
//! ```
//!
//! Kernel interfaces: perf_event_open(2) (2.6.31+), proc(5), PSI (4.20+), inotify(7) (2.6.13+).
//! Also: sampling profiles with callchains, symbolization and flame graphs ([`profile`]), taskstats
//! delay accounting ([`taskstats`]), and BootChart ([`bootchart`]).

pub mod bootchart;
pub mod counters;
pub mod error;
pub mod inotify;
pub mod procfs;
pub mod profile;
mod ring;
pub mod symbolize;
mod sys;
pub mod taskstats;
pub mod top;

pub use error::{Error, Result};
