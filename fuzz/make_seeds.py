#!/usr/bin/env python3
"""Writes the small seed corpora under fuzz/seeds/<target>/ (run from anywhere; idempotent).

Seeds are well-formed inputs each fuzz target's parser accepts, so a short run starts from deep
paths instead of rediscovering the formats: the ftrace page and format fixtures of
ktrace-core/tests/fixtures, and synthesized kernel structs (perf records, ptrace_syscall_info,
taskstats, blk_io_trace, .note.stapsdt) laid out as the kernel's headers define them. The
`tracedat` seeds (a v6 file written by ktrace-ftrace's `TraceDat::write_v6` and its v7 conversions
by trace-cmd, see fuzz/README.md) and the `crash-*` inputs are left alone.
"""
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FX = os.path.join(ROOT, "ktrace-core", "tests", "fixtures")
OUT = os.path.join(ROOT, "fuzz", "seeds")


def fx(*p):
    with open(os.path.join(FX, *p), "rb") as f:
        return f.read()


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# page: first byte selects the page size (0 -> 4096, 1 -> 8192) and LE64 layout.
put("page", "trace_marker", b"\x00" + fx("trace_marker.raw")[:4096])
put("page", "sched_switch", b"\x00" + fx("sched_switch.raw")[:4096])
put("page", "missed_events", b"\x00" + fx("missed_events.raw")[:4096])
put("page", "subbuf_8k", b"\x01" + fx("subbuf_8k.raw")[:8192])

# format: tracefs format files, header_page, header_event.
for sys_ev in ["ftrace/print", "ftrace/raw_data", "raw_syscalls/sys_enter", "sched/sched_switch"]:
    put("format", sys_ev.replace("/", "_"), fx("formats", *sys_ev.split("/"), "format"))
put("format", "header_page", fx("header_page"))
put("format", "header_event", fx("header_event"))


def perf_rec(ty, body):
    return struct.pack("<IHH", ty, 0, 8 + len(body)) + body


# perf_ring: 16 bytes (tail, head % 4096) then a power-of-two data area of records.
recs = perf_rec(3, struct.pack("<II", 7, 7) + b"hot\0\0\0\0\0") + perf_rec(2, struct.pack("<QQ", 1, 5))
recs += perf_rec(9, struct.pack("<QQ", 0x401000, 123456))
area = recs + bytes(256 - len(recs))
put("perf_ring", "comm_lost_sample", struct.pack("<QQ", 0, len(recs)) + area)
put("perf_ring", "wrapped", struct.pack("<QQ", 200, len(recs)) + area[200 - 256 :] + area[: 200 - 256])

# perf_sample: first byte picks the record type (index into [1,2,3,4,5,7,9,10,13]; 0x10 = callchain).
sample = b"".join(struct.pack("<Q", v) for v in [0x401000, (7 << 32) | 7, 123456, 1, 1000, 3, 0x401000, 0x402000, 0xFFFFFFFF81000000])
sample += struct.pack("<I", 12) + b"\x01" * 12
put("perf_sample", "sample_callchain_raw", bytes([24]) + sample)
# Side-band records end in the sampler's sample_id: pid/tid, time, cpu.
sid = struct.pack("<IIQII", 7, 7, 123456, 1, 0)
comm = struct.pack("<II", 7, 7) + b"hot\0\0\0\0\0" + sid
mmap2 = bytes(64) + b"/usr/bin/true\0\0\0" + sid
fork = struct.pack("<IIIIQ", 9, 7, 9, 7, 1) + sid
lost = struct.pack("<QQ", 1, 42) + sid
put("perf_sample", "comm", bytes([2]) + comm)
put("perf_sample", "mmap2", bytes([7]) + mmap2)
put("perf_sample", "fork", bytes([5]) + fork)
put("perf_sample", "lost", bytes([1]) + lost)

# perf_record: kind (% 16), misc bits (<< 13), u32 sample_type, read_format | 0x80 for
# sample_id_all, split point (/ 256 of the body), then the body.
def perf_record(kind, sample_type, body, misc=0, read_format=0x80, split=128):
    return struct.pack("<BBIBB", kind, misc, sample_type, read_format, split) + body


profiler = 0x1 | 0x2 | 0x4 | 0x80 | 0x100 | 0x20 | 0x400  # IP TID TIME CPU PERIOD CALLCHAIN RAW
put("perf_record", "sample", perf_record(9, profiler, sample))
put("perf_record", "sample_read_group", perf_record(9, 0x1 | 0x10, struct.pack("<8Q", 1, 2, 5, 10, 11, 12, 13, 14), read_format=0x0D))
put("perf_record", "comm_exec", perf_record(3, profiler, comm, misc=1))
put("perf_record", "mmap2", perf_record(10, profiler, mmap2))
put("perf_record", "mmap2_build_id", perf_record(10, profiler, mmap2, misc=2))
put("perf_record", "fork", perf_record(7, profiler, fork))
put("perf_record", "lost", perf_record(2, profiler, lost))
put("perf_record", "lost_samples", perf_record(13, profiler, struct.pack("<Q", 9) + sid))
put("perf_record", "throttle", perf_record(5, profiler, struct.pack("<QQQ", 1, 2, 3) + sid))

# syscall_info: struct ptrace_syscall_info (entry, exit, seccomp) for AUDIT_ARCH_X86_64.
head = lambda op: struct.pack("<B3xIQQ", op, 0xC000003E, 0x401000, 0x7FFC0000)
put("syscall_info", "entry", head(1) + struct.pack("<Q6Q", 0, 3, 0x7FFC1000, 64, 0, 0, 0))
put("syscall_info", "exit", head(2) + struct.pack("<qB7x", -2, 1))
put("syscall_info", "seccomp", head(3) + struct.pack("<Q6QI4x", 257, 0, 0, 0, 0, 0, 0, 1))

# taskstats: TASKSTATS_TYPE_STATS payloads, version in the first u16 (v13 416 bytes, v16 560).
for v, n in [(13, 416), (16, 560)]:
    put("taskstats", f"v{v}", struct.pack("<H", v) + bytes((i * 7) & 0xFF for i in range(n - 2)))

# blk_records: a v7 blk_io_trace stream Q G I D C (BLK_TC_WRITE) with an 8-byte pdu on D.
def blk7(seq, t, act, pdu=b""):
    return struct.pack("<IIQQIIIIIHH", 0x65617407, seq, t, 2048, 4096, (2 << 16) | act, 42, (7 << 20) | 1, 0, 0, len(pdu)) + pdu


put("blk_records", "v7_qgidc", b"".join(blk7(i + 1, 1000 * (i + 1), a, b"\0" * 8 if a == 7 else b"") for i, a in enumerate([1, 4, 12, 7, 8])))

# usdt_notes: two .note.stapsdt notes (NT_STAPSDT = 3): pc, base, semaphore, provider, name, args.
def note(pc, sem, prov, name, args):
    desc = struct.pack("<QQQ", pc, 0x2000, sem) + prov + b"\0" + name + b"\0" + args + b"\0"
    return struct.pack("<III", 8, len(desc), 3) + b"stapsdt\0" + desc + bytes(-len(desc) % 4)


put("usdt_notes", "two_probes", note(0x1139, 0, b"app", b"start", b"-4@%edi 8@%rsi") + note(0x1150, 0x4010, b"app", b"done", b"-8@-8(%rbp) 4@$5"))

# probe_def: kprobe_events / uprobe_events / dynamic_events lines.
for i, line in enumerate([
    "p:ktrace/open do_sys_openat2 dfd=%di:s32 filename=+0(%si):string",
    "r:ktrace/open_ret do_sys_openat2 ret=$retval:s64",
    "p:ktrace/malloc /usr/lib/x86_64-linux-gnu/libc.so.6:0x9a0d0 size=%di:u64",
    "f:ktrace/vfs_read vfs_read count=count",
    "t:ktrace/switch sched_switch prev=prev",
]):
    put("probe_def", f"line{i}", line.encode())

# hist: a hist-trigger `hist` file.
put("hist", "syscalls", b"""# event histogram
#
# trigger info: hist:keys=common_pid.execname,id.syscall:vals=hitcount,bytes:sort=hitcount:size=2048 [active]
#

{ common_pid: python3 [ 4242], id: sys_getppid [110] } hitcount: 100 bytes: 7
{ lat: ~ 2^5 } hitcount: 9

Totals:
    Hits: 112
    Entries: 3
    Dropped: 0
""")

# procfs: the shapes of /proc/stat, /proc/PID/stat, /proc/PID/io, pressure, diskstats, schedstat.
put("procfs", "stat", b"cpu  100 0 50 1000 10 0 5 0 0 0\ncpu0 50 0 25 500 5 0 2 0 0 0\nintr 1234 0\nctxt 5678\nbtime 1700000000\nprocesses 321\nprocs_running 2\nprocs_blocked 0\n")
put("procfs", "pid_stat", b"4242 (my (odd) comm) S 1 4242 4242 0 -1 4194560 100 0 0 0 12 3 0 0 20 0 1 0 123456 12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
put("procfs", "pid_io", b"rchar: 1000\nwchar: 2000\nsyscr: 10\nsyscw: 20\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n")
put("procfs", "pressure", b"some avg10=0.12 avg60=0.05 avg300=0.01 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
put("procfs", "diskstats", b"   7       0 loop0 10 0 80 5 0 0 0 0 0 12 5 0 0 0 0 0 0\n 259       0 nvme0n1 100 2 8000 50 200 3 16000 90 0 120 140 0 0 0 0 10 4\n")
put("procfs", "schedstat", b"123456789 2345678 42\n")
