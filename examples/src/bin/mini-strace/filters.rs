//! mini-strace's `-e` expressions: `trace=` (names and strace's classes), `signal=` and `status=`
//! sets, as strace parses and checks them.

use ktrace_ptrace::AuditArch;

/// strace's `%network` class: the syscalls of its TRACE_NETWORK flag.
const NETWORK: &[&str] = &[
    "socket",
    "bind",
    "connect",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "socketpair",
    "send",
    "sendto",
    "recv",
    "recvfrom",
    "shutdown",
    "setsockopt",
    "getsockopt",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
];

/// The syscall names of `-e` expressions (`trace=a,b` or `a,b`), each checked as strace does.
pub(crate) fn trace_set(exprs: &[String]) -> Result<Option<Vec<String>>, String> {
    // Only `-e trace=` (or a bare list) chooses syscalls: `-e status=failed` alone traces all.
    let mut names = None::<Vec<String>>;
    for e in exprs {
        let list = match e.split_once('=') {
            Some(("trace" | "t", l)) => l,
            Some((
                "signal" | "signals" | "s" | "status" | "read" | "r" | "write" | "w" | "decode-fds" | "decode-fd",
                _,
            )) => {
                continue;
            }
            Some((q, _)) => return Err(format!("invalid qualifier '{q}'")),
            None => e.as_str(),
        };
        let names = names.get_or_insert_default();
        for n in list.split(',').filter(|n| !n.is_empty()) {
            // strace's class of socket calls (`%network`, or `network` as older stracees wrote it).
            if matches!(n, "network" | "%network" | "%net") {
                names.extend(
                    NETWORK.iter().filter(|c| AuditArch::NATIVE.syscall_nr(c).is_some()).map(|c| (*c).to_owned()),
                );
                continue;
            }
            if AuditArch::NATIVE.syscall_nr(n).is_none() {
                return Err(format!("invalid system call '{n}'"));
            }
            names.push(n.to_owned());
        }
    }
    Ok(names)
}

/// strace's sets of `-e signal=` and `-e status=`: `all`, `none`, names, `!` for the complement.
/// Returns whether `is_in(name)` for the item under test.
pub(crate) fn set_of(
    exprs: &[String],
    quals: &[&str],
    known: impl Fn(&str) -> bool,
) -> Result<Option<(Vec<String>, bool)>, String> {
    let mut set = None;
    for e in exprs {
        let Some((q, list)) = e.split_once('=') else { continue };
        if !quals.contains(&q) {
            continue;
        }
        // Each `!` complements the set.
        let bare = list.trim_start_matches('!');
        let (list, negated) = (bare, (list.len() - bare.len()) % 2 == 1);
        let mut items = Vec::new();
        for n in list.split(',') {
            match n {
                "all" => items.push("all".to_owned()),
                "none" => {}
                n if known(n) => items.push(n.to_owned()),
                n => return Err(format!("invalid {q} '{n}'")),
            }
        }
        set = Some((items, negated));
    }
    Ok(set)
}

/// Whether `item` is in a set of [`set_of`] (everything when there is none).
pub(crate) fn in_set(set: &Option<(Vec<String>, bool)>, is: impl Fn(&str) -> bool) -> bool {
    set.as_ref().is_none_or(|(items, negated)| items.iter().any(|i| i == "all" || is(i)) != *negated)
}

/// The native numbers of the syscalls of `-e trace=`.
pub(crate) fn nrs_of(only: &Option<Vec<String>>) -> Option<Vec<u64>> {
    only.as_ref().map(|l| l.iter().filter_map(|n| AuditArch::NATIVE.syscall_nr(n)).collect())
}
