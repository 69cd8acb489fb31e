//! Live: the process table's resident set against `ps -o rss=` (procps reads `/proc/PID/status`
//! VmRSS, the same exact sum as `/proc/PID/statm`) for several idle processes whose memory does
//! not change while both read it: within 0.5% (in practice equal).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use ktrace_sample::top::ProcessSampler;
use ktrace_testing::{Skip, skip};

/// Runs a Python program that allocates and touches `mib` MiB, says so, and sleeps.
fn python_holding(mib: usize) -> Child {
    let code = format!("import time\nx = bytearray({mib} << 20)\nprint('ready', flush=True)\ntime.sleep(60)");
    let mut c = Command::new("/usr/bin/python3").args(["-c", &code]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(c.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    c
}

fn ps_rss(pid: u32) -> u64 {
    let out = Command::new("ps").args(["-o", "rss=", "-p", &pid.to_string()]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn rss_matches_ps() {
    if Command::new("ps").arg("--version").output().is_err() {
        skip("rss_matches_ps", Skip::Environment("ps is not installed (apt-get install procps)"));
        return;
    }
    let mut kids = vec![
        Command::new("sleep").arg("60").spawn().unwrap(),
        Command::new("sh").args(["-c", "read _"]).stdin(Stdio::piped()).spawn().unwrap(),
        python_holding(0),
        python_holding(8),
        python_holding(64),
    ];
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut pids: Vec<u32> = kids.iter().map(Child::id).collect();
    pids.push(std::process::id());
    let mut s = ProcessSampler::new(false);
    s.refresh();
    for &pid in &pids {
        let ours = s.get(pid as i32).unwrap().rss_kb;
        let ps = ps_rss(pid);
        let stat_kb = s.get(pid as i32).unwrap().stat.rss * ktrace_sample::procfs::page_size() / 1024;
        eprintln!("pid {pid}: ours {ours} KiB, ps {ps} KiB (stat field 24: {stat_kb} KiB)");
        // This test process may grow between the two reads (ps is spawned after the refresh).
        let tolerance = if pid == std::process::id() { 0.05 } else { 0.005 };
        assert!((ours as f64 - ps as f64).abs() <= ps as f64 * tolerance, "pid {pid}: ours {ours} KiB, ps {ps} KiB");
    }
    for k in &mut kids {
        k.kill().unwrap();
        k.wait().unwrap();
    }
}
