//! Errors a user can act on: an ELF path that is not a regular file (`/dev/zero`, a FIFO) is
//! refused at once by name (it used to be read without end, or to block); an fprobe on a kernel
//! whose `dynamic_events` exists without fprobe support names CONFIG_FPROBE_EVENTS.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;

use std::time::{Duration, Instant};

use ktrace_ftrace::Tracefs;
use ktrace_kprobe::elf::Binary;
use ktrace_kprobe::{Error, Probes};
use ktrace_testing::{Skip, skip};

#[test]
fn elf_from_dev_zero_and_a_fifo_is_refused_at_once() {
    let dir = std::env::temp_dir().join(format!("ktrace-elf-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let fifo = fifo.to_str().unwrap();
    let t = Instant::now();
    for (path, kind) in [("/dev/zero", "a character device"), (fifo, "a FIFO"), (dir.to_str().unwrap(), "a directory")]
    {
        match Binary::open(path) {
            Err(e @ Error::NotRegularFile { .. }) => {
                assert_eq!(e.to_string(), format!("{path} is not a regular file: it is {kind}"));
            }
            r => panic!("{path}: {r:?}"),
        }
    }
    // Through the probe API too (as `probe 'u:/dev/zero:foo'` does), before tracefs is touched.
    let mut probes = Probes::new(&Tracefs::find_or_mount().unwrap());
    let e = probes.uprobe("zero", "/dev/zero", "foo", &[], false).unwrap_err();
    assert!(matches!(e, Error::NotRegularFile { kind: "a character device", .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fprobe_unsupported_names_the_config_option() {
    const T: &str = "fprobe_unsupported_names_the_config_option";
    let Some((fs, mut probes)) = common::probes(T) else { return };
    let dynamic = fs.root().join("dynamic_events");
    match probes.fprobe("open", "do_sys_openat2", &[], false) {
        // A kernel with fprobe events (the VM tier's) creates it; the guard removes it.
        Ok(()) => assert!(fs.read("README").unwrap().contains("f[:[<group>/][<event>]]")),
        Err(e @ Error::Unsupported { .. }) => {
            let text = e.to_string();
            assert!(text.contains("needs a kernel with CONFIG_FPROBE_EVENTS=y (Linux 6.4+)"), "{text}");
            if dynamic.exists() {
                // The file is there (uprobes or kprobes alone create it): the message says so.
                assert!(text.contains(&format!("{} exists, but", dynamic.display())), "{text}");
                assert!(!text.contains(&format!("no {}", dynamic.display())), "{text}");
            }
        }
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn uprobe_pmu_as_nobody_names_cap_perfmon() {
    const T: &str = "uprobe_pmu_as_nobody_names_cap_perfmon";
    let probe = || ktrace_kprobe::pmu::PmuProbe::uprobe(&libc_path(), "getpid", false, std::process::id() as i32);
    let Some(out) = ktrace_testing::refused_as_nobody(T, probe, Error::is_permission) else { return };
    if out.contains("ERR unsupported by this kernel") {
        return skip(T, Skip::KernelLacks { feature: "uprobe PMU", why: &out });
    }
    assert!(
        out.contains("ERR perf_event_open uprobe PMU: permission denied: needs CAP_PERFMON or CAP_SYS_ADMIN"),
        "{out}"
    );
    assert!(out.contains("PERMISSION true"), "{out}");
}

/// The libc this process has mapped.
fn libc_path() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().filter_map(|l| l.split_whitespace().nth(5)).find(|p| p.contains("libc.so")).unwrap().to_owned()
}
