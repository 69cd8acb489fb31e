#!/usr/bin/env bash
# Timeline merge: four synthetic sources through ktrace::timeline (merge_evps), then a live session
# of four sources (ftrace raw_syscalls + sched_switch, block tracepoints, ptrace, perf samples) of
# getppid_loop, with the bench's peak RSS and its losses. Prints
# `RESULT timeline merge_evps=… sources=4 live_evps=… rss_mib=… lost=… kernel_lost=…`. Root.
# KTRACE_TIMELINE_N: items per synthetic source (default 5M); KTRACE_TIMELINE_M: getppid calls (200k).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin getppid_loop --bin timeline_report
T=./target/release
"$T/timeline_report" "$T/getppid_loop" "${KTRACE_TIMELINE_N:-5000000}" "${KTRACE_TIMELINE_M:-200000}"
