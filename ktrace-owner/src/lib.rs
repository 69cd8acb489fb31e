//! Kernel state owned by a process and removed when it dies, also by SIGKILL.
//!
//! - [`OwnerId`]: pid-namespace inode + pid as seen in the owner's namespace + start time, rendered
//!   into names (`ktrace_<pid>_<start>_<nsino hex>_<suffix>`, `[A-Za-z0-9_]`) so that a reaper in any
//!   pid namespace can tell whether the owner lives. Liveness is conservative: an owner is dead only
//!   when its namespace is visible (the checker's own, or that of some process in `/proc`, or any
//!   namespace when the checker is in the initial one) and no process there has that pid with that
//!   start time.
//! - [`register`]: an undo action (remove an instance, remove a probe, write a value back, release a
//!   shared setting) kept in `/run/ktrace/owners/<owner>` and run, last first, by a guardian process
//!   (`/bin/sh`, started on the first registration, in a process group of its own and ignoring
//!   SIGINT/SIGTERM/SIGHUP) when the owner's end of its stdin pipe closes: at exit, or at death by
//!   any signal. Dropping the [`Registration`] (the owner undid it itself) removes the action.
//! - [`reap`]: runs the undo files of dead owners whose guardian died too (a killed pid namespace).
//! - [`Shared`]: a setting shared by several processes (`kernel.task_delayacct`), reference-counted
//!   across processes under `/run/ktrace/shared/` with `flock`: the first holder records the value
//!   before, the last one out (or the guardian or reaper of a dead one) writes it back.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// Where undo files and shared-setting records live (a tmpfs: gone at reboot, like the state).
pub const RUN_DIR: &str = "/run/ktrace";

/// The inode of the initial pid namespace (`PROC_PID_INIT_INO`): from there every namespace is visible.
const INIT_PID_NS: u64 = 0xEFFF_FFFC;

/// Who owns a piece of kernel state: a process named so that it is unique across pid namespaces and pid reuse.
#[doc(alias = "NSpid")]
#[doc(alias = "ns/pid")]
#[doc(alias = "pid_namespace")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerId {
    /// The pid as seen in the owner's own pid namespace.
    pub pid: u32,
    /// Start time in clock ticks after boot (field 22 of `/proc/<pid>/stat`).
    pub start: u64,
    /// The inode of the owner's pid namespace (`/proc/<pid>/ns/pid`).
    pub ns: u64,
}

/// The owner a name says: a full [`OwnerId`], or only a pid (names of older versions, checked in
/// the checker's own pid namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// `ktrace_<pid>_<start>_<ns hex>[_<suffix>]`.
    Id(OwnerId),
    /// `ktrace_<pid>[_<suffix>]`.
    Pid(u32),
}

impl OwnerId {
    /// This process.
    pub fn current() -> io::Result<OwnerId> {
        let pid = std::process::id();
        let start = start_time(Path::new("/proc/self/stat"))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/self/stat has no start time"))?;
        let ns = fs::metadata("/proc/self/ns/pid")?.ino();
        Ok(OwnerId { pid, start, ns })
    }

    /// The name prefix `ktrace_<pid>_<start>_<ns hex>` (at most 7+1+20+1+16+7 characters).
    pub fn tag(&self) -> String {
        format!("ktrace_{}_{}_{:x}", self.pid, self.start, self.ns)
    }

    /// `<tag>_<suffix>`: an instance or probe group name owned by this id.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.tag())
    }

    /// Whether the owner may be alive; `false` only when it is surely gone (see the crate docs).
    pub fn is_alive(&self) -> bool {
        let me = own_ns();
        if me == Some(self.ns) {
            return pid_alive(self.pid, Some(self.start));
        }
        let mut ns_seen = false;
        let mut unsure = me.is_none();
        for pid in proc_pids() {
            let Ok(m) = fs::metadata(format!("/proc/{pid}/ns/pid")) else {
                // Unreadable (pid 1 of a container may be): it may be in the namespace only if
                // it is in one below ours (more than one `NSpid`), or if it says nothing at all.
                unsure |= ns_depth(pid).map_or(Path::new(&format!("/proc/{pid}")).exists(), |d| d > 1);
                continue;
            };
            if m.ino() != self.ns {
                continue;
            }
            ns_seen = true;
            if ns_pid(pid) == Some(self.pid) && pid_alive(pid, Some(self.start)) {
                return true;
            }
        }
        if ns_seen {
            return false;
        }
        // A namespace no process is in is gone, if we could see them all.
        unsure || me != Some(INIT_PID_NS)
    }
}

impl Owner {
    /// The owner a `ktrace_…` name carries; `None` for other names (never reaped).
    pub fn of_name(name: &str) -> Option<Owner> {
        let mut f = name.strip_prefix("ktrace_")?.split('_');
        let pid: u32 = f.next()?.parse().ok()?;
        let start = f.next().and_then(|s| s.parse().ok());
        let ns = f.next().and_then(|s| u64::from_str_radix(s, 16).ok());
        Some(match (start, ns) {
            (Some(start), Some(ns)) if ns > 0 => Owner::Id(OwnerId { pid, start, ns }),
            _ => Owner::Pid(pid),
        })
    }

    /// Whether the owner may be alive (a bare pid: in this pid namespace).
    pub fn is_alive(&self) -> bool {
        match self {
            Owner::Id(id) => id.is_alive(),
            Owner::Pid(pid) => pid_alive(*pid, None),
        }
    }
}

/// Whether `name` is a `ktrace_…` name whose owner is surely gone: what reapers remove. Names
/// without an owner, and those of live owners (in any pid namespace), are never stale.
pub fn is_stale(name: &str) -> bool {
    Owner::of_name(name).is_some_and(|o| !o.is_alive())
}

fn own_ns() -> Option<u64> {
    fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino())
}

fn proc_pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// The last `NSpid` of `/proc/<pid>/status`: the pid in its own namespace.
fn ns_pid(pid: u32) -> Option<u32> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("NSpid:"))?.split_whitespace().last()?.parse().ok()
}

/// How many pid namespaces `pid` is in, from ours down (the `NSpid` count).
fn ns_depth(pid: u32) -> Option<usize> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(s.lines().find_map(|l| l.strip_prefix("NSpid:"))?.split_whitespace().count())
}

/// Field 22 of a `stat` file (after the `)` that ends `comm`, field 3 is the state).
fn stat_fields(p: &Path) -> Option<(char, u64)> {
    let s = fs::read_to_string(p).ok()?;
    let mut f = s.get(s.rfind(')')? + 1..)?.split_whitespace();
    let state = f.next()?.chars().next()?;
    Some((state, f.nth(18)?.parse().ok()?))
}

fn start_time(p: &Path) -> Option<u64> {
    stat_fields(p).map(|(_, t)| t)
}

/// Whether `/proc/<pid>` (in this namespace) is a live process started at `start`. A zombie whose
/// only thread is dead counts as gone (its parent has not reaped it yet).
fn pid_alive(pid: u32, start: Option<u64>) -> bool {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    match stat_fields(&dir.join("stat")) {
        None => dir.exists(),
        Some((state, t)) => {
            if start.is_some_and(|s| s != t) {
                return false;
            }
            state != 'Z' || fs::read_dir(dir.join("task")).map_or(true, |d| d.count() > 1)
        }
    }
}

/// An action that undoes kernel state, run by the guardian if the owner dies holding it.
#[derive(Debug, Clone)]
pub enum Undo {
    /// A tracefs instance directory: tracing off, events and tracer cleared, then removed.
    RemoveInstance(PathBuf),
    /// A dynamic probe `group/event`: disabled in the top instance and every instance, then
    /// `-:group/event` appended to `events_file` (`kprobe_events`, `uprobe_events`, `dynamic_events`).
    RemoveProbe {
        /// The file the probe was defined through.
        events_file: PathBuf,
        /// `group/event`.
        name: String,
    },
    /// Writes `value` to `path` (a value from before: `current_tracer`, an option, an `enable`).
    Write {
        /// The file.
        path: PathBuf,
        /// What to write back.
        value: String,
    },
}

impl Undo {
    fn line(&self) -> String {
        let (op, p, v) = match self {
            Undo::RemoveInstance(p) => ("rmdir", p, ""),
            Undo::RemoveProbe { events_file, name } => ("probe", events_file, name.as_str()),
            Undo::Write { path, value } => ("write", path, value.as_str()),
        };
        clean_line(op, p, v)
    }
}

fn clean_line(op: &str, p: &Path, v: &str) -> String {
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    format!("{op}\t{}\t{}", clean(&p.to_string_lossy()), clean(v.trim()))
}

/// The guardian: ignores the signals a terminal or a session end sends, closes fds the owner may
/// have inherited without CLOEXEC (std opens its own with CLOEXEC), waits for EOF on stdin (the owner's pipe), then runs the undo file `$1` last line
/// first, and removes it (`$2`, the owner's tag, is for `ps`). Also run with stdin at EOF by [`reap`].
const GUARDIAN: &str = r#"trap '' INT TERM HUP PIPE
for n in 3 4 5 6 7 8 9; do eval "exec $n>&-"; done
f=$1 id=$2
cat >/dev/null 2>&1
[ -f "$f" ] || exit 0
tac "$f" | while IFS='	' read -r op p v h; do
  case $op in
  rmdir) echo 0 > "$p/tracing_on"; : > "$p/set_event"; echo nop > "$p/current_tracer"; i=0
    while [ -d "$p" ] && ! rmdir "$p" && [ $i -lt 50 ]; do sleep 0.02; i=$((i+1)); done ;;
  write) printf '%s' "$v" > "$p" ;;
  probe) r=${p%/*}
    for e in "$r/events/$v/enable" "$r"/instances/*/"events/$v/enable"; do [ -f "$e" ] && echo 0 > "$e"; done; i=0
    while ! printf '%s' "-:$v" >> "$p" && [ $i -lt 50 ]; do sleep 0.02; i=$((i+1)); done ;;
  release) ( flock 9; rm -f "$v/holders/$h"
    if [ -z "$(ls -A "$v/holders" 2>/dev/null)" ] && [ -f "$v/orig" ]; then cat "$v/orig" > "$p" && rm -f "$v/orig"; fi ) 9>"$v.lock" ;;
  esac
done 2>/dev/null
rm -f "$f"
"#;

struct Registry {
    pid: u32,
    id: OwnerId,
    file: PathBuf,
    actions: Vec<(u64, String)>,
    next: u64,
    guardian: Option<Child>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// An undo action registered with the guardian; dropping it says the owner undid the state itself.
#[derive(Debug)]
#[must_use = "dropping the registration forgets the undo action"]
pub struct Registration {
    key: Option<u64>,
}

/// Registers `undo`, to be run by the guardian if this process dies before dropping the
/// returned [`Registration`]. Best effort: when `/run/ktrace` cannot be written or the guardian
/// cannot start, the state is still reaped by the next session's reaper (see [`is_stale`]).
#[doc(alias = "guardian")]
#[doc(alias = "atexit")]
pub fn register(undo: Undo) -> Registration {
    add_line(undo.line())
}

fn add_line(line: String) -> Registration {
    let mut g = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    if g.as_ref().is_none_or(|r| r.pid != std::process::id()) {
        *g = start_registry();
    }
    let Some(r) = g.as_mut() else { return Registration { key: None } };
    let key = r.next;
    r.next += 1;
    r.actions.push((key, line));
    r.save();
    Registration { key: Some(key) }
}

fn start_registry() -> Option<Registry> {
    let id = OwnerId::current().ok()?;
    let dir = Path::new(RUN_DIR).join("owners");
    fs::create_dir_all(&dir).ok()?;
    let file = dir.join(id.tag());
    let r = Registry { pid: id.pid, id, file, actions: Vec::new(), next: 0, guardian: None };
    let guardian = guardian_command(&r.file, &id).stdin(Stdio::piped()).process_group(0).spawn().ok()?;
    Some(Registry { guardian: Some(guardian), ..r })
}

fn guardian_command(file: &Path, id: &OwnerId) -> Command {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", GUARDIAN, "ktrace-guardian"]).arg(file).arg(id.tag()).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

use std::os::unix::process::CommandExt;

impl Registry {
    /// Rewrites the undo file (write + rename: the guardian never sees half a file); removes it
    /// when nothing is left to undo, so that a guardian killed with its namespace leaves nothing.
    fn save(&self) {
        if self.actions.is_empty() {
            let _ = fs::remove_file(&self.file);
            return;
        }
        let tmp = self.file.with_extension("tmp");
        let text: String = self.actions.iter().map(|(_, l)| format!("{l}\n")).collect();
        if fs::write(&tmp, text).is_ok() {
            let _ = fs::rename(&tmp, &self.file);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut g = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = g.as_mut().filter(|r| r.pid == std::process::id()) {
            r.actions.retain(|(k, _)| *k != key);
            r.save();
        }
    }
}

/// The guardian's pid, if this process has one (for tests).
pub fn guardian_pid() -> Option<u32> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).as_ref()?.guardian.as_ref().map(Child::id)
}

/// This process's owner id, as registered (for tests and names).
pub fn current() -> Option<OwnerId> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|r| r.id).or_else(|| OwnerId::current().ok())
}

/// This process's name prefix, `ktrace_<pid>_<start>_<pidns>` ([`OwnerId::tag`]), or
/// `ktrace_<pid>` if `/proc/self` cannot be read.
pub fn tag() -> String {
    current().map_or_else(|| format!("ktrace_{}", std::process::id()), |o| o.tag())
}

/// Runs the undo files of dead owners (their guardian died too, or is running them now: every
/// action is idempotent) and drops dead holders of shared settings; returns how many owners
/// were reaped. Cheap: one readdir of `/run/ktrace/owners`.
#[doc(alias = "reaper")]
pub fn reap() -> usize {
    let mut n = 0;
    for e in fs::read_dir(Path::new(RUN_DIR).join("owners")).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(Owner::Id(id)) = Owner::of_name(&name) else { continue };
        if name.ends_with(".tmp") || id.is_alive() {
            continue;
        }
        let ran = guardian_command(&e.path(), &id).stdin(Stdio::null()).status();
        n += usize::from(ran.is_ok_and(|s| s.success()));
    }
    for e in fs::read_dir(Path::new(RUN_DIR).join("shared")).into_iter().flatten().flatten() {
        if e.path().is_dir()
            && let Ok(target) = fs::read_to_string(e.path().join("path"))
        {
            let _ = Shared::locked(&e.path(), |dir| drop_dead_and_restore(dir, Path::new(target.trim())));
        }
    }
    n
}

/// A hold on a shared setting (a sysctl), reference-counted across processes: the first holder
/// records the value before and writes `value`, the last one out writes the recorded value back.
/// Two processes that hold it at once, exiting in either order (or killed), leave it as it was
/// before the first.
#[doc(alias = "flock")]
#[doc(alias = "sysctl")]
#[derive(Debug)]
#[must_use = "dropping the hold releases the setting"]
pub struct Shared {
    dir: PathBuf,
    path: PathBuf,
    holder: PathBuf,
    _undo: Registration,
}

impl Shared {
    /// Holds `path` at `value`.
    pub fn acquire(path: &Path, value: &str) -> io::Result<Shared> {
        let id = current().ok_or_else(|| io::Error::other("no owner id"))?;
        let dir = a_dir(path);
        fs::create_dir_all(dir.join("holders"))?;
        // One name per hold: two in one process are two holders.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let hold = id.name(&NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string());
        let holder = dir.join("holders").join(&hold);
        Shared::locked(&dir, |dir| {
            drop_dead_and_restore(dir, path)?;
            fs::write(dir.join("path"), path.to_string_lossy().as_bytes())?;
            if !dir.join("orig").exists() {
                let old = fs::read_to_string(path)?;
                fs::write(dir.join("orig"), old.trim())?;
            }
            fs::write(path, value)?;
            fs::write(&holder, b"")
        })?;
        let undo = add_line(format!("{}\t{hold}", clean_line("release", path, &dir.to_string_lossy())));
        Ok(Shared { dir, path: path.to_owned(), holder, _undo: undo })
    }

    fn locked<T>(dir: &Path, f: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
        let lock = fs::File::create(dir.with_extension("lock"))?;
        lock.lock()?;
        f(dir)
    }
}

/// The record of a shared setting: `/run/ktrace/shared/<path with _ for every non-alphanumeric>`.
fn a_dir(path: &Path) -> PathBuf {
    let key: String = path.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    Path::new(RUN_DIR).join("shared").join(key)
}

/// Removes holders whose owner is gone; with none left, writes the recorded value back.
fn drop_dead_and_restore(dir: &Path, path: &Path) -> io::Result<()> {
    let mut left = 0;
    for e in fs::read_dir(dir.join("holders"))?.flatten() {
        if is_stale(&e.file_name().to_string_lossy()) {
            let _ = fs::remove_file(e.path());
        } else {
            left += 1;
        }
    }
    if left == 0
        && let Ok(orig) = fs::read_to_string(dir.join("orig"))
    {
        fs::write(path, orig.trim())?;
        fs::remove_file(dir.join("orig"))?;
    }
    Ok(())
}

impl Drop for Shared {
    fn drop(&mut self) {
        let _ = Shared::locked(&self.dir, |dir| {
            let _ = fs::remove_file(&self.holder);
            drop_dead_and_restore(dir, &self.path)
        });
    }
}

/// Writes `text` to a file in one write(2) (tracefs and sysfs parse each write alone).
pub fn write_once(p: &Path, text: &str) -> io::Result<()> {
    fs::OpenOptions::new().write(true).truncate(true).open(p)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_holds_count_within_a_process_too() {
        if fs::create_dir_all(RUN_DIR).is_err() {
            return; // not root: nothing to hold
        }
        let file = std::env::temp_dir().join(format!("ktrace-owner-shared-{}", std::process::id()));
        fs::write(&file, "0").unwrap();
        let a = Shared::acquire(&file, "1").unwrap();
        let b = Shared::acquire(&file, "1").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "1");
        drop(a);
        assert_eq!(fs::read_to_string(&file).unwrap(), "1", "released under a live hold");
        drop(b);
        assert_eq!(fs::read_to_string(&file).unwrap(), "0");
        let _ = fs::remove_file(&file);
        let dir = a_dir(&file);
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(dir.with_extension("lock"));
    }

    #[test]
    fn names_round_trip() {
        let me = OwnerId::current().unwrap();
        let n = me.name("3");
        assert!(n.len() < 64 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{n}");
        assert_eq!(Owner::of_name(&n), Some(Owner::Id(me)));
        assert!(!is_stale(&n));
        assert_eq!(Owner::of_name("ktrace_123_4"), Some(Owner::Pid(123)));
        assert_eq!(Owner::of_name("ktrace_123_libc"), Some(Owner::Pid(123)));
        assert_eq!(Owner::of_name("other"), None);
        assert!(is_stale("ktrace_67108863_0"), "above pid_max: never alive");
        assert!(!is_stale("ktrace_bench"), "no owner: never reaped");
        // This pid with another start time: a reused pid, so gone.
        assert!(is_stale(&OwnerId { start: me.start + 1, ..me }.name("0")));
        // A namespace nobody is in: gone only if every namespace is visible from here.
        let ghost = OwnerId { ns: 1, ..me }.name("0");
        if own_ns() != Some(INIT_PID_NS) {
            assert!(!is_stale(&ghost));
        } else if proc_pids().all(|p| ns_depth(p).is_some()) {
            assert!(is_stale(&ghost));
        }
    }
}

// The README's examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
