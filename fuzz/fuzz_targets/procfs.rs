//! Fuzzes the /proc text parsers.
#![no_main]
use ktrace_sample::procfs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t = String::from_utf8_lossy(data);
    let _ = procfs::SystemStat::parse(&t);
    let _ = procfs::PidStat::parse(&t);
    let _ = procfs::PidStatm::parse(&t);
    let _ = procfs::PidIo::parse(&t);
    let _ = procfs::Pressure::parse(&t);
    let _ = procfs::diskstats(&t);
    let _ = procfs::schedstat(&t);
    let _ = procfs::key_values(&t);
});
