#!/usr/bin/env bash
# Profiling overhead and speed: a CPU-bound child (3 s) unprofiled / perf record -F 10000 -g /
# ktrace at 10 kHz with callchains; folding vs perf report; process table vs ps -e. Root; linux-perf.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin spin --bin sample_report
./target/release/sample_report ./target/release/spin "${1:-3000}"
