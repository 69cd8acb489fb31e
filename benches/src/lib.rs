//! Shared workloads for the ktrace benchmarks: the same code runs under criterion (`benches/`) and in
//! the report binaries that print `RESULT` lines for the comparison scripts in `compare/`.

use std::path::Path;

use ktrace_core::{Endian, Field, FormatRegistry, PageItem, PageLayout, Pages, RawData};

/// A large buffer of real captured pages (the raw_syscalls fixture repeated) and its formats.
pub struct CorePages {
    /// The pages, back to back.
    pub buf: Vec<u8>,
    /// Sub-buffer size.
    pub page_size: usize,
    /// Events in `buf`.
    pub events: u64,
    /// For each event id, the two fields decoded by [`decode_two_fields`].
    pub two_fields: Vec<Option<(Field, Field)>>,
}

/// Loads the fixture pages and repeats them to about `target_bytes`.
pub fn core_pages(target_bytes: usize) -> CorePages {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ktrace-core/tests/fixtures");
    let one = std::fs::read(dir.join("raw_syscalls.raw")).expect("fixture raw_syscalls.raw");
    let mut reg = FormatRegistry::new();
    for ev in ["sys_enter", "sys_exit"] {
        let t = std::fs::read_to_string(dir.join(format!("formats/raw_syscalls/{ev}/format"))).expect("format");
        reg.add_text("raw_syscalls", &t).expect("fixture format parses");
    }
    let mut two_fields = vec![None; 65536];
    for f in reg.iter() {
        let second = if f.name == "sys_enter" { "args" } else { "ret" };
        if let (Ok(a), Ok(b), Some(slot)) = (f.require("id"), f.require(second), two_fields.get_mut(f.id as usize)) {
            *slot = Some((a.clone(), b.clone()));
        }
    }
    let reps = (target_bytes / one.len()).max(1);
    let buf = one.repeat(reps);
    let mut c = CorePages { buf, page_size: 4096, events: 0, two_fields };
    c.events = iterate(&c);
    c
}

/// Walks every event header and timestamp; returns the event count.
#[inline(never)]
pub fn iterate(c: &CorePages) -> u64 {
    let mut n = 0u64;
    let mut ts = 0u64;
    for item in Pages::new(&c.buf, c.page_size, PageLayout::LE64, 0) {
        if let Ok(PageItem::Event(ev)) = item {
            ts ^= ev.timestamp;
            n += 1;
        }
    }
    std::hint::black_box(ts);
    n
}

/// Walks every event and decodes two fields of each (`id` and `args[0]` or `ret`); returns a checksum.
#[inline(never)]
pub fn decode_two_fields(c: &CorePages) -> u64 {
    let e = Endian::Little;
    let mut sum = 0u64;
    for item in Pages::new(&c.buf, c.page_size, PageLayout::LE64, 0) {
        if let Ok(PageItem::Event(ev)) = item {
            let rec = RawData::Single(ev.data);
            let Ok(id) = ev.id(e) else { continue };
            if let Some(Some((a, b))) = c.two_fields.get(id as usize) {
                sum = sum.wrapping_add(a.u64(rec, e).unwrap_or(0)).wrapping_add(b.u64(rec, e).unwrap_or(0));
            }
        }
    }
    sum
}

/// This thread's CPU time in seconds (`CLOCK_THREAD_CPUTIME_ID`): what a report divides by when
/// the machine is busy and wall time says more about the other processes than about the code.
pub fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    #[allow(unsafe_code, reason = "clock_gettime has no std wrapper for the thread CPU clock")]
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// CPU seconds (user + system) of this process, all threads (`RUSAGE_SELF`: what a report
/// divides by when the work is spread over threads), or of its waited-for children
/// (`RUSAGE_CHILDREN`); NaN if getrusage fails.
pub fn rusage_cpu(who: nix::sys::resource::UsageWho) -> f64 {
    nix::sys::resource::getrusage(who).map_or(f64::NAN, |u| {
        let s = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
        s(u.user_time()) + s(u.system_time())
    })
}

/// [`rusage_cpu`] of this process (all threads).
pub fn process_cpu() -> f64 {
    rusage_cpu(nix::sys::resource::UsageWho::RUSAGE_SELF)
}
