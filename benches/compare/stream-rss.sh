#!/usr/bin/env bash
# Memory of the streaming tools under a raw_syscalls storm: `syscount` system-wide (-d) and `record`
# (raw_syscalls:sys_enter to a trace.dat) while getppid_loop runs 2M getppid calls over and over,
# for KTRACE_STREAM_SECS seconds each (default 15; the issue's target is 60). Prints each tool's
# RSS every second, then `RESULT stream-rss syscount_rss_mib=… record_rss_mib=… lost=… kernel_lost=…`
# (peak RSS, VmHWM; losses of both tools summed: `lost` counts everything reported lost, the kernel's
# and the pages dropped over the 16 MiB budget, `kernel_lost` the kernel's part). Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${KTRACE_STREAM_SECS:-15}
cargo build -q --release -p ktrace-benches --bin getppid_loop
cargo build -q --release -p ktrace-examples --bin syscount --bin record
T=./target/release
TMP=$(mktemp -d)
trap 'touch "$TMP/stop"; wait; rm -rf "$TMP"' EXIT

# One storm per CPU, each a loop of 2M-getppid runs until told to stop.
storm() { while [ ! -e "$TMP/stop" ]; do "$T/getppid_loop" 2000000 >/dev/null; done; }

# run NAME CMD...: samples VmRSS each second; sets HWM_KIB to the last VmHWM seen.
run() {
    local name=$1 t=0 rss hwm
    shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local pid=$!
    HWM_KIB=0
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [ -n "$hwm" ] && HWM_KIB=$hwm
        [ -n "$rss" ] && echo "$name t=${t}s rss_mib=$((rss / 1024)) hwm_mib=$((HWM_KIB / 1024))"
        sleep 1
        t=$((t + 1))
    done
    wait "$pid"
}

for _ in $(seq "$(nproc)"); do storm & done
sleep 1
run syscount "$T/syscount" -d "$SECS" --csv
SC_HWM=$HWM_KIB
sc_lost=$(awk -F, '$1=="lost"{print $2}' "$TMP/syscount.out")
sc_klost=$(awk -F, '$1=="kernel_lost"{print $2}' "$TMP/syscount.out")
echo "syscount: $(awk -F, '$1=="total"{print $2}' "$TMP/syscount.out") syscalls, lost $sc_lost (kernel $sc_klost)"

run record "$T/record" -e raw_syscalls:sys_enter -d "$SECS" -o "$TMP/trace.dat"
REC_HWM=$HWM_KIB
cat "$TMP/record.err"
# "record: N events, L lost, written to …", then "record: the kernel dropped K events; …" if K > 0.
rec_lost=$(sed -n 's/^record: [0-9]* events, \([0-9]*\) lost,.*/\1/p' "$TMP/record.err")
rec_klost=$(sed -n 's/^record: the kernel dropped \([0-9]*\) events.*/\1/p' "$TMP/record.err")
rec_klost=${rec_klost:-0}
echo "record: trace.dat $(($(stat -c %s "$TMP/trace.dat") / 1048576)) MiB"

echo "RESULT stream-rss syscount_rss_mib=$((SC_HWM / 1024)) record_rss_mib=$((REC_HWM / 1024))" \
    "lost=$((sc_lost + rec_lost)) kernel_lost=$((sc_klost + rec_klost)) secs=$SECS"
