//! `biolatency`: block IO latency (issue -> complete) histograms per device, from the block
//! tracepoints (works everywhere, like bcc's biolatency), or with `--blk` from the ftrace blk tracer
//! with btt's full breakdown; `--blkparse` prints records as blkparse does.
//!
//! ```sh
//! biolatency [-d SECONDS] [--blk DEV [--blkparse]]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ktrace_blk::btt::Btt;
use ktrace_blk::{BlkFilter, BlkTracer, FtraceBinRecords};
use ktrace_core::agg::Log2Hist;
use ktrace_examples::{Losses, Status};
use ktrace_ftrace::{BlockPhase, Tracefs, Typed};

/// Block IO latency histograms per device from the block tracepoints, or with --blk btt's
/// breakdown from the ftrace blk tracer.
#[derive(Parser)]
#[command(name = "biolatency", version)]
struct Args {
    /// Seconds to trace.
    #[arg(short = 'd', value_name = "SECONDS", default_value = "1", value_parser = ktrace_examples::seconds, allow_hyphen_values = true)]
    duration: Duration,
    /// Trace this block device (sda, /dev/loop0) with the ftrace blk tracer: btt's Q2G…Q2C.
    #[arg(long = "blk", value_name = "DEV")]
    blk_dev: Option<String>,
    /// With --blk, print the records as blkparse does.
    #[arg(long = "blkparse", requires = "blk_dev")]
    text: bool,
}

fn main() -> ExitCode {
    ktrace_examples::main(run)
}

fn run(Args { duration, blk_dev, text }: Args) -> Result<Status, Box<dyn std::error::Error>> {
    ktrace_examples::stop_on_signals()?;
    let fs = Tracefs::find_or_mount()?;
    if let Some(dev) = blk_dev {
        let t = BlkTracer::start(&fs, &dev, &BlkFilter::default())?;
        ktrace_examples::sleep(duration);
        let data = t.stop()?;
        let mut btt = Btt::new();
        let (mut recs, lost) = FtraceBinRecords::new(&data).split()?;
        let mut losses = Losses::default();
        lost.iter().for_each(|l| losses.add(l));
        recs.sort_by_key(|r| r.time());
        let t0 = recs.first().map_or(0, |r| r.time());
        for r in &recs {
            if text && !r.is_notify() {
                let (ma, mi) = r.dev_major_minor();
                let t = r.time() - t0;
                println!(
                    "{ma:>3},{mi:<3} {:>2} {:>12}.{:09} {:>6} {:>2} {:>4} {} + {}",
                    r.cpu(),
                    t / 1_000_000_000,
                    t % 1_000_000_000,
                    r.pid(),
                    r.action().letter(),
                    r.rwbs(),
                    r.sector(),
                    r.bytes() / 512
                );
            }
            btt.feed(r);
        }
        for (name, s) in [
            ("Q2G", btt.q2g()),
            ("G2I", btt.g2i()),
            ("I2D", btt.i2d()),
            ("D2C", btt.d2c()),
            ("Q2C", btt.q2c()),
            ("Q2M", btt.q2m()),
        ] {
            if s.n > 0 {
                println!(
                    "{name}  n={:<6} min={:<8} avg={:<10.0} p95={:<8} max={} (ns)",
                    s.n, s.min, s.avg, s.p95, s.max
                );
            }
        }
        println!("merge ratio {:.2}", btt.merge_ratio());
        print!("{}", btt.d2c_hist());
        losses.report("biolatency", None);
        return Ok(Status::SUCCESS);
    }
    let inst = fs.new_instance()?;
    let events = [("block", "block_rq_issue"), ("block", "block_rq_complete")];
    let recording = ktrace_examples::record_for(&inst, &events, duration)?;
    let mut losses = Losses::default();
    let mut issued: HashMap<(u32, u64), u64> = HashMap::new();
    let mut hist: BTreeMap<u32, Log2Hist> = BTreeMap::new();
    for ev in losses.events(&recording) {
        let ev = ev?;
        if let Typed::BlockRq { phase, dev, sector, .. } = ev.typed()? {
            match phase {
                BlockPhase::Issue => {
                    issued.insert((dev, sector), ev.timestamp().ns);
                }
                BlockPhase::Complete => {
                    if let Some(t) = issued.remove(&(dev, sector)) {
                        hist.entry(dev).or_default().record(ev.timestamp().ns.saturating_sub(t));
                    }
                }
                BlockPhase::Insert => {}
            }
        }
    }
    for (dev, h) in &hist {
        println!("device {},{}: {} IOs, mean {} ns", dev >> 20, dev & 0xfffff, h.count(), h.mean());
        print!("{h}");
    }
    if hist.is_empty() {
        println!("no block IO completed in {} s", duration.as_secs_f64());
    }
    losses.report("biolatency", Some(ktrace_examples::kernel_lost(&inst)?));
    Ok(Status::SUCCESS)
}
