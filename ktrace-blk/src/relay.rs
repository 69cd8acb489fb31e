//! Path 1: classic blktrace — BLKTRACESETUP2 (6.19+, `blk_io_trace2` v8 records) or
//! BLKTRACESETUP (v7 records) then START/STOP/TEARDOWN on the device, and the per-CPU debugfs
//! relay files `block/<dev>/trace<cpu>` and `dropped`. A lockdown kernel refuses the relay files
//! (EPERM): that is [`Error::Unsupported`], and the path is tested in the VM tier.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{ADMIN, Error, Result};
use crate::sys::{self, BlkTraceOp, BlkUserTraceSetup, BlkUserTraceSetup2};

/// A classic blktrace session, torn down on drop.
#[doc(alias = "blktrace")]
#[doc(alias = "BLKTRACESETUP")]
#[doc(alias = "BLKTRACESETUP2")]
#[doc(alias = "BLKTRACESTART")]
#[doc(alias = "BLKTRACESTOP")]
#[doc(alias = "BLKTRACETEARDOWN")]
#[derive(Debug)]
pub struct RelayTrace {
    dev: std::fs::File,
    dev_path: PathBuf,
    dir: PathBuf,
    files: Vec<std::fs::File>,
    active: bool,
    version: u8,
}

/// Where debugfs puts each traced device's relay files.
const DEBUGFS_BLOCK: &str = "/sys/kernel/debug/block";

impl RelayTrace {
    /// Sets up and starts tracing `dev_path` (`/dev/vda`) with `act_mask` (0xffff = all),
    /// `buf_size` × `buf_nr` relay sub-buffers per CPU. Asks for v8 records (BLKTRACESETUP2) and
    /// falls back to v7 (BLKTRACESETUP) on kernels without it; [`RelayTrace::version`] says which.
    #[doc(alias = "BLKTRACESETUP")]
    #[doc(alias = "BLKTRACESETUP2")]
    #[doc(alias = "BLKTRACESTART")]
    pub fn start(dev_path: &Path, act_mask: u16, buf_size: u32, buf_nr: u32) -> Result<RelayTrace> {
        let dev = std::fs::File::open(dev_path).map_err(|e| Error::privileged("open", dev_path, e, ADMIN))?;
        let mut setup2 = BlkUserTraceSetup2 {
            name: [0; 64],
            act_mask: u64::from(act_mask),
            buf_size,
            buf_nr,
            start_lba: 0,
            end_lba: 0,
            pid: 0,
            flags: 0,
            reserved: [0; 11],
        };
        let (name, version) = match sys::blktrace_setup2(&dev, &mut setup2) {
            Ok(()) => (setup2.name.to_vec(), crate::record::VERSION2),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTTY | libc::EINVAL)) => {
                let mut setup =
                    BlkUserTraceSetup { name: [0; 32], act_mask, buf_size, buf_nr, start_lba: 0, end_lba: 0, pid: 0 };
                sys::blktrace_setup(&dev, &mut setup)
                    .map_err(|e| Error::privileged("ioctl(BLKTRACESETUP)", dev_path, e, ADMIN))?;
                (setup.name.to_vec(), crate::record::VERSION)
            }
            Err(e) => return Err(Error::privileged("ioctl(BLKTRACESETUP2)", dev_path, e, ADMIN)),
        };
        let name_len = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        let name = String::from_utf8_lossy(name.get(..name_len).unwrap_or_default()).into_owned();
        let dir = PathBuf::from(DEBUGFS_BLOCK).join(&name);
        let mut t = RelayTrace { dev, dev_path: dev_path.into(), dir, files: Vec::new(), active: true, version };
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
        for cpu in 0..ncpu {
            let p = t.dir.join(format!("trace{cpu}"));
            match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&p) {
                Ok(f) => t.files.push(f),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                    return Err(Error::Unsupported {
                        feature: "blktrace relay files".into(),
                        hint: format!("{}: EPERM (kernel lockdown)", p.display()),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !Path::new(DEBUGFS_BLOCK).is_dir() => {
                    return Err(Error::NoDebugfs { path: p });
                }
                Err(e) => return Err(Error::io("open", &p, e)),
            }
        }
        sys::blktrace_ctl(&t.dev, BlkTraceOp::Start)
            .map_err(|e| Error::privileged("ioctl(BLKTRACESTART)", dev_path, e, ADMIN))?;
        Ok(t)
    }

    /// Reads what the relay files hold now, appending per CPU.
    pub fn read_available(&mut self, out: &mut [Vec<u8>]) -> Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        for (cpu, f) in self.files.iter_mut().enumerate() {
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if let Some(o) = out.get_mut(cpu) {
                            o.extend_from_slice(buf.get(..n).unwrap_or_default());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(Error::io("read", self.dir.join(format!("trace{cpu}")), e)),
                }
            }
        }
        Ok(())
    }

    /// Events the kernel dropped (`dropped` file).
    pub fn dropped(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("dropped")).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
    }

    /// The `dropped` count as a lost-event record (none when nothing was dropped).
    pub fn lost(dropped: u64) -> Option<ktrace_core::Lost> {
        (dropped > 0).then_some(ktrace_core::Lost {
            source: ktrace_core::LostSource::Blktrace,
            cpu: u32::MAX,
            count: Some(dropped),
            timestamp_ns: 0,
        })
    }

    /// The record version the kernel writes: 8 after BLKTRACESETUP2, 7 after BLKTRACESETUP.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Number of per-CPU streams.
    pub fn cpus(&self) -> usize {
        self.files.len()
    }

    /// Stops, reads the rest, tears down; returns per-CPU record bytes and the kernel's `dropped`
    /// count (surface it with [`RelayTrace::lost`] / [`crate::record::sequence_gaps`]).
    #[doc(alias = "BLKTRACESTOP")]
    #[doc(alias = "BLKTRACETEARDOWN")]
    pub fn stop(mut self) -> Result<(Vec<Vec<u8>>, u64)> {
        let mut out = vec![Vec::new(); self.files.len()];
        sys::blktrace_ctl(&self.dev, BlkTraceOp::Stop)
            .map_err(|e| Error::io("ioctl(BLKTRACESTOP)", &self.dev_path, e))?;
        self.read_available(&mut out)?;
        let dropped = self.dropped();
        self.teardown()?;
        Ok((out, dropped))
    }

    fn teardown(&mut self) -> Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        self.files.clear();
        let _ = sys::blktrace_ctl(&self.dev, BlkTraceOp::Stop);
        sys::blktrace_ctl(&self.dev, BlkTraceOp::Teardown)
            .map_err(|e| Error::io("ioctl(BLKTRACETEARDOWN)", &self.dev_path, e))
    }
}

impl Drop for RelayTrace {
    fn drop(&mut self) {
        let _ = self.teardown();
    }
}
