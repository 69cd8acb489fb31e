//! Fuzzes the trace.dat reader (v6 and v7) and decodes every event of what parses.
#![no_main]
use ktrace_ftrace::TraceDat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = TraceDat::parse(data)
        && let Ok(r) = t.recording()
    {
        for ev in r.events().flatten() {
            let _ = ev.typed();
        }
    }
});
