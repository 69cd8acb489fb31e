//! In-kernel statistics from /proc, typed: `/proc/stat`, `/proc/PID/stat`, `/proc/PID/io`,
//! `/proc/meminfo`, `/proc/vmstat`, `/proc/diskstats`, `/proc/pressure/*` (PSI, 4.20+),
//! `/proc/PID/schedstat`. Parsers take text and never fail on unknown lines (they are skipped).

use std::collections::BTreeMap;

/// CPU time counters in clock ticks (USER_HZ) from a `cpu` line of /proc/stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user
    pub user: u64,
    /// nice
    pub nice: u64,
    /// system
    pub system: u64,
    /// idle
    pub idle: u64,
    /// iowait
    pub iowait: u64,
    /// irq
    pub irq: u64,
    /// softirq
    pub softirq: u64,
    /// steal
    pub steal: u64,
}

impl CpuTimes {
    /// All ticks.
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq + self.steal
    }
    /// Non-idle ticks.
    pub fn busy(&self) -> u64 {
        self.total() - self.idle - self.iowait
    }
}

/// `/proc/stat`.
#[doc(alias = "proc_stat")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemStat {
    /// The `cpu` line.
    pub total: CpuTimes,
    /// `cpuN` lines.
    pub cpus: Vec<CpuTimes>,
    /// Context switches since boot.
    pub ctxt: u64,
    /// Interrupts since boot.
    pub intr: u64,
    /// Boot time (seconds since the epoch).
    pub btime: u64,
    /// Forks since boot.
    pub processes: u64,
    /// Runnable tasks.
    pub procs_running: u64,
    /// Tasks blocked on IO.
    pub procs_blocked: u64,
}

fn nums(s: &str) -> impl Iterator<Item = u64> + '_ {
    s.split_whitespace().map(|w| w.parse().unwrap_or(0))
}

fn cpu_times(rest: &str) -> CpuTimes {
    let mut n = nums(rest);
    let mut next = || n.next().unwrap_or(0);
    CpuTimes {
        user: next(),
        nice: next(),
        system: next(),
        idle: next(),
        iowait: next(),
        irq: next(),
        softirq: next(),
        steal: next(),
    }
}

impl SystemStat {
    /// Parses /proc/stat text.
    pub fn parse(text: &str) -> SystemStat {
        let mut s = SystemStat::default();
        for line in text.lines() {
            let (k, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            match k {
                "cpu" => s.total = cpu_times(rest),
                k if k.starts_with("cpu") => s.cpus.push(cpu_times(rest)),
                "ctxt" => s.ctxt = nums(rest).next().unwrap_or(0),
                "intr" => s.intr = nums(rest).next().unwrap_or(0),
                "btime" => s.btime = nums(rest).next().unwrap_or(0),
                "processes" => s.processes = nums(rest).next().unwrap_or(0),
                "procs_running" => s.procs_running = nums(rest).next().unwrap_or(0),
                "procs_blocked" => s.procs_blocked = nums(rest).next().unwrap_or(0),
                _ => {}
            }
        }
        s
    }
}

/// `/proc/PID/stat` (fields by proc(5) number).
#[doc(alias = "proc_pid_stat")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PidStat {
    /// (1) pid
    pub pid: i32,
    /// (2) comm, without parentheses
    pub comm: String,
    /// (3) state (`R`, `S`, `D`, `Z`, `T`, `t`…)
    pub state: char,
    /// (4) parent pid
    pub ppid: i32,
    /// (9) kernel flags (`PF_*`; `PF_KTHREAD` 0x0020_0000 marks kernel threads)
    pub flags: u64,
    /// (10) minor faults
    pub minflt: u64,
    /// (12) major faults
    pub majflt: u64,
    /// (14) user ticks
    pub utime: u64,
    /// (15) system ticks
    pub stime: u64,
    /// (20) threads
    pub num_threads: u64,
    /// (22) start time in ticks after boot
    pub starttime: u64,
    /// (23) virtual size in bytes
    pub vsize: u64,
    /// (24) resident set in pages. Approximate since Linux 6.2 (per-CPU counters read without
    /// summing: 0.4-4.4% low here); [`PidStatm::resident`] has the exact sum that `ps` and `top`
    /// report.
    pub rss: u64,
    /// (39) last CPU
    pub processor: u32,
}

impl PidStat {
    /// True for kernel threads (`PF_KTHREAD`).
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & 0x0020_0000 != 0
    }

    /// Parses /proc/PID/stat text; `None` if malformed. The comm may contain spaces and `)`: the
    /// last `)` ends it.
    pub fn parse(text: &str) -> Option<PidStat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let pid = text.get(..open)?.trim().parse().ok()?;
        let comm = text.get(open + 1..close)?.to_owned();
        let rest: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
        // rest[0] is field 3.
        let f = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Some(PidStat {
            pid,
            comm,
            state: rest.first()?.chars().next()?,
            ppid: rest.get(1).and_then(|v| v.parse().ok()).unwrap_or(0),
            flags: f(9),
            minflt: f(10),
            majflt: f(12),
            utime: f(14),
            stime: f(15),
            num_threads: f(20),
            starttime: f(22),
            vsize: f(23),
            rss: f(24),
            processor: f(39) as u32,
        })
    }
}

/// `/proc/PID/statm`: memory sizes in pages (proc(5)), the numbers `ps -o rss` and `top`'s RES
/// come from (with `VmRSS` of `/proc/PID/status`). Multiply by [`page_size`] for bytes.
#[doc(alias = "statm")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidStatm {
    /// (1) total program size (VmSize)
    pub size: u64,
    /// (2) resident set (VmRSS: RssAnon + RssFile + RssShmem)
    pub resident: u64,
    /// (3) resident shared pages, file-backed and shmem (RssFile + RssShmem)
    pub shared: u64,
    /// (4) text (code)
    pub text: u64,
    /// (6) data + stack
    pub data: u64,
}

impl PidStatm {
    /// Parses /proc/PID/statm text (seven numbers); `None` if malformed.
    pub fn parse(text: &str) -> Option<PidStatm> {
        let mut n = text.split_ascii_whitespace().map(|v| v.parse::<u64>().ok());
        let mut next = || n.next().flatten();
        let (size, resident, shared, text) = (next()?, next()?, next()?, next()?);
        let _lib = next()?;
        Some(PidStatm { size, resident, shared, text, data: next()? })
    }
}

/// The page size in bytes (`sysconf(_SC_PAGESIZE)`: 4 KiB on x86_64, 4, 16 or 64 KiB on aarch64),
/// the unit of `/proc/PID/statm` and of `rss` in `/proc/PID/stat`.
#[doc(alias = "sysconf")]
pub fn page_size() -> u64 {
    static PAGE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as u64)
    })
}

/// `/proc/PID/io`.
#[doc(alias = "proc_pid_io")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PidIo {
    /// Bytes read through read-like calls.
    pub rchar: u64,
    /// Bytes written through write-like calls.
    pub wchar: u64,
    /// Bytes read from storage.
    pub read_bytes: u64,
    /// Bytes written to storage.
    pub write_bytes: u64,
}

impl PidIo {
    /// Parses /proc/PID/io text (one pass, no allocation: the process table reads it per process).
    pub fn parse(text: &str) -> PidIo {
        let mut io = PidIo::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim().parse().unwrap_or(0);
            match k.trim() {
                "rchar" => io.rchar = v,
                "wchar" => io.wchar = v,
                "read_bytes" => io.read_bytes = v,
                "write_bytes" => io.write_bytes = v,
                _ => {}
            }
        }
        io
    }
}

/// `key: value [kB]` or `key value` lines (meminfo, vmstat, io) as a map (kB values stay in kB).
pub fn key_values(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':').or_else(|| l.split_once(' '))?;
            Some((k.trim().to_owned(), v.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// One line of /proc/pressure/{cpu,memory,io}.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PressureLine {
    /// avg10 (%)
    pub avg10: f64,
    /// avg60 (%)
    pub avg60: f64,
    /// avg300 (%)
    pub avg300: f64,
    /// total stall time (µs)
    pub total_us: u64,
}

/// A PSI file: `some` and (except cpu on old kernels) `full`.
#[doc(alias = "PSI")]
#[doc(alias = "pressure")]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pressure {
    /// Some tasks stalled.
    pub some: PressureLine,
    /// All non-idle tasks stalled.
    pub full: Option<PressureLine>,
}

impl Pressure {
    /// Parses a /proc/pressure/* file.
    pub fn parse(text: &str) -> Pressure {
        let mut p = Pressure::default();
        for line in text.lines() {
            let mut l = PressureLine::default();
            for kv in line.split_whitespace().skip(1) {
                let Some((k, v)) = kv.split_once('=') else { continue };
                match k {
                    "avg10" => l.avg10 = v.parse().unwrap_or(0.0),
                    "avg60" => l.avg60 = v.parse().unwrap_or(0.0),
                    "avg300" => l.avg300 = v.parse().unwrap_or(0.0),
                    "total" => l.total_us = v.parse().unwrap_or(0),
                    _ => {}
                }
            }
            if line.starts_with("some") {
                p.some = l;
            } else if line.starts_with("full") {
                p.full = Some(l);
            }
        }
        p
    }
}

/// One line of /proc/diskstats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskStat {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Name.
    pub name: String,
    /// Reads completed.
    pub reads: u64,
    /// Sectors read.
    pub sectors_read: u64,
    /// ms reading.
    pub read_ms: u64,
    /// Writes completed.
    pub writes: u64,
    /// Sectors written.
    pub sectors_written: u64,
    /// ms writing.
    pub write_ms: u64,
    /// IOs in flight.
    pub in_flight: u64,
    /// ms doing IO.
    pub io_ms: u64,
}

/// Parses /proc/diskstats.
pub fn diskstats(text: &str) -> Vec<DiskStat> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| w.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            Some(DiskStat {
                major: w.first()?.parse().ok()?,
                minor: w.get(1)?.parse().ok()?,
                name: (*w.get(2)?).to_owned(),
                reads: n(3),
                sectors_read: n(5),
                read_ms: n(6),
                writes: n(7),
                sectors_written: n(9),
                write_ms: n(10),
                in_flight: n(11),
                io_ms: n(12),
            })
        })
        .collect()
}

/// `/proc/PID/schedstat`: (ns on CPU, ns waiting on a run queue, timeslices).
pub fn schedstat(text: &str) -> Option<(u64, u64, u64)> {
    let mut n = nums(text);
    Some((n.next()?, n.next()?, n.next()?))
}

/// The process ids in /proc now (empty when /proc cannot be read).
pub fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().and_then(|e| e.file_name().to_str().and_then(|n| n.parse().ok())))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses() {
        let s = SystemStat::parse(
            "cpu  10 0 5 100 1 0 0 0 0 0\ncpu0 5 0 2 50 0 0 0 0 0 0\ncpu1 5 0 3 50 1 0 0 0 0 0\nintr 999 1 2\nctxt 42\nbtime 1700000000\nprocesses 77\nprocs_running 2\nprocs_blocked 0\n",
        );
        assert_eq!((s.cpus.len(), s.total.busy(), s.ctxt, s.intr, s.procs_running), (2, 15, 42, 999, 2));
        let p = PidStat::parse("123 (a b) c) R 1 1 1 0 -1 4194304 100 0 7 0 50 25 0 0 20 0 3 0 4242 1000000 250 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0").unwrap();
        assert_eq!(
            (p.pid, p.comm.as_str(), p.state, p.ppid, p.utime, p.stime, p.num_threads, p.rss, p.processor),
            (123, "a b) c", 'R', 1, 50, 25, 3, 250, 1)
        );
        assert!(PidStat::parse("garbage").is_none());
        let m = PidStatm::parse("3546 1280 896 184 0 412 0\n").unwrap();
        assert_eq!((m.size, m.resident, m.shared, m.text, m.data), (3546, 1280, 896, 184, 412));
        assert!(PidStatm::parse("3546 1280 896").is_none());
        assert!(PidStatm::parse("3546 x 896 184 0 412 0").is_none());
        let psi = Pressure::parse(
            "some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=10\n",
        );
        assert_eq!((psi.some.avg10, psi.some.total_us, psi.full.unwrap().total_us), (1.5, 12345, 10));
        let d = diskstats("   7       0 loop0 5 0 40 1 8 0 64 2 0 3 3 0 0 0 0\n");
        assert_eq!((d[0].name.as_str(), d[0].reads, d[0].sectors_written), ("loop0", 5, 64));
        assert_eq!(key_values("MemTotal:  100 kB\nnr_free_pages 7\n")["nr_free_pages"], 7);
        assert_eq!(schedstat("100 200 3\n"), Some((100, 200, 3)));
        assert_eq!(PidIo::parse("rchar: 5\nwchar: 6\nread_bytes: 0\nwrite_bytes: 4096\n").write_bytes, 4096);
    }
}
