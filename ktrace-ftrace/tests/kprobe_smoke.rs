//! VM-tier smoke test (this machine's kernel has no kprobes): a kprobe on `do_sys_openat2` with a
//! string fetch arg, created through tracefs `kprobe_events`, records the path a process opens.
//! The probe-manager crate (ktrace-kprobe) builds on the same mechanism.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use std::io::Write;

use ktrace_core::format::Value;
use ktrace_ftrace::Recorder;
use ktrace_testing::{Skip, skip};

/// Removes the probe on drop, so a failing test leaves nothing in kprobe_events.
struct ProbeGuard(std::path::PathBuf, String);
impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&self.0) {
            let _ = f.write_all(format!("-:{}", self.1).as_bytes());
        }
    }
}

#[test]
fn kprobe_on_do_sys_openat2_fetches_the_path() {
    const T: &str = "kprobe_on_do_sys_openat2_fetches_the_path";
    let Some(fs) = common::tracefs(T) else { return };
    let kpe = fs.root().join("kprobe_events");
    if !kpe.exists() {
        skip(T, Skip::KernelLacks { feature: "kprobes", why: "no kprobe_events file (CONFIG_KPROBE_EVENTS)" });
        return;
    }
    let group = format!("ktrace_{}", std::process::id());
    let def = format!("p:{group}/smoke_open do_sys_openat2 dfd=%di:s32 path=+0(%si):string");
    let mut f = std::fs::OpenOptions::new().append(true).open(&kpe).unwrap();
    f.write_all(def.as_bytes()).unwrap();
    let _guard = ProbeGuard(kpe.clone(), format!("{group}/smoke_open"));
    let inst = fs.new_instance().unwrap();
    inst.enable_event(&group, "smoke_open").unwrap();
    let path = format!("/tmp/ktrace-kprobe-smoke-{}", std::process::id());
    let rec = Recorder::start(&inst).unwrap();
    let _ = std::fs::File::open(&path);
    let recording = rec.stop().unwrap();
    let mut paths = Vec::new();
    for ev in recording.events() {
        let ev = ev.unwrap();
        if ev.name() == "smoke_open"
            && let Value::Str(p) = ev.field("path").unwrap()
        {
            paths.push(String::from_utf8_lossy(p).into_owned());
        }
    }
    assert!(paths.contains(&path), "kprobe hits did not include {path}: {paths:?}");
    drop(inst);
}
