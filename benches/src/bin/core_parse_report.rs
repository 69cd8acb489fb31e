//! Prints `RESULT core-parse iterate_evps=N decode_evps=N memcpy_gbps=N` for `compare/core-parse.sh`.
use std::time::Instant;

fn best_of<F: FnMut() -> u64>(runs: usize, mut f: F) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let c = ktrace_benches::core_pages(256 << 20);
    let it = best_of(5, || ktrace_benches::iterate(&c));
    let de = best_of(5, || ktrace_benches::decode_two_fields(&c));
    let mut dst = vec![0u8; c.buf.len()];
    let mc = best_of(5, || {
        dst.copy_from_slice(&c.buf);
        dst.first().copied().unwrap_or(0) as u64
    });
    let ev = c.events as f64;
    println!("buffer: {} MiB, {} events", c.buf.len() >> 20, c.events);
    println!(
        "RESULT core-parse iterate_evps={:.0} decode_evps={:.0} memcpy_gbps={:.2}",
        ev / it,
        ev / de,
        c.buf.len() as f64 / mc / 1e9
    );
}
