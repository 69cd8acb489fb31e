//! Synthetic events and in-kernel latency: a synthetic event (`synthetic_events`, 4.17+ with
//! CONFIG_SYNTH_EVENTS) fed by a hist-trigger `onmatch` action, so the kernel itself pairs each
//! `sched_waking` with its `sched_switch` and histograms the latency (the wakeup-latency recipe of
//! the kernel's Documentation/trace/histogram.rst): no event leaves the kernel.

use crate::error::{Error, Result};
use crate::hist::{Hist, HistSpec};
use crate::instance::Instance;
use crate::tracefs::Tracefs;

/// A synthetic event named `ktrace_…`, removed on drop (remove the triggers that use it first:
/// the kernel refuses to remove an event in use).
#[doc(alias = "synthetic_events")]
#[derive(Debug)]
pub struct SynthEvent {
    fs: Tracefs,
    name: String,
}

impl SynthEvent {
    /// Creates `name` (prefixed `ktrace_` when it is not) with `fields` as `(type, name)`,
    /// e.g. `[("u64", "lat"), ("pid_t", "pid")]`. A kernel without synthetic events is
    /// [`Error::Unsupported`].
    pub fn create(fs: &Tracefs, name: &str, fields: &[(&str, &str)]) -> Result<SynthEvent> {
        let name = if name.starts_with("ktrace_") { name.to_owned() } else { format!("ktrace_{name}") };
        let p = fs.root().join("synthetic_events");
        if !p.exists() {
            return Err(Error::Unsupported {
                feature: "synthetic events (CONFIG_SYNTH_EVENTS)".into(),
                hint: format!("no {}", p.display()),
            });
        }
        let fields: Vec<String> = fields.iter().map(|(t, n)| format!("{t} {n}")).collect();
        crate::tracefs::append_file(&p, &format!("{name} {}", fields.join("; ")))?;
        Ok(SynthEvent { fs: fs.clone(), name })
    }

    /// The event's name (under `events/synthetic/`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the event now, reporting errors (drop does the same silently).
    pub fn remove(mut self) -> Result<()> {
        let name = std::mem::take(&mut self.name);
        crate::tracefs::append_file(&self.fs.root().join("synthetic_events"), &format!("!{name}"))
    }
}

impl Drop for SynthEvent {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            let _ = crate::tracefs::append_file(&self.fs.root().join("synthetic_events"), &format!("!{}", self.name));
        }
    }
}

/// Wakeup latency of task `pid` (waking -> running, µs) measured in the kernel while `work` runs,
/// as a histogram with power-of-two buckets (`lat.log2` keys; each row's key value is a bucket).
/// Needs hist triggers and synthetic events (`CONFIG_HIST_TRIGGERS`, 4.17+; kernels built without it have neither).
///
/// ```no_run
/// let fs = ktrace_ftrace::Tracefs::find_or_mount()?;
/// let inst = fs.new_instance()?;
/// let tid = nix::unistd::gettid().as_raw();
/// let h = ktrace_ftrace::synth::wakeup_latency_in_kernel(&inst, tid, || {
///     for _ in 0..100 { std::thread::sleep(std::time::Duration::from_millis(1)) }
/// })?;
/// for row in &h.rows {
///     println!("{:?} {:?}", row.key("lat").map(|k| k.text.as_str()), row.val("hitcount"));
/// }
/// # Ok::<(), ktrace_ftrace::Error>(())
/// ```
pub fn wakeup_latency_in_kernel(inst: &Instance, pid: i32, work: impl FnOnce()) -> Result<Hist> {
    let hist = inst.path().join("events/sched/sched_switch/hist");
    if !hist.exists() {
        return Err(Error::Unsupported {
            feature: "hist triggers (CONFIG_HIST_TRIGGERS)".into(),
            hint: format!("no {}", hist.display()),
        });
    }
    let fs = inst.tracefs().clone();
    let synth =
        SynthEvent::create(&fs, &format!("wakeup_lat_{}", std::process::id()), &[("u64", "lat"), ("pid_t", "pid")])?;
    let name = synth.name().to_owned();
    let waking = format!("hist:keys=pid:ts0=common_timestamp.usecs if pid == {pid}");
    let switch = format!(
        "hist:keys=next_pid:lat=common_timestamp.usecs-$ts0:onmatch(sched.sched_waking).{name}($lat,next_pid) if next_pid == {pid}"
    );
    let spec = HistSpec::keys(&["lat.log2"]).vals(&["hitcount"]).sort("lat");
    let run = || -> Result<Hist> {
        inst.set_trigger("sched", "sched_waking", &waking)?;
        inst.set_trigger("sched", "sched_switch", &switch)?;
        inst.add_hist("synthetic", &name, &spec)?;
        // As it was before instances were made with tracing off (triggers fire either way).
        inst.set_tracing_on(true)?;
        work();
        inst.set_tracing_on(false)?;
        inst.read_hist("synthetic", &name)
    };
    let out = run();
    // Triggers that use the synthetic event go first, then the event.
    let r1 = inst.remove_trigger("synthetic", &name, &spec.to_string());
    let r2 = inst.remove_trigger("sched", "sched_switch", &switch);
    let r3 = inst.remove_trigger("sched", "sched_waking", &waking);
    let h = out?;
    r1.and(r2).and(r3)?;
    synth.remove()?;
    Ok(h)
}
