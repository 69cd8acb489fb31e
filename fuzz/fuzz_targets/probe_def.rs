//! Fuzzes the probe-definition parser and checks render/parse round-trips.
#![no_main]
use ktrace_kprobe::ProbeDef;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(p) = ProbeDef::parse(&s) {
        let again = ProbeDef::parse(&p.to_string());
        assert_eq!(again.ok().as_ref(), Some(&p), "{p:?} renders as {:?}", p.to_string());
    }
});
