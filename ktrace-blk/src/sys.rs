//! ioctls on loop devices and block devices. The only module with `unsafe`.
#![allow(unsafe_code, reason = "loop-device and blktrace ioctls")]

use std::os::fd::AsRawFd;

const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
/// `LO_FLAGS_DIRECT_IO`.
const LO_FLAGS_DIRECT_IO: u32 = 16;
/// `LO_FLAGS_AUTOCLEAR`.
const LO_FLAGS_AUTOCLEAR: u32 = 4;

/// `struct loop_config` (linux/loop.h): fd, block_size, `struct loop_info64` (232 bytes), reserved.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: [u8; 232],
    reserved: [u64; 8],
}
const _: () = assert!(size_of::<LoopConfig>() == 304);
/// Offset of `lo_flags` in `struct loop_info64`.
const LO_FLAGS_OFFSET: usize = 52;

/// LOOP_CTL_GET_FREE on /dev/loop-control: the number of a free loop device.
pub(crate) fn loop_get_free(ctl: &std::fs::File) -> std::io::Result<u32> {
    // SAFETY: LOOP_CTL_GET_FREE takes no argument.
    let r = unsafe { libc::ioctl(ctl.as_raw_fd(), LOOP_CTL_GET_FREE as _) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(r as u32) }
}

/// LOOP_CONFIGURE (5.8+): binds `backing` to the loop device, with direct IO and a block size,
/// detached automatically at the last close (LO_FLAGS_AUTOCLEAR).
pub(crate) fn loop_configure(
    dev: &std::fs::File,
    backing: &std::fs::File,
    block_size: u32,
    direct: bool,
) -> std::io::Result<()> {
    let mut cfg = LoopConfig { fd: backing.as_raw_fd() as u32, block_size, info: [0; 232], reserved: [0; 8] };
    // AUTOCLEAR: the kernel detaches the device when its last opener closes it, so a guard
    // killed by SIGKILL leaves no device bound (its fd closes with the process).
    let flags = LO_FLAGS_AUTOCLEAR | if direct { LO_FLAGS_DIRECT_IO } else { 0 };
    if let Some(f) = cfg.info.get_mut(LO_FLAGS_OFFSET..LO_FLAGS_OFFSET + 4) {
        f.copy_from_slice(&flags.to_ne_bytes());
    }
    // SAFETY: `cfg` is a valid `struct loop_config` that outlives the call; the kernel only reads it.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CONFIGURE as _, &cfg as *const LoopConfig) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// LOOP_CLR_FD: detaches the backing file.
pub(crate) fn loop_clear(dev: &std::fs::File) -> std::io::Result<()> {
    // SAFETY: LOOP_CLR_FD takes no argument.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), LOOP_CLR_FD as _, 0) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// `struct blk_user_trace_setup`.
#[repr(C)]
pub(crate) struct BlkUserTraceSetup {
    pub(crate) name: [u8; 32],
    pub(crate) act_mask: u16,
    pub(crate) buf_size: u32,
    pub(crate) buf_nr: u32,
    pub(crate) start_lba: u64,
    pub(crate) end_lba: u64,
    pub(crate) pid: u32,
}
const _: () = assert!(size_of::<BlkUserTraceSetup>() == 72);

/// `struct blk_user_trace_setup2` (BLKTRACESETUP2, 6.19+: a 64-bit act_mask, v8 records).
#[repr(C)]
pub(crate) struct BlkUserTraceSetup2 {
    pub(crate) name: [u8; 64],
    pub(crate) act_mask: u64,
    pub(crate) buf_size: u32,
    pub(crate) buf_nr: u32,
    pub(crate) start_lba: u64,
    pub(crate) end_lba: u64,
    pub(crate) pid: u32,
    pub(crate) flags: u32,
    pub(crate) reserved: [u64; 11],
}
const _: () = assert!(size_of::<BlkUserTraceSetup2>() == 192);

const BLKTRACESETUP: libc::c_ulong = 0xC048_1273; // _IOWR(0x12, 115, struct blk_user_trace_setup)
const BLKTRACESETUP2: libc::c_ulong = 0xC0C0_128E; // _IOWR(0x12, 142, struct blk_user_trace_setup2)
const BLKTRACESTART: libc::c_ulong = 0x1274; // _IO(0x12, 116)
const BLKTRACESTOP: libc::c_ulong = 0x1275;
const BLKTRACETEARDOWN: libc::c_ulong = 0x1276;

/// BLKTRACESETUP; the kernel writes the relay directory name back into `setup.name`.
pub(crate) fn blktrace_setup(dev: &std::fs::File, setup: &mut BlkUserTraceSetup) -> std::io::Result<()> {
    // SAFETY: `setup` is a valid `struct blk_user_trace_setup` the kernel reads and writes back.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), BLKTRACESETUP as _, setup as *mut BlkUserTraceSetup) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// BLKTRACESETUP2; ENOTTY (or EINVAL) on kernels without it.
pub(crate) fn blktrace_setup2(dev: &std::fs::File, setup: &mut BlkUserTraceSetup2) -> std::io::Result<()> {
    // SAFETY: `setup` is a valid `struct blk_user_trace_setup2` the kernel reads and writes back.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), BLKTRACESETUP2 as _, setup as *mut BlkUserTraceSetup2) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// BLKTRACESTART / STOP / TEARDOWN.
pub(crate) fn blktrace_ctl(dev: &std::fs::File, op: BlkTraceOp) -> std::io::Result<()> {
    let req = match op {
        BlkTraceOp::Start => BLKTRACESTART,
        BlkTraceOp::Stop => BLKTRACESTOP,
        BlkTraceOp::Teardown => BLKTRACETEARDOWN,
    };
    // SAFETY: these ioctls take no argument.
    let r = unsafe { libc::ioctl(dev.as_raw_fd(), req as _, 0) };
    if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// A blktrace control operation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BlkTraceOp {
    Start,
    Stop,
    Teardown,
}
