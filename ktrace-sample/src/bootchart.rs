//! BootChart: samples process start-up and system utilization from the start of a command, or of
//! the whole system from boot when run by an init wrapper ([`Chart::record_system`]; the
//! `bootchart --init` example is such a wrapper: it starts the logger and execs the real init),
//! and renders an SVG a person can read: CPU and disk-IO graphs on top, one bar per process over
//! time (shaded by its CPU use, red where it did storage IO or blocked), as bootchart does.
//! Sampling is from /proc (`stat`, `io`, `diskstats`); start times come from the kernel's
//! `starttime`, but processes shorter than the interval can be missed, as in bootchart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::proc::stats::{SystemStat, diskstats};
use crate::proc::top::ProcessSampler;

/// One process seen in the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartProcess {
    /// pid.
    pub pid: i32,
    /// Parent pid.
    pub ppid: i32,
    /// Command name.
    pub comm: String,
    /// Start (s from the chart's start; from the kernel's start time, so a process that started
    /// between two samples is placed right; 0 for processes older than the chart).
    pub start: f64,
    /// Last seen (s from the start).
    pub end: f64,
    /// (time s, CPU % of one CPU) per sample.
    pub cpu: Vec<(f64, f64)>,
    /// (time s, storage bytes/s read + written) per sample where it did IO.
    pub io: Vec<(f64, f64)>,
    /// Times (s) it was seen blocked in uninterruptible sleep (`D`, mostly waiting for IO).
    pub blocked: Vec<f64>,
}

/// A recorded chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// The command, or what was charted.
    pub title: String,
    /// Duration (s).
    pub duration: f64,
    /// Seconds since boot at the chart's start (0 means "at boot").
    pub boot_offset: f64,
    /// (time s, system CPU busy fraction 0..1, disk sectors/s) per sample.
    pub system: Vec<(f64, f64, f64)>,
    /// Processes of the command's tree (or all of them), by start.
    pub processes: Vec<ChartProcess>,
    /// How the charted command ended ([`Chart::record`]; `None` for a system chart).
    pub exit: Option<std::process::ExitStatus>,
}

/// Which processes a chart follows.
enum Follow {
    /// The tree under this pid.
    Tree(i32),
    /// Every process.
    All,
}

fn uptime() -> f64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn read_sys() -> (crate::proc::stats::CpuTimes, u64) {
    let st = std::fs::read_to_string("/proc/stat").map(|t| SystemStat::parse(&t)).unwrap_or_default();
    let io: u64 = std::fs::read_to_string("/proc/diskstats")
        .map(|t| {
            diskstats(&t)
                .iter()
                .filter(|d| !d.name.starts_with("loop") && !d.name.starts_with("ram"))
                .map(|d| d.sectors_read + d.sectors_written)
                .sum()
        })
        .unwrap_or(0);
    (st.total, io)
}

/// The sampling loop shared by the command and the boot modes.
struct Recorder {
    t0: Instant,
    boot_offset: f64,
    ticks: f64,
    sampler: ProcessSampler,
    procs: BTreeMap<i32, ChartProcess>,
    prev_io: HashMap<i32, (u64, f64)>,
    tree: HashSet<i32>,
    follow: Follow,
    chart: Chart,
    prev_sys: (crate::proc::stats::CpuTimes, u64),
    prev_t: f64,
}

impl Recorder {
    fn new(follow: Follow, title: String) -> Recorder {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
        let tree = match follow {
            Follow::Tree(p) => [p].into_iter().collect(),
            Follow::All => HashSet::new(),
        };
        Recorder {
            t0: Instant::now(),
            boot_offset: uptime(),
            ticks,
            sampler: ProcessSampler::new(true),
            procs: BTreeMap::new(),
            prev_io: HashMap::new(),
            tree,
            follow,
            chart: Chart { title, ..Default::default() },
            prev_sys: read_sys(),
            prev_t: 0.0,
        }
    }

    /// One sample of the process table and the system.
    fn sample(&mut self) {
        let t = self.t0.elapsed().as_secs_f64();
        let rows = self.sampler.refresh();
        if let Follow::Tree(_) = self.follow {
            // The tree: descendants by ppid (parents are seen before children).
            let mut changed = true;
            while changed {
                changed = false;
                for r in rows {
                    if !self.tree.contains(&r.stat.pid) && self.tree.contains(&r.stat.ppid) {
                        self.tree.insert(r.stat.pid);
                        changed = true;
                    }
                }
            }
        }
        for r in rows {
            let followed = match self.follow {
                Follow::Tree(_) => self.tree.contains(&r.stat.pid),
                // Kernel threads are not part of a boot's story.
                Follow::All => !r.stat.is_kernel_thread(),
            };
            if !followed || r.stat.state == 'Z' {
                continue;
            }
            let started = (r.stat.starttime as f64 / self.ticks - self.boot_offset).clamp(0.0, t);
            let p = self.procs.entry(r.stat.pid).or_insert_with(|| ChartProcess {
                pid: r.stat.pid,
                ppid: r.stat.ppid,
                comm: r.stat.comm.clone(),
                start: started,
                end: t,
                cpu: Vec::new(),
                io: Vec::new(),
                blocked: Vec::new(),
            });
            p.comm.clone_from(&r.stat.comm); // after exec the name changes
            p.end = t;
            p.cpu.push((t, r.cpu_percent));
            if r.stat.state == 'D' {
                p.blocked.push(t);
            }
            if let Some(io) = r.io {
                let bytes = io.read_bytes + io.write_bytes;
                if let Some(&(b0, t0)) = self.prev_io.get(&r.stat.pid)
                    && bytes > b0
                {
                    p.io.push((t, (bytes - b0) as f64 / (t - t0).max(1e-3)));
                }
                self.prev_io.insert(r.stat.pid, (bytes, t));
            }
        }
        let (cpu, io) = read_sys();
        let (prev_cpu, prev_io) = self.prev_sys;
        let dt = (t - self.prev_t).max(1e-3);
        let busy = (cpu.busy().saturating_sub(prev_cpu.busy())) as f64
            / (cpu.total().saturating_sub(prev_cpu.total())).max(1) as f64;
        self.chart.system.push((t, busy, io.saturating_sub(prev_io) as f64 / dt));
        (self.prev_sys, self.prev_t) = ((cpu, io), t);
    }

    fn rows(&self) -> &[crate::proc::top::ProcessRow] {
        &self.sampler.rows
    }

    fn finish(mut self) -> Chart {
        self.chart.duration = self.t0.elapsed().as_secs_f64();
        self.chart.boot_offset = self.boot_offset;
        let mut v: Vec<ChartProcess> = self.procs.into_values().collect();
        v.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pid.cmp(&b.pid)));
        self.chart.processes = v;
        self.chart
    }
}

/// When a system-wide (boot) chart ends.
#[derive(Debug, Clone, Default)]
pub struct Until {
    /// At the latest after this long.
    pub max: Option<Duration>,
    /// When a process with this name has been seen (bootchartd's "the login prompt is up").
    pub comm: Option<String>,
    /// When this file exists.
    pub file: Option<std::path::PathBuf>,
}

impl Chart {
    /// Runs `cmd` and samples every `interval` until it exits.
    pub fn record(cmd: &[String], interval: Duration) -> Result<Chart> {
        let (prog, args) = cmd
            .split_first()
            .ok_or_else(|| Error::Unsupported { feature: "bootchart".into(), hint: "no command".into() })?;
        let child =
            std::process::Command::new(prog).args(args).spawn().map_err(|e| Error::io("spawn", prog.as_str(), e))?;
        Chart::record_child(child, &cmd.join(" "), interval)
    }

    /// Samples a started command (and its children) every `interval` until it exits: as
    /// [`Chart::record`], for a child started another way (held before its exec, say).
    /// `label` names it in the chart.
    pub fn record_child(mut child: std::process::Child, label: &str, interval: Duration) -> Result<Chart> {
        let mut rec = Recorder::new(Follow::Tree(child.id() as i32), label.to_owned());
        let exit = loop {
            let done = child.try_wait().map_err(|e| Error::io("waitpid", label, e))?;
            rec.sample();
            if let Some(status) = done {
                break status;
            }
            std::thread::sleep(interval);
        };
        let mut chart = rec.finish();
        chart.exit = Some(exit);
        Ok(chart)
    }

    /// Charts every process of the system (kernel threads aside) from now until `until` says
    /// stop: the boot logger's loop, run by an init wrapper as early as possible at boot (see
    /// the `bootchart --init` example), or at any time to chart the whole machine.
    ///
    /// ```no_run
    /// use ktrace_sample::bootchart::{Chart, Until};
    /// let until = Until { max: Some(std::time::Duration::from_secs(2)), ..Default::default() };
    /// let chart = Chart::record_system(std::time::Duration::from_millis(50), &until)?;
    /// std::fs::write("/tmp/system.svg", chart.svg()).ok();
    /// # Ok::<(), ktrace_sample::Error>(())
    /// ```
    pub fn record_system(interval: Duration, until: &Until) -> Result<Chart> {
        if std::fs::metadata("/proc/self/stat").is_err() {
            return Err(Error::Unsupported { feature: "bootchart".into(), hint: "/proc is not mounted".into() });
        }
        let mut rec = Recorder::new(Follow::All, "system".into());
        loop {
            rec.sample();
            let t = rec.t0.elapsed();
            let by_time = until.max.is_some_and(|m| t >= m);
            let by_comm = until.comm.as_ref().is_some_and(|c| rec.rows().iter().any(|r| &r.stat.comm == c));
            let by_file = until.file.as_ref().is_some_and(|f| f.exists());
            if by_time || by_comm || by_file {
                break;
            }
            std::thread::sleep(interval);
        }
        Ok(rec.finish())
    }

    /// Renders the chart as SVG.
    pub fn svg(&self) -> String {
        let (w, left, row) = (1000.0, 160.0, 16.0);
        let graph_h = 60.0;
        let top = 40.0;
        let procs_y = top + 2.0 * (graph_h + 20.0);
        let h = procs_y + row * self.processes.len() as f64 + 20.0;
        let x = |t: f64| left + (w - left - 10.0) * t / self.duration.max(1e-3);
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="10" y="20" font-size="14">ktrace bootchart: {} ({:.2} s, {} processes)</text>"#,
            esc(&self.title),
            self.duration,
            self.processes.len()
        );
        // Time axis: a tick every "nice" step, about ten across.
        let step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
            .into_iter()
            .find(|st| self.duration / st <= 12.0)
            .unwrap_or(120.0);
        let mut tick = 0.0;
        while tick <= self.duration {
            let tx = x(tick);
            let _ = writeln!(s, r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{h}" stroke="#f0f0f0"/>"##);
            let _ = writeln!(s, r##"<text x="{tx:.1}" y="{}" fill="#666">{tick:.2}s</text>"##, top - 4.0);
            tick += step;
        }
        let io_max = self.system.iter().map(|p| p.2).fold(1.0, f64::max);
        for (i, (name, pick, scale, color)) in
            [("CPU", 1usize, 1.0, "#3b7ddd"), ("disk IO", 2usize, io_max, "#d9534f")].into_iter().enumerate()
        {
            let y0 = top + i as f64 * (graph_h + 20.0);
            let _ = writeln!(s, r#"<text x="10" y="{}">{name}</text>"#, y0 + graph_h / 2.0);
            let _ = writeln!(
                s,
                r##"<rect x="{left}" y="{y0}" width="{}" height="{graph_h}" fill="none" stroke="#ccc"/>"##,
                w - left - 10.0
            );
            let pts: Vec<String> = self
                .system
                .iter()
                .map(|p| {
                    let v = if pick == 1 { p.1 } else { p.2 };
                    format!("{:.1},{:.1}", x(p.0), y0 + graph_h - graph_h * (v / scale).clamp(0.0, 1.0))
                })
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.5"/>"#,
                pts.join(" ")
            );
        }
        for (i, p) in self.processes.iter().enumerate() {
            let y = procs_y + row * i as f64;
            let _ = writeln!(s, r#"<text x="10" y="{}">{} ({})</text>"#, y + row - 4.0, esc(&p.comm), p.pid);
            let _ = writeln!(
                s,
                r##"<rect x="{:.1}" y="{y}" width="{:.1}" height="{}" fill="#eee" stroke="#999"><title>{} pid {} ppid {}: {:.2}-{:.2} s</title></rect>"##,
                x(p.start),
                (x(p.end) - x(p.start)).max(1.0),
                row - 3.0,
                esc(&p.comm),
                p.pid,
                p.ppid,
                p.start,
                p.end
            );
            for (t, c) in &p.cpu {
                let op = (c / 100.0).clamp(0.05, 1.0);
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{y}" width="3" height="{}" fill="#3b7ddd" fill-opacity="{op:.2}"/>"##,
                    x(*t),
                    row - 3.0
                );
            }
            // IO: red ticks in the bar's lower half, for storage IO and for `D` (blocked) samples.
            let io_t = p.io.iter().map(|(t, _)| *t).chain(p.blocked.iter().copied());
            for t in io_t {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{}" width="3" height="{}" fill="#d9534f" fill-opacity="0.8"><title>IO</title></rect>"##,
                    x(t),
                    y + (row - 3.0) / 2.0,
                    (row - 3.0) / 2.0
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}
