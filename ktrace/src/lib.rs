//! Trace the Linux kernel from Rust: one dependency for every ktrace facility.
//!
//! `ktrace` re-exports the facade crates behind Cargo features (all on by default) and holds what
//! spans them: commands held before exec ([`command`]) and the test harness (`capture`: record
//! what the kernel did for one closure, then query and assert on it), and sessions (`session`:
//! ftrace events and probe hits, ptrace of a command, perf samples and counters, block I/O (block
//! tracepoints or the blk tracer), taskstats exits and inotify events merged live on
//! `CLOCK_MONOTONIC` into one time-ordered stream, by the watermarked merge of [`timeline`]).
//!
//! | module | crate | kernel interface |
//! |---|---|---|
//! | `core` | `ktrace-core` | none: parsers of trace formats |
//! | `ftrace` | `ktrace-ftrace` | tracefs instances, events, `trace_pipe_raw` |
//! | `ptrace` | `ktrace-ptrace` | ptrace(2), seccomp, `PTRACE_GET_SYSCALL_INFO` |
//! | `kprobe` | `ktrace-kprobe` | `kprobe_events`, `uprobe_events`, USDT |
//! | `blk` | `ktrace-blk` | blktrace, the ftrace `blk` tracer |
//! | `sample` | `ktrace-sample` | perf_event_open(2), /proc, taskstats, inotify |
//! | `export` | `ktrace-export` | none: Perfetto, Chrome JSON, CTF and speedscope writers (feature `export`, off by default) |
//!
//! ```no_run
//! use ktrace::command::HeldCommand;
//! // Started and held before its exec: set filters on its pid (ftrace `set_event_pid`, perf
//! // counters with `enable_on_exec`, ptrace) here, then release it, so counting starts at the
//! // exec, as with `perf stat -- true`.
//! let held = HeldCommand::spawn(std::process::Command::new("/bin/true"))?;
//! println!("held pid {}", held.pid());
//! let status = held.release()?.wait()?;
//! # let _ = status;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Asserting on kernel events in a `#[test]`
//! [`capture()`](fn@capture) records what the kernel did while a closure ran, for the calling thread
//! and every task it spawns only (tests in parallel never see each other's events), then
//! [`Capture`](capture::Capture) answers queries and assertions whose failure prints an
//! strace-like excerpt. This test is `tests/first_test.rs` of this crate, run by `cargo test` as root:
//!
//! ```no_run
#![cfg_attr(all(feature = "ftrace", feature = "ptrace", feature = "sample"), doc = include_str!("../tests/first_test.rs"))]
//! ```
//!
//! # Features
//! - `ftrace`, `ptrace`, `kprobe`, `blk`, `sample`: each facade (default: all). `session` needs
//!   `ftrace`, `ptrace` and `sample` (and `taskstats` for its `exits()`); so does `capture`, which
//!   runs on a session (and renders flags and errnos with ptrace's decoder, as strace does).
//! - Each heavy dependency of a facade (default: all), forwarded to the crate's feature of the same
//!   name: `zstd`, `zlib` (compressed trace.dat v7: ruzstd, flate2), `elf` (uprobes by symbol, USDT:
//!   object), `pmu` (perf kprobe/uprobe PMUs: perf-event2), `symbolize` (object, demanglers),
//!   `flamegraph` (inferno), `taskstats` (neli). `sample` itself brings perf-event2.
//! - `stack` (off by default): user call stacks of stopped tracees (`ptrace::stack`,
//!   `Tracer::stack`: strace's `-k`); adds framehop and ktrace-sample's symbolizer.
//! - `export` (off by default): the Perfetto, Chrome JSON, CTF and speedscope writers
//!   (`ktrace::export`) and `session::Exporter`.
//!
//! With `default-features = false` and only the facades used, e.g. `features = ["ftrace"]`, a
//! facade comes with its core dependencies only.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

#[cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
pub mod capture;
pub mod command;
#[cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
pub mod session;
mod sys;
pub mod timeline;

#[cfg(feature = "blk")]
pub use ktrace_blk as blk;
pub use ktrace_core as core;
#[cfg(feature = "export")]
pub use ktrace_export as export;
#[cfg(feature = "ftrace")]
pub use ktrace_ftrace as ftrace;
#[cfg(feature = "kprobe")]
pub use ktrace_kprobe as kprobe;
#[cfg(feature = "ptrace")]
pub use ktrace_ptrace as ptrace;
#[cfg(feature = "sample")]
pub use ktrace_sample as sample;

#[cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
pub use capture::capture;
pub use command::HeldCommand;

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
