//! The tour: exercises every ktrace facility this kernel supports on a built-in workload and prints
//! a short report, naming each facility it skipped and why. Run as root:
//!
//! ```sh
//! cargo run --release -p ktrace-examples --bin tour
//! ```

#![allow(unsafe_code, reason = "the tour's uprobe target is a no_mangle function")]

use std::process::Command;

use ktrace_ftrace::{Recorder, Tracefs};

mod ftrace;
mod sample;
use ftrace::ftrace_part;
use sample::sample_part;

/// The built-in workload: a shell that lists, reads, sleeps and forks a few times.
fn workload() -> std::io::Result<std::process::ExitStatus> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg("for i in 1 2 3 4 5; do ls / >/dev/null; cat /etc/hostname >/dev/null; sleep 0.01; done")
        .status()
}

struct Report {
    lines: Vec<String>,
    skipped: Vec<(String, String)>,
}

impl Report {
    fn ok(&mut self, facility: &str, what: String) {
        self.lines.push(format!("  [ok]   {facility:<22} {what}"));
    }
    fn skip(&mut self, facility: &str, why: String) {
        self.lines.push(format!("  [skip] {facility:<22} {why}"));
        self.skipped.push((facility.to_owned(), why));
    }
}

fn ptrace_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_ptrace::{AuditArch, Event, Inject, TraceCommand};
    let mut t = TraceCommand::new("/bin/sh")
        .args(["-c", "cat /etc/hostname >/dev/null; ls / >/dev/null; kill -USR1 $$ 2>/dev/null; exit 0"])
        .stdout_null()
        .same_cpu(true)
        .spawn()?;
    let (mut calls, mut forks, mut execs, mut signals, mut example) = (0, 0, 0, 0, String::new());
    while let Some(ev) = t.next_event()? {
        match ev {
            Event::SyscallExit { arch, nr, .. } => {
                calls += 1;
                if example.is_empty() && arch.syscall_name(nr) == Some("openat") {
                    let d = t.describe(&ev);
                    if d.contains("/etc/hostname") {
                        example = d;
                    }
                }
            }
            Event::Fork { .. } => forks += 1,
            Event::Exec { .. } => execs += 1,
            Event::Signal { .. } => signals += 1,
            _ => {}
        }
    }
    r.ok("ptrace", format!("{calls} syscalls, {forks} forks, {execs} execs, {signals} signals; {example}"));
    let openat = AuditArch::NATIVE.syscall_nr("openat").ok_or("no openat")?;
    let mut t = TraceCommand::new("/bin/cat").arg("/etc/hostname").stdout_null().seccomp_filter(&[openat]).spawn()?;
    let mut stops = 0;
    while let Some(ev) = t.next_event()? {
        stops += matches!(ev, Event::SyscallExit { .. }) as u32;
    }
    r.ok("ptrace seccomp filter", format!("cat stopped only for openat: {stops} stops"));
    // The loader of the injected cat cannot open libc and says so on stderr: kept for the report,
    // off the terminal.
    let (code, said) = capturing_stderr(|| -> Result<i32, ktrace_ptrace::Error> {
        let mut t = TraceCommand::new("/bin/cat")
            .arg("/etc/hostname")
            .stdout_null()
            .inject(Inject { nr: openat, errno: Some(libc_enoent()) })
            .spawn()?;
        let mut code = 0;
        while let Some(ev) = t.next_event()? {
            if let Event::Exited { code: c, .. } = ev {
                code = c;
            }
        }
        Ok(code)
    })?;
    let code = code?;
    let said = said.trim();
    r.ok("ptrace fault injection", format!("every openat failed with ENOENT: cat exited {code}; it said {said:?}"));
    Ok(())
}

/// Runs `f` with this process's stderr (fd 2, which children inherit) sent to an unlinked
/// temporary file, and returns what was written there.
fn capturing_stderr<T>(f: impl FnOnce() -> T) -> Result<(T, String), Box<dyn std::error::Error>> {
    use std::io::{Read, Seek};
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("ktrace-tour-stderr-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
    std::fs::remove_file(&path)?;
    let saved = nix::unistd::dup(2)?;
    nix::unistd::dup2(file.as_raw_fd(), 2)?;
    let out = f();
    let restored = nix::unistd::dup2(saved, 2);
    nix::unistd::close(saved)?;
    restored?;
    let mut said = String::new();
    file.rewind()?;
    file.read_to_string(&mut said)?;
    Ok((out, said))
}

/// The tour's own uprobe target.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn ktrace_tour_probe_target(n: u64) -> u64 {
    std::hint::black_box(n) + 1
}

fn probe_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use ktrace_kprobe::{ArgType, FetchArg, Probes};
    let fs = Tracefs::find_or_mount()?;
    let reaped = ktrace_kprobe::reap_stale(&fs)?;
    if !reaped.is_empty() {
        r.ok("probe reaper", format!("removed stale probes {reaped:?}"));
    }
    let exe = std::fs::read_link("/proc/self/exe")?.display().to_string();
    let mut probes = Probes::new(&fs);
    probes.uprobe(
        "tour",
        &exe,
        "ktrace_tour_probe_target",
        &[FetchArg::new("n", "%di", Some(ArgType::U(64)))],
        false,
    )?;
    probes.uprobe(
        "tour_ret",
        &exe,
        "ktrace_tour_probe_target",
        &[FetchArg::new("rv", "$retval", Some(ArgType::U(64)))],
        true,
    )?;
    let inst = fs.new_instance()?;
    inst.enable_event(probes.group(), "tour")?;
    inst.enable_event(probes.group(), "tour_ret")?;
    let rec = Recorder::start(&inst)?;
    let mut sum = 0;
    for i in 0..100 {
        sum += ktrace_tour_probe_target(i);
    }
    let recording = rec.stop()?;
    let mut lat = ktrace_kprobe::agg::EntryReturn::default();
    let (mut hits, mut nsum) = (0, 0i64);
    for ev in recording.events() {
        let ev = ev?;
        match ev.name() {
            "tour" => {
                hits += 1;
                nsum += ev.int("n")?;
                lat.entry(ev.pid(), ev.timestamp().ns);
            }
            "tour_ret" => lat.ret(ev.pid(), ev.timestamp().ns),
            _ => {}
        }
    }
    r.ok(
        "uprobes",
        format!(
            "{hits} hits of 100 calls (args sum {nsum}, returns sum {sum}); entry->return mean {} ns",
            lat.hist.mean()
        ),
    );
    drop(inst);
    probes.close()?;
    let mut k = Probes::with_group(&fs, "k");
    match k.kprobe("open", "do_sys_openat2", &[], false) {
        Ok(()) => r.ok("kprobes", "available".into()),
        Err(e) => r.skip("kprobes", e.to_string()),
    }
    Ok(())
}

fn blk_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::{Seek, SeekFrom, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let fs = Tracefs::find_or_mount()?;
    let dev = ktrace_blk::LoopDevice::create_temp(32 << 20)?;
    let io = |path: &std::path::Path| -> std::io::Result<()> {
        let mut raw = vec![0u8; 3 * 4096];
        let off = raw.as_ptr().align_offset(4096);
        let buf = raw.get_mut(off..off + 4096).ok_or(std::io::Error::other("align"))?;
        let mut f = std::fs::OpenOptions::new().write(true).custom_flags(0o40000).open(path)?; // O_DIRECT
        for i in 0..32u64 {
            f.seek(SeekFrom::Start(i * 65536))?;
            f.write_all(buf)?;
        }
        Ok(())
    };
    match ktrace_blk::BlkTracer::start(&fs, &dev.name(), &ktrace_blk::BlkFilter::default()) {
        Ok(t) => {
            io(dev.path())?;
            let data = t.stop()?;
            let mut btt = ktrace_blk::btt::Btt::new();
            let mut n = 0;
            for item in ktrace_blk::FtraceBinRecords::new(&data) {
                if let ktrace_blk::BlkItem::Record(rec) = item? {
                    btt.feed(&rec);
                    n += 1;
                }
            }
            let (q2c, d2c) = (btt.q2c(), btt.d2c());
            r.ok(
                "blk tracer + btt",
                format!(
                    "{n} records, {} IOs on {}: Q2C avg {:.0} ns, D2C avg {:.0} ns p95 {} ns",
                    q2c.n,
                    dev.name(),
                    q2c.avg,
                    d2c.avg,
                    d2c.p95
                ),
            );
        }
        Err(e) => r.skip("blk tracer", e.to_string()),
    }
    match ktrace_blk::relay::RelayTrace::start(dev.path(), 0xffff, 1 << 16, 4) {
        Ok(t) => {
            io(dev.path())?;
            let (cpus, dropped) = t.stop()?;
            let n: usize = cpus.iter().map(|c| ktrace_blk::Records::new(c).count()).sum();
            r.ok("blktrace (relay)", format!("{n} records, {dropped} dropped"));
        }
        Err(e) => r.skip("blktrace (relay)", e.to_string()),
    }
    dev.close()?;
    Ok(())
}

/// A session: one command's syscalls (ptrace), sched switches (ftrace) and samples (perf) merged
/// on CLOCK_MONOTONIC, in time order (what `timeline -- CMD` prints).
fn timeline_part(r: &mut Report) -> Result<(), Box<dyn std::error::Error>> {
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; ls / >/dev/null"]);
    let s = ktrace::session::Session::builder().events("sched:sched_switch").syscalls().samples(999);
    let mut s = s.command(cmd).start()?;
    let (mut by_source, mut last, mut ordered) = (std::collections::BTreeMap::<&str, u64>::new(), 0, true);
    for ev in &mut s {
        let ev = ev?;
        ordered &= ev.timestamp().ns >= last;
        last = ev.timestamp().ns;
        *by_source.entry(ev.source()).or_default() += 1;
    }
    let counts: Vec<String> = by_source.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let order = if ordered { "in time order" } else { "OUT OF ORDER" };
    r.ok("session timeline", format!("{} merged {order}, exit {:?}", counts.join(" + "), s.exit_code()));
    Ok(())
}

fn libc_enoent() -> i32 {
    2
}

/// Exercises every ktrace facility this kernel supports on a built-in workload and prints a
/// report, naming each facility it skipped and why. Run as root.
#[derive(clap::Parser)]
#[command(name = "tour", version)]
struct Args {}

fn main() -> std::process::ExitCode {
    ktrace_examples::main(|Args {}| {
        tour();
        Ok(ktrace_examples::Status::SUCCESS)
    })
}

fn tour() {
    let mut r = Report { lines: Vec::new(), skipped: Vec::new() };
    println!(
        "ktrace tour on Linux {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    type Part = fn(&mut Report) -> Result<(), Box<dyn std::error::Error>>;
    let parts: [(&str, Part); 6] = [
        ("ftrace", ftrace_part),
        ("ptrace", ptrace_part),
        ("uprobes", probe_part),
        ("block tracing", blk_part),
        ("sampling", sample_part),
        ("session timeline", timeline_part),
    ];
    for (name, part) in parts {
        if let Err(e) = part(&mut r) {
            r.skip(name, e.to_string());
        }
    }
    let cmd: Vec<String> = ["/bin/sh", "-c", "sleep 0.1; ls / >/dev/null; (sleep 0.1 | cat >/dev/null); exit 0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    match ktrace_sample::bootchart::Chart::record(&cmd, std::time::Duration::from_millis(20)) {
        Ok(c) => {
            let path = std::env::temp_dir().join("ktrace-tour-bootchart.svg");
            let _ = std::fs::write(&path, c.svg());
            r.ok(
                "BootChart",
                format!("{} processes over {:.2} s -> {}", c.processes.len(), c.duration, path.display()),
            );
        }
        Err(e) => r.skip("BootChart", e.to_string()),
    }
    for l in &r.lines {
        println!("{l}");
    }
    println!("skipped {}: {}", r.skipped.len(), r.skipped.iter().map(|s| s.0.as_str()).collect::<Vec<_>>().join(", "));
}
