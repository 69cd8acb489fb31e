//! KernelShark (Debian's `kernelshark`) opens ktrace's trace.dat under Xvfb: its main window is
//! titled with the file, its log says it loaded the file and reports no error; a file it cannot
//! read is told apart the same way. The screenshot is kept as
//! `target/tmp/ktrace-export/kernelshark.png` (xwd, netpbm).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ktrace_testing::{Skip, skip};

/// A file under the test's target tmp dir.
fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ktrace-ftrace");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Whether `tool` is installed (`tool ARGS` starts), else a recorded skip naming the package.
fn have(test: &str, tool: &str, args: &[&str], package: &str) -> bool {
    match Command::new(tool).args(args).stdin(Stdio::null()).output() {
        Ok(_) => true,
        Err(_) => {
            skip(test, Skip::Environment(&format!("{tool} is not installed ({package})")));
            false
        }
    }
}

/// A trace.dat of scheduling, task and syscall events around a small shell workload.
fn recorded(test: &str) -> Option<PathBuf> {
    let inst = common::instance(test)?;
    let events = [
        ("sched", "sched_switch"),
        ("sched", "sched_waking"),
        ("task", "task_newtask"),
        ("raw_syscalls", "sys_enter"),
        ("raw_syscalls", "sys_exit"),
    ];
    let path = tmp(&format!("{test}.dat"));
    common::record_dat(
        &inst,
        &events,
        || {
            let sh = "for i in 1 2 3; do ls / >/dev/null; sleep 0.01; done";
            assert!(Command::new("sh").arg("-c").arg(sh).status().unwrap().success());
        },
        &path,
    );
    Some(path)
}

/// A child killed when dropped.
struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An Xvfb server on a free display (it writes the number to `-displayfd`).
fn xvfb() -> (Kill, String) {
    let mut c = Command::new("Xvfb")
        .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = c.stdout.take().unwrap();
    let mut n = String::new();
    let mut b = [0u8; 1];
    while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        n.push(b[0] as char);
    }
    (Kill(c), format!(":{}", n.trim()))
}

/// Opens `file` in KernelShark as `nobody` (as root it first shows a warning dialog), waits for
/// a window titled with the file (or 30 s), screenshots the screen to `shot`, and returns the
/// top-level window names and KernelShark's log.
fn open(display: &str, file: &Path, shot: &Path) -> (Vec<String>, String) {
    let home = tmp("kernelshark-home");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(65534.into()), Some(65534.into())).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let log = tmp(&format!("{}.log", shot.file_stem().unwrap().to_string_lossy()));
    let ks = Command::new("kernelshark")
        .arg(file)
        .env("DISPLAY", display)
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &home)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    let _ks = Kill(ks);
    let want = format!("Kernel Shark ({})", file.display());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut names = Vec::new();
    while Instant::now() < deadline {
        let out = Command::new("xwininfo").args(["-root", "-children", "-display", display]).output().unwrap();
        names = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| Some(l.split_once('"')?.1.split_once('"')?.0.to_owned()))
            .collect();
        if names.contains(&want) {
            // Let it draw.
            std::thread::sleep(Duration::from_secs(3));
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let png = Command::new("sh")
        .arg("-c")
        .arg(format!("xwd -root -silent -display {display} | xwdtopnm 2>/dev/null | pnmtopng > '{}'", shot.display()))
        .status()
        .unwrap();
    assert!(png.success(), "screenshot");
    (names, std::fs::read_to_string(&log).unwrap())
}

/// Log lines that report a problem. `kvm_combo` is a plugin for host/guest trace pairs; it
/// declines every single-machine trace, trace-cmd's own included.
fn errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let l = l.to_lowercase();
            (l.contains("error") || l.contains("fail") || l.contains("cannot") || l.contains("unable"))
                && !l.contains("\"kvm_combo\" failed to initialize")
        })
        .collect()
}

#[test]
fn kernelshark_loads_our_trace_dat() {
    const T: &str = "kernelshark_loads_our_trace_dat";
    for (tool, args, pkg) in [
        ("kernelshark", &["-v"][..], "apt-get install kernelshark"),
        ("Xvfb", &["-help"][..], "apt-get install xvfb"),
        ("xwininfo", &["-version"][..], "apt-get install x11-utils"),
        ("xwd", &["-help"][..], "apt-get install x11-apps"),
        ("pnmtopng", &["-version"][..], "apt-get install netpbm"),
    ] {
        if !have(T, tool, args, pkg) {
            return;
        }
    }
    let Some(dat) = recorded(T) else { return };
    // Readable by nobody: a directory of its own under /tmp.
    let dir = std::env::temp_dir().join(format!("ktrace-kernelshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ours = dir.join("trace.dat");
    std::fs::copy(&dat, &ours).unwrap();
    let bad = dir.join("broken.dat");
    std::fs::write(&bad, &std::fs::read(&dat).unwrap()[..4096]).unwrap();
    for f in [&ours, &bad] {
        std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }

    let (_x, display) = xvfb();
    let (names, log) = open(&display, &ours, &tmp("kernelshark.png"));
    let (bad_names, bad_log) = open(&display, &bad, &tmp("kernelshark-broken.png"));
    let _ = std::fs::remove_dir_all(&dir);

    let title = format!("Kernel Shark ({})", ours.display());
    assert!(names.contains(&title), "KernelShark's window names our file: {names:?}\n{log}");
    assert!(log.contains(&format!("Loading  \"{}\"", ours.display())), "it loaded the file: {log}");
    assert_eq!(errors(&log), Vec::<&str>::new(), "no error in KernelShark's log");
    // The check tells a file KernelShark cannot read apart.
    let bad_title = format!("Kernel Shark ({})", bad.display());
    assert!(
        !bad_names.contains(&bad_title) || !errors(&bad_log).is_empty(),
        "a truncated file is not taken for a good one: {bad_names:?}\n{bad_log}"
    );
    eprintln!("{T}: window {title:?}; broken file: {bad_names:?} {:?}", errors(&bad_log));
}
