//! Tracefs instances (`instances/<name>/`): separate ring buffers with their own events, filters,
//! options and tracers. Minimum kernel: 3.10 (instances); 4.1 for tracefs; 6.8 for
//! `buffer_subbuf_size_kb`.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use ktrace_core::{Clock, FormatRegistry};

use crate::error::{Error, Result};
use crate::reader::CpuReader;
use crate::stats::CpuStats;
use crate::tracefs::{Tracefs, append_file, read_file, write_file};

mod events;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A tracefs instance owned by this process, or the global instance by explicit choice.
///
/// An instance made by [`Tracefs::new_instance`] is named `ktrace_<pid>_<start>_<pidns>_<n>`
/// ([`ktrace_owner::OwnerId`]: removed by a guardian if this process dies), starts with tracing
/// off (a [`Recorder`](crate::Recorder) turns it on after clearing the buffers; a reader of its own
/// calls [`Instance::set_tracing_on`]), and is removed on drop
/// (tracing off, events disabled, directory removed); [`Instance::close`] does the same and reports
/// errors. The global instance ([`Instance::global`]) is never removed: its guard disables what it
/// enabled and restores every setting it changed.
///
/// ```no_run
/// use ktrace_ftrace::Tracefs;
/// let fs = Tracefs::find()?;
/// let inst = fs.new_instance()?;
/// inst.enable_event("sched", "sched_switch")?;
/// inst.set_filter("sched", "sched_switch", "prev_pid != 0")?;
/// inst.write_marker(b"hello")?;
/// # Ok::<(), ktrace_ftrace::Error>(())
/// ```
#[doc(alias = "instances")]
#[derive(Debug)]
pub struct Instance {
    fs: Tracefs,
    name: String,
    dir: PathBuf,
    owned: bool,
    closed: bool,
    /// Files this guard wrote, with their value before (restored on close, last first) and, for
    /// an instance this process did not make (the global one), the guardian's undo action that
    /// writes it back if the process is killed before `close`.
    restore: std::sync::Mutex<Vec<(PathBuf, String, Option<ktrace_owner::Registration>)>>,
    /// The guardian's undo action for an instance this process made (removes it if we die).
    guardian: Option<ktrace_owner::Registration>,
}

impl Instance {
    pub(crate) fn create(fs: &Tracefs) -> Result<Instance> {
        let owner = ktrace_owner::tag();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("{owner}_{n}");
            let dir = fs.root().join("instances").join(&name);
            match fs::create_dir(&dir) {
                Ok(()) => {
                    let guardian = Some(ktrace_owner::register(ktrace_owner::Undo::RemoveInstance(dir.clone())));
                    let inst = Instance {
                        fs: fs.clone(),
                        name,
                        dir,
                        owned: true,
                        closed: false,
                        restore: Default::default(),
                        guardian,
                    };
                    // The kernel makes instances with tracing on: hold it off until a `Recorder`
                    // starts, so nothing from before the start (markers, events enabled while
                    // setting up) lands in the buffer. (Dropped on error: the directory is removed.)
                    write_file(&inst.dir.join("tracing_on"), "0")?;
                    return Ok(inst);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::Unsupported {
                        feature: "tracefs instances".into(),
                        hint: format!("{} has no instances/ directory", fs.root().display()),
                    });
                }
                Err(e) => return Err(Error::io("mkdir", dir, e)),
            }
        }
    }

    /// Takes over an existing instance directory by name (used by the reaper); removed on drop.
    pub(crate) fn adopt(fs: &Tracefs, name: &str) -> Instance {
        Instance {
            fs: fs.clone(),
            name: name.into(),
            dir: fs.root().join("instances").join(name),
            owned: true,
            closed: false,
            restore: Default::default(),
            guardian: None,
        }
    }

    /// The global (top-level) instance. Its guard disables the events it enabled and restores the
    /// settings it changed (each file it writes is registered with this process's guardian, which
    /// writes the old value back if the process dies first, also by SIGKILL); nothing else is
    /// touched. Use it only for what instances cannot do (the `blk` tracer, global-only options).
    pub fn global(fs: &Tracefs) -> Instance {
        Instance {
            fs: fs.clone(),
            name: String::new(),
            dir: fs.root().to_owned(),
            owned: false,
            closed: false,
            restore: Default::default(),
            guardian: None,
        }
    }

    /// The instance name (`ktrace_<pid>_<start>_<pidns>_<n>`; empty for the global instance).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instance directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The tracefs this instance lives in.
    pub fn tracefs(&self) -> &Tracefs {
        &self.fs
    }

    /// Reads a file of the instance as text.
    pub fn read(&self, rel: &str) -> Result<String> {
        read_file(&self.dir.join(rel))
    }

    /// Writes a file of the instance, remembering its old value so the guard can restore it.
    pub fn write(&self, rel: &str, val: &str) -> Result<()> {
        let p = self.dir.join(rel);
        self.remember(&p)?;
        write_file(&p, val)
    }

    fn remember(&self, p: &Path) -> Result<()> {
        let mut r = self.restore.lock().unwrap_or_else(|e| e.into_inner());
        if !r.iter().any(|(q, ..)| q == p) {
            let old = read_file(p).unwrap_or_default();
            // An instance of ours is removed whole by its guardian; anything else gets its old
            // values back, also if this process dies (SIGKILL) before `close`.
            let undo = match self.owned {
                true => None,
                false => plain_value(p, &old)
                    .map(|value| ktrace_owner::register(ktrace_owner::Undo::Write { path: p.to_owned(), value })),
            };
            r.push((p.to_owned(), old, undo));
        }
        Ok(())
    }

    /// Function-tracer pid filter (`set_ftrace_pid`). Refused under lockdown.
    #[doc(alias = "set_ftrace_pid")]
    pub fn set_ftrace_pids(&self, pids: &[i32]) -> Result<()> {
        self.lockdown_write("set_ftrace_pid", &join(pids), "set_ftrace_pid")
    }

    /// Function filters (`set_ftrace_filter`): globs like `vfs_*`, `:mod:ext4`. Refused under lockdown.
    pub fn set_ftrace_filter(&self, patterns: &[&str]) -> Result<()> {
        self.lockdown_write("set_ftrace_filter", &patterns.join(" "), "set_ftrace_filter")
    }

    /// Functions not to trace (`set_ftrace_notrace`). Refused under lockdown.
    pub fn set_ftrace_notrace(&self, patterns: &[&str]) -> Result<()> {
        self.lockdown_write("set_ftrace_notrace", &patterns.join(" "), "set_ftrace_notrace")
    }

    /// function_graph: trace only calls below these functions (`set_graph_function`).
    pub fn set_graph_function(&self, patterns: &[&str]) -> Result<()> {
        self.lockdown_write("set_graph_function", &patterns.join(" "), "set_graph_function")
    }

    /// function_graph: do not trace below these functions (`set_graph_notrace`).
    pub fn set_graph_notrace(&self, patterns: &[&str]) -> Result<()> {
        self.lockdown_write("set_graph_notrace", &patterns.join(" "), "set_graph_notrace")
    }

    /// function_graph: depth limit (`max_graph_depth`, global file), 0 = unlimited.
    #[doc(alias = "max_graph_depth")]
    pub fn set_max_graph_depth(&self, depth: u32) -> Result<()> {
        let p = self.fs.root().join("max_graph_depth");
        if !p.exists() {
            return Err(Error::Unsupported { feature: "function_graph".into(), hint: "no max_graph_depth".into() });
        }
        self.remember(&p)?;
        write_file(&p, &depth.to_string())
    }

    fn lockdown_write(&self, rel: &str, val: &str, what: &'static str) -> Result<()> {
        let p = self.dir.join(rel);
        if !p.exists() {
            return Err(Error::Unsupported { feature: what.into(), hint: format!("no {rel} file") });
        }
        self.remember(&p)?;
        write_file(&p, val).map_err(|e| lockdown(e, what))
    }

    /// Tracers this instance offers.
    pub fn available_tracers(&self) -> Result<Vec<String>> {
        Ok(self.read("available_tracers")?.split_whitespace().map(str::to_owned).collect())
    }

    /// Sets `current_tracer` (`nop`, `function`, `function_graph`, `blk`, `wakeup`…).
    ///
    /// A tracer this kernel lacks is [`Error::Unsupported`]; one it refuses (lockdown) is
    /// [`Error::Lockdown`]; on the global instance, a tracer someone else set is [`Error::Busy`].
    #[doc(alias = "current_tracer")]
    pub fn set_tracer(&self, tracer: &str) -> Result<()> {
        let avail = self.available_tracers()?;
        if !avail.iter().any(|t| t == tracer) {
            return Err(Error::Unsupported {
                feature: format!("{tracer} tracer"),
                hint: format!("available_tracers: {}", avail.join(" ")),
            });
        }
        let p = self.dir.join("current_tracer");
        let cur = read_file(&p)?.trim().to_owned();
        let ours = self.restore.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(q, ..)| q == &p);
        if !self.owned && cur != "nop" && cur != tracer && !ours {
            return Err(Error::Busy { current: cur });
        }
        self.remember(&p)?;
        write_file(&p, tracer).map_err(|e| lockdown(e, "current_tracer"))
    }

    /// The current tracer.
    pub fn tracer(&self) -> Result<String> {
        Ok(self.read("current_tracer")?.trim().to_owned())
    }

    /// Sets a trace option (`options/<name>`: `event-fork`, `function-fork`, `func_stack_trace`,
    /// `record-tgid`, `overwrite`, `bin`…).
    #[doc(alias = "trace_options")]
    pub fn set_option(&self, name: &str, on: bool) -> Result<()> {
        let p = self.dir.join("options").join(name);
        if !p.exists() {
            return Err(Error::Unsupported { feature: format!("trace option {name}"), hint: "no such option".into() });
        }
        self.remember(&p)?;
        write_file(&p, if on { "1" } else { "0" }).map_err(|e| lockdown(e, "trace option"))
    }

    /// Reads a trace option.
    pub fn option(&self, name: &str) -> Result<bool> {
        Ok(self.read(&format!("options/{name}"))?.trim() == "1")
    }

    /// Follows children: `event-fork` (events) and `function-fork` (function tracer pids).
    pub fn follow_forks(&self, on: bool) -> Result<()> {
        self.set_option("event-fork", on)?;
        match self.set_option("function-fork", on) {
            Err(e) if e.is_unsupported() => Ok(()),
            other => other,
        }
    }

    /// Per-CPU buffer size in KiB (`buffer_size_kb`).
    #[doc(alias = "buffer_size_kb")]
    pub fn set_buffer_size_kb(&self, kb: u64) -> Result<()> {
        self.write("buffer_size_kb", &kb.to_string())
    }

    /// Per-CPU buffer size in KiB.
    pub fn buffer_size_kb(&self) -> Result<u64> {
        let t = self.read("buffer_size_kb")?;
        let v = t.split_whitespace().next().unwrap_or("");
        v.parse().map_err(|_| Error::Unsupported { feature: "buffer_size_kb".into(), hint: t.clone() })
    }

    /// Sub-buffer (page) size in KiB (`buffer_subbuf_size_kb`, 6.8+).
    #[doc(alias = "buffer_subbuf_size_kb")]
    pub fn set_subbuf_size_kb(&self, kb: u64) -> Result<()> {
        if !self.dir.join("buffer_subbuf_size_kb").exists() {
            return Err(Error::Unsupported { feature: "buffer_subbuf_size_kb".into(), hint: "kernel < 6.8".into() });
        }
        self.write("buffer_subbuf_size_kb", &kb.to_string())
    }

    /// Sub-buffer (page) size in bytes: `buffer_subbuf_size_kb`, or the system page size before 6.8.
    pub fn subbuf_size(&self) -> usize {
        self.read("buffer_subbuf_size_kb")
            .ok()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .map_or_else(page_size, |kb| kb * 1024)
    }

    /// Sets the trace clock (`trace_clock`: `local`, `global`, `mono`, `boot`…).
    #[doc(alias = "trace_clock")]
    pub fn set_clock(&self, clock: Clock) -> Result<()> {
        self.write("trace_clock", clock.name())
    }

    /// The selected trace clock.
    pub fn clock(&self) -> Result<Clock> {
        let t = self.read("trace_clock")?;
        Clock::from_trace_clock_file(&t).ok_or_else(|| Error::Unsupported { feature: "trace_clock".into(), hint: t })
    }

    /// Turns recording on or off (`tracing_on`).
    #[doc(alias = "tracing_on")]
    pub fn set_tracing_on(&self, on: bool) -> Result<()> {
        self.write("tracing_on", if on { "1" } else { "0" })
    }

    /// Whether recording is on.
    pub fn tracing_on(&self) -> Result<bool> {
        Ok(self.read("tracing_on")?.trim() == "1")
    }

    /// Restricts tracing to these CPUs (`tracing_cpumask`).
    #[doc(alias = "tracing_cpumask")]
    pub fn set_cpumask(&self, cpus: &[u32]) -> Result<()> {
        let mut words = vec![0u32; (cpus.iter().max().copied().unwrap_or(0) / 32 + 1) as usize];
        for &c in cpus {
            if let Some(w) = words.get_mut((c / 32) as usize) {
                *w |= 1 << (c % 32);
            }
        }
        let s: Vec<String> = words.iter().rev().map(|w| format!("{w:08x}")).collect();
        self.write("tracing_cpumask", &s.join(","))
    }

    /// Wake readers when the buffer is this full, in percent (`buffer_percent`, 5.1+).
    #[doc(alias = "buffer_percent")]
    pub fn set_buffer_percent(&self, pct: u32) -> Result<()> {
        self.write("buffer_percent", &pct.to_string())
    }

    /// Writes a user annotation (`trace_marker`; appears as an `ftrace/print` event).
    #[doc(alias = "trace_marker")]
    pub fn write_marker(&self, msg: &[u8]) -> Result<()> {
        self.marker()?.write(msg)
    }

    /// Writes a binary annotation (`trace_marker_raw`; an `ftrace/raw_data` event with `id`).
    #[doc(alias = "trace_marker_raw")]
    pub fn write_marker_raw(&self, id: u32, data: &[u8]) -> Result<()> {
        let p = self.dir.join("trace_marker_raw");
        let mut f = fs::OpenOptions::new().write(true).open(&p).map_err(|e| Error::io("open", &p, e))?;
        let mut buf = Vec::with_capacity(4 + data.len());
        buf.extend_from_slice(&id.to_ne_bytes());
        buf.extend_from_slice(data);
        f.write_all(&buf).map_err(|e| Error::io("write", &p, e))
    }

    /// An open `trace_marker` for repeated writes without reopening.
    pub fn marker(&self) -> Result<Marker> {
        let p = self.dir.join("trace_marker");
        let file = fs::OpenOptions::new().write(true).open(&p).map_err(|e| Error::io("open", &p, e))?;
        Ok(Marker { file, path: p })
    }

    /// Number of per-CPU buffers (`per_cpu/cpuN`).
    pub fn nr_cpus(&self) -> usize {
        fs::read_dir(self.dir.join("per_cpu"))
            .map(|rd| rd.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("cpu")).count())
            .unwrap_or(0)
    }

    /// The per-CPU statistics (`per_cpu/cpuN/stats`).
    #[doc(alias = "stats")]
    pub fn cpu_stats(&self, cpu: u32) -> Result<CpuStats> {
        Ok(CpuStats::parse(&self.read(&format!("per_cpu/cpu{cpu}/stats"))?))
    }

    /// A reader of `per_cpu/cpuN/trace_pipe_raw`.
    pub fn cpu_reader(&self, cpu: u32) -> Result<CpuReader> {
        CpuReader::open(&self.dir.join(format!("per_cpu/cpu{cpu}/trace_pipe_raw")), cpu, self.subbuf_size())
    }

    /// The layout of this instance's ring-buffer pages, from `events/header_page` (what live
    /// recordings parse pages with, rather than assuming a 64-bit little-endian kernel).
    #[doc(alias = "header_page")]
    pub fn page_layout(&self) -> Result<ktrace_core::PageLayout> {
        crate::tracefs::page_layout(&self.dir)
    }

    /// A memory-mapped reader of `per_cpu/cpuN/trace_pipe_raw` (6.10+; zero-copy).
    pub fn mapped_reader(&self, cpu: u32) -> Result<crate::MappedCpuReader> {
        crate::MappedCpuReader::open(&self.dir.join(format!("per_cpu/cpu{cpu}/trace_pipe_raw")), cpu)
    }

    /// Empties the ring buffer (writes to `trace`).
    pub fn clear(&self) -> Result<()> {
        write_file(&self.dir.join("trace"), "")
    }

    /// A format registry that loads `events/*/*/format` of this tracefs lazily by event id.
    pub fn formats(&self) -> FormatRegistry {
        formats_of(&self.fs)
    }

    /// Removes the instance (or, for the global one, undoes what this guard changed), reporting errors.
    pub fn close(mut self) -> Result<()> {
        self.close_inner()
    }

    fn close_inner(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut first_err = None;
        let mut keep = |r: Result<()>| {
            if let Err(e) = r
                && first_err.is_none()
            {
                first_err = Some(e);
            }
        };
        if self.owned {
            let _ = write_file(&self.dir.join("tracing_on"), "0");
            let _ = write_file(&self.dir.join("set_event"), "");
            let _ = write_file(&self.dir.join("current_tracer"), "nop");
            // rmdir can race with readers closing their files: retry briefly on EBUSY.
            let mut tries = 0;
            loop {
                match fs::remove_dir(&self.dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(e) => {
                        keep(Err(Error::io("rmdir", &self.dir, e)));
                        break;
                    }
                }
            }
            self.guardian = None;
        } else {
            let restore = std::mem::take(&mut *self.restore.lock().unwrap_or_else(|e| e.into_inner()));
            // Each undo action is dropped (unregistered) once its file is written back.
            for (p, old, _undo) in restore.into_iter().rev() {
                keep(restore_file(&p, &old));
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Files that read back as one entry per line and take a whole list per write.
const LISTS: [&str; 9] = [
    "set_event",
    "set_event_pid",
    "set_event_notrace_pid",
    "set_ftrace_notrace_pid",
    "set_ftrace_filter",
    "set_ftrace_notrace",
    "set_ftrace_pid",
    "set_graph_function",
    "set_graph_notrace",
];

/// The entries of a list file as read (empty pid lists read "no pid", filter lists
/// "#### all functions enabled ####").
fn list_entries(old: &str) -> impl Iterator<Item = &str> {
    old.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty() && l.trim() != "no pid")
}

/// What to write in one write(2) to put back `old`, the value read from `p`; `None` for files
/// whose old value cannot be written back whole (`trigger`, a clock not recognized).
fn plain_value(p: &Path, old: &str) -> Option<String> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Some(match name.as_str() {
        "trace_clock" => Clock::from_trace_clock_file(old)?.name().to_owned(),
        "trigger" => return None,
        n if LISTS.contains(&n) => list_entries(old).collect::<Vec<_>>().join(" "),
        "filter" if old.trim() == "none" => "0".to_owned(),
        "buffer_size_kb" => old.split_whitespace().next().unwrap_or("").to_owned(),
        _ => old.trim().to_owned(),
    })
}

/// Writes back a remembered value, translating file-specific syntax.
fn restore_file(p: &Path, old: &str) -> Result<()> {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.as_str() {
        "trigger" => append_file(p, old),
        // Lists: clear, then write back each remembered line.
        n if LISTS.contains(&n) => {
            write_file(p, "")?;
            for l in list_entries(old) {
                append_file(p, l)?;
            }
            Ok(())
        }
        _ => match plain_value(p, old) {
            Some(v) => write_file(p, &v),
            None => Ok(()),
        },
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.close_inner();
    }
}

/// An open `trace_marker` file.
#[derive(Debug)]
pub struct Marker {
    file: fs::File,
    path: PathBuf,
}

impl Marker {
    /// Writes one annotation (one write(2), one event).
    pub fn write(&mut self, msg: &[u8]) -> Result<()> {
        self.file.write_all(msg).map_err(|e| Error::io("write", &self.path, e))
    }
}

pub(crate) fn lockdown(e: Error, what: &'static str) -> Error {
    match e {
        Error::Syscall(e) if e.errno() == Some(libc::EPERM) => match e.subject {
            ktrace_core::Subject::Path(path) => Error::Lockdown { what, path },
            _ => Error::Syscall(e),
        },
        e => e,
    }
}

fn join(pids: &[i32]) -> String {
    pids.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |v| v as usize)
}

/// A registry over a tracefs: on the first unknown id, it indexes every `events/*/*/id` once.
pub(crate) fn formats_of(fs: &Tracefs) -> FormatRegistry {
    let events = fs.root().join("events");
    let mut index: Option<HashMap<u16, (String, PathBuf)>> = None;
    FormatRegistry::with_loader(move |id| {
        let idx = index.get_or_insert_with(|| {
            let mut m = HashMap::new();
            for sys in fs::read_dir(&events).into_iter().flatten().flatten() {
                let sysname = sys.file_name().to_string_lossy().into_owned();
                for ev in fs::read_dir(sys.path()).into_iter().flatten().flatten() {
                    // Most events have an `id` file; some (ftrace/raw_data, ftrace/function…) only
                    // say their ID inside `format`.
                    let id = crate::tracefs::read_file(&ev.path().join("id")).ok().or_else(|| {
                        let f = crate::tracefs::read_file(&ev.path().join("format")).ok()?;
                        f.lines().find_map(|l| l.strip_prefix("ID:")).map(str::to_owned)
                    });
                    if let Some(i) = id.and_then(|t| t.trim().parse::<u16>().ok()) {
                        m.insert(i, (sysname.clone(), ev.path().join("format")));
                    }
                }
            }
            m
        });
        let (sys, path) = idx.get(&id)?;
        Some((sys.clone(), crate::tracefs::read_file(path).ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::plain_value;
    use std::path::Path;

    #[test]
    fn old_values_become_one_write() {
        let v = |file: &str, old: &str| plain_value(Path::new("/t").join(file).as_path(), old);
        assert_eq!(v("trace_clock", "[local] global mono\n").as_deref(), Some("local"));
        assert_eq!(v("set_event_notrace_pid", "12\n34\n").as_deref(), Some("12 34"));
        assert_eq!(v("set_event_pid", "no pid\n").as_deref(), Some(""));
        assert_eq!(
            v("set_event", "sched:sched_switch\nraw_syscalls:sys_enter\n").as_deref(),
            Some("sched:sched_switch raw_syscalls:sys_enter")
        );
        assert_eq!(v("buffer_size_kb", "7 (expanded: 1408)\n").as_deref(), Some("7"));
        assert_eq!(v("filter", "none\n").as_deref(), Some("0"));
        assert_eq!(v("tracing_on", "1\n").as_deref(), Some("1"));
        assert_eq!(v("trigger", "traceon\n"), None);
    }
}
