//! Loop devices for tests and demos: a temp file bound to `/dev/loopN` with direct IO, detached
//! (and the file removed) by a guard. Minimum kernel: 5.8 (LOOP_CONFIGURE).

use std::path::{Path, PathBuf};

use crate::error::{ADMIN, Error, Result};
use crate::sys;

/// A loop device over a backing file, detached on drop, and by the kernel when the guard's process
/// dies (LO_FLAGS_AUTOCLEAR: detached at the last close of the device).
#[doc(alias = "LOOP_CONFIGURE")]
#[doc(alias = "LOOP_CTL_GET_FREE")]
#[doc(alias = "LOOP_CLR_FD")]
#[derive(Debug)]
pub struct LoopDevice {
    dev: std::fs::File,
    path: PathBuf,
    number: u32,
}

impl LoopDevice {
    /// Creates a sparse backing file of `size` bytes in the temp dir (`ktrace_loop_<pid>_<n>`,
    /// unlinked once bound: `losetup -l` shows it `(deleted)`) and binds it to a free loop device
    /// with direct IO and 512-byte blocks.
    pub fn create_temp(size: u64) -> Result<LoopDevice> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let backing = std::env::temp_dir().join(format!("ktrace_loop_{}_{n}", std::process::id()));
        let f = std::fs::File::create(&backing).map_err(|e| Error::io("create", &backing, e))?;
        let attached = f
            .set_len(size)
            .map_err(|e| Error::io("ftruncate", &backing, e))
            .and_then(|()| LoopDevice::attach(&backing));
        // Unlinked at once either way: the bound device holds the file open until it detaches,
        // so not even a SIGKILL leaves it in the temp dir.
        let _ = std::fs::remove_file(&backing);
        attached
    }

    /// Binds an existing file. Needs CAP_SYS_ADMIN (loop-control and the loop devices).
    #[doc(alias = "LOOP_CONFIGURE")]
    #[doc(alias = "LOOP_CTL_GET_FREE")]
    pub fn attach(backing: &Path) -> Result<LoopDevice> {
        let ctl_path = Path::new("/dev/loop-control");
        let ctl = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(ctl_path)
            .map_err(|e| Error::privileged("open", ctl_path, e, ADMIN))?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(backing)
            .map_err(|e| Error::io("open", backing, e))?;
        // A free device can be taken by someone else between GET_FREE and CONFIGURE: retry.
        for _ in 0..10 {
            let number = sys::loop_get_free(&ctl)
                .map_err(|e| Error::privileged("ioctl(LOOP_CTL_GET_FREE)", ctl_path, e, ADMIN))?;
            let path = PathBuf::from(format!("/dev/loop{number}"));
            let dev = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| Error::privileged("open", &path, e, ADMIN))?;
            match sys::loop_configure(&dev, &file, 512, true) {
                Ok(()) => {
                    return Ok(LoopDevice { dev, path, number });
                }
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => continue,
                Err(e) => return Err(Error::privileged("ioctl(LOOP_CONFIGURE)", &path, e, ADMIN)),
            }
        }
        Err(Error::io("ioctl(LOOP_CONFIGURE)", ctl_path, std::io::Error::other("no free loop device after 10 tries")))
    }

    /// `/dev/loopN`.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// `loopN` (the /sys/block name).
    pub fn name(&self) -> String {
        format!("loop{}", self.number)
    }
    /// (major, minor) from sysfs.
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        let t = std::fs::read_to_string(format!("/sys/block/{}/dev", self.name())).ok()?;
        let (a, b) = t.trim().split_once(':')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }

    /// Detaches, reporting errors.
    #[doc(alias = "LOOP_CLR_FD")]
    pub fn close(mut self) -> Result<()> {
        self.detach()
    }

    fn detach(&mut self) -> Result<()> {
        let r = sys::loop_clear(&self.dev);
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(()),
            Err(e) => Err(Error::io("ioctl(LOOP_CLR_FD)", &self.path, e)),
        }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = self.detach();
    }
}
