//! Draining a full ftrace ring: read(2) of `trace_pipe_raw` (a copy per page, what trace-cmd's
//! splice path also costs) against the 6.10+ mapping (pages parsed in place). Each way, a child
//! makes N getppid() calls traced by `raw_syscalls:sys_enter` into a ring big enough to keep them
//! all; then tracing stops and the ring is drained and every event's id read.
//! Prints `RESULT ftrace-mmap events=N read_evps=N mmap_evps=N`.
//! Usage: `ftrace_mmap_report GETPPID_LOOP [N]`
use std::process::{Command, Stdio};
use std::time::Instant;

use ktrace_core::{Endian, PageItem, Pages};
use ktrace_ftrace::{Instance, Tracefs};

fn fill(inst: &Instance, bin: &str, n: &str) -> Result<(), Box<dyn std::error::Error>> {
    inst.clear()?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read _ && exec \"$0\" \"$@\"")
        .arg(bin)
        .arg(n)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    inst.set_event_pids(&[child.id() as i32])?;
    inst.enable_event("raw_syscalls", "sys_enter")?;
    inst.set_tracing_on(true)?; // instances start off
    {
        use std::io::Write;
        child.stdin.take().ok_or("stdin")?.write_all(b"\n")?;
    }
    child.wait()?;
    inst.disable_event("raw_syscalls", "sys_enter")?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let bin = a.get(1).ok_or("usage: ftrace_mmap_report GETPPID_LOOP [N]")?;
    let n = a.get(2).cloned().unwrap_or_else(|| "100000".into());
    let fs = Tracefs::find_or_mount()?;
    let inst = fs.new_instance()?;
    inst.set_buffer_size_kb(16384)?;
    let ncpu = inst.nr_cpus() as u32;
    let layout = inst.page_layout()?;

    fill(&inst, bin, &n)?;
    let t = Instant::now();
    let mut read_events = 0u64;
    let mut buf = Vec::new();
    for cpu in 0..ncpu {
        let mut r = inst.cpu_reader(cpu)?;
        buf.clear();
        r.drain_into(&mut buf, 3)?;
        for it in Pages::new(&buf, r.page_size(), layout, cpu) {
            if let PageItem::Event(e) = it? {
                read_events += u64::from(e.id(Endian::NATIVE).is_ok());
            }
        }
    }
    let read_s = t.elapsed().as_secs_f64();

    fill(&inst, bin, &n)?;
    let mut readers = Vec::new();
    for cpu in 0..ncpu {
        readers.push(inst.mapped_reader(cpu)?);
    }
    let t = Instant::now();
    let mut mmap_events = 0u64;
    for r in &mut readers {
        while let Some(p) = r.next_page()? {
            for it in p.items(&layout)? {
                if let PageItem::Event(e) = it? {
                    mmap_events += u64::from(e.id(Endian::NATIVE).is_ok());
                }
            }
        }
    }
    let mmap_s = t.elapsed().as_secs_f64();
    drop(readers);
    inst.close()?;
    println!("read(2): {read_events} events in {read_s:.4} s; mmap: {mmap_events} events in {mmap_s:.4} s");
    println!(
        "RESULT ftrace-mmap events={read_events} read_evps={:.0} mmap_evps={:.0}",
        read_events as f64 / read_s,
        mmap_events as f64 / mmap_s
    );
    Ok(())
}
