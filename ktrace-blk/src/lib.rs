//! # ktrace-blk
//!
//! Block-layer tracing, streaming: `struct blk_io_trace` records ([`record`]) from any source (a
//! relay file, a blktrace output file, or the ftrace `blk` tracer's binary output), typed actions
//! and categories, per-CPU files blkparse reads, btt's latency breakdown ([`btt`]), and loop devices
//! for tests ([`LoopDevice`]).
//!
//! Capture paths: the ftrace `blk` tracer ([`BlkTracer`], works under lockdown), block tracepoints
//! through `ktrace-ftrace` ([`ktrace_ftrace::Typed::BlockRq`]), and classic BLKTRACESETUP with relay
//! files ([`relay`], refused under lockdown; tested in the VM tier).
//!
//! ```no_run
//! use ktrace_blk::{BlkFilter, BlkItem, BlkTracer, FtraceBinRecords, LoopDevice, btt::Btt};
//! let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
//! let dev = LoopDevice::create_temp(16 << 20)?;
//! let t = BlkTracer::start(&fs, &dev.name(), &BlkFilter::default())?;
//! std::fs::write(dev.path(), vec![0u8; 4096])?;
//! let data = t.stop()?;
//! let mut btt = Btt::new();
//! for item in FtraceBinRecords::new(&data) {
//!     match item? {
//!         BlkItem::Record(r) => btt.feed(&r),
//!         BlkItem::Lost(l) => eprintln!("cpu {} dropped {:?} events", l.cpu, l.count),
//!     }
//! }
//! println!("Q2C avg {} ns", btt.q2c().avg);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Kernel interfaces: blktrace ioctls and relay files (2.6.17+), the ftrace `blk` tracer and
//! `/sys/block/<dev>/trace` (2.6.30+), LOOP_CONFIGURE (5.8+). Header: `linux/blktrace_api.h`.

pub mod blktracer;
pub mod btt;
pub mod error;
pub mod loopdev;
pub mod record;
pub mod relay;
mod sys;

pub use blktracer::{BlkFilter, BlkTracer};
pub use error::{Error, Result};
pub use loopdev::LoopDevice;
pub use record::{Action, BlkItem, BlkRecord, Category, FtraceBinRecords, Payload, Records};

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
