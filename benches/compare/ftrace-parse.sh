#!/usr/bin/env bash
# Records a raw_syscalls + sched trace.dat with ktrace (a getppid storm), then reads it with ktrace
# (decoding every field) and with `trace-cmd report`: events per second. Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin getppid_loop --bin ftrace_parse_report -p ktrace-examples --bin record
dat=$(mktemp /tmp/ktrace-parse.XXXXXX.dat)
trap 'rm -f "$dat"' EXIT
./target/release/record -e raw_syscalls -e sched -b 65536 -o "$dat" -- ./target/release/getppid_loop "${1:-500000}" >/dev/null
./target/release/ftrace_parse_report "$dat"
