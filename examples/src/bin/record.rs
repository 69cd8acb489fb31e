//! `record`: records events into a trace.dat that `trace-cmd report` reads (like `trace-cmd record`).
//!
//! ```sh
//! record -e SYSTEM[:EVENT] [-e …] [-o trace.dat] [-b KB] [-d SECONDS | -- COMMAND...]
//! ```

use ktrace_ftrace::{Recorder, Tracefs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut events = Vec::new();
    let mut out = "trace.dat".to_owned();
    let mut kb = None;
    let mut secs = 1.0;
    let mut cmd = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-e" => events.push(it.next().ok_or("-e EVENT")?.clone()),
            "-o" => out = it.next().ok_or("-o FILE")?.clone(),
            "-b" => kb = Some(it.next().and_then(|s| s.parse::<u64>().ok()).ok_or("-b KB")?),
            "-d" => secs = it.next().and_then(|s| s.parse().ok()).ok_or("-d SECONDS")?,
            "--" => cmd = it.by_ref().cloned().collect(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if events.is_empty() {
        return Err("usage: record -e SYSTEM[:EVENT] ... [-o FILE] [-b KB] [-d SECS | -- CMD...]".into());
    }
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    if let Some(kb) = kb {
        inst.set_buffer_size_kb(kb)?;
    }
    for e in &events {
        match e.split_once(':') {
            Some((s, n)) if !n.contains('*') => inst.enable_event(s, n)?,
            Some(_) => inst.enable_glob(e)?,
            None => inst.enable_system(e)?,
        }
    }
    let rec = Recorder::start(&inst)?;
    ktrace_examples::run_or_sleep(&cmd, secs)?;
    let recording = rec.stop()?;
    let meta = ktrace_ftrace::tracedat::capture_metadata(&inst, &recording)?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out)?);
    meta.write_recording_v6(&recording, &mut f)?;
    let n = recording.events().count();
    eprintln!("record: {n} events, {} lost, written to {out}", recording.lost_total());
    Ok(())
}
