//! Signals: names and numbers, signal sets, `struct sigaction` and `siginfo_t`.

use super::*;

/// `SIGINT`; the real-time signals as strace names them (`SIGRTMIN`, `SIGRT_1`…).
pub fn signal_name(sig: i32) -> Cow<'static, str> {
    match sig {
        32 => "SIGRTMIN".into(),
        33..=64 => format!("SIGRT_{}", sig - 32).into(),
        _ => nix::sys::signal::Signal::try_from(sig).map_or_else(|_| sig.to_string().into(), |s| s.as_str().into()),
    }
}

/// A signal set of 64 bits as strace shows it: `[CHLD INT]`, or `~[…]` with the signals not in it
/// when more than half are.
pub(super) fn sigset(mask: u64) -> Value {
    let (mask, complement) = if mask.count_ones() > 32 { (!mask, true) } else { (mask, false) };
    let items = (1..=64i32)
        .filter(|sig| mask & (1 << (sig - 1)) != 0)
        .map(|sig| match signal_name(sig) {
            Cow::Borrowed(n) => Cow::Borrowed(n.strip_prefix("SIG").unwrap_or(n)),
            Cow::Owned(n) => Cow::Owned(n.strip_prefix("SIG").unwrap_or(&n).to_owned()),
        })
        .collect();
    Value::Set { items, complement }
}

/// The signals thread `pid` blocks (`SigBlk:` of /proc/PID/status).
pub(super) fn blocked_signals(pid: Pid) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// `struct sigaction` of the kernel (handler, flags, restorer, mask).
pub(super) fn sigaction(b: &[u8]) -> Value {
    let f = |i: usize| field(b, 8 * i, 8);
    let handler = match f(0) {
        0 => Value::Name("SIG_DFL".into()),
        1 => Value::Name("SIG_IGN".into()),
        h => Value::Hex(h),
    };
    let mut fields =
        vec![("sa_handler", handler), ("sa_mask", sigset(f(3))), ("sa_flags", flags(f(1), table::SA, "0"))];
    if f(1) & table::SA_RESTORER != 0 {
        fields.push(("sa_restorer", Value::Hex(f(2))));
    }
    Value::Struct { fields, more: false }
}

/// The siginfo of the signal the stopped tracee `pid` is about to get, as strace shows it in its
/// `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, …} ---` lines (PTRACE_GETSIGINFO).
pub fn pending_siginfo(pid: Pid) -> Option<Value> {
    crate::sys::siginfo_bytes(pid).map(|b| siginfo(&b))
}

/// A `siginfo_t` (128 bytes, x86_64 and aarch64 layout) as strace's printsiginfo shows it: the
/// signal and code by name, then the fields that code fills; `{}` for none.
pub(super) fn siginfo(b: &[u8]) -> Value {
    let i32_at = |off: usize| field(b, off, 4) as i32;
    let (signo, errno, code) = (i32_at(0), i32_at(4), i32_at(8));
    if signo == 0 {
        return Value::Struct { fields: Vec::new(), more: false };
    }
    let mut fields = vec![("si_signo", Value::Name(signal_name(signo)))];
    let code_name = table::si_code(signo, code);
    fields.push(("si_code", code_name.map_or(Value::Int(code.into()), |n| Value::Name(n.into()))));
    if errno != 0 {
        fields.push(("si_errno", Value::Name(errno_name(errno).into())));
    }
    let pid_uid = |fields: &mut Vec<(&'static str, Value)>| {
        fields.push(("si_pid", Value::Int(i32_at(16).into())));
        fields.push(("si_uid", Value::Uint(field(b, 20, 4))));
    };
    match code {
        libc::SI_KERNEL => {}
        // SI_TIMER
        -2 => {
            fields.push(("si_timerid", Value::Hex(field(b, 16, 4))));
            fields.push(("si_overrun", Value::Int(i32_at(20).into())));
            fields.push(("si_int", Value::Int(i32_at(24).into())));
            fields.push(("si_ptr", Value::Ptr(field(b, 24, 8))));
        }
        // SI_QUEUE, SI_MESGQ: a value sent with the signal.
        -1 | -3 => {
            pid_uid(&mut fields);
            fields.push(("si_int", Value::Int(i32_at(24).into())));
            fields.push(("si_ptr", Value::Ptr(field(b, 24, 8))));
        }
        c if c <= 0 => pid_uid(&mut fields),
        _ => match signo {
            libc::SIGCHLD => {
                pid_uid(&mut fields);
                let status = i32_at(24);
                let st =
                    if code == libc::CLD_EXITED { Value::Int(status.into()) } else { Value::Name(signal_name(status)) };
                fields.push(("si_status", st));
                fields.push(("si_utime", Value::Int(field(b, 32, 8) as i64)));
                fields.push(("si_stime", Value::Int(field(b, 40, 8) as i64)));
            }
            libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE | libc::SIGTRAP => {
                fields.push(("si_addr", Value::Ptr(field(b, 16, 8))));
            }
            libc::SIGPOLL => {
                fields.push(("si_band", Value::Int(field(b, 16, 8) as i64)));
                fields.push(("si_fd", Value::Int(i32_at(24).into())));
            }
            _ => pid_uid(&mut fields),
        },
    }
    Value::Struct { fields, more: false }
}

/// A signal by any of strace's spellings (`SIGUSR1`, `USR1`, `usr1`, `10`, `SIGRTMIN`, `RT_1`).
pub fn signal_number(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let up = name.to_ascii_uppercase();
    let bare = up.strip_prefix("SIG").unwrap_or(&up);
    (1..=64).find(|&s| signal_name(s).strip_prefix("SIG") == Some(bare))
}
