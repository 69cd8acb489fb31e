//! Live: direct IO of known size and count on a loop device the test attaches itself, seen queued,
//! issued and completed with the right sector and size through the ftrace blk tracer (path 2) and
//! block tracepoints (path 3); blkparse and btt on our files agree with our reader. Path 1 (relay
//! files) runs in the VM tier.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use ktrace_blk::btt::Btt;
use ktrace_blk::relay::RelayTrace;
use ktrace_blk::{Action, BlkFilter, BlkRecord, BlkTracer, Category, FtraceBinRecords, LoopDevice, Records};
use ktrace_ftrace::{BlockPhase, Recorder, Tracefs, Typed};
use ktrace_testing::{Skip, installed, root, skip};

/// The blk tracer is global: tests that use it take turns.
static GLOBAL_TRACER: Mutex<()> = Mutex::new(());

const WRITES: u64 = 16;
const READS: u64 = 8;

/// As root, this test's turn at the global tracer (held while the guard lives) and tracefs; else
/// `None`, the skip of `test` recorded.
fn tracer_turn(test: &str) -> Option<(MutexGuard<'static, ()>, Tracefs)> {
    if !root(test) {
        return None;
    }
    let turn = GLOBAL_TRACER.lock().unwrap_or_else(|e| e.into_inner());
    Some((turn, Tracefs::find_or_mount().unwrap()))
}

/// A fresh directory for files the test hands to the blktrace tools.
fn scratch_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ktrace-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts the ftrace blk tracer on device `name`, or records a kernel-lacks skip of `test`.
fn start_blk_tracer(test: &str, fs: &Tracefs, name: &str) -> Option<BlkTracer> {
    match BlkTracer::start(fs, name, &BlkFilter::default()) {
        Err(e) if e.is_unsupported() => {
            skip(test, Skip::KernelLacks { feature: "blk tracer", why: &e.to_string() });
            None
        }
        r => Some(r.unwrap()),
    }
}

/// Every record of the per-CPU buffers `bufs` (each of `version` when given), checked for sequence
/// gaps.
fn records_of(bufs: &[Vec<u8>], version: Option<u8>) -> Vec<BlkRecord<'_>> {
    let mut all = Vec::new();
    for buf in bufs {
        for r in Records::new(buf) {
            let r = r.unwrap();
            if let Some(v) = version {
                assert_eq!(r.version(), v, "record version differs from the setup's");
            }
            all.push(r);
        }
    }
    assert!(ktrace_blk::record::sequence_gaps(all.iter().copied()).is_empty(), "sequence gaps");
    all
}

/// 4 KiB writes at offsets 0, 8 KiB, 16 KiB… then 4 KiB reads of the first ones, all O_DIRECT.
fn workload(dev: &std::path::Path) {
    let mut raw = vec![0u8; 3 * 4096];
    let off = raw.as_ptr().align_offset(4096);
    let buf = &mut raw[off..off + 4096];
    buf.fill(0xa5);
    let mut f = std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_DIRECT).open(dev).unwrap();
    for i in 0..WRITES {
        f.seek(SeekFrom::Start(i * 8192)).unwrap();
        f.write_all(buf).unwrap();
    }
    for i in 0..READS {
        f.seek(SeekFrom::Start(i * 8192)).unwrap();
        f.read_exact(buf).unwrap();
    }
}

/// A disk the test may write: in the VM tier the scratch virtio disk /dev/vda, here a loop device
/// (kept alive by the returned guard).
fn scratch_device() -> (Option<LoopDevice>, std::path::PathBuf) {
    let vda = std::path::Path::new("/dev/vda");
    if ktrace_testing::in_vm() && vda.exists() {
        return (None, vda.to_owned());
    }
    let lo = LoopDevice::create_temp(64 << 20).unwrap();
    let p = lo.path().to_owned();
    (Some(lo), p)
}

/// As root, a relay session (`buf_nr` buffers) on a [`scratch_device`], returned with the device's
/// guard and path; or `None`, the skip of `test` recorded (`feature`: what the kernel lacks).
fn relay_on_scratch(
    test: &str,
    feature: &str,
    buf_nr: u32,
) -> Option<(Option<LoopDevice>, std::path::PathBuf, RelayTrace)> {
    if !root(test) {
        return None;
    }
    let (lo, dev_path) = scratch_device();
    let t = start_relay(test, feature, &dev_path, buf_nr)?;
    Some((lo, dev_path, t))
}

/// Starts a relay session on `dev`, or records a kernel-lacks skip of `test` under `feature`.
fn start_relay(test: &str, feature: &str, dev: &std::path::Path, buf_nr: u32) -> Option<RelayTrace> {
    let mut started = RelayTrace::start(dev, 0xffff, 1 << 16, buf_nr);
    if matches!(started, Err(ktrace_blk::Error::NoDebugfs { .. })) {
        // Most distributions mount debugfs at boot; a bare machine may not have it (as blktrace itself, the
        // library does not mount it for the user). The test does, then tries again.
        let _ = Command::new("mount").args(["-t", "debugfs", "none", "/sys/kernel/debug"]).status();
        started = RelayTrace::start(dev, 0xffff, 1 << 16, buf_nr);
    }
    match started {
        Err(e) if e.is_unsupported() => {
            skip(test, Skip::KernelLacks { feature, why: &e.to_string() });
            None
        }
        r => Some(r.unwrap()),
    }
}

/// btt's analysis of records fed in time order.
fn btt_of(recs: &[BlkRecord<'_>]) -> Btt {
    let mut sorted = recs.to_vec();
    sorted.sort_by_key(|r| r.time());
    let mut btt = Btt::new();
    for r in &sorted {
        btt.feed(r);
    }
    btt
}

/// (action letter, sector, bytes) of Q/D/C records, as a set per kind.
fn check_ios<'a>(recs: impl Iterator<Item = BlkRecord<'a>>) {
    let mut seen: BTreeMap<(&str, u64, bool), u32> = BTreeMap::new();
    for r in recs {
        if r.is_notify() || !matches!(r.action(), Action::QUEUE | Action::ISSUE | Action::COMPLETE) {
            continue;
        }
        assert_eq!(r.bytes(), 4096, "record {:?} at sector {}", r.action(), r.sector());
        *seen.entry((r.action().letter(), r.sector(), r.category().contains(Category::WRITE))).or_default() += 1;
    }
    for l in ["Q", "D", "C"] {
        for i in 0..WRITES {
            assert_eq!(seen.get(&(l, i * 16, true)), Some(&1), "write {i}: {l} missing");
        }
        for i in 0..READS {
            assert_eq!(seen.get(&(l, i * 16, false)), Some(&1), "read {i}: {l} missing");
        }
    }
}

/// blkparse's lines as (letter, sector, blocks) triples for Q/D/C.
fn blkparse(base: &std::path::Path) -> Vec<(String, u64, u64)> {
    let out = Command::new("blkparse").arg("-i").arg(base).args(["-q", "-f", "%a %S %n\n"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (a, s, n) = (w.next()?, w.next()?.parse().ok()?, w.next()?.parse().ok()?);
            matches!(a, "Q" | "D" | "C").then(|| (a.to_owned(), s, n))
        })
        .collect()
}

/// Our Q/D/C triples equal what blkparse prints for the files at `base` (sorted, as multisets).
fn assert_blkparse_agrees<'a>(recs: impl Iterator<Item = BlkRecord<'a>>, base: &std::path::Path) {
    let mut ours: Vec<(String, u64, u64)> = recs
        .filter(|r| !r.is_notify() && matches!(r.action(), Action::QUEUE | Action::ISSUE | Action::COMPLETE))
        .map(|r| (r.action().letter().to_owned(), r.sector(), u64::from(r.bytes()) / 512))
        .collect();
    let mut theirs = blkparse(base);
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "blkparse disagrees with our reader on {}", base.display());
}

/// btt's average Q2C and D2C in seconds.
fn btt_avgs(base: &std::path::Path, dir: &std::path::Path) -> (f64, f64) {
    let bin = dir.join("dump.bin");
    let st = Command::new("blkparse").arg("-i").arg(base).arg("-d").arg(&bin).args(["-O"]).status().unwrap();
    assert!(st.success());
    // btt writes its per-device `*_iops_fp.dat`/`*_mbps_fp.dat` files into the working directory.
    let out = Command::new("btt").current_dir(dir).arg("-i").arg(&bin).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let avg = |name: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("btt has no {name}: {text}"));
        line.split_whitespace().nth(2).unwrap().parse().unwrap()
    };
    (avg("Q2C"), avg("D2C"))
}

#[test]
fn ftrace_blk_tracer_sees_every_io_and_blkparse_btt_agree() {
    const T: &str = "ftrace_blk_tracer_sees_every_io_and_blkparse_btt_agree";
    let Some((_g, fs)) = tracer_turn(T) else { return };
    let dev = LoopDevice::create_temp(64 << 20).unwrap();
    let Some(t) = start_blk_tracer(T, &fs, &dev.name()) else { return };
    workload(dev.path());
    let data = t.stop().unwrap();
    assert_eq!(fs.read("current_tracer").unwrap().trim(), "nop", "tracer not restored");
    let (recs, lost) = FtraceBinRecords::new(&data).split().unwrap();
    assert!(lost.is_empty(), "{lost:?}");
    check_ios(recs.iter().copied());

    // Our per-CPU files, as blktrace writes them: blkparse and btt read them.
    let dir = scratch_dir("blk");
    let base = dir.join(dev.name());
    for (cpu, bytes) in ktrace_blk::record::per_cpu_files(recs.iter().copied()) {
        std::fs::write(dir.join(format!("{}.blktrace.{cpu}", dev.name())), &bytes).unwrap();
        // Reading our file back gives the same records.
        assert_eq!(Records::new(&bytes).count(), recs.iter().filter(|r| r.cpu() == cpu).count());
    }
    if !installed(T, &["blkparse", "-v"], "blktrace") {
        return;
    }
    assert_blkparse_agrees(recs.iter().copied(), &base);

    let btt = btt_of(&recs);
    let (q2c, d2c) = btt_avgs(&base, &dir);
    let close = |a: f64, b: f64| (a - b).abs() <= b.abs() * 0.01 + 2e-6;
    assert!(close(btt.q2c().avg / 1e9, q2c), "Q2C ours {} btt {q2c}", btt.q2c().avg / 1e9);
    assert!(close(btt.d2c().avg / 1e9, d2c), "D2C ours {} btt {d2c}", btt.d2c().avg / 1e9);
    assert_eq!(btt.q2c().n, WRITES + READS);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The ftrace `blk` tracer on whatever kernel runs the test, without peers: every IO seen through
/// our reader, all records of one version (the kernel's: 7 here; sid's 7.2 writes v8 fields under
/// a v7 magic, which the reader recognizes; a smoke test on the sid guest).
#[test]
fn ftrace_blk_tracer_records_in_this_kernels_version() {
    const T: &str = "ftrace_blk_tracer_records_in_this_kernels_version";
    let Some((_g, fs)) = tracer_turn(T) else { return };
    let (_lo, dev_path) = scratch_device();
    let name = dev_path.file_name().unwrap().to_string_lossy().into_owned();
    let Some(t) = start_blk_tracer(T, &fs, &name) else { return };
    workload(&dev_path);
    let data = t.stop().unwrap();
    let (recs, lost) = FtraceBinRecords::new(&data).split().unwrap();
    assert!(lost.is_empty(), "{lost:?}");
    let versions: std::collections::BTreeSet<u8> = recs.iter().map(|r| r.version()).collect();
    eprintln!("blk tracer record versions: {versions:?}");
    assert_eq!(versions.len(), 1, "one version per kernel: {versions:?}");
    check_ios(recs.iter().copied());
    // Our per-CPU files (proper v7 whatever the kernel wrote) read by blkparse give the same IOs.
    if !installed(T, &["blkparse", "-v"], "blktrace") {
        return;
    }
    let dir = scratch_dir("blk-v");
    // One file per CPU, as blktrace leaves them (empty for a CPU that did no IO).
    let files = ktrace_blk::record::per_cpu_files(recs.iter().copied());
    let ncpu = std::thread::available_parallelism().unwrap().get() as u32;
    for cpu in 0..ncpu.max(files.keys().max().map_or(0, |c| c + 1)) {
        std::fs::write(dir.join(format!("{name}.blktrace.{cpu}")), files.get(&cpu).map_or(&[][..], Vec::as_slice))
            .unwrap();
    }
    assert_blkparse_agrees(recs.iter().copied(), &dir.join(&name));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn block_tracepoints_see_every_io() {
    const T: &str = "block_tracepoints_see_every_io";
    if !root(T) {
        return;
    }
    let fs = Tracefs::find_or_mount().unwrap();
    let dev = LoopDevice::create_temp(64 << 20).unwrap();
    let (maj, min) = dev.major_minor().unwrap();
    let inst = fs.new_instance().unwrap();
    inst.enable_event("block", "block_rq_issue").unwrap();
    inst.enable_event("block", "block_rq_complete").unwrap();
    inst.set_filter("block", "block_rq_issue", &format!("dev == {}", (maj << 20) | min)).unwrap();
    inst.set_filter("block", "block_rq_complete", &format!("dev == {}", (maj << 20) | min)).unwrap();
    let rec = Recorder::start(&inst).unwrap();
    workload(dev.path());
    let recording = rec.stop().unwrap();
    let mut seen: BTreeMap<(u8, u64, bool), u32> = BTreeMap::new();
    for ev in recording.events() {
        if let Typed::BlockRq { phase, sector, nr_sector, rwbs, dev: d, .. } = ev.unwrap().typed().unwrap() {
            assert_eq!(d, (maj << 20) | min);
            assert_eq!(nr_sector, 8);
            let p = match phase {
                BlockPhase::Issue => 0,
                BlockPhase::Complete => 1,
                BlockPhase::Insert => 2,
            };
            *seen.entry((p, sector, rwbs.contains(&b'W'))).or_default() += 1;
        }
    }
    for p in [0u8, 1] {
        for (n, write, what) in [(WRITES, true, "write"), (READS, false, "read")] {
            for i in 0..n {
                let got = seen.get(&(p, i * 16, write));
                assert_eq!(got, Some(&1), "{what} {i} phase {p}: lost {} seen {seen:?}", recording.lost_total());
            }
        }
    }
}

#[test]
fn classic_blktrace_relay_sees_every_io() {
    const T: &str = "classic_blktrace_relay_sees_every_io";
    let Some((_lo, dev_path, t)) = relay_on_scratch(T, "blk_relay", 8) else { return };
    workload(&dev_path);
    // BLKTRACESETUP2 where the kernel has it (v8 records), else the v7 fallback (the VM's 6.1).
    let version = t.version();
    let (per_cpu, dropped) = t.stop().unwrap();
    assert_eq!(RelayTrace::lost(dropped), None);
    let all = records_of(&per_cpu, Some(version));
    check_ios(all.into_iter());
}

/// The real `blktrace` tool's per-CPU files (relay path; the VM tier runs this where the relay
/// files are allowed) read by our parser: every IO seen, and the same Q/D/C triples as blkparse
/// prints for the same files.
#[test]
fn files_written_by_real_blktrace_parse_like_blkparse() {
    const T: &str = "files_written_by_real_blktrace_parse_like_blkparse";
    if !installed(T, &["blktrace", "-v"], "blktrace") {
        return;
    }
    // blktrace needs the relay files: probe for them the way our own relay reader does.
    let Some((_lo, dev_path, probe)) = relay_on_scratch(T, "blk_relay", 4) else { return };
    drop(probe.stop().unwrap());
    let dir = scratch_dir("real-blktrace");
    let bt = Command::new("blktrace")
        .arg("-d")
        .arg(&dev_path)
        .args(["-o", "bt", "-D"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It is tracing once its per-CPU files exist.
    let ncpu = std::thread::available_parallelism().unwrap().get();
    let t0 = std::time::Instant::now();
    while (0..ncpu).any(|c| !dir.join(format!("bt.blktrace.{c}")).exists()) {
        assert!(t0.elapsed().as_secs() < 20, "blktrace did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    workload(&dev_path);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(bt.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = bt.wait_with_output().unwrap();
    assert!(out.status.success(), "blktrace: {}", String::from_utf8_lossy(&out.stderr));
    let mut files = Vec::new();
    for c in 0..ncpu {
        files.push(std::fs::read(dir.join(format!("bt.blktrace.{c}"))).unwrap());
    }
    let all = records_of(&files, None);
    assert_blkparse_agrees(all.iter().copied(), &dir.join("bt"));
    check_ios(all.into_iter());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// VM tier on a kernel with blktrace v2 (`vm --kernel sid`, Linux 6.19+): BLKTRACESETUP2 gives
/// version-8 (`blk_io_trace2`) records, every IO seen and btt-matched.
#[test]
fn blktrace2_relay_writes_version_8_records() {
    const T: &str = "blktrace2_relay_writes_version_8_records";
    let Some((_lo, dev_path, t)) = relay_on_scratch(T, "blktrace2", 8) else { return };
    if t.version() != ktrace_blk::record::VERSION2 {
        t.stop().unwrap();
        let why = "BLKTRACESETUP2 refused (before 6.19): version-7 records only";
        return skip(T, Skip::KernelLacks { feature: "blktrace2", why });
    }
    workload(&dev_path);
    let (per_cpu, dropped) = t.stop().unwrap();
    assert_eq!(RelayTrace::lost(dropped), None);
    let all = records_of(&per_cpu, Some(ktrace_blk::record::VERSION2));
    let btt = btt_of(&all);
    assert!(btt.q2c().n >= WRITES + READS, "btt matched {} IOs", btt.q2c().n);
    check_ios(all.into_iter());
}

/// Sums `overrun` of every CPU's ring (`per_cpu/cpuN/stats`) of the top-level instance.
fn global_overruns(fs: &Tracefs) -> u64 {
    let dir = fs.root().join("per_cpu");
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stats")).ok())
        .map(|t| ktrace_ftrace::CpuStats::parse(&t).overrun)
        .sum()
}

/// Direct 4 KiB writes in a burst: several records each, far more than a 4 KiB ring holds.
const IOS: u64 = 8192;
fn write_burst(dev_path: &std::path::Path) {
    let mut raw = vec![0u8; 3 * 4096];
    let off = raw.as_ptr().align_offset(4096);
    let buf = &mut raw[off..off + 4096];
    let mut f = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(dev_path).unwrap();
    for i in 0..IOS {
        f.seek(SeekFrom::Start((i % 4096) * 4096)).unwrap();
        f.write_all(buf).unwrap();
    }
}

/// When the blk tracer's ring overflows, the kernel writes `CPU:N [LOST M EVENTS]` lines into
/// the binary `trace_pipe` stream: with a 4 KiB-per-CPU ring and a burst of direct IO while the
/// streaming consumer does not read, every loss must come out as a `Lost` item, the records
/// around it still read, and the counts add up to the rings' `overrun` statistics.
#[test]
fn ftrace_blk_tracer_losses_are_lost_items() {
    const T: &str = "ftrace_blk_tracer_losses_are_lost_items";
    let Some((_g, fs)) = tracer_turn(T) else { return };
    let global = ktrace_ftrace::Instance::global(&fs);
    let old_kb = global.buffer_size_kb().unwrap();
    global.set_buffer_size_kb(4).unwrap();
    let (_lo, dev_path) = scratch_device();
    let name = dev_path.file_name().unwrap().to_string_lossy().into_owned();
    let mut t = match BlkTracer::start_streaming(&fs, &name, &BlkFilter::default()) {
        Err(e) if e.is_unsupported() => {
            global.set_buffer_size_kb(old_kb).unwrap();
            return skip(T, Skip::KernelLacks { feature: "blk tracer", why: &e.to_string() });
        }
        r => r.unwrap(),
    };
    write_burst(&dev_path);
    // The IO is over: no more records, so the rings' overrun counts are final.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let overrun = global_overruns(&fs);
    // The consumer reads now, in bounded chunks: a 64 KiB buffer at a time.
    let mut data = Vec::new();
    let mut buf = Vec::with_capacity(64 << 10);
    loop {
        let items = t.read(&mut buf, std::time::Duration::from_millis(50)).unwrap();
        assert!(items.clone().all(|i| i.is_ok()), "every chunk parses on its own");
        if buf.is_empty() {
            break;
        }
        assert!(buf.len() <= (64 << 10) + 4096, "a read stays within its buffer: {}", buf.len());
        data.extend_from_slice(&buf);
    }
    data.extend(t.stop().unwrap());
    global.set_buffer_size_kb(old_kb).unwrap();
    let (recs, lost) = FtraceBinRecords::new(&data).split().unwrap();
    let counted: u64 = lost.iter().filter_map(|l| l.count).sum();
    let completes = recs.iter().filter(|r| r.action() == Action::COMPLETE && !r.is_notify()).count();
    eprintln!(
        "{} records ({completes} completions of {IOS} writes), {} lost-events lines, {counted} events lost; rings' overrun {overrun}",
        recs.len(),
        lost.len()
    );
    assert!(!lost.is_empty(), "no loss: the reader kept up with {} records", recs.len());
    assert!(lost.iter().all(|l| l.count.is_some()), "trace_pipe knows its counts: {lost:?}");
    // Which records the kernel drops depends on timing (the lost ones need not be completions).
    assert!(completes > 0, "{completes} completions");
    assert_eq!(counted, overrun, "lost events in the stream vs the rings' overrun");
}

/// The same accounting through [`BlkTracer::start`], whose drain threads take the ring's full
/// pages: with a 4 KiB ring per CPU woken only when full (`buffer_percent` 100) and two writers at
/// once, whatever the rings overrun comes out as `Lost` items (the pages' missed-events notices,
/// plus what the counters saw beyond them), the counts adding up to the rings' `overrun` (zeroed
/// when tracing started). On this 2-CPU host the drain kept up: 98k records, none lost.
#[test]
fn ftrace_blk_tracer_drain_reports_every_overrun() {
    const T: &str = "ftrace_blk_tracer_drain_reports_every_overrun";
    let Some((_g, fs)) = tracer_turn(T) else { return };
    let global = ktrace_ftrace::Instance::global(&fs);
    let old_kb = global.buffer_size_kb().unwrap();
    let old_pct = global.read("buffer_percent").unwrap();
    global.set_buffer_size_kb(4).unwrap();
    global.set_buffer_percent(100).unwrap();
    let restore = || {
        global.set_buffer_size_kb(old_kb).unwrap();
        global.write("buffer_percent", old_pct.trim()).unwrap();
    };
    let (_lo, dev_path) = scratch_device();
    let name = dev_path.file_name().unwrap().to_string_lossy().into_owned();
    let Some(t) = start_blk_tracer(T, &fs, &name) else { return restore() };
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| write_burst(&dev_path));
        }
    });
    let data = t.stop().unwrap();
    let overrun = global_overruns(&fs);
    restore();
    let (recs, lost) = FtraceBinRecords::new(&data).split().unwrap();
    let counted: u64 = lost.iter().filter_map(|l| l.count).sum();
    eprintln!(
        "{} records, {} lost-events lines, {counted} events lost; rings' overrun {overrun}",
        recs.len(),
        lost.len()
    );
    assert!(lost.iter().all(|l| l.count.is_some()), "every loss has its count: {lost:?}");
    let completes = recs.iter().filter(|r| r.action() == Action::COMPLETE && !r.is_notify()).count() as u64;
    assert!(completes > 0, "records around any losses read");
    if lost.is_empty() {
        assert_eq!(completes, 2 * IOS, "no loss reported, so every write's completion is there");
    }
    assert_eq!(counted, overrun, "lost events in the stream vs the rings' overrun");
}
