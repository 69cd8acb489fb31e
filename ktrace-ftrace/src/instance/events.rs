//! An instance's events (`events/<system>/<name>/`): enabling by name, system or glob, filters,
//! triggers, and the pid lists that scope them (`set_event_pid`).

use std::fs;
use std::path::{Path, PathBuf};

use ktrace_core::FormatRegistry;

use super::{Instance, join};
use crate::error::{Error, Result};
use crate::tracefs::{append_file, write_file};

impl Instance {
    fn event_dir(&self, system: &str, name: &str) -> Result<PathBuf> {
        let d = self.dir.join("events").join(system).join(name);
        if d.is_dir() { Ok(d) } else { Err(Error::NoSuchEvent { system: system.into(), name: name.into() }) }
    }

    /// Enables one event (`events/<system>/<name>/enable`).
    pub fn enable_event(&self, system: &str, name: &str) -> Result<()> {
        let d = self.event_dir(system, name)?;
        self.write_event_file(&d.join("enable"), "1")
    }

    /// Disables one event.
    pub fn disable_event(&self, system: &str, name: &str) -> Result<()> {
        let d = self.event_dir(system, name)?;
        write_file(&d.join("enable"), "0")
    }

    /// Enables every event of a system (`events/<system>/enable`).
    pub fn enable_system(&self, system: &str) -> Result<()> {
        let d = self.dir.join("events").join(system);
        if !d.is_dir() {
            return Err(Error::NoSuchEvent { system: system.into(), name: "*".into() });
        }
        self.write_event_file(&d.join("enable"), "1")
    }

    /// Enables every event matching `system:event`, each part a glob (`*`, `?`, `[...]`, `[!...]`):
    /// `syscalls:sys_enter_open*`, `sched:*`, `*:sched_switch`, `sched:sched_wak*`. A pattern without
    /// `:` names events of any system (`sched_switch` is `*:sched_switch`), as in `set_event`.
    ///
    /// The kernel's `set_event` takes only whole-part wildcards (`sched:*`) and refuses partial
    /// globs, so the pattern is expanded here over this instance's `events/` directory (see
    /// [`Instance::matching_events`]) and each match enabled through its `enable` file (a whole
    /// system, `sched:*`, through the system's `enable` file, one write). A pattern
    /// that matches nothing, or is not a valid glob, is [`Error::NoMatch`] naming it.
    ///
    /// ```no_run
    /// let fs = ktrace_ftrace::Tracefs::find()?;
    /// let inst = fs.new_instance()?;
    /// inst.enable_glob("syscalls:sys_enter_open*")?; // open, openat, openat2, open_by_handle_at…
    /// # Ok::<(), ktrace_ftrace::Error>(())
    /// ```
    #[doc(alias = "set_event")]
    pub fn enable_glob(&self, pattern: &str) -> Result<()> {
        // A whole system (`syscalls:*`) is one write to its `enable` file, not one per event.
        if let Some(system) = pattern.strip_suffix(":*")
            && !system.is_empty()
            && !system.contains(['*', '?', '[', '/'])
            && !matches!(system, "." | "..")
            && self.dir.join("events").join(system).is_dir()
        {
            return self.enable_system(system);
        }
        for (system, name) in self.matching_events(pattern)? {
            self.enable_event(&system, &name)?;
        }
        Ok(())
    }

    /// The events of this instance that match `system:event` globs (see [`Instance::enable_glob`]),
    /// as sorted `(system, name)` pairs; [`Error::NoMatch`] when there are none.
    pub fn matching_events(&self, pattern: &str) -> Result<Vec<(String, String)>> {
        let no_match = |why: String| Error::NoMatch { pattern: pattern.into(), why };
        let (sys_glob, ev_glob) = pattern.split_once(':').unwrap_or(("*", pattern));
        let (sys_glob, ev_glob) =
            (if sys_glob.is_empty() { "*" } else { sys_glob }, if ev_glob.is_empty() { "*" } else { ev_glob });
        let sys_pat = glob::Pattern::new(sys_glob).map_err(|e| no_match(format!("bad system glob: {e}")))?;
        let ev_pat = glob::Pattern::new(ev_glob).map_err(|e| no_match(format!("bad event glob: {e}")))?;
        let events = self.dir.join("events");
        let names = |d: &Path| -> Result<Vec<String>> {
            Ok(fs::read_dir(d)
                .map_err(|e| Error::io("readdir", d, e))?
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect())
        };
        let mut found = Vec::new();
        for system in names(&events)?.into_iter().filter(|s| sys_pat.matches(s)) {
            for name in names(&events.join(&system))?.into_iter().filter(|n| ev_pat.matches(n)) {
                found.push((system.clone(), name));
            }
        }
        if found.is_empty() {
            return Err(no_match(format!("matches no event in {}", events.display())));
        }
        found.sort();
        Ok(found)
    }

    /// The events enabled in this instance, as `(system, name)` (`set_event`).
    pub fn enabled_events(&self) -> Result<Vec<(String, String)>> {
        Ok(self
            .read("set_event")?
            .lines()
            .filter_map(|l| l.trim().split_once(':'))
            .map(|(s, n)| (s.to_owned(), n.to_owned()))
            .collect())
    }

    /// The format registry with the formats of this instance's enabled events loaded now (so a
    /// recording decodes even after dynamic events, such as probes, are removed), others lazily.
    pub fn formats_with_enabled(&self) -> FormatRegistry {
        let mut reg = self.formats();
        for (sys, name) in self.enabled_events().unwrap_or_default() {
            if let Ok(t) = self.fs.event_format_text(&sys, &name) {
                let _ = reg.add_text(&sys, &t);
            }
        }
        reg
    }

    fn write_event_file(&self, p: &Path, val: &str) -> Result<()> {
        self.remember(p)?;
        write_file(p, val)
    }

    /// Sets an event filter (`events/<system>/<name>/filter`); a rejected filter returns
    /// [`Error::Filter`] with the kernel's `error_log` explanation.
    pub fn set_filter(&self, system: &str, name: &str, filter: &str) -> Result<()> {
        let d = self.event_dir(system, name)?;
        self.write_checked(&d.join("filter"), filter, &format!("{system}/{name}"))
    }

    /// Sets a trigger (`events/<system>/<name>/trigger`: `traceon`, `stacktrace`, `hist:…`…).
    pub fn set_trigger(&self, system: &str, name: &str, trigger: &str) -> Result<()> {
        let d = self.event_dir(system, name)?;
        let p = d.join("trigger");
        if !p.exists() {
            return Err(Error::Unsupported { feature: "event triggers".into(), hint: "no trigger file".into() });
        }
        self.write_checked(&p, trigger, &format!("{system}/{name}"))?;
        // Triggers are removed with a `!` prefix, not by truncation: remember that.
        let mut r = self.restore.lock().unwrap_or_else(|e| e.into_inner());
        r.retain(|(q, ..)| q != &p);
        // The whole text: hist triggers are matched with their filter on removal. (A trigger
        // cannot be put back by one write: the guardian has no undo for it.)
        r.push((p, format!("!{}", trigger.trim()), None));
        Ok(())
    }

    /// Removes a trigger set with [`Instance::set_trigger`] (writes it back with a `!` prefix).
    /// Missing events or triggers are not errors (there is nothing to remove).
    pub fn remove_trigger(&self, system: &str, name: &str, trigger: &str) -> Result<()> {
        let Ok(d) = self.event_dir(system, name) else { return Ok(()) };
        let p = d.join("trigger");
        let cmd = format!("!{}", trigger.trim());
        let r = append_file(&p, &cmd);
        self.restore.lock().unwrap_or_else(|e| e.into_inner()).retain(|(q, v, _)| !(q == &p && v == &cmd));
        match r {
            Err(Error::Syscall(e)) if e.errno() == Some(libc::ENOENT) => Ok(()),
            other => other,
        }
    }

    fn write_checked(&self, p: &Path, val: &str, what: &str) -> Result<()> {
        let _ = write_file(&self.fs.root().join("error_log"), "");
        let _ = write_file(&self.dir.join("error_log"), "");
        self.remember(p)?;
        match write_file(p, val) {
            Err(Error::Syscall(e)) if e.errno() == Some(libc::EINVAL) => {
                let log = self.read("error_log").or_else(|_| self.fs.read("error_log")).unwrap_or_default();
                let msg = if log.trim().is_empty() { "invalid (no error_log entry)".to_owned() } else { log };
                Err(Error::Filter { event: what.into(), filter: val.into(), message: msg.trim_end().into() })
            }
            other => other,
        }
    }

    /// Traces events only of these tasks (`set_event_pid`); empty clears the list.
    ///
    /// The kernel's "pids" here are **thread ids** (`gettid(2)`), not process ids: a process's
    /// other threads are not included, and `std::process::id()` names only its main thread (a
    /// `#[test]` runs on another one). To trace the calling thread and whatever it starts, use
    /// [`Instance::filter_current_thread`]; to follow a child's own children, also set
    /// [`Instance::follow_forks`].
    #[doc(alias = "set_event_pid")]
    pub fn set_event_pids(&self, pids: &[i32]) -> Result<()> {
        self.write("set_event_pid", &join(pids))
    }

    /// Scopes this instance's events to the calling thread and every task it creates from now on
    /// (threads and processes, and theirs in turn): `set_event_pid` gets this thread's id
    /// (`gettid(2)`) and the `event-fork` option is set, so the kernel adds each new child's id
    /// at fork and drops it at exit (Linux 4.20+ for `event-fork`).
    ///
    /// Other threads of this process, and threads it started before the call, are not traced.
    /// A [`Recorder`](crate::Recorder)'s own drain threads are excluded through
    /// `set_event_notrace_pid`. The function tracer's `function-fork` is not touched (function
    /// tracing is filtered by [`Instance::set_ftrace_pids`]).
    ///
    /// ```no_run
    /// let fs = ktrace_ftrace::Tracefs::find()?;
    /// let inst = fs.new_instance()?;
    /// inst.filter_current_thread()?;
    /// inst.enable_event("raw_syscalls", "sys_enter")?;
    /// let rec = ktrace_ftrace::Recorder::start(&inst)?;
    /// std::process::Command::new("true").status().ok(); // this thread and the child are seen
    /// let recording = rec.stop()?;
    /// # Ok::<(), ktrace_ftrace::Error>(())
    /// ```
    #[doc(alias = "event-fork")]
    pub fn filter_current_thread(&self) -> Result<()> {
        self.set_event_pids(&[nix::unistd::gettid().as_raw()])?;
        self.set_option("event-fork", true)
    }
}
