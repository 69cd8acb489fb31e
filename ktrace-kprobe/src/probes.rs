//! Creating probes through tracefs (`kprobe_events`, `uprobe_events`), owned by a guard that
//! removes them on drop; a reaper for probes of dead owners.

use std::sync::atomic::{AtomicU32, Ordering};

use ktrace_ftrace::Tracefs;

#[cfg(feature = "elf")]
use crate::elf::Binary;
use crate::error::{Error, Result};
use crate::probe::{ProbeDef, Target};
#[cfg(feature = "elf")]
use crate::usdt;

/// Probes this process created, in a group of their own: `ktrace_<pid>_<n>`, one per guard, so
/// guards made at once (parallel tests) never collide, and [`reap_stale`] removes the group once
/// `<pid>` is gone (never while it lives). Dropping the guard removes the probes;
/// [`Probes::close`] does the same and reports errors. Removal first disables each probe's event
/// in every instance that enabled it (the kernel refuses to remove an enabled probe), so guards and
/// instances may be dropped in any order.
///
/// ```no_run
/// use ktrace_kprobe::{ArgType, FetchArg, Probes};
/// let fs = ktrace_ftrace::Tracefs::find()?;
/// let mut probes = Probes::new(&fs);
/// # #[cfg(feature = "elf")]
/// probes.uprobe("readline", "/bin/bash", "readline", &[], false)?;
/// let inst = fs.new_instance()?;
/// inst.enable_event(probes.group(), "readline")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "kprobe_events")]
#[doc(alias = "uprobe_events")]
#[doc(alias = "dynamic_events")]
#[derive(Debug)]
pub struct Probes {
    fs: Tracefs,
    group: String,
    created: Vec<ProbeDef>,
    /// The guardian's undo actions for `created` (remove the probes if this process dies first).
    guardian: Vec<ktrace_owner::Registration>,
}

static NEXT_GROUP: AtomicU32 = AtomicU32::new(0);

impl Probes {
    /// A guard with a group of its own, `ktrace_<pid>_<start>_<pidns>_<n>` ([`ktrace_owner::tag`], `n`
    /// counts guards in this process; a name whose `events/` directory exists is skipped).
    ///
    /// Like [`Probes::with_group`], it first removes the probes of dead owners ([`reap_stale`]).
    pub fn new(fs: &Tracefs) -> Probes {
        let _ = reap_stale(fs);
        let tag = ktrace_owner::tag();
        let group = loop {
            let g = format!("{tag}_{}", NEXT_GROUP.fetch_add(1, Ordering::Relaxed));
            if !fs.root().join("events").join(&g).exists() {
                break g;
            }
        };
        Probes { fs: fs.clone(), group, created: Vec::new(), guardian: Vec::new() }
    }

    /// A guard for a named group: a name starting with `ktrace_` is used as is (the reaper removes
    /// it only if its owner is surely gone, see [`ktrace_ftrace::tracefs::is_stale`]), any other
    /// becomes `<owner tag>_<name>` ([`ktrace_owner::tag`]: owned by this process, so reapable). Either way
    /// the guardian removes the probes if this process dies before the guard drops.
    pub fn with_group(fs: &Tracefs, group: &str) -> Probes {
        let _ = reap_stale(fs);
        let group =
            if group.starts_with("ktrace_") { group.to_owned() } else { format!("{}_{group}", ktrace_owner::tag()) };
        Probes { fs: fs.clone(), group, created: Vec::new(), guardian: Vec::new() }
    }

    /// The group name (the `events/<group>/` directory).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The definitions created so far.
    pub fn created(&self) -> &[ProbeDef] {
        &self.created
    }

    /// The tracefs file (relative to the root) that takes `def`'s definition line.
    fn events_file(&self, def: &ProbeDef) -> Result<&'static str> {
        let eprobe = matches!(def.target, Target::Eprobe { .. });
        let (name, feature, config, since) = if def.is_uprobe() {
            ("uprobe_events", "uprobe events", "CONFIG_UPROBE_EVENTS", "3.5")
        } else if eprobe {
            ("dynamic_events", "eprobe events", "CONFIG_EPROBE_EVENTS", "5.15")
        } else if def.is_dynamic_only() {
            ("dynamic_events", "fprobe/tprobe events", "CONFIG_FPROBE_EVENTS", "6.4")
        } else {
            ("kprobe_events", "kprobe events", "CONFIG_KPROBE_EVENTS", "2.6.33")
        };
        let needs = ktrace_core::hint::kernel_feature(config, since);
        let p = self.fs.root().join(name);
        if !p.exists() {
            return Err(Error::Unsupported { feature: feature.into(), hint: format!("no {}: {needs}", p.display()) });
        }
        // `dynamic_events` also exists for uprobes or kprobes alone: fprobe events need the kernel to
        // know the `f` syntax, which its tracefs README lists.
        let syntax = if eprobe { "e[:[<group>/][<event>]]" } else { "f[:[<group>/][<event>]]" };
        if def.is_dynamic_only() && !self.fs.read("README").is_ok_and(|t| t.contains(syntax)) {
            let hint = format!(
                "{} exists, but {} lists no {syntax} syntax: {needs}",
                p.display(),
                self.fs.root().join("README").display()
            );
            return Err(Error::Unsupported { feature: feature.into(), hint });
        }
        Ok(name)
    }

    /// Creates a probe from a definition (its group is replaced by this guard's). For uprobes,
    /// `$argN` in fetch specs (see [`FetchArg::arg`](crate::FetchArg::arg)) becomes the register
    /// or stack slot of argument N, as uprobes lack `$argN`.
    pub fn add(&mut self, mut def: ProbeDef) -> Result<()> {
        def.group = self.group.clone();
        if def.is_uprobe() {
            for a in &mut def.args {
                a.fetch = crate::probe::user_args_to_registers(&a.fetch);
            }
        }
        let file = self.events_file(&def)?;
        let _ = self.fs.write("error_log", "");
        let line = def.to_string();
        if let Err(e) = self.fs.append(file, &line) {
            if e.is_permission() {
                return Err(e.into());
            }
            let log = self.fs.read("error_log").unwrap_or_default();
            // The README lists `e:` whether or not eprobes are built; without them dynamic_events
            // refuses every `e:` line with EINVAL and no error_log entry (a kernel that has them
            // explains a bad definition there).
            if matches!(def.target, Target::Eprobe { .. })
                && e.os_error() == Some(libc::EINVAL)
                && log.trim().is_empty()
            {
                return Err(Error::Unsupported {
                    feature: "eprobe events".into(),
                    hint: format!(
                        "{} refused {line:?} with EINVAL and no error_log entry: {} and kprobe events",
                        self.fs.root().join(file).display(),
                        ktrace_core::hint::kernel_feature("CONFIG_EPROBE_EVENTS", "5.15")
                    ),
                });
            }
            return Err(Error::Rejected {
                def: line,
                log: if log.trim().is_empty() { e.to_string() } else { log.trim_end().to_owned() },
            });
        }
        let name = format!("{}/{}", def.group, def.event);
        let events_file = self.fs.root().join(file);
        self.guardian.push(ktrace_owner::register(ktrace_owner::Undo::RemoveProbe { events_file, name }));
        self.created.push(def);
        Ok(())
    }

    /// A uprobe (or uretprobe) on a function of a binary or library, found by symbol (feature
    /// `elf`; without it, give the file offset in a [`ProbeDef`] to [`Probes::add`]).
    #[cfg(feature = "elf")]
    #[doc(alias = "uprobe_events")]
    #[doc(alias = "uretprobe")]
    pub fn uprobe(&mut self, event: &str, path: &str, symbol: &str, args: &[crate::FetchArg], ret: bool) -> Result<()> {
        let off = Binary::open(path)?.symbol_offset(symbol)?;
        let target = if ret {
            Target::Uretprobe { path: path.into(), offset: off }
        } else {
            Target::Uprobe { path: path.into(), offset: off, ref_ctr: None }
        };
        let mut def = ProbeDef::new(&self.group, event, target);
        def.args = args.to_vec();
        self.add(def)
    }

    /// A kprobe (or kretprobe) on a kernel function.
    #[doc(alias = "kprobe_events")]
    #[doc(alias = "kretprobe")]
    pub fn kprobe(&mut self, event: &str, symbol: &str, args: &[crate::FetchArg], ret: bool) -> Result<()> {
        let target = if ret {
            Target::Kretprobe { symbol: symbol.into(), maxactive: 0 }
        } else {
            Target::Kprobe { symbol: symbol.into(), offset: 0 }
        };
        let mut def = ProbeDef::new(&self.group, event, target);
        def.args = args.to_vec();
        self.add(def)
    }

    /// An fprobe on a kernel function's entry or (`ret`) exit, arguments usually by BTF name
    /// (`dynamic_events`, 6.4+ with CONFIG_FPROBE_EVENTS; BTF names 6.6+).
    ///
    /// ```no_run
    /// use ktrace_kprobe::{ArgType, FetchArg, Probes};
    /// let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
    /// let mut probes = Probes::new(&fs);
    /// probes.fprobe("open", "do_sys_openat2", &[FetchArg::btf("filename", Some(ArgType::UString))], false)?;
    /// probes.fprobe("open_ret", "do_sys_openat2", &[FetchArg::new("fd", "$retval", Some(ArgType::S(64)))], true)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "dynamic_events")]
    pub fn fprobe(&mut self, event: &str, symbol: &str, args: &[crate::FetchArg], ret: bool) -> Result<()> {
        let target =
            if ret { Target::Fexit { symbol: symbol.into() } } else { Target::Fentry { symbol: symbol.into() } };
        let mut def = ProbeDef::new(&self.group, event, target);
        def.args = args.to_vec();
        self.add(def)
    }

    /// An event probe: a new event `event` on each hit of `system/base_event`, with fetch args over
    /// the base event's fields (`$field`, dereferenced as `+0($field):ustring`…) (`dynamic_events`,
    /// Linux 5.15+ built with kprobe events, CONFIG_EPROBE_EVENTS on newer kernels;
    /// [`Error::Unsupported`] without them).
    ///
    /// Kernel bug (seen on 6.1): a `char *` field of the base event (`filename` of
    /// `syscalls/sys_enter_openat`) is fetched as its first byte, not as the pointer
    /// (`trace_eprobe.c` `get_event_field`, FILTER_PTR_STRING), so `+0($filename):ustring`
    /// records an empty string. Integer fields, and arrays (read as their first 8 bytes), work.
    ///
    /// ```no_run
    /// use ktrace_kprobe::{ArgType, FetchArg, Probes};
    /// let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
    /// let mut probes = Probes::new(&fs);
    /// // raw_syscalls/sys_enter's `args` array: `$args` is the first argument, here a user
    /// // pointer (the path of access(2), unlink(2), chdir(2)…) that the eprobe reads.
    /// let args = [
    ///     FetchArg::new("nr", "$id", Some(ArgType::S(64))),
    ///     FetchArg::new("path", "+0($args)", Some(ArgType::UString)),
    /// ];
    /// probes.eprobe("enter_path", "raw_syscalls", "sys_enter", &args)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "dynamic_events")]
    pub fn eprobe(&mut self, event: &str, system: &str, base_event: &str, args: &[crate::FetchArg]) -> Result<()> {
        let target = Target::Eprobe { system: system.into(), event: base_event.into() };
        let mut def = ProbeDef::new(&self.group, event, target);
        def.args = args.to_vec();
        self.add(def)
    }

    /// Uprobes at every USDT site of a binary (`provider_name` events with `arg1…argN`), with the
    /// semaphore as reference counter so guarded probes fire. Returns the event names (feature `elf`).
    #[cfg(feature = "elf")]
    #[doc(alias = "uprobe_events")]
    #[doc(alias = "stapsdt")]
    pub fn usdt(&mut self, path: &str) -> Result<Vec<String>> {
        let bin = Binary::open(path)?;
        let mut names = Vec::new();
        for (i, p) in usdt::probes(&bin)?.into_iter().enumerate() {
            let offset = bin.vaddr_to_offset(p.pc)?;
            let ref_ctr = if p.semaphore != 0 { Some(bin.vaddr_to_offset(p.semaphore)?) } else { None };
            let event =
                format!("{}_{}_{i}", p.provider, p.name).replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
            let mut def = ProbeDef::new(&self.group, &event, Target::Uprobe { path: path.into(), offset, ref_ctr });
            for (k, spec) in p.args.split_whitespace().enumerate() {
                if let Some(a) = usdt::translate_arg(&format!("arg{}", k + 1), spec) {
                    def.args.push(a);
                }
            }
            self.add(def)?;
            names.push(event);
        }
        Ok(names)
    }

    /// Removes every probe this guard made, reporting the first error.
    pub fn close(mut self) -> Result<()> {
        self.remove_all()
    }

    fn remove_all(&mut self) -> Result<()> {
        let mut first = None;
        for def in std::mem::take(&mut self.created) {
            let Ok(file) = self.events_file(&def) else { continue };
            if let Err(e) = remove_probe(&self.fs, file, &def.group, &def.event) {
                first.get_or_insert(e.into());
            }
        }
        self.guardian.clear();
        first.map_or(Ok(()), Err)
    }
}

/// Disables `group/event` in the top instance and in every instance that enabled it, then removes
/// it through `events_file` (`-:group/event`), retrying briefly while the kernel says it is busy
/// (a perf user or a closing reader).
fn remove_probe(fs: &Tracefs, events_file: &str, group: &str, event: &str) -> ktrace_ftrace::Result<()> {
    let enable = format!("events/{group}/{event}/enable");
    let instances = std::fs::read_dir(fs.root().join("instances")).into_iter().flatten().flatten();
    let dirs = std::iter::once(String::new())
        .chain(instances.filter_map(|e| e.file_name().to_str().map(|n| format!("instances/{n}/"))));
    for dir in dirs {
        let p = format!("{dir}{enable}");
        // `1`, or `1*` when also soft-enabled by a trigger.
        if fs.read(&p).is_ok_and(|t| t.starts_with('1')) {
            let _ = fs.write(&p, "0");
        }
    }
    let cmd = format!("-:{group}/{event}");
    let mut attempt = 0;
    loop {
        match fs.append(events_file, &cmd) {
            Err(e) if e.os_error() == Some(libc::EBUSY) && attempt < 49 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl Drop for Probes {
    fn drop(&mut self) {
        let _ = self.remove_all();
    }
}

/// Whether this kernel's probe events take function arguments by BTF name (`<argname>` in
/// tracefs `README`: Linux 6.6+ with CONFIG_PROBE_EVENTS_BTF_ARGS and BTF for vmlinux).
pub fn btf_args_supported(fs: &Tracefs) -> bool {
    fs.read("README").is_ok_and(|t| t.contains("<argname>"))
}

/// Removes probes of `ktrace_<pid>` and `ktrace_<pid>_<suffix>` groups (the groups [`Probes`]
/// makes) whose pid is gone, disabling them in any instance first; returns the removed
/// `group/event`s. A live owner's probes, and groups without an owner pid, are never touched
/// (see [`ktrace_ftrace::tracefs::is_stale`]).
#[doc(alias = "kprobe_events")]
#[doc(alias = "uprobe_events")]
pub fn reap_stale(fs: &Tracefs) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for file in ["kprobe_events", "uprobe_events", "dynamic_events"] {
        let Ok(text) = fs.read(file) else { continue };
        for line in text.lines() {
            // `TYPE:GROUP/EVENT …`: any probe type, also those ProbeDef does not parse.
            let Some((group, event)) =
                line.split_whitespace().next().and_then(|h| h.split_once(':')).and_then(|(_, n)| n.split_once('/'))
            else {
                continue;
            };
            if !ktrace_ftrace::tracefs::is_stale(group) {
                continue;
            }
            let name = format!("{group}/{event}");
            if !out.contains(&name) && remove_probe(fs, file, group, event).is_ok() {
                out.push(name);
            }
        }
    }
    Ok(out)
}
