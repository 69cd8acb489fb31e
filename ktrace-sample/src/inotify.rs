//! inotify(7) watches as a typed event iterator, overflow surfaced as a lost-event record.

use std::ffi::OsString;
use std::path::Path;

use ktrace_core::{Clock, Stamped, Timestamp};
pub use nix::sys::inotify::AddWatchFlags as Mask;
use nix::sys::inotify::{InitFlags, Inotify, WatchDescriptor};

use crate::error::{Error, Result};

/// One filesystem event.
#[doc(alias = "inotify_event")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsEvent {
    /// An event on a watch.
    Event {
        /// Which watch.
        wd: WatchDescriptor,
        /// What happened (`IN_CREATE`, `IN_MODIFY`…).
        mask: Mask,
        /// Links a rename's two halves.
        cookie: u32,
        /// The entry's name, for watches on directories.
        name: Option<OsString>,
    },
    /// The kernel's queue overflowed (`IN_Q_OVERFLOW`): events were lost, count unknown.
    Lost,
}

/// An inotify instance.
#[doc(alias = "inotify_init1")]
#[derive(Debug)]
pub struct Watcher {
    fd: Inotify,
}

impl Watcher {
    /// A new inotify instance (non-blocking, close-on-exec).
    pub fn new() -> Result<Watcher> {
        let fd = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| Error::io("inotify_init1", "inotify", e.into()))?;
        Ok(Watcher { fd })
    }
    /// Watches `path` for `mask`.
    #[doc(alias = "inotify_add_watch")]
    pub fn watch(&self, path: &Path, mask: Mask) -> Result<WatchDescriptor> {
        self.fd.add_watch(path, mask).map_err(|e| Error::io("inotify_add_watch", path.display().to_string(), e.into()))
    }
    /// Stops watching.
    #[doc(alias = "inotify_rm_watch")]
    pub fn unwatch(&self, wd: WatchDescriptor) -> Result<()> {
        self.fd.rm_watch(wd).map_err(|e| Error::io("inotify_rm_watch", format!("watch {wd:?}"), e.into()))
    }
    /// Reads what is queued now (empty when nothing is).
    pub fn read(&self) -> Result<Vec<FsEvent>> {
        Ok(self.read_stamped()?.into_iter().map(|s| s.event).collect())
    }

    /// [`Watcher::read`] with the time each event was read: when the read returned, on
    /// `CLOCK_MONOTONIC` (an inotify event carries no time of its own; it happened before).
    #[doc(alias = "CLOCK_MONOTONIC")]
    pub fn read_stamped(&self) -> Result<Vec<Stamped<FsEvent>>> {
        let got = self.fd.read_events();
        let ts = Timestamp::new(crate::sys::monotonic_ns(), Clock::Mono);
        match got {
            Ok(evs) => Ok(evs
                .into_iter()
                .map(|e| {
                    if e.mask.contains(Mask::IN_Q_OVERFLOW) {
                        FsEvent::Lost
                    } else {
                        FsEvent::Event { wd: e.wd, mask: e.mask, cookie: e.cookie, name: e.name }
                    }
                })
                .map(|event| Stamped { ts, event })
                .collect()),
            Err(nix::errno::Errno::EAGAIN) => Ok(Vec::new()),
            Err(e) => Err(Error::io("read", "inotify", e.into())),
        }
    }
}
