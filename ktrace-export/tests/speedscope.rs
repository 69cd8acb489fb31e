//! speedscope: a profile of a hot function (ktrace-sample's perf samples with callchains, folded)
//! exported in speedscope's format loads in speedscope (npm) inside headless Chromium, and the
//! rendered page's top row (sandwich view, sorted by self time) names the hottest function. The
//! screenshot is kept as `target/tmp/ktrace-export/speedscope.png`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ktrace_sample::profile::Profiler;
use ktrace_testing::{Skip, skip};

/// Plain operators only: in a debug build, iterator and `wrapping_*` methods are calls of their
/// own that would take the samples.
#[inline(never)]
fn ktrace_export_hot(n: u64) -> u64 {
    let (mut x, mut i) = (1u64, 0u64);
    while i < n {
        x = ((x << 5) ^ (x >> 3)) ^ i;
        i += 1;
    }
    x
}

/// speedscope's page (the npm package .ci/run installs under target/npm, or `KTRACE_SPEEDSCOPE`),
/// when Chromium is there to render it.
fn speedscope(test: &str) -> Option<PathBuf> {
    if !common::have(test, "chromium", &["--version"], "apt-get install chromium") {
        return None;
    }
    let p = std::env::var_os("KTRACE_SPEEDSCOPE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/npm/node_modules/speedscope/dist/release/index.html")
    });
    if p.exists() {
        return Some(p.canonicalize().unwrap());
    }
    skip(
        test,
        Skip::Environment(&format!("no speedscope at {} (npm install --prefix target/npm speedscope)", p.display())),
    );
    None
}

/// Loads `profile` in speedscope (as its CLI does: a script calling `loadFileFromBase64`) in
/// headless Chromium; returns the DOM, and saves a screenshot to `shot`.
pub(crate) fn render(page: &std::path::Path, profile: &std::path::Path, view: &str, shot: &std::path::Path) -> String {
    let b64 = Command::new("base64").arg("-w0").arg(profile).output().unwrap().stdout;
    let js = profile.with_extension("js");
    let name = profile.file_name().unwrap().to_string_lossy();
    std::fs::write(&js, format!("speedscope.loadFileFromBase64({name:?}, \"{}\")", String::from_utf8(b64).unwrap()))
        .unwrap();
    let url = format!("file://{}#localProfilePath={}&view={view}", page.display(), js.display());
    let chrome = |extra: &[&str]| {
        let out = Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader"])
            .args(["--allow-file-access-from-files", "--virtual-time-budget=5000", "--window-size=1000,500"])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(out.status.success(), "chromium: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    chrome(&[&format!("--screenshot={}", shot.display())]);
    String::from_utf8(chrome(&["--dump-dom"])).unwrap()
}

/// The symbol names of the sandwich table's rows, top first.
fn rows(dom: &str) -> Vec<String> {
    dom.split("<tr class=")
        .skip(1)
        .filter_map(|r| {
            let last = r.rsplit("</span>").next()?;
            Some(last.split('<').next()?.to_owned())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

#[test]
fn speedscope_names_the_hottest_function() {
    const T: &str = "speedscope_names_the_hottest_function";
    let Some(page) = speedscope(T) else { return };
    if !ktrace_testing::root(T) {
        return;
    }
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        go_rx.recv().unwrap();
        let end = Instant::now() + Duration::from_millis(600);
        let mut x = 0;
        while Instant::now() < end {
            x ^= ktrace_export_hot(200_000);
        }
        x
    });
    let tid = tid_rx.recv().unwrap();
    let mut prof = Profiler::task(tid, 997).unwrap();
    go_tx.send(()).unwrap();
    while !worker.is_finished() {
        prof.poll();
        std::thread::sleep(Duration::from_millis(10));
    }
    worker.join().unwrap();
    let profile = prof.finish();
    let mut sym = profile.symbolizer(&std::fs::read_to_string("/proc/kallsyms").unwrap_or_default());
    sym.add_proc_maps(std::process::id() as i32);
    let folded = profile.folded(&mut sym);
    let mut leaves: BTreeMap<&str, u64> = BTreeMap::new();
    for (stack, n) in &folded {
        *leaves.entry(stack.rsplit(';').next().unwrap()).or_default() += n;
    }
    let (hottest, n) = leaves.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(hottest.contains("ktrace_export_hot"), "the hot loop leads: {leaves:?}");

    let path = common::tmp("profile.speedscope.json");
    ktrace_export::speedscope::write_folded(&folded, "ktrace_export_hot", std::fs::File::create(&path).unwrap())
        .unwrap();
    let shot = common::tmp("speedscope.png");
    let dom = render(&page, &path, "sandwich", &shot);
    let rows = rows(&dom);
    assert_eq!(rows.first().map(String::as_str), Some(*hottest), "speedscope's top row by self time: {rows:?}");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000, "a screenshot");
    eprintln!(
        "{T}: {} samples, {hottest} {n}; speedscope's top row names it; screenshot {}",
        profile.samples.len(),
        shot.display()
    );
}

#[test]
fn chrome_json_opens_in_speedscope() {
    const T: &str = "chrome_json_opens_in_speedscope";
    let Some(page) = speedscope(T) else { return };
    let Some((dat, _)) = common::recorded(T) else { return };
    let path = common::tmp("speedscope-trace.json");
    // Without the syscalls (most of a system-wide recording), to keep the page small.
    let rec = dat.recording().unwrap();
    let items = rec.items().filter(|i| !matches!(i, Ok(ktrace_ftrace::Item::Event(e)) if e.system() == "raw_syscalls"));
    let mut w = ktrace_export::ChromeJson::new(std::fs::File::create(&path).unwrap()).with_names(&dat.comms());
    ktrace_export::write_items(items, &mut w).unwrap();
    let dom = render(&page, &path, "sandwich", &common::tmp("speedscope-trace.png"));
    assert!(dom.contains("speedscope-trace.json - speedscope"), "speedscope loaded the file");
    // One profile per track, named from the process/thread name metadata: the CPUs' slices.
    assert!(dom.contains("CPUs (pid 1073741824), CPU 0 (tid 0)"), "the CPU tracks");
}
