#!/usr/bin/env bash
# Draining a full ftrace ring by read(2) vs the 6.10+ mmap reader (same workload, same ring size).
# Root; Linux 6.10+.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin ftrace_mmap_report --bin getppid_loop
./target/release/ftrace_mmap_report ./target/release/getppid_loop "${1:-100000}"
