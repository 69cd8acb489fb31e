//! A `top`-style process table sampler. A refresh reads only `/proc/*/stat` and `/proc/*/statm`
//! (and `/proc/PID/io` when asked), into one reused buffer, and computes CPU% between refreshes.

use std::collections::HashMap;
use std::io::Read;
use std::time::Instant;

use crate::proc::stats::{PidIo, PidStat, PidStatm};

/// One process in the table.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRow {
    /// /proc/PID/stat fields.
    pub stat: PidStat,
    /// Resident set in KiB, from `/proc/PID/statm` (what `ps -o rss` and `top` show; the `rss`
    /// of `/proc/PID/stat` is approximate on Linux 6.2+). 0 for kernel threads.
    pub rss_kb: u64,
    /// CPU use since the previous refresh, % of one CPU (0 on the first refresh).
    pub cpu_percent: f64,
    /// IO counters, when enabled.
    pub io: Option<PidIo>,
}

/// Samples the process table.
#[derive(Debug)]
pub struct ProcessSampler {
    prev: HashMap<i32, (u64, u64)>,
    last: Option<Instant>,
    buf: String,
    ticks: f64,
    page_kb: u64,
    with_io: bool,
    /// The table of the last refresh.
    pub rows: Vec<ProcessRow>,
}

impl Default for ProcessSampler {
    fn default() -> Self {
        ProcessSampler::new(false)
    }
}

impl ProcessSampler {
    /// A sampler; `with_io` also reads /proc/PID/io.
    pub fn new(with_io: bool) -> ProcessSampler {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
        ProcessSampler {
            prev: HashMap::new(),
            last: None,
            buf: String::with_capacity(1024),
            ticks,
            page_kb: crate::proc::stats::page_size() / 1024,
            with_io,
            rows: Vec::new(),
        }
    }

    fn read(&mut self, path: &str) -> bool {
        self.buf.clear();
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut self.buf)).is_ok()
    }

    /// Reads the table now. Processes that vanish mid-read are skipped.
    pub fn refresh(&mut self) -> &[ProcessRow] {
        let now = Instant::now();
        let dt = self.last.map(|l| now.duration_since(l).as_secs_f64()).unwrap_or(0.0);
        self.last = Some(now);
        self.rows.clear();
        let mut seen = HashMap::with_capacity(self.prev.len());
        let Ok(dir) = std::fs::read_dir("/proc") else { return &self.rows };
        let mut path = String::with_capacity(32);
        for e in dir.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            path.clear();
            path.push_str("/proc/");
            path.push_str(name.to_str().unwrap_or_default());
            path.push_str("/stat");
            if !self.read(&path) {
                continue;
            }
            let Some(stat) = PidStat::parse(&self.buf) else { continue };
            let ticks = stat.utime + stat.stime;
            let cpu = match self.prev.get(&pid) {
                Some(&(t, start)) if start == stat.starttime && dt > 0.0 => {
                    (ticks.saturating_sub(t)) as f64 / self.ticks / dt * 100.0
                }
                _ => 0.0,
            };
            seen.insert(pid, (ticks, stat.starttime));
            // Same path buffer: "/proc/PID/stat" becomes "/proc/PID/statm", then "/proc/PID/io".
            path.push('m');
            let p = std::mem::take(&mut path);
            let rss_kb =
                if self.read(&p) { PidStatm::parse(&self.buf).map_or(0, |m| m.resident * self.page_kb) } else { 0 };
            path = p;
            let io = if self.with_io {
                path.truncate(path.len() - "statm".len());
                path.push_str("io");
                let p = std::mem::take(&mut path);
                let io = self.read(&p).then(|| PidIo::parse(&self.buf));
                path = p;
                io
            } else {
                None
            };
            self.rows.push(ProcessRow { stat, rss_kb, cpu_percent: cpu, io });
        }
        self.prev = seen;
        &self.rows
    }

    /// The row of `pid` from the last refresh.
    pub fn get(&self, pid: i32) -> Option<&ProcessRow> {
        self.rows.iter().find(|r| r.stat.pid == pid)
    }
}
