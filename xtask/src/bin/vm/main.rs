//! The VM test tier: runs the tests this machine's kernel cannot (kprobes, function and
//! function_graph tracers, blktrace relay files…) inside qemu on Debian's stock kernel.
//!
//! ```sh
//! cargo run -p xtask --bin vm -- [--kernel 6.1|6.12|sid] [--skip-log FILE] [--only-feature F]…
//!     [--not-feature F]… [--test NAME]… [--timeout SECS] [--require-skipped]
//! ```
//!
//! `--kernel 6.12` boots Debian trixie's 6.12 cloud kernel instead of bookworm's 6.1, for what
//! 6.1 lacks (BTF argument names in probe events, fprobes); `--kernel sid` Debian sid's newest
//! (7.x: blktrace v2); `--only-feature`/`--not-feature` route the skip log's tests by the feature
//! they lacked.
//!
//! 1. Fetches the newest `linux-image-6.1.0-*-cloud-amd64` with `apt-get download` into `.vm-cache/`
//!    (kept between runs) and unpacks it with `dpkg -x`.
//! 2. Builds the workspace's test binaries statically (`-C target-feature=+crt-static`), finds which
//!    binary holds each requested test (`--list`), strips them.
//! 3. Packs busybox, the virtio/null_blk modules and the binaries into an initramfs whose `/init`
//!    mounts proc/sys/devtmpfs/tracefs/debugfs, loads the modules and runs each test with
//!    `KTRACE_VM=1` (where any skip fails), printing `KTRACE-VM-RESULT <test> <rc>` lines. The
//!    kernel starts `/init` through the BootChart init wrapper (`/bin/bootchart --init`), whose
//!    chart of the boot a test checks.
//! 4. Boots `qemu-system-x86_64 -accel tcg` with a virtio disk and a hard timeout; parses the console.
//!
//! Exits non-zero, naming the cause, on a failed test (its output is shown), a test that never
//! reported, a kernel panic, a timeout, a missing package or a qemu that does not start.
//!
//! Tests run: the smoke tests, every `--test`, and every test in `--skip-log` (the
//! `KTRACE_SKIP_LOG` file of the live run). With `--require-skipped`, a test in the skip log that
//! is not found or does not pass here fails the run: a test skipped in both places fails CI.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SMOKE: &[&str] = &[
    BOOTCHART_TEST,
    "kprobe_on_do_sys_openat2_fetches_the_path",
    "function_tracer_with_filter_sees_the_filtered_function",
    "function_graph_nests_calls_with_durations",
];
const MODULES: &[&str] = &[
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "fs/configfs/configfs.ko",
    "drivers/block/null_blk/null_blk.ko",
];
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// Peer tools the guest's tests run (dynamically linked: packed with the libraries `ldd` names).
const HOST_TOOLS: &[(&str, &str)] = &[("/usr/sbin/blktrace", "blktrace"), ("/usr/bin/blkparse", "blktrace")];
/// The guest boots through the BootChart init wrapper (`bootchart --init --exec /init …`); this test
/// (run first, so the logger's sampling stops early) checks the boot's chart.
const BOOTCHART_TEST: &str = "bootchart_init_wrapper_charts_the_boot";
const BOOTCHART_INIT: &str = "rdinit=/bin/bootchart -- --init --exec /init -i 50 --max 300 -o /run/ktrace-bootchart.svg --until-file /run/ktrace-bootchart.stop";

mod kernel;

use kernel::{Guest, kernel};

type Res<T> = Result<T, String>;

fn run(cmd: &mut Command, what: &str) -> Res<String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds static test binaries; returns their executables and the static `bootchart` binary.
fn build_tests() -> Res<(Vec<PathBuf>, Option<PathBuf>)> {
    eprintln!("vm: building static test binaries");
    let out = Command::new("cargo")
        .args(["test", "--workspace", "--no-run", "--message-format=json", "--target", TARGET])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo: {e}"))?;
    if !out.status.success() {
        return Err("building the static test binaries failed".into());
    }
    let (mut exes, mut bootchart) = (Vec::new(), None);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("reason").and_then(|r| r.as_str()) != Some("compiler-artifact") {
            continue;
        }
        let Some(exe) = v.get("executable").and_then(|e| e.as_str()) else { continue };
        if v.pointer("/profile/test").and_then(|t| t.as_bool()) == Some(true) {
            exes.push(PathBuf::from(exe));
        } else if v.pointer("/target/name").and_then(|n| n.as_str()) == Some("bootchart") {
            // Built for the examples' integration tests (CARGO_BIN_EXE_bootchart), static too.
            bootchart = Some(PathBuf::from(exe));
        }
    }
    Ok((exes, bootchart))
}

/// Which binary holds each test.
fn locate(exes: &[PathBuf], wanted: &[String]) -> Res<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    for exe in exes {
        let list = run(Command::new(exe).args(["--list", "--format", "terse"]), "listing tests")?;
        for l in list.lines() {
            let Some(name) = l.strip_suffix(": test") else {
                continue;
            };
            let short = name.rsplit("::").next().unwrap_or(name);
            if wanted.iter().any(|w| w == name || w == short) {
                found.insert(short.to_owned(), exe.clone());
            }
        }
    }
    Ok(found)
}

fn initramfs(
    work: &Path,
    moddir: &Path,
    modules_list: &[&str],
    tests: &BTreeMap<String, PathBuf>,
    bootchart: &Path,
    extra: &Extra,
) -> Res<PathBuf> {
    let root = work.join("initramfs");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "tests", "modules", "etc", "proc", "sys", "dev", "tmp", "run"] {
        std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .map_err(|e| format!("/bin/busybox (install busybox-static): {e}"))?;
    run(Command::new("strip").arg("-o").arg(root.join("bin/bootchart")).arg(bootchart), "strip bootchart")?;
    for (tool, package) in HOST_TOOLS {
        pack_dynamic(&root, Path::new(tool)).map_err(|e| format!("{tool} (install {package}): {e}"))?;
    }
    let mut modules = String::new();
    for m in modules_list {
        let src = moddir.join(m);
        let name = Path::new(m).file_name().unwrap_or_default().to_string_lossy().into_owned();
        let name = match name.strip_suffix(".xz") {
            // busybox insmod takes plain modules: decompress xz-compressed ones.
            Some(plain) => {
                let out = Command::new("xz")
                    .arg("-dc")
                    .arg(&src)
                    .output()
                    .map_err(|e| format!("xz (install xz-utils): {e}"))?;
                if !out.status.success() {
                    return Err(format!("xz -dc {}: {}", src.display(), String::from_utf8_lossy(&out.stderr)));
                }
                std::fs::write(root.join("modules").join(plain), out.stdout).map_err(|e| e.to_string())?;
                plain.to_owned()
            }
            None => {
                std::fs::copy(&src, root.join("modules").join(&name)).map_err(|e| format!("{}: {e}", src.display()))?;
                name
            }
        };
        modules.push_str(&format!("/modules/{name} "));
    }
    let mut list = String::new();
    // The boot chart's test first: it ends the boot logger's sampling.
    let mut ordered: Vec<(&String, &PathBuf)> = tests.iter().collect();
    ordered.sort_by_key(|(n, _)| n.as_str() != BOOTCHART_TEST);
    for (name, exe) in ordered {
        let base = exe.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let dst = root.join("tests").join(&base);
        if !dst.exists() {
            run(Command::new("strip").arg("-o").arg(&dst).arg(exe), "strip")?;
        }
        list.push_str(&format!("{base} {name}\n"));
    }
    std::fs::write(root.join("tests.list"), list).map_err(|e| e.to_string())?;
    std::fs::write(root.join("etc/hostname"), "ktrace-vm\n").map_err(|e| e.to_string())?;
    let env = extra.env.join(" ");
    let init_extra = extra.init.join("\n");
    let init = format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t debugfs nodev /sys/kernel/debug
mount -t tracefs nodev /sys/kernel/tracing
for m in {modules}; do insmod $m || echo "KTRACE-VM-WARN insmod $m failed"; done
echo "KTRACE-VM-KERNEL $(uname -r)"
export KTRACE_VM=1 KTRACE_REQUIRE_ALL=1 RUST_BACKTRACE=1 {env}
{init_extra}
while read bin name; do
  echo "KTRACE-VM-BEGIN $name"
  /tests/$bin --exact "$name" --test-threads=1 --nocapture 2>&1
  echo "KTRACE-VM-RESULT $name $?"
done < /tests.list
echo KTRACE-VM-DONE
poweroff -f
"#
    );
    let ip = root.join("init");
    std::fs::write(&ip, init).map_err(|e| e.to_string())?;
    run(Command::new("chmod").arg("755").arg(&ip), "chmod")?;
    let img = work.join("initramfs.cpio");
    run(
        Command::new("sh").arg("-c").arg(format!(
            "cd '{}' && find . | cpio -o -H newc --quiet > '{}'",
            root.display(),
            img.display()
        )),
        "cpio (install cpio)",
    )?;
    Ok(img)
}

/// Copies a dynamically linked host binary and the libraries it loads to the same paths under `root`.
fn pack_dynamic(root: &Path, bin: &Path) -> Res<()> {
    let rel = |p: &Path| root.join(p.strip_prefix("/").unwrap_or(p));
    let mut files = vec![bin.to_path_buf()];
    let ldd = run(Command::new("ldd").arg(bin), "ldd")?;
    for l in ldd.lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
        let path = l.split("=>").last().and_then(|r| r.split_whitespace().next()).filter(|p| p.starts_with('/'));
        if let Some(p) = path {
            files.push(PathBuf::from(p));
        }
    }
    for f in files {
        let dst = rel(&f);
        if let Some(d) = dst.parent() {
            std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
        }
        std::fs::copy(&f, &dst).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}

/// Fault injection for the runner's own tests: extra guest environment and init commands.
#[derive(Debug, Default)]
struct Extra {
    env: Vec<String>,
    init: Vec<String>,
}

#[derive(Debug, Default)]
struct Outcome {
    results: BTreeMap<String, i32>,
    output: BTreeMap<String, Vec<String>>,
    done: bool,
    panic: Option<String>,
    kernel: String,
}

fn boot(work: &Path, vmlinuz: &Path, initrd: &Path, timeout: Duration) -> Res<(Outcome, Vec<String>)> {
    let append = format!("console=ttyS0 panic=-1 oops=panic loglevel=4 {BOOTCHART_INIT}");
    let disk = work.join("disk.img");
    if !disk.exists() {
        let f = std::fs::File::create(&disk).map_err(|e| e.to_string())?;
        f.set_len(64 << 20).map_err(|e| e.to_string())?;
    }
    let qemu = std::env::var("KTRACE_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".into());
    let mut child = Command::new(&qemu)
        // Single-threaded TCG: with multi-threaded TCG the guest's ftrace code patching (text_poke
        // across CPUs) has double-faulted the 6.1 guest under function_graph.
        .args(["-accel", "tcg,thread=single", "-cpu", "max", "-m", "1024", "-smp", "2", "-nographic", "-no-reboot"])
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(&append)
        .arg("-drive")
        .arg(format!("file={},if=virtio,format=raw", disk.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("qemu ({qemu}) did not start: {e} (install qemu-system-x86)"))?;
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().ok_or("no qemu stdout")?;
    let err = child.stderr.take().ok_or("no qemu stderr")?;
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx2.send(format!("qemu: {l}"));
        }
    });
    let start = Instant::now();
    let mut o = Outcome::default();
    let mut console = Vec::new();
    let mut current: Option<String> = None;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            let last: Vec<_> = console.iter().rev().take(30).rev().cloned().collect();
            return Err(format!(
                "VM timed out after {timeout:?} (guest hung?) while running {:?}; last console lines:\n{}",
                current,
                last.join("\n")
            ));
        }
        match rx.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(l) => {
                let l = l.trim_end_matches('\r').to_owned();
                if std::env::var("KTRACE_VM_VERBOSE").is_ok() {
                    eprintln!("{l}");
                }
                if let Some(k) = l.split("KTRACE-VM-KERNEL ").nth(1) {
                    o.kernel = k.to_owned();
                    eprintln!("vm: guest kernel {k} up after {:.1?}", start.elapsed());
                } else if let Some(n) = l.strip_prefix("KTRACE-VM-BEGIN ") {
                    current = Some(n.to_owned());
                } else if let Some(r) = l.strip_prefix("KTRACE-VM-RESULT ") {
                    let mut w = r.split_whitespace();
                    if let (Some(n), Some(rc)) = (w.next(), w.next().and_then(|x| x.parse().ok())) {
                        eprintln!("vm: {n}: {}", if rc == 0 { "ok".to_owned() } else { format!("FAILED (exit {rc})") });
                        o.results.insert(n.to_owned(), rc);
                    }
                    current = None;
                } else if l.contains("KTRACE-VM-DONE") {
                    o.done = true;
                } else if l.contains("Kernel panic") && o.panic.is_none() {
                    o.panic = Some(l.clone());
                } else if let Some(n) = &current {
                    o.output.entry(n.clone()).or_default().push(l.clone());
                }
                console.push(l);
                if o.panic.is_some() && console.len() > 200 {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(_)) = child.try_wait() {
                    // qemu exited; drain what is left.
                    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
                        console.push(l);
                    }
                    break;
                }
                if o.panic.is_some() {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let status = child.wait().map_err(|e| e.to_string())?;
    if o.kernel.is_empty() && !o.done {
        return Err(format!(
            "the guest never started /init (qemu {status}); console:\n{}",
            console.iter().rev().take(40).rev().cloned().collect::<Vec<_>>().join("\n")
        ));
    }
    Ok((o, console))
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("vm: FAILED: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let mut wanted: Vec<String> = Vec::new();
    let mut from_skips = Vec::new();
    let mut timeout = Duration::from_secs(480);
    let mut require_skipped = false;
    let mut extra = Extra::default();
    let mut guest = Guest::Bookworm61;
    let (mut only_features, mut not_features): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--kernel" => {
                guest = match args.next().as_deref() {
                    Some("6.1") => Guest::Bookworm61,
                    Some("6.12") => Guest::Trixie612,
                    Some("sid") => Guest::Sid,
                    other => return Err(format!("--kernel 6.1|6.12|sid, not {other:?}")),
                }
            }
            "--only-feature" => only_features.push(args.next().ok_or("--only-feature FEATURE")?),
            "--not-feature" => not_features.push(args.next().ok_or("--not-feature FEATURE")?),
            "--test" => wanted.push(args.next().ok_or("--test NAME")?),
            "--timeout" => {
                timeout = Duration::from_secs(args.next().and_then(|s| s.parse().ok()).ok_or("--timeout SECS")?)
            }
            "--skip-log" => {
                let p = args.next().ok_or("--skip-log FILE")?;
                if let Ok(t) = std::fs::read_to_string(&p) {
                    for l in t.lines() {
                        let mut cols = l.split('\t');
                        if let Some(n) = cols.next().filter(|n| !n.is_empty()) {
                            from_skips.push((n.to_owned(), cols.next().unwrap_or("").to_owned()));
                        }
                    }
                }
            }
            "--require-skipped" => require_skipped = true,
            "--guest-env" => extra.env.push(args.next().ok_or("--guest-env K=V")?),
            "--init-extra" => extra.init.push(args.next().ok_or("--init-extra CMD")?),
            "-h" | "--help" => {
                println!(
                    "usage: vm [--kernel 6.1|6.12|sid] [--skip-log FILE [--only-feature F]... [--not-feature F]...] [--test NAME]... [--timeout SECS] [--require-skipped]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    // Smoke tests: the 6.1 guest's, or on the newer ones the boot chart, a kprobe and their
    // taskstats version (6.12's instances lack set_graph_function, which the graph test uses).
    let smoke: &[&str] = match guest {
        Guest::Bookworm61 => SMOKE,
        Guest::Trixie612 | Guest::Sid => &[
            BOOTCHART_TEST,
            "kprobe_on_do_sys_openat2_fetches_the_path",
            "taskstats_of_this_process_parse_on_this_kernel",
            "ftrace_blk_tracer_records_in_this_kernels_version",
        ],
    };
    wanted.extend(smoke.iter().map(|s| s.to_string()));
    // Route skipped tests by the feature they lacked: a kernel takes the features it has.
    from_skips.retain(|(_, f)| (only_features.is_empty() || only_features.contains(f)) && !not_features.contains(f));
    let mut from_skips: Vec<String> = from_skips.into_iter().map(|(n, _)| n).collect();
    from_skips.sort();
    from_skips.dedup();
    wanted.extend(from_skips.iter().cloned());
    wanted.sort();
    wanted.dedup();

    let cache = PathBuf::from(std::env::var("KTRACE_VM_CACHE").unwrap_or_else(|_| ".vm-cache".into()));
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let cache = cache.canonicalize().map_err(|e| format!("{}: {e}", cache.display()))?;
    let t0 = Instant::now();
    let (vmlinuz, moddir) = kernel(&cache, guest)?;
    let (exes, bootchart) = build_tests()?;
    let bootchart = bootchart.ok_or("the static bootchart binary was not built (examples' tests need it)")?;
    let tests = locate(&exes, &wanted)?;
    let missing: Vec<_> = wanted.iter().filter(|w| !tests.contains_key(*w)).collect();
    if !missing.is_empty() {
        return Err(format!("tests not found in any test binary: {missing:?}"));
    }
    let initrd = initramfs(&cache, &moddir, guest.modules(), &tests, &bootchart, &extra)?;
    eprintln!("vm: {} tests packed in {:.1?}; booting", tests.len(), t0.elapsed());
    let (o, console) = boot(&cache, &vmlinuz, &initrd, timeout)?;
    let mut failures = Vec::new();
    for name in tests.keys() {
        match o.results.get(name) {
            Some(0) => {}
            Some(rc) => failures.push(format!(
                "{name} failed (exit {rc}); its output:\n{}",
                o.output.get(name).map(|v| v.join("\n")).unwrap_or_default()
            )),
            None => failures.push(format!(
                "{name} never reported a result; its output:\n{}",
                o.output.get(name).map(|v| v.join("\n")).unwrap_or_default()
            )),
        }
    }
    if let Some(p) = &o.panic {
        let tail: Vec<_> = console.iter().rev().take(60).rev().cloned().collect();
        failures.push(format!("guest kernel panic: {p}\n{}", tail.join("\n")));
    }
    if !o.done && o.panic.is_none() {
        failures.push("the guest did not finish the test list".into());
    }
    if require_skipped {
        for s in &from_skips {
            if o.results.get(s) != Some(&0) {
                failures.push(format!("{s} was skipped on this machine and did not pass in the VM either"));
            }
        }
    }
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "vm: {} tests, {} failures, kernel {}, {:.1?} in all",
        tests.len(),
        failures.len(),
        o.kernel,
        t0.elapsed()
    );
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n\n")) }
}
