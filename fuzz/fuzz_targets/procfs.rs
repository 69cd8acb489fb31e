//! Fuzzes the /proc text parsers.
#![no_main]
use libfuzzer_sys::fuzz_target;

include!("../../ktrace-sample/tests/common/procfs_all.rs");

fuzz_target!(|data: &[u8]| {
    parse_every_procfs(&String::from_utf8_lossy(data));
});
