//! Parses one trace.dat with our reader (decoding every field of every event) and with
//! `trace-cmd report`, and prints `RESULT ftrace-parse ktrace_evps=N tracecmd_evps=N`.
//! Usage: ftrace_parse_report TRACE.DAT
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_core::{Endian, RawData};
use ktrace_ftrace::TraceDat;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: ftrace_parse_report TRACE.DAT")?;
    let bytes = std::fs::read(&path)?;
    let t0 = Instant::now();
    let dat = TraceDat::parse(&bytes)?;
    let rec = dat.recording()?;
    let mut n = 0u64;
    let mut sum = 0u64;
    for ev in rec.events() {
        let ev = ev?;
        for f in &ev.format.fields {
            if let Ok(ktrace_core::Value::Unsigned(v)) = f.value(RawData::Single(ev.data()), Endian::NATIVE) {
                sum = sum.wrapping_add(v);
            }
        }
        n += 1;
    }
    let ours = t0.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    let t1 = Instant::now();
    let st = Command::new("trace-cmd").arg("report").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).status()?;
    let theirs = t1.elapsed().as_secs_f64();
    if !st.success() {
        return Err("trace-cmd report failed".into());
    }
    println!("{n} events; ktrace {ours:.3} s, trace-cmd report {theirs:.3} s");
    println!("RESULT ftrace-parse ktrace_evps={:.0} tracecmd_evps={:.0}", n as f64 / ours, n as f64 / theirs);
    Ok(())
}
