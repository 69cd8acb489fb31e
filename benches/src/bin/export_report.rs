//! Exports one trace.dat to each ktrace-export format (best of 3 runs each, output files in OUTDIR)
//! and prints `RESULT export decode_evps=N perfetto_evps=N json_evps=N ctf_evps=N`: events written per second,
//! decoding from the recording included, parsing the file not; `decode_evps` is the decoding alone
//! (merge, typed view and every field's value), the floor under every writer.
//! Usage: export_report TRACE.DAT OUTDIR
use std::time::Instant;

use ktrace_export::{ChromeJson, Ctf, Perfetto, Writer, write_recording};
use ktrace_ftrace::TraceDat;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: export_report TRACE.DAT OUTDIR".into());
    };
    let dir = std::path::PathBuf::from(dir);
    let dat = TraceDat::parse(&std::fs::read(&path)?)?;
    let rec = dat.recording()?;
    let comms = dat.comms();
    let mut results = Vec::new();
    // What every writer pays before writing: the merge, decoding and every field's value.
    let mut best = f64::MAX;
    let mut n = 0u64;
    for _ in 0..3 {
        let t = Instant::now();
        n = 0;
        for item in rec.items() {
            if let ktrace_ftrace::Item::Event(ev) = item? {
                std::hint::black_box(ev.typed()?);
                for (_, v) in ev.fields() {
                    std::hint::black_box(v.ok());
                }
                n += 1;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("decode only: {n} events in {best:.3} s");
    results.push(format!("decode_evps={:.0}", n as f64 / best));
    for format in ["perfetto", "json", "ctf"] {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..3 {
            let out = dir.join(format);
            let file = || std::fs::File::create(&out);
            let mut w: Box<dyn Writer> = match format {
                "perfetto" => Box::new(Perfetto::new(file()?).with_names(&comms)),
                "json" => Box::new(ChromeJson::new(file()?).with_names(&comms)),
                _ => Box::new(Ctf::create(&out, dat.endian)?),
            };
            let t = Instant::now();
            n = write_recording(&rec, w.as_mut())?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        let size: u64 = match std::fs::metadata(dir.join(format)) {
            Ok(m) if m.is_dir() => {
                std::fs::read_dir(dir.join(format))?.map(|e| e.map_or(0, |e| e.metadata().map_or(0, |m| m.len()))).sum()
            }
            Ok(m) => m.len(),
            Err(_) => 0,
        };
        println!("{format}: {n} events in {best:.3} s, {:.1} MB", size as f64 / 1e6);
        results.push(format!("{format}_evps={:.0}", n as f64 / best));
    }
    println!("RESULT export {}", results.join(" "));
    Ok(())
}
