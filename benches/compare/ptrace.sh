#!/usr/bin/env bash
# ptrace overhead on a child doing N getppid() (default 1000000; N/5 where every syscall stops), in one run: untraced; strace -f vs
# ktrace decoding every syscall; strace --seccomp-bpf -e trace=openat vs ktrace's seccomp filter vs
# the floor, an allow-all filter under the same tracer (medians of ${2:-9} interleaved rounds).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin getppid_loop --bin ptrace_report
./target/release/ptrace_report ./target/release/getppid_loop "${1:-1000000}" "${2:-9}"
