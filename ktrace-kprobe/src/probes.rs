//! Creating probes through tracefs (`kprobe_events`, `uprobe_events`), owned by a guard that
//! removes them on drop; a reaper for probes of dead owners.

use std::io::Write;
use std::path::PathBuf;

use ktrace_ftrace::Tracefs;

#[cfg(feature = "elf")]
use crate::elf::Binary;
use crate::error::{Error, Result};
use crate::probe::{ProbeDef, Target};
#[cfg(feature = "elf")]
use crate::usdt;

/// Probes this process created, in its own group `ktrace_<pid>` (or another `ktrace_*` group).
/// Dropping it removes them; [`Probes::close`] does the same and reports errors. Instances that
/// enabled the probes' events must be closed first (the kernel refuses to remove enabled probes).
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
}

impl Probes {
    /// A guard for group `ktrace_<pid>`.
    pub fn new(fs: &Tracefs) -> Probes {
        Probes { fs: fs.clone(), group: format!("ktrace_{}", std::process::id()), created: Vec::new() }
    }

    /// A guard for another group (must start with `ktrace_` so the reaper can find it).
    pub fn with_group(fs: &Tracefs, group: &str) -> Probes {
        let group = if group.starts_with("ktrace_") { group.to_owned() } else { format!("ktrace_{group}") };
        Probes { fs: fs.clone(), group, created: Vec::new() }
    }

    /// The group name (the `events/<group>/` directory).
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The definitions created so far.
    pub fn created(&self) -> &[ProbeDef] {
        &self.created
    }

    fn events_file(&self, def: &ProbeDef) -> Result<PathBuf> {
        let (name, feature, config, since) = if def.is_uprobe() {
            ("uprobe_events", "uprobe events", "CONFIG_UPROBE_EVENTS", "3.5")
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
        if def.is_dynamic_only() && !self.fs.read("README").is_ok_and(|t| t.contains("f[:[<group>/][<event>]]")) {
            let hint = format!(
                "{} exists, but {} lists no f[:[<group>/][<event>]] syntax: {needs}",
                p.display(),
                self.fs.root().join("README").display()
            );
            return Err(Error::Unsupported { feature: feature.into(), hint });
        }
        Ok(p)
    }

    /// Creates a probe from a definition (its group is replaced by this guard's).
    pub fn add(&mut self, mut def: ProbeDef) -> Result<()> {
        def.group = self.group.clone();
        let path = self.events_file(&def)?;
        let _ = std::fs::write(self.fs.root().join("error_log"), "");
        let line = def.to_string();
        let r = std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = r {
            let log = std::fs::read_to_string(self.fs.root().join("error_log")).unwrap_or_default();
            return Err(Error::Rejected {
                def: line,
                log: if log.trim().is_empty() { e.to_string() } else { log.trim_end().to_owned() },
            });
        }
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
            let Ok(path) = self.events_file(&def) else { continue };
            let cmd = format!("-:{}/{}", def.group, def.event);
            // An instance may still be closing: retry briefly on EBUSY.
            for attempt in 0..50 {
                let r =
                    std::fs::OpenOptions::new().append(true).open(&path).and_then(|mut f| f.write_all(cmd.as_bytes()));
                match r {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                        std::thread::sleep(std::time::Duration::from_millis(20))
                    }
                    Err(e) => {
                        first.get_or_insert(Error::Io { call: "write", path: path.display().to_string(), source: e });
                        break;
                    }
                }
            }
        }
        first.map_or(Ok(()), Err)
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

/// Removes probes of `ktrace_<pid>` groups whose pid is gone; returns the removed `group/event`s.
#[doc(alias = "kprobe_events")]
#[doc(alias = "uprobe_events")]
pub fn reap_stale(fs: &Tracefs) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for file in ["kprobe_events", "uprobe_events"] {
        let path = fs.root().join(file);
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        for line in text.lines() {
            let Ok(def) = ProbeDef::parse(line) else { continue };
            let Some(pid) = def.group.strip_prefix("ktrace_").and_then(|p| p.parse::<i32>().ok()) else { continue };
            if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            let cmd = format!("-:{}/{}", def.group, def.event);
            if std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(cmd.as_bytes()))
                .is_ok()
            {
                out.push(format!("{}/{}", def.group, def.event));
            }
        }
    }
    Ok(out)
}
