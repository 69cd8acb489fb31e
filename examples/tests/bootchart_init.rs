//! The BootChart init wrapper, for real: live, `bootchart --init` is pid 1 of a new pid namespace
//! (`unshare --pid --fork --mount-proc`) and execs a shell script as the "real init"; in the VM
//! tier the guest kernel booted with it as `rdinit` (see `vm.rs`) and this test reads that
//! boot's chart.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::process::Command;
use std::time::{Duration, Instant};

use ktrace_testing::{Skip, in_vm, installed, skip};

/// Where the VM runner's boot chart goes, and the file that ends it.
const VM_SVG: &str = "/run/ktrace-bootchart.svg";
const VM_STOP: &str = "/run/ktrace-bootchart.stop";

fn wait_for(path: &str, d: Duration) -> Option<String> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if let Ok(s) = std::fs::read_to_string(path) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn bootchart_init_wrapper_charts_the_boot() {
    const T: &str = "bootchart_init_wrapper_charts_the_boot";
    if in_vm() {
        // The guest's pid 1 is the VM runner's /init script, exec'd by the wrapper.
        std::fs::write(VM_STOP, "").unwrap();
        let Some(svg) = wait_for(VM_SVG, Duration::from_secs(30)) else {
            let run: Vec<_> = std::fs::read_dir("/run").unwrap().flatten().map(|e| e.file_name()).collect();
            let procs: Vec<String> = std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| {
                    let p = e.path();
                    let cmd = std::fs::read(p.join("cmdline")).ok().filter(|c| !c.is_empty())?;
                    Some(format!(
                        "{}: {}",
                        e.file_name().to_string_lossy(),
                        String::from_utf8_lossy(&cmd).replace('\0', " ")
                    ))
                })
                .collect();
            panic!("the boot logger wrote no chart; /run: {run:?}; processes: {procs:#?}");
        };
        for want in ["init (1)", "bootchart (", "CPU", "disk IO"] {
            assert!(svg.contains(want), "boot chart lacks {want}");
        }
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        return skip(T, Skip::Environment("needs root (unshare --pid)"));
    }
    if !installed(T, &["unshare", "--version"], "util-linux") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ktrace-bootchart-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, stop) = (dir.join("boot.svg"), dir.join("stop"));
    // The "real init": starts a few processes, ends the chart, waits for it, exits.
    let script = format!(
        "echo pid=$$; sleep 0.3; (sleep 0.2 | cat >/dev/null); dd if=/dev/zero of={d}/f bs=4k count=3000 oflag=dsync 2>/dev/null; touch {stop}; while [ ! -f {svg} ]; do sleep 0.05; done",
        d = dir.display(),
        stop = stop.display(),
        svg = svg.display()
    );
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--"])
        .arg(env!("CARGO_BIN_EXE_bootchart"))
        .args(["--init", "--exec", "/bin/sh", "-i", "20", "--max", "20", "-o"])
        .arg(&svg)
        .arg("--until-file")
        .arg(&stop)
        .args(["--", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("pid=1"), "the real init is not pid 1: {stdout}");
    let text = std::fs::read_to_string(&svg).unwrap();
    for want in ["sh (1)", "sleep (", "cat (", "dd (", "bootchart ("] {
        assert!(text.contains(want), "chart lacks {want}");
    }
    // dd's synchronous writes show as IO (storage bytes or blocked samples) on its bar.
    assert!(text.contains("<title>IO</title>"), "no IO marked in the chart");
    std::fs::remove_dir_all(&dir).unwrap();
}
