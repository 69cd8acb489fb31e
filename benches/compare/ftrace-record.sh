#!/usr/bin/env bash
# The same raw_syscalls storm (a child doing 2M getppid, N=$1) untraced, under ktrace's recorder and
# under `trace-cmd record`, same per-CPU buffer size ($2 KiB): the child's ns/syscall and lost events.
# Then again with two spinning processes competing for both CPUs (ktrace_busy_*); *_lost is the worse.
# $3 interleaved rounds (5), medians.
# trace-cmd runs in a private mount namespace with the files a lockdown kernel refuses shadowed. Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin getppid_loop --bin ftrace_record_report
./target/release/ftrace_record_report ./target/release/getppid_loop ktrace-ftrace/tests/tracecmd-shadowed.sh "${1:-2000000}" "${2:-1408}" "${3:-5}"
