//! Criterion: ftrace page iteration and two-field decoding over real captured pages, beside memcpy.
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn core_parse(cr: &mut Criterion) {
    let c = ktrace_benches::core_pages(32 << 20);
    let mut g = cr.benchmark_group("core_parse");
    g.throughput(Throughput::Elements(c.events));
    g.bench_function("iterate", |b| b.iter(|| ktrace_benches::iterate(&c)));
    g.bench_function("decode_two_fields", |b| b.iter(|| ktrace_benches::decode_two_fields(&c)));
    g.throughput(Throughput::Bytes(c.buf.len() as u64));
    let mut dst = vec![0u8; c.buf.len()];
    g.bench_function("memcpy", |b| b.iter(|| dst.copy_from_slice(&c.buf)));
    g.finish();
}

#[allow(missing_docs, reason = "criterion_group! generates an undocumented function")]
mod group {
    use super::*;
    criterion_group!(benches, core_parse);
}
use group::benches;
criterion_main!(benches);
