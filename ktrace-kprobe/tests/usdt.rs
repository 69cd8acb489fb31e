//! Live: USDT probes in a small C program built by the test (sys/sdt.h from systemtap-sdt-dev)
//! fire with their arguments.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::process::Command;

use ktrace_core::format::Value;
use ktrace_ftrace::Recorder;
use ktrace_kprobe::Probes;
use ktrace_testing::{Skip, skip};

const SRC: &str = r#"
#include <sys/sdt.h>
#include <stdio.h>
int main(int argc, char **argv) {
    const char *msg = "ktrace usdt";
    for (int i = 0; i < 5; i++) {
        long v = 100 + i;
        DTRACE_PROBE3(ktrace, tick, i, v, msg);
    }
    return 0;
}
"#;

#[test]
fn usdt_probes_fire_with_arguments() {
    const T: &str = "usdt_probes_fire_with_arguments";
    let Some(fs) = common::tracefs(T) else { return };
    if !fs.root().join("uprobe_events").exists() {
        return skip(T, Skip::KernelLacks { feature: "uprobes", why: "no uprobe_events" });
    }
    let dir = std::env::temp_dir().join(format!("ktrace-usdt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.c"), SRC).unwrap();
    let bin = dir.join("p");
    let out = Command::new("gcc").args(["-O1", "-g", "-o"]).arg(&bin).arg(dir.join("p.c")).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return skip(
                T,
                Skip::Environment(&format!(
                    "gcc failed (install systemtap-sdt-dev): {}",
                    String::from_utf8_lossy(&o.stderr)
                )),
            );
        }
        Err(_) => return skip(T, Skip::Environment("no gcc")),
    }
    let path = bin.display().to_string();
    let mut probes = Probes::with_group(&fs, &format!("ktrace_{}_usdt", std::process::id()));
    let names = probes.usdt(&path).unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    let inst = fs.new_instance().unwrap();
    inst.enable_event(probes.group(), &names[0]).unwrap();
    let rec = Recorder::start(&inst).unwrap();
    assert!(Command::new(&bin).status().unwrap().success());
    let recording = rec.stop().unwrap();
    let mut seen = Vec::new();
    for ev in recording.events() {
        let ev = ev.unwrap();
        let a1 = ev.int("arg1").unwrap();
        let a2 = ev.int("arg2").unwrap();
        seen.push((a1, a2));
        let _ = ev.field("arg3").map(|v| matches!(v, Value::Unsigned(_)));
    }
    assert_eq!(seen, (0..5).map(|i| (i, 100 + i)).collect::<Vec<_>>());
    drop(inst);
    probes.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
