#!/usr/bin/env bash
# Profiling overhead and speed: a CPU-bound child (3 s) unprofiled / perf record -F 10000 -g /
# ktrace at 10 kHz with callchains; folding vs perf report; process table vs ps -e and sysinfo;
# the two perf ring readers (perf-event2's Sampler, ktrace-core's PerfRing) on the same records.
# Root; linux-perf.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin spin --bin sample_report --bin ring_report --bin getppid_loop
./target/release/ring_report ./target/release/getppid_loop 200000
./target/release/sample_report ./target/release/spin "${1:-3000}"
