#!/usr/bin/env bash
# ktrace-core page parsing speed on real captured pages (the raw_syscalls fixture repeated to 256 MiB):
# events/s for header+timestamp iteration, for decoding two fields of every event, and memcpy GB/s of the
# same bytes, in one run. Set CRITERION=1 to also run the criterion bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${CRITERION:-0}" = 1 ]; then
  cargo bench -p ktrace-benches --bench core_parse -- --noplot
fi
cargo run -q --release -p ktrace-benches --bin core_parse_report
