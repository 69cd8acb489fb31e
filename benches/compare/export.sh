#!/usr/bin/env bash
# Records a raw_syscalls + sched trace.dat with ktrace (a getppid storm), then exports it to each
# format (ktrace-export: Perfetto protobuf, Chrome JSON, CTF): events written per second, from the
# recording read out of the trace.dat (decoding included). Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p ktrace-benches --bin getppid_loop --bin export_report -p ktrace-examples --bin record
dat=$(mktemp /tmp/ktrace-export.XXXXXX.dat)
out=$(mktemp -d /tmp/ktrace-export.XXXXXX)
trap 'rm -rf "$dat" "$out"' EXIT
./target/release/record -e raw_syscalls -e sched -b 65536 -o "$dat" -- ./target/release/getppid_loop "${1:-1000000}" >/dev/null
./target/release/export_report "$dat" "$out"
