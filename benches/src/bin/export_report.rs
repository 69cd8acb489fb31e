//! Exports one trace.dat to each ktrace-export format (best of 3 runs each, output files in OUTDIR)
//! and prints `RESULT export decode_evps=N perfetto_evps=N json_evps=N ctf_evps=N` plus the same
//! divided by the process's CPU time (`*_cpu_evps`, getrusage `RUSAGE_SELF`: user and system
//! time of all its threads, what a busy machine does not change): events written per second from
//! the trace.dat's bytes in memory (`TraceDat::from_bytes`, its pages not copied) to the last byte
//! written, decoding included, as `export_tracedat` writes them: the pages decoded on one thread
//! (`write_recording`), the format on the main one, the file on a third (`Background`; CTF's
//! streams have their own), so wall time can be less than CPU time; `decode_evps` is the decoding
//! alone on one thread (merge, typed view and every field's value), the floor under a writer that
//! needs every field. The human-readable lines also give the main thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), the writing itself: the floor under wall time.
//! Usage: export_report TRACE.DAT OUTDIR [FORMAT...] (all formats by default; naming some, e.g. to
//! profile one writer with `perf record`, skips the others; `decode` names the decode-only pass)
use std::time::Instant;

use ktrace_benches::{process_cpu, thread_cpu};

use ktrace_core::Value;
use ktrace_export::{Background, ChromeJson, Ctf, Perfetto, Writer, write_recording};
use ktrace_ftrace::TraceDat;

/// Runs `pass` 3 times, `out` (the previous pass's output) removed before each, untimed:
/// creating a file over the last one truncates it, which waits for its pages to be freed and
/// written back (35-75 ms for these files, a fifth of a pass, and no part of exporting). Returns
/// the best wall, best process CPU and best main-thread CPU seconds, and what the pass returned.
fn best_of(
    out: Option<&std::path::Path>,
    mut pass: impl FnMut() -> Result<u64, Box<dyn std::error::Error>>,
) -> Result<(u64, f64, f64, f64), Box<dyn std::error::Error>> {
    let (mut wall, mut cpu, mut main, mut n) = (f64::MAX, f64::MAX, f64::MAX, 0);
    for _ in 0..3 {
        if let Some(out) = out {
            let _ = std::fs::remove_file(out).or_else(|_| std::fs::remove_dir_all(out));
        }
        let (t, c, m) = (Instant::now(), process_cpu(), thread_cpu());
        n = pass()?;
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min(process_cpu() - c);
        main = main.min(thread_cpu() - m);
    }
    Ok((n, wall, cpu, main))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: export_report TRACE.DAT OUTDIR".into());
    };
    let dir = std::path::PathBuf::from(dir);
    let only: Vec<String> = args.collect();
    let wanted = |f: &str| only.is_empty() || only.iter().any(|o| o == f);
    let bytes = bytes::Bytes::from(std::fs::read(&path)?);
    let mut results = Vec::new();
    let mut cpu_results = Vec::new();
    // What every writer pays before writing: the merge, decoding and every field's value.
    let (n, wall, cpu, _) = if !wanted("decode") {
        (0, f64::NAN, f64::NAN, f64::NAN)
    } else {
        best_of(None, || {
            let dat = TraceDat::from_bytes(bytes.clone())?;
            let rec = dat.recording()?;
            let (mut n, mut sum) = (0u64, 0u64);
            for item in rec.items() {
                if let ktrace_ftrace::Item::Event(ev) = item? {
                    std::hint::black_box(ev.typed()?);
                    // Each value taken apart as a writer does (not spilled through `black_box`,
                    // which costs a store-forwarding stall per field that no writer pays).
                    for (name, v) in ev.fields() {
                        sum = sum.wrapping_add(name.len() as u64).wrapping_add(match v {
                            Ok(Value::Unsigned(u)) => u,
                            Ok(Value::Signed(s)) => s as u64,
                            Ok(Value::Str(s)) => s.len() as u64,
                            Ok(Value::Array(a)) => a.len() as u64,
                            Err(_) => 1,
                        });
                    }
                    n += 1;
                }
            }
            std::hint::black_box(sum);
            Ok(n)
        })?
    };
    println!("decode only: {n} events in {wall:.3} s ({cpu:.3} s CPU)");
    results.push(format!("decode_evps={:.0}", n as f64 / wall));
    cpu_results.push(format!("decode_cpu_evps={:.0}", n as f64 / cpu));
    for format in ["perfetto", "json", "ctf"].into_iter().filter(|f| wanted(f)) {
        let out = dir.join(format);
        let (n, wall, cpu, main) = best_of(Some(&out), || {
            let dat = TraceDat::from_bytes(bytes.clone())?;
            let rec = dat.recording()?;
            let comms = dat.comms();
            let file = || Background::create(&out);
            let mut w: Box<dyn Writer> = match format {
                "perfetto" => Box::new(Perfetto::new(file()?).with_names(&comms)),
                "json" => Box::new(ChromeJson::new(file()?).with_names(&comms)),
                _ => Box::new(Ctf::create(&out, dat.endian)?),
            };
            Ok(write_recording(&rec, w.as_mut())?)
        })?;
        let size: u64 = match std::fs::metadata(&out) {
            Ok(m) if m.is_dir() => {
                std::fs::read_dir(&out)?.map(|e| e.map_or(0, |e| e.metadata().map_or(0, |m| m.len()))).sum()
            }
            Ok(m) => m.len(),
            Err(_) => 0,
        };
        println!(
            "{format}: {n} events in {wall:.3} s ({cpu:.3} s CPU, {main:.3} s of it on the main thread), {:.1} MB",
            size as f64 / 1e6
        );
        results.push(format!("{format}_evps={:.0}", n as f64 / wall));
        cpu_results.push(format!("{format}_cpu_evps={:.0}", n as f64 / cpu));
    }
    println!("RESULT export {} {}", results.join(" "), cpu_results.join(" "));
    Ok(())
}
