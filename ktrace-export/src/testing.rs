//! Synthesized events for the writers' unit tests: real kernel formats (sched_switch,
//! raw_syscalls, task_rename) and a generic `test:sample` with every field kind, decoded by
//! ktrace-ftrace's own [`Decoder`].

use ktrace_core::{Clock, Endian, FormatRegistry, RawEvent};
use ktrace_ftrace::{Decoder, Event};
use ktrace_testing::page::PageBuilder;

const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

pub(crate) const SWITCH: u16 = 1;
pub(crate) const ENTER: u16 = 2;
pub(crate) const EXIT: u16 = 3;
pub(crate) const RENAME: u16 = 4;
pub(crate) const SAMPLE: u16 = 5;
pub(crate) const BLOCK_ISSUE: u16 = 6;
pub(crate) const BLOCK_COMPLETE: u16 = 7;
pub(crate) const NEWTASK: u16 = 8;
pub(crate) const PROBE: u16 = 9;
pub(crate) const PROBE_RET: u16 = 10;

/// A decoder knowing the five formats.
pub(crate) fn decoder() -> Decoder {
    let fmt = |name: &str, id: u16, fields: &str| {
        format!("name: {name}\nID: {id}\nformat:\n{COMMON}{fields}\nprint fmt: \"\"\n")
    };
    let mut reg = FormatRegistry::new();
    for (sys, text) in [
        (
            "sched",
            fmt(
                "sched_switch",
                SWITCH,
                "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n",
            ),
        ),
        (
            "raw_syscalls",
            fmt(
                "sys_enter",
                ENTER,
                "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n",
            ),
        ),
        (
            "raw_syscalls",
            fmt(
                "sys_exit",
                EXIT,
                "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n",
            ),
        ),
        (
            "task",
            fmt(
                "task_rename",
                RENAME,
                "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:char oldcomm[16];\toffset:12;\tsize:16;\tsigned:0;\n\tfield:char newcomm[16];\toffset:28;\tsize:16;\tsigned:0;\n\tfield:short oom_score_adj;\toffset:44;\tsize:2;\tsigned:1;\n",
            ),
        ),
        (
            "test",
            fmt(
                "sample",
                SAMPLE,
                "\tfield:int value;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:char name[16];\toffset:12;\tsize:16;\tsigned:0;\n\tfield:u32 words[2];\toffset:28;\tsize:8;\tsigned:0;\n\tfield:__data_loc char[] msg;\toffset:36;\tsize:4;\tsigned:0;\n",
            ),
        ),
        (
            "block",
            fmt(
                "block_rq_issue",
                BLOCK_ISSUE,
                "\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:sector_t sector;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:unsigned int nr_sector;\toffset:24;\tsize:4;\tsigned:0;\n\tfield:unsigned int bytes;\toffset:28;\tsize:4;\tsigned:0;\n\tfield:unsigned short ioprio;\toffset:32;\tsize:2;\tsigned:0;\n\tfield:char rwbs[10];\toffset:34;\tsize:10;\tsigned:0;\n\tfield:char comm[16];\toffset:44;\tsize:16;\tsigned:0;\n",
            ),
        ),
        (
            "block",
            fmt(
                "block_rq_complete",
                BLOCK_COMPLETE,
                "\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:sector_t sector;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:unsigned int nr_sector;\toffset:24;\tsize:4;\tsigned:0;\n\tfield:int error;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:unsigned short ioprio;\toffset:32;\tsize:2;\tsigned:0;\n\tfield:char rwbs[10];\toffset:34;\tsize:10;\tsigned:0;\n",
            ),
        ),
        (
            "task",
            fmt(
                "task_newtask",
                NEWTASK,
                "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n\tfield:u64 clone_flags;\toffset:32;\tsize:8;\tsigned:0;\n\tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;\n",
            ),
        ),
        ("x", fmt("work", PROBE, "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n")),
        (
            "x",
            fmt(
                "work_ret",
                PROBE_RET,
                "\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n",
            ),
        ),
    ] {
        reg.add_text(sys, &text).unwrap();
    }
    Decoder::new(reg, Endian::NATIVE, Clock::Local)
}

/// A record of event `id` by `pid`, `len` bytes, with `fields` written at their offsets.
fn record(id: u16, pid: i32, len: usize, fields: &[(usize, &[u8])]) -> Vec<u8> {
    let mut r = vec![0u8; len];
    r[0..2].copy_from_slice(&id.to_ne_bytes());
    r[4..8].copy_from_slice(&pid.to_ne_bytes());
    for (off, b) in fields {
        r[*off..*off + b.len()].copy_from_slice(b);
    }
    r
}

fn comm(s: &str) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[..s.len()].copy_from_slice(s.as_bytes());
    c
}

/// The `msg` of the sample event: 199 bytes, so its messages pass 127 bytes (two-byte lengths).
pub(crate) fn long_msg() -> String {
    "x".repeat(199)
}

/// The workload, as (timestamp ns, cpu, record): on cpu 0 `sh` (100) switches to `app` (200),
/// which calls getppid (110) and gets 42 back, renames itself `worker`, and records a sample
/// (value -5, name `hello`, words [1, 2], the long msg); cpu 1 runs one sample of pid 300.
pub(crate) fn records() -> Vec<(u64, u32, Vec<u8>)> {
    let mut args = Vec::new();
    for a in [1u64, 2, 3, 4, 5, 6] {
        args.extend_from_slice(&a.to_ne_bytes());
    }
    let msg = long_msg();
    let mut loc = Vec::new();
    loc.extend_from_slice(msg.as_bytes());
    loc.push(0);
    let data_loc = ((loc.len() as u32) << 16 | 40).to_ne_bytes();
    let words: Vec<u8> = [1u32, 2].iter().flat_map(|w| w.to_ne_bytes()).collect();
    let sample = |pid| {
        record(
            SAMPLE,
            pid,
            40 + loc.len(),
            &[(8, &(-5i32).to_ne_bytes()), (12, &comm("hello")), (28, &words), (36, &data_loc), (40, &loc)],
        )
    };
    vec![
        (
            1_000,
            0,
            record(
                SWITCH,
                100,
                64,
                &[
                    (8, &comm("sh")),
                    (24, &100i32.to_ne_bytes()),
                    (28, &120i32.to_ne_bytes()),
                    (32, &1i64.to_ne_bytes()),
                    (40, &comm("app")),
                    (56, &200i32.to_ne_bytes()),
                    (60, &120i32.to_ne_bytes()),
                ],
            ),
        ),
        (2_000, 0, record(ENTER, 200, 64, &[(8, &110i64.to_ne_bytes()), (16, &args)])),
        (2_500, 1, sample(300)),
        (3_500, 0, record(EXIT, 200, 24, &[(8, &110i64.to_ne_bytes()), (16, &42i64.to_ne_bytes())])),
        (
            4_000,
            0,
            record(
                RENAME,
                200,
                48,
                &[(8, &200i32.to_ne_bytes()), (12, &comm("app")), (28, &comm("worker")), (44, &0i16.to_ne_bytes())],
            ),
        ),
        (5_000, 0, sample(200)),
    ]
}

/// Decodes record `r` with `dec`.
pub(crate) fn event<'a>(dec: &'a Decoder, r: &'a (u64, u32, Vec<u8>)) -> Event<'a> {
    dec.decode(RawEvent { timestamp: r.0, cpu: r.1, offset: 0, data: &r.2 }).unwrap()
}

/// Writes the workload to `w`, with a loss of 7 events on cpu 1 (at 2.4 us) before its sample,
/// and finishes.
pub(crate) fn write(w: &mut dyn crate::Writer) {
    let dec = decoder();
    for r in &records() {
        if r.1 == 1 {
            w.lost(&ktrace_core::Lost {
                source: ktrace_core::LostSource::FtraceRing,
                cpu: 1,
                count: Some(7),
                timestamp_ns: 2_400,
            })
            .unwrap();
        }
        w.event(&event(&dec, r)).unwrap();
    }
    w.finish().unwrap();
}

/// A `block_rq_issue` (`error` `None`) or `block_rq_complete` record of device 8:0, read as "R".
pub(crate) fn block(ts: u64, sector: u64, error: Option<i32>) -> (u64, u32, Vec<u8>) {
    let (id, len) = if error.is_some() { (BLOCK_COMPLETE, 44) } else { (BLOCK_ISSUE, 60) };
    let dev = (8u32 << 20).to_ne_bytes();
    let err = error.unwrap_or(4096).to_ne_bytes();
    let r = record(
        id,
        1,
        len,
        &[(8, &dev), (16, &sector.to_ne_bytes()), (24, &8u32.to_ne_bytes()), (28, &err), (34, b"R\0")],
    );
    (ts, 0, r)
}

/// `task_newtask` by `creator` of task `pid` named `comm` with `clone_flags`.
pub(crate) fn newtask(ts: u64, creator: i32, pid: i32, comm_: &str, clone_flags: u64) -> (u64, u32, Vec<u8>) {
    let r =
        record(NEWTASK, creator, 48, &[(8, &pid.to_ne_bytes()), (12, &comm(comm_)), (32, &clone_flags.to_ne_bytes())]);
    (ts, 0, r)
}

/// A uprobe hit (`x:work`) of function `func` by `tid`, or (`ret`) its uretprobe's (`x:work_ret`).
pub(crate) fn probe(ts: u64, tid: i32, func: u64, ret: bool) -> (u64, u32, Vec<u8>) {
    let r = match ret {
        false => record(PROBE, tid, 16, &[(8, &func.to_ne_bytes())]),
        true => record(PROBE_RET, tid, 24, &[(8, &func.to_ne_bytes()), (16, &0x1234u64.to_ne_bytes())]),
    };
    (ts, 0, r)
}

/// A `raw_syscalls` `sys_enter` (`ret` `None`) or `sys_exit` of syscall `nr` by `tid` on `cpu`.
pub(crate) fn syscall(ts: u64, cpu: u32, tid: i32, nr: i64, ret: Option<i64>) -> (u64, u32, Vec<u8>) {
    let r = match ret {
        None => record(ENTER, tid, 64, &[(8, &nr.to_ne_bytes())]),
        Some(ret) => record(EXIT, tid, 24, &[(8, &nr.to_ne_bytes()), (16, &ret.to_ne_bytes())]),
    };
    (ts, cpu, r)
}

/// Sub-buffer size of [`pages`].
pub(crate) const PAGE: usize = 4096;

/// `records` (in time order on each CPU) as each CPU's ring-buffer pages, as the kernel fills
/// them (`PageLayout::LE64`), built by [`PageBuilder`]: each record padded to 4 bytes, a new page
/// when the next one does not fit.
pub(crate) fn pages(records: &[(u64, u32, Vec<u8>)]) -> Vec<Vec<u8>> {
    let ncpu = records.iter().map(|r| r.1 as usize + 1).max().unwrap_or(1);
    let mut cpus = vec![Vec::new(); ncpu];
    // Per CPU: the page being filled and the last timestamp written.
    let mut open: Vec<Option<(PageBuilder, u64)>> = vec![None; ncpu];
    for (ts, cpu, data) in records {
        let c = *cpu as usize;
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        let head = if padded.len() <= 112 { 4 } else { 8 };
        let fits = open[c].as_ref().is_some_and(|(p, _)| p.len() + head + padded.len() <= PAGE);
        if !fits {
            if let Some((mut p, _)) = open[c].take() {
                cpus[c].extend(p.finish(0, None));
            }
            open[c] = Some((PageBuilder::new(*ts, PAGE), *ts));
        }
        let Some((p, last)) = open[c].as_mut() else { continue };
        let delta = (ts - *last) as u32;
        assert!(delta < 1 << 27, "a time extend would be needed");
        p.event(delta, &padded);
        *last = *ts;
    }
    for (buf, o) in cpus.iter_mut().zip(&mut open) {
        if let Some((p, _)) = o {
            buf.extend(p.finish(0, None));
        }
    }
    cpus
}

/// Each CPU's pages as a recording, decoded by [`decoder`].
pub(crate) fn recording(cpus: Vec<Vec<u8>>) -> ktrace_ftrace::Recording {
    ktrace_ftrace::Recording::new(cpus, PAGE, ktrace_core::PageLayout::LE64, Vec::new(), decoder())
}
