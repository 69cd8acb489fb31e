//! Shared helpers for the ktrace benchmarks (the benches live in `benches/`).
