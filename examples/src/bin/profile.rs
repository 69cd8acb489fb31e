//! `profile`: samples a command (and its children) on the CPU clock with callchains and writes a
//! flame graph SVG and folded stacks (like `perf record -g` + flamegraph.pl).
//!
//! ```sh
//! profile [-F HZ] [-o out.svg] -- COMMAND ARGS...
//! profile -a [-F HZ] [-o out.svg] [-d SECONDS]    # every CPU, every task (system-wide)
//! ```

use std::io::Write;

use ktrace_sample::profile::{Profiler, flamegraph};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut freq, mut out, mut all, mut secs) = (997u64, "profile.svg".to_owned(), false, 5u64);
    let mut it = args.iter();
    let mut cmd = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-F" => freq = it.next().and_then(|s| s.parse().ok()).ok_or("-F HZ")?,
            "-o" => out = it.next().ok_or("-o FILE")?.clone(),
            "-a" => all = true,
            "-d" => secs = it.next().and_then(|s| s.parse().ok()).ok_or("-d SECONDS")?,
            "--" => cmd = it.by_ref().cloned().collect(),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let title;
    let p = if all {
        let mut prof = Profiler::system(freq)?;
        prof.run_for(std::time::Duration::from_secs(secs));
        title = format!("all CPUs, {secs} s");
        prof.finish()
    } else {
        let (prog, rest) = cmd.split_first().ok_or("usage: profile [-a] [-F HZ] [-o out.svg] -- COMMAND...")?;
        // Start the command held so sampling is in place before it runs.
        let mut g = ktrace_examples::Gated::spawn(prog, rest)?;
        let mut prof = Profiler::task(g.pid(), freq)?;
        g.release()?;
        while g.child.try_wait()?.is_none() {
            prof.poll();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        title = prog.clone();
        prof.finish()
    };
    let kallsyms = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut sym = p.symbolizer(&kallsyms);
    let folded = p.folded(&mut sym);
    let mut f = std::fs::File::create(&out)?;
    flamegraph(&folded, &format!("{title} ({} samples)", p.samples.len()), &mut f)?;
    let folded_path = format!("{out}.folded");
    let mut ff = std::io::BufWriter::new(std::fs::File::create(&folded_path)?);
    for (k, v) in &folded {
        writeln!(ff, "{k} {v}")?;
    }
    eprintln!(
        "profile: {} samples, {} lost, {} throttled -> {out}, {folded_path}",
        p.samples.len(),
        p.lost,
        p.throttled
    );
    for (name, n) in p.top_symbols(&mut sym).iter().take(10) {
        println!("{n:>8}  {name}");
    }
    Ok(())
}
