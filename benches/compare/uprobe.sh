#!/usr/bin/env bash
# ns per call of a uprobed function: untraced, ktrace (tracefs uprobe + recorder), perf probe + perf
# record; events lost at N calls (default 1M). Root; needs linux-perf.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin uprobe_report
./target/release/uprobe_report "${1:-1000000}"
