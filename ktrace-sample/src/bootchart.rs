//! BootChart: samples process start-up and system utilization from the start of a command, and
//! renders an SVG a person can read: CPU and disk-IO graphs on top, one bar per process over time
//! (shaded by its CPU use), as bootchart does. Sampling is from /proc; processes shorter than the
//! interval can be missed, as in bootchart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::procfs::{SystemStat, diskstats};
use crate::top::ProcessSampler;

/// One process seen in the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartProcess {
    /// pid.
    pub pid: i32,
    /// Parent pid.
    pub ppid: i32,
    /// Command name.
    pub comm: String,
    /// First seen (s from the start).
    pub start: f64,
    /// Last seen (s from the start).
    pub end: f64,
    /// (time s, CPU % of one CPU) per sample.
    pub cpu: Vec<(f64, f64)>,
}

/// A recorded chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// The command.
    pub title: String,
    /// Duration (s).
    pub duration: f64,
    /// (time s, system CPU busy fraction 0..1, disk sectors/s) per sample.
    pub system: Vec<(f64, f64, f64)>,
    /// Processes of the command's tree, by first appearance.
    pub processes: Vec<ChartProcess>,
}

impl Chart {
    /// Runs `cmd` and samples every `interval` until it exits.
    pub fn record(cmd: &[String], interval: Duration) -> Result<Chart> {
        let (prog, args) = cmd
            .split_first()
            .ok_or_else(|| Error::Unsupported { feature: "bootchart".into(), hint: "no command".into() })?;
        let t0 = Instant::now();
        let mut child =
            std::process::Command::new(prog).args(args).spawn().map_err(|e| Error::io("spawn", prog.as_str(), e))?;
        let root = child.id() as i32;
        let mut sampler = ProcessSampler::new(false);
        let mut procs: BTreeMap<i32, ChartProcess> = BTreeMap::new();
        let mut tree: std::collections::HashSet<i32> = [root].into_iter().collect();
        let mut chart = Chart { title: cmd.join(" "), ..Default::default() };
        let read_sys = || {
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
        };
        let (mut prev_cpu, mut prev_io) = read_sys();
        let mut prev_t = 0.0;
        loop {
            let done = child.try_wait().map_err(|e| Error::io("waitpid", prog.as_str(), e))?.is_some();
            let t = t0.elapsed().as_secs_f64();
            let rows = sampler.refresh().to_vec();
            // The command's tree: descendants by ppid (parents are seen before children).
            let mut changed = true;
            while changed {
                changed = false;
                for r in &rows {
                    if !tree.contains(&r.stat.pid) && tree.contains(&r.stat.ppid) {
                        tree.insert(r.stat.pid);
                        changed = true;
                    }
                }
            }
            for r in rows.iter().filter(|r| tree.contains(&r.stat.pid) && r.stat.state != 'Z') {
                let p = procs.entry(r.stat.pid).or_insert_with(|| ChartProcess {
                    pid: r.stat.pid,
                    ppid: r.stat.ppid,
                    comm: r.stat.comm.clone(),
                    start: t,
                    end: t,
                    cpu: Vec::new(),
                });
                p.comm.clone_from(&r.stat.comm); // after exec the name changes
                p.end = t;
                p.cpu.push((t, r.cpu_percent));
            }
            let (cpu, io) = read_sys();
            let dt = (t - prev_t).max(1e-3);
            let busy = (cpu.busy().saturating_sub(prev_cpu.busy())) as f64
                / (cpu.total().saturating_sub(prev_cpu.total())).max(1) as f64;
            chart.system.push((t, busy, io.saturating_sub(prev_io) as f64 / dt));
            (prev_cpu, prev_io, prev_t) = (cpu, io, t);
            if done {
                break;
            }
            std::thread::sleep(interval);
        }
        chart.duration = t0.elapsed().as_secs_f64();
        let mut v: Vec<ChartProcess> = procs.into_values().collect();
        v.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.pid.cmp(&b.pid)));
        chart.processes = v;
        Ok(chart)
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
        }
        s.push_str("</svg>\n");
        s
    }
}
