//! Finding (and on request mounting) tracefs, and the files at its top.
//!
//! tracefs lives at `/sys/kernel/tracing` (4.1+), or under debugfs at `/sys/kernel/debug/tracing`
//! (older kernels, or where only debugfs is mounted), or wherever `/proc/mounts` says.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::instance::Instance;

/// A located tracefs mount.
///
/// ```no_run
/// let fs = ktrace_ftrace::Tracefs::find()?;
/// println!("tracers: {:?}", fs.available_tracers()?);
/// # Ok::<(), ktrace_ftrace::Error>(())
/// ```
#[doc(alias = "tracefs")]
#[derive(Debug, Clone)]
pub struct Tracefs {
    root: PathBuf,
}

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

impl Tracefs {
    /// Finds a mounted tracefs: `/sys/kernel/tracing`, then `/sys/kernel/debug/tracing`, then any
    /// tracefs in `/proc/mounts`. Never mounts anything.
    ///
    /// Every call runs the reapers first ([`ktrace_owner::reap`], [`Tracefs::reap_stale`]): state
    /// of ktrace owners that died (also by SIGKILL) is removed; that of live ones never.
    pub fn find() -> Result<Tracefs> {
        let fs = Tracefs::find_mounted()?;
        ktrace_owner::reap();
        let _ = fs.reap_stale();
        Ok(fs)
    }

    fn find_mounted() -> Result<Tracefs> {
        for p in [TRACEFS, DEBUGFS_TRACING] {
            if Path::new(p).join("events").is_dir() {
                return Ok(Tracefs { root: p.into() });
            }
        }
        if let Ok(m) = fs::read_to_string("/proc/mounts") {
            for line in m.lines() {
                let mut w = line.split_whitespace();
                let (_, dir, ty) = (w.next(), w.next(), w.next());
                if let (Some(dir), Some("tracefs")) = (dir, ty)
                    && Path::new(dir).join("events").is_dir()
                {
                    return Ok(Tracefs { root: dir.into() });
                }
            }
        }
        if !Path::new(TRACEFS).is_dir() && !Path::new("/sys/kernel/debug").is_dir() {
            return Err(Error::NotBuilt { hint: format!("neither {TRACEFS} nor /sys/kernel/debug exists") });
        }
        if !nix::unistd::geteuid().is_root() {
            return Err(Error::not_root(TRACEFS.into()));
        }
        Err(Error::NotMounted { hint: "mount -t tracefs nodev /sys/kernel/tracing, or call Tracefs::find_or_mount()" })
    }

    /// Like [`Tracefs::find`], but mounts tracefs at `/sys/kernel/tracing` (or debugfs at
    /// `/sys/kernel/debug`) when it is not mounted. Needs root.
    pub fn find_or_mount() -> Result<Tracefs> {
        match Tracefs::find() {
            Err(Error::NotMounted { .. }) => {}
            other => return other,
        }
        use nix::mount::{MsFlags, mount};
        let tried = mount(Some("nodev"), TRACEFS, Some("tracefs"), MsFlags::empty(), None::<&str>);
        if tried.is_err() {
            mount(Some("nodev"), "/sys/kernel/debug", Some("debugfs"), MsFlags::empty(), None::<&str>)
                .map_err(|e| Error::io("mount(tracefs)", TRACEFS, e.into()))?;
        }
        Tracefs::find()
    }

    /// A tracefs at an explicit path (for tests or unusual mounts).
    pub fn at(root: impl Into<PathBuf>) -> Result<Tracefs> {
        let root = root.into();
        match fs::metadata(root.join("events")) {
            Ok(m) if m.is_dir() => Ok(Tracefs { root }),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => Err(Error::not_root(root)),
            _ => Err(Error::NotMounted { hint: "the given path has no events/ directory" }),
        }
    }

    /// The mount point.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a file below the root as text.
    pub fn read(&self, rel: &str) -> Result<String> {
        read_file(&self.root.join(rel))
    }

    /// Writes `val` to a file below the root in one write(2), truncating it first (tracefs parses
    /// each write separately; truncating `kprobe_events` or `set_event` clears the whole list).
    /// EACCES is [`Error::NotRoot`]; other refusals are [`Error::Syscall`] with the errno
    /// ([`Error::os_error`]) and the path.
    pub fn write(&self, rel: &str, val: &str) -> Result<()> {
        write_file(&self.root.join(rel), val)
    }

    /// Appends `line` to a file below the root in one write(2): adds one definition to a list
    /// such as `kprobe_events`, `uprobe_events`, `dynamic_events` or `set_event` (`-:group/event`
    /// removes one) without clearing the others. Errors as [`Tracefs::write`]; the kernel explains
    /// a rejected definition in `error_log` (Linux 5.4+).
    #[doc(alias = "dynamic_events")]
    pub fn append(&self, rel: &str, line: &str) -> Result<()> {
        append_file(&self.root.join(rel), line)
    }

    /// Tracers this kernel offers in the global instance (`available_tracers`).
    pub fn available_tracers(&self) -> Result<Vec<String>> {
        Ok(self.read("available_tracers")?.split_whitespace().map(str::to_owned).collect())
    }

    /// All events as `(system, name)` (`available_events`).
    pub fn available_events(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .read("available_events")?
            .lines()
            .filter_map(|l| l.split_once(':').map(|(s, n)| (s.to_owned(), n.to_owned())))
            .collect())
    }

    /// Event systems (`events/*/`).
    pub fn systems(&self) -> Result<Vec<String>> {
        let dir = self.root.join("events");
        let mut v: Vec<String> = fs::read_dir(&dir)
            .map_err(|e| Error::io("readdir", &dir, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        Ok(v)
    }

    /// The `format` text of an event.
    pub fn event_format_text(&self, system: &str, name: &str) -> Result<String> {
        let p = self.root.join("events").join(system).join(name).join("format");
        if !p.exists() {
            return Err(Error::NoSuchEvent { system: system.into(), name: name.into() });
        }
        read_file(&p)
    }

    /// Functions the function tracer can trace (`available_filter_functions`).
    pub fn available_filter_functions(&self) -> Result<Vec<String>> {
        Ok(self
            .read("available_filter_functions")?
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect())
    }

    /// `pid -> comm` from `saved_cmdlines`.
    pub fn saved_cmdlines(&self) -> Result<Vec<(i32, String)>> {
        Ok(parse_pairs(&self.read("saved_cmdlines")?, |p, c| Some((p, c.to_owned()))))
    }

    /// `pid -> tgid` from `saved_tgids` (filled when the `record-tgid` option is on).
    pub fn saved_tgids(&self) -> Result<Vec<(i32, i32)>> {
        Ok(parse_pairs(&self.read("saved_tgids")?, |p, t| t.trim().parse().ok().map(|t| (p, t))))
    }

    /// Creates a new instance `instances/ktrace_<pid>_<start>_<pidns>_<n>` (see
    /// [`ktrace_owner::OwnerId`]), removed when the guard drops or, if this process dies first
    /// (also by SIGKILL), by its guardian.
    pub fn new_instance(&self) -> Result<Instance> {
        Instance::create(self)
    }

    /// Removes `ktrace_…` instances whose owner is surely gone (see [`is_stale`]); returns their names.
    pub fn reap_stale(&self) -> Result<Vec<String>> {
        let dir = self.root.join("instances");
        let mut reaped = Vec::new();
        let Ok(rd) = fs::read_dir(&dir) else {
            return Ok(reaped);
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_stale(&name) {
                continue;
            }
            let inst = Instance::adopt(self, &name);
            inst.close()?;
            reaped.push(name);
        }
        Ok(reaped)
    }
}

/// The owner pid in a `ktrace_<pid>` or `ktrace_<pid>_<suffix>` name (an instance, or a probe
/// group of ktrace-kprobe), as seen in the owner's pid namespace; `None` for any other name.
pub fn owner_pid(name: &str) -> Option<i32> {
    name.strip_prefix("ktrace_")?.split('_').next()?.parse().ok()
}

/// Whether `name` is owned by a process that is surely gone: a
/// `ktrace_<pid>_<start>_<pidns>[_<suffix>]` name whose owner is in no visible pid namespace, or
/// an older `ktrace_<pid>[_<suffix>]` one whose pid is not in this namespace. Names without an owner
/// are never stale, and a live owner's (in any pid namespace) never are: reapers remove only what
/// this says ([`ktrace_owner::is_stale`]).
pub fn is_stale(name: &str) -> bool {
    ktrace_owner::is_stale(name)
}

fn parse_pairs<T>(text: &str, f: impl Fn(i32, &str) -> Option<T>) -> Vec<T> {
    text.lines()
        .filter_map(|l| {
            let (p, rest) = l.split_once(' ')?;
            f(p.trim().parse().ok()?, rest)
        })
        .collect()
}

/// Reads a whole tracefs file.
///
/// The ring-buffer page layout of the tracefs instance at `dir` (the root or `instances/<name>`), from
/// its `events/header_page`: where the timestamp, the commit word (8 bytes on 64-bit kernels, 4 on
/// 32-bit) and the data are, in the running kernel's byte order.
#[doc(alias = "header_page")]
pub(crate) fn page_layout(dir: &Path) -> Result<ktrace_core::PageLayout> {
    let text = read_file(&dir.join("events/header_page"))?;
    Ok(ktrace_core::PageLayout::from_header_page(&text, ktrace_core::Endian::NATIVE)?)
}

/// The first read(2) asks for 64 KiB: some tracefs files (`events/header_page`, `header_event`)
/// return their text only to a read at offset 0 and report EOF after, so the small probing first
/// read that `std::fs::read_to_string` does on size-0 files would truncate them.
pub(crate) fn read_file(p: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = fs::File::open(p).map_err(|e| Error::io("open", p, e))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let dst = buf.get_mut(len..).unwrap_or_default();
        match f.read(dst) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", p, e)),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| Error::io("read", p, std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Writes `val` to a tracefs file in one write(2) (tracefs parses each write separately).
pub(crate) fn write_file(p: &Path, val: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new().write(true).truncate(true).open(p).map_err(|e| Error::io("open", p, e))?;
    f.write_all(val.as_bytes()).map_err(|e| Error::io("write", p, e))
}

/// Appends `val` (for files like `set_event` where truncation clears the list).
pub(crate) fn append_file(p: &Path, val: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new().append(true).open(p).map_err(|e| Error::io("open", p, e))?;
    f.write_all(val.as_bytes()).map_err(|e| Error::io("write", p, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn owner_pids() {
        assert_eq!(owner_pid("ktrace_123_4"), Some(123));
        assert_eq!(owner_pid("ktrace_x"), None);
        assert_eq!(owner_pid("other"), None);
        assert_eq!(owner_pid("ktrace_123"), Some(123));
        assert_eq!(owner_pid("ktrace_123_libc"), Some(123));
        assert!(is_stale("ktrace_67108863_0"), "above pid_max: never alive");
        assert!(!is_stale(&format!("ktrace_{}_0", std::process::id())));
        assert!(!is_stale("ktrace_bench"), "no owner: never reaped");
        let v = parse_pairs("1 systemd\n42 bash\nbad\n", |p, c| Some((p, c.to_owned())));
        assert_eq!(v, vec![(1, "systemd".to_owned()), (42, "bash".to_owned())]);
    }
}
