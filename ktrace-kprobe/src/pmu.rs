//! Probes through perf_event_open with the kprobe/uprobe PMUs (`/sys/bus/event_source/devices/
//! {kprobe,uprobe}/type`, 4.17+): no tracefs needed, nothing to clean up (the probe goes away with
//! the file descriptor). These probes carry no fetch arguments: they count hits (and can be
//! sampled like any perf event).

#[cfg(feature = "elf")]
use std::ffi::CString;
#[cfg(feature = "elf")]
use std::sync::Arc;

use perf_event::events::KProbe;
#[cfg(feature = "elf")]
use perf_event::events::{Event, EventData};
use perf_event::{Builder, Counter};
#[cfg(feature = "elf")]
use perf_event_open_sys::bindings::perf_event_attr;

#[cfg(feature = "elf")]
use crate::elf::Binary;
use crate::error::{Error, Result};

/// A uprobe through the uprobe PMU: type from sysfs, `uprobe_path` (config1) pointing at the path,
/// `probe_offset` (config2), bit 0 of config = retprobe (`format/retprobe` says `config:0`).
#[cfg(feature = "elf")]
struct UprobePmu {
    ty: u32,
    ret: bool,
    path: CString,
    offset: u64,
}

#[cfg(feature = "elf")]
impl Event for UprobePmu {
    fn update_attrs(self, attr: &mut perf_event_attr) {
        // Only reachable without the path kept alive; Builder calls update_attrs_with_data.
        attr.type_ = self.ty;
    }

    fn update_attrs_with_data(self, attr: &mut perf_event_attr) -> Option<Arc<dyn EventData>> {
        attr.type_ = self.ty;
        attr.config = u64::from(self.ret);
        attr.__bindgen_anon_3.config1 = self.path.as_ptr() as u64;
        attr.__bindgen_anon_4.config2 = self.offset;
        Some(Arc::new(self.path))
    }
}

#[cfg(feature = "elf")]
fn uprobe_pmu_type() -> std::io::Result<u32> {
    let t = std::fs::read_to_string("/sys/bus/event_source/devices/uprobe/type")?;
    t.trim().parse().map_err(|_| std::io::Error::other(format!("bad uprobe PMU type {t:?}")))
}

/// A probe made through the perf PMUs, counting hits.
#[doc(alias = "perf_event_open")]
#[doc(alias = "perf_kprobe")]
#[doc(alias = "perf_uprobe")]
#[derive(Debug)]
pub struct PmuProbe {
    counter: Counter,
    what: String,
}

fn pmu_err(what: &str, e: std::io::Error) -> Error {
    let missing = matches!(e.kind(), std::io::ErrorKind::NotFound)
        || matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EOPNOTSUPP));
    if missing {
        return Error::Unsupported { feature: format!("perf {what} PMU"), hint: e.to_string() };
    }
    if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
        // The kprobe and uprobe PMUs ask for perfmon_capable() whatever perf_event_paranoid says.
        let hint = ktrace_core::hint::permission(&["CAP_PERFMON", "CAP_SYS_ADMIN"], None);
        return Error::Permission { call: "perf_event_open", what: format!("{what} PMU"), hint };
    }
    Error::Syscall(ktrace_core::SysError::new("perf_event_open", what, e))
}

impl PmuProbe {
    /// A uprobe (or uretprobe) on `symbol` of `path`, counting hits by task `pid` (and the
    /// children it creates from now on). Needs the `elf` feature (the symbol is found in the file).
    #[cfg(feature = "elf")]
    pub fn uprobe(path: &str, symbol: &str, ret: bool, pid: i32) -> Result<PmuProbe> {
        let off = Binary::open(path)?.symbol_offset(symbol)?;
        let ty = uprobe_pmu_type().map_err(|e| pmu_err("uprobe", e))?;
        let cpath = CString::new(path).map_err(|e| pmu_err("uprobe", std::io::Error::other(e)))?;
        let ev = UprobePmu { ty, ret, path: cpath, offset: off };
        let counter = Builder::new(ev)
            .observe_pid(pid)
            .any_cpu()
            .inherit(true)
            .enabled(false)
            .build()
            .map_err(|e| pmu_err("uprobe", e))?;
        Ok(PmuProbe { counter, what: format!("{path}:{symbol}") })
    }

    /// A kprobe (or kretprobe) on a kernel function, counting hits by task `pid` (that task only).
    pub fn kprobe(symbol: &str, ret: bool, pid: i32) -> Result<PmuProbe> {
        let ev = if ret { KProbe::retprobe(symbol, 0) } else { KProbe::probe(symbol, 0) }
            .map_err(|e| pmu_err("kprobe", e))?;
        let counter = Builder::new(ev)
            .observe_pid(pid)
            .any_cpu()
            .inherit(false)
            // Kprobes fire in kernel mode: perf-event2's builder excludes the kernel by default.
            .include_kernel()
            .enabled(false)
            .build()
            .map_err(|e| pmu_err("kprobe", e))?;
        Ok(PmuProbe { counter, what: symbol.into() })
    }

    /// Starts counting.
    pub fn enable(&mut self) -> Result<()> {
        self.counter
            .enable()
            .map_err(|e| Error::Syscall(ktrace_core::SysError::new("ioctl(ENABLE)", self.what.as_str(), e)))
    }

    /// Stops counting.
    pub fn disable(&mut self) -> Result<()> {
        self.counter
            .disable()
            .map_err(|e| Error::Syscall(ktrace_core::SysError::new("ioctl(DISABLE)", self.what.as_str(), e)))
    }

    /// Hits so far.
    pub fn hits(&mut self) -> Result<u64> {
        self.counter.read().map_err(|e| Error::Syscall(ktrace_core::SysError::new("read", self.what.as_str(), e)))
    }
}
