//! Bounded mutation test of the trace.dat reader: thousands of corrupted files, no panics.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::path::Path;

use ktrace_ftrace::tracedat::{Buffer, TraceDat};

fn sample() -> Vec<u8> {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ktrace-core/tests/fixtures");
    let mut formats = Vec::new();
    for ev in ["sys_enter", "sys_exit"] {
        formats.push((
            "raw_syscalls".to_owned(),
            std::fs::read_to_string(fx.join(format!("formats/raw_syscalls/{ev}/format"))).unwrap(),
        ));
    }
    let raw = std::fs::read(fx.join("raw_syscalls.raw")).unwrap();
    let mut cpus = BTreeMap::new();
    cpus.insert(0u32, raw[..8192].to_vec());
    cpus.insert(1u32, raw[8192..12288].to_vec());
    let t = TraceDat {
        version: 6,
        long_size: 8,
        page_size: 4096,
        header_page: std::fs::read_to_string(fx.join("header_page")).unwrap(),
        header_event: std::fs::read_to_string(fx.join("header_event")).unwrap(),
        formats,
        cmdlines: "1 init\n".into(),
        trace_clock: Some("[local] global".into()),
        buffers: vec![Buffer { name: String::new(), clock: "local".into(), page_size: 4096, cpus }],
        ..Default::default()
    };
    let mut out = Vec::new();
    t.write_v6(&mut out).unwrap();
    out
}

#[test]
fn mutated_trace_dat_never_panics() {
    let orig = sample();
    let ok = TraceDat::parse(&orig).unwrap();
    assert!(ok.recording().unwrap().events().count() > 100);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2000 {
        let mut m = orig.clone();
        for _ in 0..1 + rnd() % 6 {
            let i = (rnd() % m.len() as u64) as usize;
            match rnd() % 4 {
                0 => m[i] ^= 1 << (rnd() % 8),
                1 => m[i] = rnd() as u8,
                2 => m.truncate(i),
                _ => m[i] = 0xff,
            }
            if m.is_empty() {
                break;
            }
        }
        if let Ok(t) = TraceDat::parse(&m)
            && let Ok(r) = t.recording()
        {
            for ev in r.events().flatten() {
                let _ = ev.typed();
            }
        }
    }
}
