//! Block requests in flight, each on a lane of its device: slices on one track must nest and
//! requests overlap, so a request takes its device's lowest free lane at issue and frees it at
//! completion. Memory is the requests in flight and the lanes, not the trace. The Perfetto and
//! JSON writers draw the same lanes.

use crate::names::Comm;

/// A request in flight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Io {
    pub(crate) start: u64,
    pub(crate) nr_sector: u32,
    pub(crate) rwbs: Comm,
    pub(crate) lane: u32,
}

/// Requests in flight by (device, sector), and each device's busy lanes.
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    inflight: foldhash::HashMap<(u32, u64), Io>,
    lanes: foldhash::HashMap<u32, Vec<bool>>,
    /// Devices in the order first seen.
    devices: Vec<u32>,
}

/// What an issue started: its lane, and whether the device and the lane are new.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Issued {
    pub(crate) lane: u32,
    pub(crate) new_device: bool,
    pub(crate) new_lane: bool,
}

impl Lanes {
    /// `block_rq_issue`: the request takes a lane.
    pub(crate) fn issue(&mut self, ts: u64, dev: u32, sector: u64, nr_sector: u32, rwbs: &[u8]) -> Issued {
        // A request issued again (requeued) before completing starts over.
        if let Some(old) = self.inflight.remove(&(dev, sector)) {
            self.free(dev, old.lane);
        }
        let new_device = !self.lanes.contains_key(&dev);
        if new_device {
            self.devices.push(dev);
        }
        let lanes = self.lanes.entry(dev).or_default();
        let (lane, new_lane) = match lanes.iter().position(|busy| !busy) {
            Some(l) => (l, false),
            None => {
                lanes.push(false);
                (lanes.len() - 1, true)
            }
        };
        if let Some(b) = lanes.get_mut(lane) {
            *b = true;
        }
        let lane = lane as u32;
        self.inflight.insert((dev, sector), Io { start: ts, nr_sector, rwbs: Comm::new(rwbs), lane });
        Issued { lane, new_device, new_lane }
    }

    fn free(&mut self, dev: u32, lane: u32) {
        if let Some(b) = self.lanes.get_mut(&dev).and_then(|l| l.get_mut(lane as usize)) {
            *b = false;
        }
    }

    /// `block_rq_complete`: the request, its lane freed; `None` when its issue was not seen.
    pub(crate) fn complete(&mut self, dev: u32, sector: u64) -> Option<Io> {
        let io = self.inflight.remove(&(dev, sector))?;
        self.free(dev, io.lane);
        Some(io)
    }

    /// The requests still in flight, by start, then device and sector.
    pub(crate) fn drain(&mut self) -> Vec<((u32, u64), Io)> {
        let mut open: Vec<_> = self.inflight.drain().collect();
        open.sort_unstable_by_key(|((dev, sector), io)| (io.start, *dev, *sector));
        open
    }

    /// The device's index in the order devices were first seen.
    pub(crate) fn device_index(&self, dev: u32) -> usize {
        self.devices.iter().position(|d| *d == dev).unwrap_or(self.devices.len())
    }
}

/// `MAJ:MIN` of a kernel `dev_t` (20 minor bits).
pub(crate) fn dev_name(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}
