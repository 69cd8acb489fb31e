//! Live: threads, fork+exec chains, signals to self and others, group-stops, a tracee blocked in
//! read, seccomp-filtered stops, fault injection, attach errors, detach leaving nothing stopped.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::collections::HashSet;

use ktrace_ptrace::{AuditArch, Error, Event, ForkKind, Inject, TraceCommand, Tracer};

const PY: &str = "/usr/bin/python3";

fn collect(mut t: Tracer) -> Vec<Event> {
    let mut v = Vec::new();
    while let Some(e) = t.next_event().unwrap() {
        v.push(e);
    }
    v
}

fn name(ev: &Event) -> Option<&'static str> {
    match ev {
        Event::SyscallExit { arch, nr, .. } | Event::SyscallEnter { arch, nr, .. } => arch.syscall_name(*nr),
        _ => None,
    }
}

#[test]
fn threads_are_followed() {
    let code = "import threading, os\nts=[threading.Thread(target=lambda: os.getsid(0)) for _ in range(3)]\n[t.start() for t in ts]\n[t.join() for t in ts]";
    let evs = collect(TraceCommand::new(PY).args(["-c", code]).spawn().unwrap());
    let clones = evs.iter().filter(|e| matches!(e, Event::Fork { kind: ForkKind::Clone, .. })).count();
    assert!(clones >= 3, "clones: {clones}");
    let tids: HashSet<i32> = evs
        .iter()
        .filter_map(|e| match e {
            Event::SyscallExit { pid, .. } if name(e) == Some("getsid") => Some(*pid),
            _ => None,
        })
        .collect();
    assert_eq!(tids.len(), 3, "getsid from {tids:?}");
}

#[test]
fn fork_exec_chain() {
    let evs = collect(
        TraceCommand::new("sh").args(["-c", "/bin/true; exec /bin/cat /etc/hostname"]).stdout_null().spawn().unwrap(),
    );
    let execs = evs.iter().filter(|e| matches!(e, Event::Exec { .. })).count();
    assert_eq!(execs, 3, "sh, true, cat");
    assert!(
        evs.iter().any(|e| matches!(e, Event::Fork { kind: ForkKind::Fork | ForkKind::Clone | ForkKind::Vfork, .. }))
    );
    let exits: Vec<i32> =
        evs.iter().filter_map(|e| if let Event::Exited { code, .. } = e { Some(*code) } else { None }).collect();
    assert_eq!(exits, vec![0, 0]);
}

#[test]
fn signals_to_self_and_death_by_signal() {
    let code = "import signal, os\nsignal.signal(signal.SIGUSR1, lambda *a: None)\nos.kill(os.getpid(), signal.SIGUSR1)\nos.kill(os.getpid(), signal.SIGKILL)";
    let t = TraceCommand::new(PY).args(["-c", code]).spawn().unwrap();
    let evs = collect(t);
    let usr1 = evs.iter().find_map(|e| match e {
        Event::Signal { pid, info } if info.signo == libc::SIGUSR1 => Some((*pid, info.sender_pid, info.code)),
        _ => None,
    });
    let (pid, sender, code) = usr1.expect("SIGUSR1 delivery");
    assert_eq!(pid, sender);
    assert_eq!(code, libc::SI_USER);
    assert!(evs.iter().any(|e| matches!(e, Event::Killed { signo: libc::SIGKILL, .. })));
}

#[test]
fn segfault_reports_fault_address_and_core() {
    let t = TraceCommand::new(PY).args(["-c", "import ctypes; ctypes.string_at(8)"]).spawn().unwrap();
    let evs = collect(t);
    let fault = evs.iter().find_map(|e| match e {
        Event::Signal { info, .. } if info.signo == libc::SIGSEGV => Some(info.fault_addr),
        _ => None,
    });
    assert_eq!(fault, Some(8));
    assert!(evs.iter().any(|e| matches!(e, Event::Killed { signo: libc::SIGSEGV, .. })));
}

#[test]
fn group_stop_then_continue() {
    let code = "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)\nos.getsid(0)";
    let mut t = TraceCommand::new(PY).args(["-c", code]).spawn().unwrap();
    let mut stopped = false;
    let mut after = false;
    while let Some(e) = t.next_event().unwrap() {
        match e {
            Event::GroupStop { pid, signo } => {
                assert_eq!(signo, libc::SIGSTOP);
                stopped = true;
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT).unwrap();
            }
            _ if stopped && name(&e) == Some("getsid") => after = true,
            _ => {}
        }
    }
    assert!(stopped && after, "stopped {stopped}, ran after SIGCONT {after}");
}

fn proc_state(pid: u32) -> char {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    s[s.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

#[test]
fn attach_to_reader_blocked_in_read_then_detach_leaves_it_running() {
    let mut child = std::process::Command::new("cat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pid = child.id() as i32;
    let mut t = Tracer::attach(pid).unwrap();
    let first = t.next_event().unwrap().unwrap();
    assert_eq!(first, Event::Attached { pid });
    // A second tracer cannot attach; the error names the tracer (this thread), from TracerPid.
    let me = nix::unistd::gettid().as_raw();
    assert!(matches!(Tracer::attach(pid), Err(Error::AlreadyTraced { tracer, .. }) if tracer == me));
    assert_eq!(t.detach_all().unwrap(), vec![Event::Detached { pid }]);
    assert_eq!(t.describe(&Event::Detached { pid }), format!("--- detached {pid} ---"));
    drop(t);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let st = proc_state(child.id());
    assert!(st == 'S' || st == 'R', "tracee left in state {st}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn execve_environment_is_counted_as_strace_does() {
    // env -i A=1 B=2 execs /bin/true with exactly two variables.
    let mut t = TraceCommand::new("env").args(["-i", "A=1", "B=2", "/bin/true"]).spawn().unwrap();
    let mut lines = Vec::new();
    while let Some(e) = t.next_event().unwrap() {
        if name(&e) == Some("execve") && matches!(e, Event::SyscallExit { .. }) {
            lines.push(t.describe(&e));
        }
    }
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].starts_with("execve(\"/bin/true\", [\"/bin/true\"], 0x") && lines[1].contains(" /* 2 vars */)"),
        "{lines:?}"
    );
    // strace prints the same shape for the same exec.
    if std::process::Command::new("strace").arg("-V").output().is_ok() {
        let out = std::process::Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=execve", "env", "-i", "A=1", "B=2", "/bin/true"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            text.lines()
                .any(|l| l.contains("execve(\"/bin/true\", [\"/bin/true\"], 0x") && l.contains(" /* 2 vars */)")),
            "{text}"
        );
    }
}

#[test]
fn attach_errors() {
    assert!(matches!(Tracer::attach(0x3fff_ffff), Err(Error::NoSuchProcess { .. })));
}

#[test]
fn seccomp_filter_stops_only_for_chosen_syscalls() {
    let openat = AuditArch::NATIVE.syscall_nr("openat").unwrap();
    let t = TraceCommand::new("cat").arg("/etc/hostname").stdout_null().seccomp_filter(&[openat]).spawn().unwrap();
    let mut t = t;
    let mut names = HashSet::new();
    let mut paths = Vec::new();
    while let Some(e) = t.next_event().unwrap() {
        if let Some(n) = name(&e) {
            names.insert(n);
            if matches!(e, Event::SyscallExit { .. }) {
                paths.push(t.describe(&e));
            }
        }
    }
    assert!(names.iter().all(|n| *n == "openat" || *n == "execve"), "stops for {names:?}");
    assert!(paths.iter().any(|p| p.contains("\"/etc/hostname\"") && p.ends_with("= 3")), "{paths:?}");
}

/// The seccomp path with syscall stops decoded from registers (kernels before 5.3) gives the same
/// enter/exit pairs as with PTRACE_GET_SYSCALL_INFO, on this kernel's probed stop order.
#[test]
fn seccomp_filter_same_events_from_registers_only() {
    assert_eq!(
        ktrace_ptrace::tracer::probe_seccomp_order().unwrap(),
        ktrace_ptrace::seccomp::SeccompOrder::AfterEntry,
        "Linux 4.8+ puts seccomp stops after syscall entry"
    );
    let openat = AuditArch::NATIVE.syscall_nr("openat").unwrap();
    let run = |regs: bool| {
        let mut c = TraceCommand::new("/bin/cat").arg("/etc/hostname").stdout_null().seccomp_filter(&[openat]);
        if regs {
            c = c.registers_only();
        }
        let mut t = c.spawn().unwrap();
        let mut lines = Vec::new();
        while let Some(e) = t.next_event().unwrap() {
            match e {
                Event::SyscallEnter { .. } => lines.push(format!("enter {}", name(&e).unwrap_or("?"))),
                Event::SyscallExit { .. } => lines.push(t.describe(&e)),
                _ => {}
            }
        }
        lines
    };
    let (info, regs) = (run(false), run(true));
    assert!(info.iter().any(|l| l.contains("\"/etc/hostname\"") && l.ends_with("= 3")), "{info:?}");
    assert_eq!(info, regs, "register decoding differs from PTRACE_GET_SYSCALL_INFO");
}

#[test]
fn injected_errno_fails_the_syscall() {
    let openat = AuditArch::NATIVE.syscall_nr("openat").unwrap();
    // Fail every openat after the dynamic loader's: cat's open of the file sees ENOENT.
    let mut t = TraceCommand::new("/bin/cat")
        .arg("/etc/hostname")
        .stdout_null()
        .inject(Inject { nr: openat, errno: Some(libc::EACCES) })
        .spawn()
        .unwrap();
    let mut failed = 0;
    let mut code = None;
    while let Some(e) = t.next_event().unwrap() {
        match e {
            Event::SyscallExit { ret, .. } if name(&e) == Some("openat") => {
                assert_eq!(ret, -(libc::EACCES as i64));
                failed += 1;
            }
            Event::Exited { code: c, .. } => code = Some(c),
            _ => {}
        }
    }
    assert!(failed >= 1);
    assert_ne!(code, Some(0), "cat should fail when every openat fails");
}

#[test]
fn kill_on_drop_kills_the_spawned_command() {
    let mut t = TraceCommand::new("sleep").arg("30").spawn().unwrap();
    let Some(Event::Attached { pid }) = t.next_event().unwrap() else { panic!() };
    drop(t);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || proc_state(pid as u32) == 'Z');
}

#[test]
fn attach_to_a_zombie_is_a_clear_error() {
    let child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    std::thread::sleep(std::time::Duration::from_millis(200)); // exited, not reaped: a zombie
    assert!(matches!(Tracer::attach(pid), Err(Error::Zombie { .. })));
    let mut child = child;
    child.wait().unwrap();
}

#[test]
fn exec_from_a_non_leader_thread_takes_the_leaders_pid() {
    let code = "import threading, os\nt = threading.Thread(target=lambda: os.execv('/bin/true', ['true']))\nt.start()\nt.join()";
    let evs = collect(TraceCommand::new(PY).args(["-c", code]).spawn().unwrap());
    let execs: Vec<(i32, i32)> = evs
        .iter()
        .filter_map(|e| if let Event::Exec { pid, old_pid } = e { Some((*pid, *old_pid)) } else { None })
        .collect();
    assert_eq!(execs.len(), 2, "python, then true from the thread: {execs:?}");
    let (pid, old) = execs[1];
    assert_ne!(pid, old, "the exec came from a non-leader thread");
    assert_eq!(execs[0].0, pid, "it takes over the leader's pid");
    assert!(evs.iter().any(|e| matches!(e, Event::Exited { pid: p, code: 0 } if *p == pid)));
}

#[test]
fn setuid_binary_exec_is_traced() {
    let Some(bin) = ["/usr/bin/passwd", "/bin/su", "/usr/bin/chsh"].into_iter().find(|p| {
        std::fs::metadata(p).is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o4000 != 0)
    }) else {
        return ktrace_testing::skip(
            "setuid_binary_exec_is_traced",
            ktrace_testing::Skip::Environment("no setuid binary found"),
        );
    };
    let evs = collect(TraceCommand::new(bin).arg("--help").stdout_null().spawn().unwrap());
    assert!(evs.iter().any(|e| matches!(e, Event::Exec { .. })));
    assert!(evs.iter().any(|e| matches!(e, Event::Exited { .. })));
}

#[test]
fn sigkill_mid_syscall_ends_with_killed_not_a_hang() {
    let mut t = TraceCommand::new("sleep").arg("30").spawn().unwrap();
    let mut killed = false;
    let mut pid0 = 0;
    while let Some(e) = t.next_event().unwrap() {
        match e {
            Event::Attached { pid } => pid0 = pid,
            Event::SyscallEnter { arch, nr, .. } if arch.syscall_name(nr) == Some("clock_nanosleep") => {
                // Kill it while it sleeps in the syscall (it runs on once we call next_event).
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid0), nix::sys::signal::Signal::SIGKILL);
                });
            }
            Event::Killed { signo, .. } => killed = signo == libc::SIGKILL,
            _ => {}
        }
    }
    assert!(killed);
}

#[test]
fn same_cpu_pins_while_tracing_and_restores_the_callers_affinity() {
    let me = nix::unistd::Pid::from_raw(0);
    let before = nix::sched::sched_getaffinity(me).unwrap();
    let mut t = TraceCommand::new("/bin/true").same_cpu(true).spawn().unwrap();
    let during = nix::sched::sched_getaffinity(me).unwrap();
    let pinned = (0..nix::sched::CpuSet::count()).filter(|&c| during.is_set(c).unwrap_or(false)).count();
    assert_eq!(pinned, 1, "tracer thread pinned to one CPU while tracing");
    while t.next_event().unwrap().is_some() {}
    drop(t);
    assert_eq!(nix::sched::sched_getaffinity(me).unwrap(), before, "affinity not restored");
}

/// A 64-bit program entering the kernel through the i386 gate (`int $0x80`): the tracer names the
/// call from the i386 table (getppid is 64 there, 110 on x86_64) and says its arch, as strace does.
#[test]
#[cfg(target_arch = "x86_64")]
fn compat_int80_syscalls_are_decoded_with_the_i386_table() {
    use ktrace_testing::{Skip, skip};
    const T: &str = "compat_int80_syscalls_are_decoded_with_the_i386_table";
    let dir = std::env::temp_dir().join(format!("ktrace-int80-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("int80.c");
    std::fs::write(
        &src,
        "int main(void) {\n  long r;\n  for (int i = 0; i < 3; i++)\n    __asm__ volatile(\"int $0x80\" : \"=a\"(r) : \"a\"(64L) : \"memory\");\n  return r > 0 ? 0 : 1;\n}\n",
    )
    .unwrap();
    let bin = dir.join("int80");
    match std::process::Command::new("gcc").arg("-O1").arg("-o").arg(&bin).arg(&src).status() {
        Ok(s) if s.success() => {}
        _ => return skip(T, Skip::Environment("gcc is needed to build the int $0x80 program")),
    }
    let mut t = TraceCommand::new(bin.to_str().unwrap()).spawn().unwrap();
    let (mut compat, mut code) = (Vec::new(), None);
    while let Some(e) = t.next_event().unwrap() {
        match &e {
            Event::SyscallExit { arch, .. } if *arch == AuditArch::I386 => compat.push(t.describe(&e)),
            Event::Exited { code: c, .. } => code = Some(*c),
            _ => {}
        }
    }
    // strace names them the same (with the x86_64 table, 64 would be semget).
    let strace = std::process::Command::new("strace").arg("-qq").arg(&bin).output();
    std::fs::remove_dir_all(&dir).unwrap();
    if let Ok(out) = strace
        && compat.len() == 3
    {
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(text.lines().filter(|l| l.starts_with("getppid()")).count(), 3, "{text}");
    }
    if matches!(code, Some(1)) && compat.is_empty() {
        // Kernels built without IA32 emulation (or booted with ia32_emulation=0) refuse int 0x80.
        return skip(T, Skip::KernelLacks { feature: "ia32_emulation", why: "int $0x80 failed" });
    }
    assert_eq!(code, Some(0));
    assert_eq!(compat.len(), 3, "{compat:?}");
    assert!(compat.iter().all(|l| l.starts_with("getppid() = ")), "{compat:?}");
}

#[test]
fn a_held_process_is_traced_from_its_exec_as_strace_shows_it() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    // Held before its exec: a shell blocked in read, which then execs cat (its next exec).
    let mut child = Command::new("/bin/sh")
        .args(["-c", "read _; exec /bin/cat /etc/hostname"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Once blocked in read (sleeping), it is past its own exec of the shell.
    let t0 = std::time::Instant::now();
    while proc_state(child.id()) != 'S' && t0.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut t = Tracer::seize_held(pid, true).unwrap();
    // Released after the seize; it runs unstopped to its exec.
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut evs = Vec::new();
    let mut lines = Vec::new();
    while let Some(ev) = t.next_event().unwrap() {
        if matches!(ev, Event::SyscallExit { .. }) {
            lines.push(t.describe(&ev));
        }
        evs.push(ev);
    }
    assert_eq!(evs[0], Event::Attached { pid });
    assert!(matches!(evs[1], Event::SyscallEnter { .. }) && name(&evs[1]) == Some("execve"), "{:?}", &evs[..3]);
    assert_eq!(evs[2], Event::Exec { pid, old_pid: pid });
    // The shell's read before the exec is not traced: the first call shown is the execve, with
    // its file name, argv and envp as strace prints them.
    let first = &lines[0];
    assert!(first.starts_with(r#"execve("/bin/cat", ["/bin/cat", "/etc/hostname"], 0x"#), "{first}");
    assert!(first.ends_with(" vars */) = 0"), "{first}");
    assert!(!lines.iter().any(|l| l.starts_with("read(0,")), "the shell's read was traced: {lines:?}");
    assert!(lines.iter().any(|l| l.contains(r#""/etc/hostname", O_RDONLY"#)), "{lines:?}");
    assert_eq!(evs.last(), Some(&Event::Exited { pid, code: 0 }));
    // The tracer, in this thread of its parent, reaped it.
    assert!(child.wait().is_err());
}

/// `describe` names a signal's code as strace does: a shell's SIGCHLD from its exited child is
/// `si_code=CLD_EXITED`, not the number 1.
#[test]
fn describe_names_the_signal_code() {
    let mut t = TraceCommand::new("sh").args(["-c", "/bin/true; :"]).stdout_null().spawn().unwrap();
    let mut lines = Vec::new();
    while let Some(e) = t.next_event().unwrap() {
        if matches!(e, Event::Signal { info, .. } if info.signo == libc::SIGCHLD) {
            lines.push(t.describe(&e));
        }
    }
    assert!(!lines.is_empty(), "sh got no SIGCHLD");
    assert!(lines.iter().all(|l| l.contains("si_code=CLD_EXITED")), "{lines:?}");
}
