#!/usr/bin/env bash
# Block tracing: ktrace vs blkparse parsing the same blktrace files (records/s), and fio 4k random
# direct reads on a loop device untraced / under ktrace's blk tracer / under trace-cmd (IOPS), in
# interleaved rounds (args: seconds per round, rounds): medians, spread, CPU per IO. Root;
# needs fio, blktrace, trace-cmd.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin blk_report
./target/release/blk_report ktrace-ftrace/tests/tracecmd-shadowed.sh "${1:-4}" "${2:-9}"
