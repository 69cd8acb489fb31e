//! strace-like text for events ([`Tracer::describe`]).

use super::*;

impl Tracer {
    /// Appends the strace-like text of a syscall exit to `out` without allocating (execve's, whose
    /// arguments were rendered at entry, is copied). Returns false for other events.
    pub fn describe_into(&self, ev: &Event, out: &mut String) -> bool {
        match *ev {
            Event::SyscallExit { pid, arch, nr, args, ret } => match arch.syscall_name(nr) {
                Some(name) if !name.starts_with("execve") => {
                    crate::decode::write_call(out, Pid::from_raw(pid), name, &args, Some(ret));
                    true
                }
                _ => {
                    out.push_str(&self.describe(ev));
                    true
                }
            },
            _ => false,
        }
    }

    /// strace-like text for an event (reads strings from the tracee, which is still stopped).
    pub fn describe(&self, ev: &Event) -> String {
        use crate::decode::format_call;
        match *ev {
            Event::SyscallEnter { pid, arch, nr, args } => {
                let name = arch.syscall_name(nr).map_or_else(|| format!("syscall_{nr}"), str::to_owned);
                format_call(Pid::from_raw(pid), &name, &args, None)
            }
            Event::SyscallExit { pid, arch, nr, args, ret } => {
                let name = arch.syscall_name(nr).map_or_else(|| format!("syscall_{nr}"), str::to_owned);
                if let Some(entry) = self.exec_args.get(&pid).filter(|_| name.starts_with("execve")) {
                    let mut s = entry.clone();
                    crate::decode::format_ret(&mut s, &name, ret);
                    return s;
                }
                format_call(Pid::from_raw(pid), &name, &args, Some(ret))
            }
            Event::Signal { info, .. } => {
                let name = Signal::try_from(info.signo).map_or("?", |s| s.as_str());
                // The code by name as strace prints it (`CLD_EXITED`, `SI_USER`), else the number.
                let code = crate::decode::table::si_code(info.signo, info.code)
                    .map_or_else(|| info.code.to_string(), str::to_owned);
                format!(
                    "--- {name} {{si_signo={name}, si_code={code}, si_pid={}, si_uid={}}} ---",
                    info.sender_pid, info.sender_uid
                )
            }
            Event::GroupStop { signo, .. } => {
                format!("--- stopped by {} ---", Signal::try_from(signo).map_or("?", |s| s.as_str()))
            }
            Event::Fork { child, kind, .. } => format!("--- {kind:?} -> {child} ---"),
            Event::Exec { pid, old_pid } => {
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                format!("--- exec {} (by {old_pid}) ---", exe.display())
            }
            Event::Exited { code, .. } => format!("+++ exited with {code} +++"),
            Event::Killed { signo, core_dumped, .. } => format!(
                "+++ killed by {}{} +++",
                Signal::try_from(signo).map_or("?", |s| s.as_str()),
                if core_dumped { " (core dumped)" } else { "" }
            ),
            Event::Attached { pid } => format!("--- attached {pid} ---"),
            Event::Detached { pid } => format!("--- detached {pid} ---"),
        }
    }
}
