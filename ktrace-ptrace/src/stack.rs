//! The user call stack of a stopped tracee, as strace's `-k` shows it (feature `stack`).
//!
//! A walk starts from the task's registers (PTRACE_GETREGS: instruction, stack and frame
//! pointer), unwinds with the DWARF CFI of each mapped object (`.eh_frame` through its
//! `.eh_frame_hdr` index, by the `framehop` crate), reads the stack with process_vm_readv(2), and
//! names each frame with ktrace-sample's [`Symbolizer`] (ELF symbols of the file, or of its separate
//! debug file under `/usr/lib/debug`: libc's internal functions are named when `libc6-dbg` is
//! installed). Each object's unwind tables and symbols are read once; each process's mappings
//! (`/proc/PID/maps`) are kept until a syscall that changes them (mmap, munmap, mprotect, mremap,
//! brk, execve…) returns, as strace keeps them.
//!
//! ```no_run
//! use ktrace_ptrace::{Event, TraceCommand};
//! let mut t = TraceCommand::new("true").spawn()?;
//! while let Some(ev) = t.next_event()? {
//!     if let Event::SyscallExit { pid, .. } = ev {
//!         println!("{}", t.describe(&ev));
//!         // ` > /usr/lib/x86_64-linux-gnu/libc.so.6(getppid+0x7) [0xd54f7]`, one line a frame
//!         print!("{}", t.stack(pid)?.strace_lines(false));
//!     }
//! }
//! # Ok::<(), ktrace_ptrace::Error>(())
//! ```
//!
//! Kernel interfaces: ptrace(2) PTRACE_GETREGS, process_vm_readv(2) (3.2+; `/proc/PID/mem` when
//! refused), proc(5) `/proc/PID/maps` and `/proc/PID/status`. x86_64 only: elsewhere a walk is
//! [`Error::Unsupported`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{FrameAddress, Unwinder as _};
use ktrace_sample::symbolize::Symbolizer;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::sys;
use crate::tracer::Event;

mod maps;
mod object;

pub use maps::{MapsEntry, parse_maps};
use object::{Bytes, ObjectUnwind};

/// The most frames a walk returns (strace's limit): a deeper stack ends [`StackEnd::TooDeep`].
pub const MAX_FRAMES: usize = 256;

/// Below this no code is ever mapped (`vm.mmap_min_addr`'s default, 64 KiB).
const NULL_PAGES: u64 = 0x1_0000;

/// Syscalls after which a process's mappings are read again (strace's `MEMORY_MAPPING_CHANGE`).
const REMAPPING: &[&str] = &[
    "mmap",
    "mmap2",
    "mprotect",
    "munmap",
    "brk",
    "mremap",
    "shmat",
    "shmdt",
    "remap_file_pages",
    "execve",
    "execveat",
    "pkey_mprotect",
];

/// Syscalls whose stack strace takes at their entry, not their exit (they do not return to the
/// code that called them): see [`captured_at_entry`].
const AT_ENTRY: &[&str] = &["execve", "execveat", "exit", "exit_group"];

/// Whether strace -k walks the stack of syscall `name` at its entry (execve, execveat, exit,
/// exit_group: after them the caller's stack is gone) rather than at its exit. strace prints such
/// a stack later, after the syscall's line (for exit and exit_group, after `+++ exited`), and
/// the unnamed frames of it as `path(+0x0)` ([`Stack::strace_lines`]).
pub fn captured_at_entry(name: &str) -> bool {
    AT_ENTRY.contains(&name)
}

/// The function a frame is in, and how far into it the frame's address is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The name, demangled (Rust and C++).
    pub name: String,
    /// Bytes from the function's start to the frame's address.
    pub offset: u64,
}

/// One frame of a user stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The address: the instruction pointer in the innermost frame, the return address in the
    /// others.
    pub address: u64,
    /// The object mapped there: a file's path as `/proc/PID/maps` shows it, or a pseudo-name
    /// (`[vdso]`).
    pub object: Arc<str>,
    /// The address's offset in that file (strace's `[0x…]`).
    pub offset: u64,
    /// The function, when the file's symbols (or its debug file's) name one.
    pub symbol: Option<Symbol>,
}

/// Why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StackEnd {
    /// The outermost frame: its unwind table says there is no caller (`_start`, a thread's start).
    Root,
    /// The next address is in no executable mapping of a file (JIT code, a garbage return address);
    /// strace prints ` > unexpected_backtracing_error [0xADDRESS]`.
    Unmapped {
        /// The address.
        address: u64,
    },
    /// [`MAX_FRAMES`] frames and more; strace prints ` > too many stack frames`.
    TooDeep,
    /// The walk could not go on: the stack could not be read, an unwind rule led nowhere, or a
    /// return address was null (the unwinder's reason). strace prints nothing more.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// A user call stack, innermost frame first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The frames.
    pub frames: Vec<Frame>,
    /// Why there are no more.
    pub end: StackEnd,
}

impl Stack {
    /// strace -k's lines for this stack, each ending in a newline:
    /// ` > /usr/lib/x86_64-linux-gnu/libc.so.6(__getppid+0xb) [0xe8f4b]` for a named frame,
    /// ` > /usr/bin/dash() [0xd630]` for an unnamed one, then ` > unexpected_backtracing_error
    /// [0x…]` or ` > too many stack frames` when the walk ended so. `captured_at_entry`: strace
    /// prints a stack taken at a syscall's entry ([`captured_at_entry`]) through another path,
    /// which shows an unnamed frame as ` > /usr/bin/dash(+0x0) [0xd630]`.
    pub fn strace_lines(&self, captured_at_entry: bool) -> StraceLines<'_> {
        StraceLines { stack: self, queued: captured_at_entry }
    }
}

/// strace -k's text of a [`Stack`] ([`Stack::strace_lines`]).
#[derive(Debug, Clone, Copy)]
pub struct StraceLines<'a> {
    stack: &'a Stack,
    queued: bool,
}

impl fmt::Display for StraceLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fr in &self.stack.frames {
            match &fr.symbol {
                Some(s) => writeln!(f, " > {}({}+{:#x}) [{:#x}]", fr.object, s.name, s.offset, fr.offset)?,
                None if self.queued => writeln!(f, " > {}(+0x0) [{:#x}]", fr.object, fr.offset)?,
                None => writeln!(f, " > {}() [{:#x}]", fr.object, fr.offset)?,
            }
        }
        match self.stack.end {
            StackEnd::Unmapped { address } if address != 0 => {
                writeln!(f, " > unexpected_backtracing_error [{address:#x}]")
            }
            StackEnd::TooDeep => writeln!(f, " > too many stack frames"),
            _ => Ok(()),
        }
    }
}

/// One process's address space as a walk sees it.
struct Space {
    maps: Vec<MapsEntry>,
    unwinder: UnwinderX86_64<Bytes>,
    /// A syscall changed the mappings since they were read.
    stale: bool,
}

/// A file mapped by processes, as its mappings name it: path, device and inode (a file replaced
/// under the same path is another object).
type ObjectKey = (Arc<str>, (u32, u32), u64);

/// Walks the user stacks of stopped tracees, caching what it reads (see the [module](self) docs).
/// A [`Tracer`](crate::Tracer) keeps one for [`Tracer::stack`](crate::Tracer::stack); use one
/// directly for tasks stopped by other means, calling [`observe`](Self::observe) with each event
/// so that it knows when mappings change.
#[doc(alias = "strace -k")]
#[derive(Default)]
pub struct Unwinder {
    objects: HashMap<ObjectKey, Option<Arc<ObjectUnwind>>>,
    spaces: HashMap<i32, Space>,
    tgids: HashMap<i32, i32>,
    cache: CacheX86_64,
    symbolizer: Symbolizer,
    /// Code addresses (object, offset, pattern) known to be, or not to be, where the walk needs the
    /// registers rather than the unwind tables ([`RESTORER`], [`AFTER_VFORK`]).
    code: HashMap<(Arc<str>, u64, [u8; 9]), bool>,
}

impl fmt::Debug for Unwinder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unwinder")
            .field("objects", &self.objects.len())
            .field("processes", &self.spaces.len())
            .finish_non_exhaustive()
    }
}

impl Unwinder {
    /// An unwinder with nothing read yet.
    pub fn new() -> Unwinder {
        Unwinder::default()
    }

    /// Looks for separate debug files under `root` rather than `/usr/lib/debug` (before the first walk).
    pub fn set_debug_root(&mut self, root: impl Into<std::path::PathBuf>) {
        self.symbolizer.set_debug_root(root);
    }

    /// Notes what `ev` changes: a syscall that remaps memory (its exit) or an exec makes the
    /// process's mappings be read again at its next walk; an ended task is forgotten.
    pub fn observe(&mut self, ev: &Event) {
        match *ev {
            Event::SyscallExit { pid, arch, nr, .. }
                if arch.syscall_name(nr).is_some_and(|n| REMAPPING.contains(&n)) =>
            {
                self.invalidate(pid)
            }
            Event::Exec { pid, old_pid } => {
                self.tgids.remove(&old_pid);
                self.invalidate(pid);
            }
            Event::Exited { pid, .. } | Event::Killed { pid, .. } => {
                // A thread's end leaves its process's mappings; the process's end drops them.
                let tgid = self.tgids.remove(&pid).unwrap_or(pid);
                if tgid == pid {
                    self.spaces.remove(&pid);
                }
            }
            _ => {}
        }
    }

    /// Makes the mappings of task `pid`'s process be read again at its next walk.
    pub fn invalidate(&mut self, pid: i32) {
        let tgid = self.tgids.get(&pid).copied().unwrap_or(pid);
        if let Some(s) = self.spaces.get_mut(&tgid) {
            s.stale = true;
        }
    }

    fn tgid(&mut self, tid: i32) -> i32 {
        *self.tgids.entry(tid).or_insert_with(|| sys::tgid(tid).unwrap_or(tid))
    }

    /// (Re)reads the mappings of process `tgid` (through task `tid`) and builds its modules.
    fn load_space(&mut self, tid: i32, tgid: i32) -> Result<()> {
        let text = sys::proc_maps(tid).map_err(|e| {
            let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::ESRCH));
            Error::sys("read(/proc/PID/maps)", tid, errno)
        })?;
        let maps = parse_maps(&text);
        let mut unwinder = UnwinderX86_64::new();
        for m in maps.iter().filter(|m| m.executable && m.is_file()) {
            let Some(path) = m.path.clone() else { continue };
            let obj = self.objects.entry((path.clone(), m.dev, m.inode)).or_insert_with(|| {
                let file = sys::open_regular(&path).ok()?;
                let cache = ::object::ReadCache::new(file);
                ObjectUnwind::read(&cache).map(Arc::new)
            });
            if let Some(o) = obj {
                o.add_module(m, &path, &mut unwinder);
            }
        }
        self.spaces.insert(tgid, Space { maps, unwinder, stale: false });
        Ok(())
    }

    /// The user call stack of task `tid`, which must be in a ptrace-stop (a syscall or signal
    /// stop). The mappings of its process are read when not known or stale, and again once when
    /// an address falls outside them (a mapping made by a syscall that was not seen, e.g. one a
    /// seccomp filter let run without a stop).
    ///
    /// Errors: the registers or mappings cannot be read (the task is not stopped or is gone);
    /// [`Error::Unsupported`] on other architectures than x86_64. A stack that cannot be unwound
    /// (garbage in it, no unwind tables) is not an error: its walk ends early ([`StackEnd`]).
    #[doc(alias = "PTRACE_GETREGS")]
    #[doc(alias = "process_vm_readv")]
    pub fn stack(&mut self, tid: i32) -> Result<Stack> {
        let regs = sys::stack_regs(Pid::from_raw(tid)).map_err(|e| match e {
            nix::errno::Errno::ENOSYS => {
                Error::Unsupported { feature: "user stack walks on this architecture".into(), pid: tid }
            }
            e => Error::sys("ptrace(PTRACE_GETREGS)", tid, e),
        })?;
        let tgid = self.tgid(tid);
        let mut fresh = false;
        if self.spaces.get(&tgid).is_none_or(|s| s.stale) {
            self.load_space(tid, tgid)?;
            fresh = true;
        }
        let mut addrs = self.walk(tid, tgid, regs);
        if !fresh && matches!(addrs.1, StackEnd::Unmapped { .. }) {
            self.load_space(tid, tgid)?;
            addrs = self.walk(tid, tgid, regs);
        }
        let (addrs, end) = addrs;
        let Some(space) = self.spaces.get(&tgid) else { return Ok(Stack { frames: Vec::new(), end }) };
        let mut frames = Vec::with_capacity(addrs.len());
        for &(address, returns) in &addrs {
            let Some(m) = maps::find(&space.maps, address) else { continue };
            let (Some(object), Some(offset)) = (m.path.clone(), m.file_offset(address)) else { continue };
            // A return address is looked up one byte back, in the call that returns there (the
            // call may be the function's last instruction); the offset shown is the address's.
            let back = u64::from(returns && offset > 0);
            let symbol = if m.is_file() {
                self.symbolizer
                    .symbol_in_file(&object, offset - back)
                    .map(|(name, off)| Symbol { name: unversioned(name), offset: off + back })
            } else {
                None
            };
            frames.push(Frame { address, object, offset, symbol });
        }
        Ok(Stack { frames, end })
    }

    /// The frame addresses of `tid` from its registers, each in an executable mapping of
    /// `tgid`'s current maps and whether it is a return address, and why the walk ended.
    ///
    /// A signal handler's caller is the signal trampoline (`__restore_rt`, whose unwind table
    /// describes the signal frame with expressions framehop does not evaluate): there the walk
    /// goes on from the registers the kernel saved in the frame's `ucontext`, at the interrupted
    /// instruction, as strace's unwinder does. So does `__vfork`, which keeps its return address
    /// in rdi across the syscall (a CFI register rule framehop does not follow): just after its
    /// syscall the caller is rdi.
    fn walk(&mut self, tid: i32, tgid: i32, [ip, sp, bp, rdi]: [u64; 4]) -> (Vec<(u64, bool)>, StackEnd) {
        let Some(space) = self.spaces.get(&tgid) else { return (Vec::new(), StackEnd::Root) };
        let mut mem = StackMemory::new(Pid::from_raw(tid));
        let mut regs = UnwindRegsX86_64::new(ip, sp, bp);
        let mut at = FrameAddress::from_instruction_pointer(ip);
        let mut out = Vec::new();
        loop {
            let address = at.address();
            if address < NULL_PAGES {
                // Nothing runs down there: the unwinder guessed a caller for a frame with no
                // unwind table (ld.so's entry point, whose "return address" is argc), where
                // strace's unwinder ends the walk.
                return (out, StackEnd::Stopped { reason: format!("no caller (return address {address:#x})") });
            }
            if out.len() == MAX_FRAMES {
                return (out, StackEnd::TooDeep);
            }
            let Some(m) = maps::find(&space.maps, address).filter(|m| m.executable && m.path.is_some()) else {
                return (out, StackEnd::Unmapped { address });
            };
            out.push((address, at.is_return_address()));
            if !at.is_return_address() && code_is(&mut self.code, m, address, &AFTER_VFORK, &mut mem) {
                match FrameAddress::from_return_address(rdi) {
                    Some(next) => at = next,
                    None => return (out, StackEnd::Stopped { reason: "null return address in rdi".into() }),
                }
                continue;
            }
            if at.is_return_address() && code_is(&mut self.code, m, address, &RESTORER, &mut mem) {
                let uc = regs.sp();
                let saved = |mem: &mut StackMemory, off: u64| mem.read_u64(uc.checked_add(off).ok_or(())?);
                match (saved(&mut mem, UC_RIP), saved(&mut mem, UC_RSP), saved(&mut mem, UC_RBP)) {
                    (Ok(ip), Ok(sp), Ok(bp)) => {
                        regs = UnwindRegsX86_64::new(ip, sp, bp);
                        at = FrameAddress::from_instruction_pointer(ip);
                        continue;
                    }
                    _ => return (out, StackEnd::Stopped { reason: format!("unreadable signal frame at {uc:#x}") }),
                }
            }
            let step = space.unwinder.unwind_frame(at, &mut regs, &mut self.cache, &mut |a| mem.read_u64(a));
            match step {
                Ok(Some(ra)) => match FrameAddress::from_return_address(ra) {
                    Some(next) => at = next,
                    None => return (out, StackEnd::Stopped { reason: "null return address".into() }),
                },
                Ok(None) => return (out, StackEnd::Root),
                Err(e) => return (out, StackEnd::Stopped { reason: e.to_string() }),
            }
        }
    }
}

/// Offsets in the `struct ucontext` of an x86_64 signal frame (`uc_mcontext` at 40, then
/// `struct sigcontext`: r8…r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip) of the saved frame
/// pointer, stack pointer and instruction pointer. arch/x86/include/uapi/asm/sigcontext.h.
const UC_RBP: u64 = 40 + 10 * 8;
const UC_RSP: u64 = 40 + 15 * 8;
const UC_RIP: u64 = 40 + 16 * 8;

/// The x86_64 signal trampoline's code, `mov $15, %rax; syscall` (rt_sigreturn): glibc's and
/// musl's `__restore_rt`, where a handler returns.
const RESTORER: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// glibc's x86_64 `__vfork` around its syscall, `pop %rdi; mov $58, %eax; syscall; push %rdi`:
/// at its syscall stops the instruction pointer is at the `push`, 8 bytes in, and the return
/// address is in rdi.
const AFTER_VFORK: [u8; 9] = [0x5f, 0xb8, 0x3a, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x57];

/// Whether `pattern` is the code at `address` (in mapping `m`): the signal trampoline at a return
/// address ([`RESTORER`]), `__vfork` just after its syscall ([`AFTER_VFORK`], which starts 8 bytes
/// before). Read from the tracee once per object and offset.
fn code_is(
    known: &mut HashMap<(Arc<str>, u64, [u8; 9]), bool>,
    m: &MapsEntry,
    address: u64,
    pattern: &[u8; 9],
    mem: &mut StackMemory,
) -> bool {
    let back = if *pattern == AFTER_VFORK { 8 } else { 0 };
    let (Some(path), Some(offset)) = (m.path.clone(), m.file_offset(address)) else { return false };
    *known.entry((path, offset, *pattern)).or_insert_with(|| {
        let mut code = [0u8; 9];
        address.checked_sub(back).is_some_and(|start| {
            sys::read_mem(mem.pid, start, &mut code).is_ok_and(|n| n == code.len()) && code == *pattern
        })
    })
}

/// A symbol name without its version (`__libc_start_main@@GLIBC_2.34` of a `.symtab`): strace
/// names a frame from the dynamic symbol table, whose names carry none.
fn unversioned(mut name: String) -> String {
    if let Some(at) = name.find('@').filter(|&at| at > 0) {
        name.truncate(at);
    }
    name
}

/// The tracee's stack as the unwinder reads it: whole pages, read once per walk.
struct StackMemory {
    pid: Pid,
    pages: Vec<(u64, Vec<u8>)>,
}

impl StackMemory {
    const PAGE: u64 = 4096;
    /// Pages read in one walk at most (a garbage stack pointer must not read the whole address space).
    const MAX_PAGES: usize = 64;

    fn new(pid: Pid) -> StackMemory {
        StackMemory { pid, pages: Vec::new() }
    }

    fn read_u64(&mut self, addr: u64) -> Result<u64, ()> {
        let page = addr & !(Self::PAGE - 1);
        let at = (addr - page) as usize;
        let i = match self.pages.iter().position(|p| p.0 == page) {
            Some(i) => i,
            None if self.pages.len() < Self::MAX_PAGES => {
                let mut buf = vec![0u8; Self::PAGE as usize];
                let n = sys::read_mem(self.pid, page, &mut buf).map_err(drop)?;
                buf.truncate(n);
                self.pages.push((page, buf));
                self.pages.len() - 1
            }
            None => return Err(()),
        };
        let bytes = self.pages.get(i).map(|p| p.1.as_slice()).ok_or(())?;
        match ktrace_core::Cursor::at(bytes, at).and_then(|mut c| c.u64()) {
            Ok(v) => Ok(v),
            // A word across two pages.
            Err(_) => {
                let mut b = [0u8; 8];
                (sys::read_mem(self.pid, addr, &mut b).map_err(drop)? == 8).then_some(()).ok_or(())?;
                ktrace_core::Cursor::new(&b[..]).u64().map_err(drop)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
    use super::*;

    fn frame(object: &str, offset: u64, symbol: Option<(&str, u64)>) -> Frame {
        Frame {
            address: 0x7f00_0000_0000 + offset,
            object: Arc::from(object),
            offset,
            symbol: symbol.map(|(n, o)| Symbol { name: n.into(), offset: o }),
        }
    }

    #[test]
    fn prints_as_strace_does() {
        let s = Stack {
            frames: vec![
                frame("/usr/lib/x86_64-linux-gnu/libc.so.6", 0xe8f4b, Some(("__getppid", 0xb))),
                frame("/usr/bin/dash", 0xd630, None),
                frame("/tmp/stk/chain", 0x10a1, Some(("_start", 0x21))),
            ],
            end: StackEnd::Root,
        };
        assert_eq!(
            s.strace_lines(false).to_string(),
            " > /usr/lib/x86_64-linux-gnu/libc.so.6(__getppid+0xb) [0xe8f4b]\n > /usr/bin/dash() [0xd630]\n > /tmp/stk/chain(_start+0x21) [0x10a1]\n"
        );
        assert!(s.strace_lines(true).to_string().contains(" > /usr/bin/dash(+0x0) [0xd630]\n"));
        let f = frame("/lib/x.so", 0, Some(("f", 0)));
        let unmapped = Stack { frames: vec![f.clone()], end: StackEnd::Unmapped { address: 0x1234 } };
        assert_eq!(
            unmapped.strace_lines(false).to_string(),
            " > /lib/x.so(f+0x0) [0x0]\n > unexpected_backtracing_error [0x1234]\n"
        );
        let null = Stack { frames: vec![], end: StackEnd::Unmapped { address: 0 } };
        assert_eq!(null.strace_lines(false).to_string(), "");
        let deep = Stack { frames: vec![f], end: StackEnd::TooDeep };
        assert!(deep.strace_lines(false).to_string().ends_with(" > too many stack frames\n"));
        let stopped = Stack { frames: vec![], end: StackEnd::Stopped { reason: "x".into() } };
        assert_eq!(stopped.strace_lines(false).to_string(), "");
    }

    #[test]
    fn symbol_versions_are_left_out() {
        assert_eq!(unversioned("__libc_start_main@@GLIBC_2.34".into()), "__libc_start_main");
        assert_eq!(unversioned("pthread_sigmask@GLIBC_2.2.5".into()), "pthread_sigmask");
        assert_eq!(unversioned("main".into()), "main");
        assert_eq!(unversioned("@".into()), "@");
    }

    #[test]
    fn taken_at_entry_are_the_calls_that_do_not_return() {
        assert!(captured_at_entry("exit_group") && captured_at_entry("execve"));
        assert!(!captured_at_entry("getppid") && !captured_at_entry("mmap"));
    }

    #[test]
    fn observes_remaps_execs_and_ends() {
        let mut u = Unwinder::new();
        u.spaces.insert(7, Space { maps: Vec::new(), unwinder: UnwinderX86_64::new(), stale: false });
        u.tgids.insert(8, 7);
        let mmap = crate::AuditArch::X86_64.syscall_nr("mmap").unwrap();
        let getpid = crate::AuditArch::X86_64.syscall_nr("getpid").unwrap();
        let exit = |nr| Event::SyscallExit { pid: 8, arch: crate::AuditArch::X86_64, nr, args: [0; 6], ret: 0 };
        u.observe(&exit(getpid));
        assert!(!u.spaces[&7].stale);
        u.observe(&exit(mmap));
        assert!(u.spaces[&7].stale, "a thread's mmap remaps its whole process");
        u.observe(&Event::Exited { pid: 8, code: 0 });
        assert!(u.spaces.contains_key(&7) && !u.tgids.contains_key(&8));
        u.tgids.insert(7, 7);
        u.observe(&Event::Exited { pid: 7, code: 0 });
        assert!(u.spaces.is_empty());
    }

    #[test]
    fn a_garbage_stack_pointer_is_a_short_stack() {
        let mut m = StackMemory::new(Pid::this());
        assert!(m.read_u64(8).is_err(), "page 0 is never mapped");
        let x = 0x1122_3344_5566_7788u64;
        let at = std::ptr::addr_of!(x) as u64;
        assert_eq!(m.read_u64(at), Ok(x));
        for p in 0..2 * StackMemory::MAX_PAGES as u64 {
            let _ = m.read_u64(at + (p << 12));
        }
        assert!(m.pages.len() <= StackMemory::MAX_PAGES);
    }
}
