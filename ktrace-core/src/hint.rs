//! What to do about a refused or unsupported call, as one sentence shared by every facade.
//!
//! Facades read the values (a sysctl, a file's type) and this module only formats them, so the
//! wording is the same everywhere and core stays free of syscalls: a permission error names the
//! capability and the sysctl with its current value, a missing kernel feature names its CONFIG
//! option and the first Linux version that had it.
//!
//! ```
//! use ktrace_core::hint::{Sysctl, permission};
//! let paranoid = Sysctl { name: "kernel.perf_event_paranoid", value: Some("2") };
//! let h = permission(&["CAP_PERFMON", "CAP_SYS_ADMIN"], Some((&paranoid, "≤ 0 for system-wide sampling")));
//! assert_eq!(
//!     h,
//!     "needs CAP_PERFMON or CAP_SYS_ADMIN (or root), or kernel.perf_event_paranoid ≤ 0 for system-wide sampling \
//!      (it is 2)"
//! );
//! ```

/// A sysctl as a facade read it: its dotted name and its value (`None`: absent or unreadable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sysctl<'a> {
    /// Dotted name (`kernel.perf_event_paranoid`).
    pub name: &'a str,
    /// The value read from [`Sysctl::path`], trimmed; `None` when the file is absent or unreadable.
    pub value: Option<&'a str>,
}

impl Sysctl<'_> {
    /// The `/proc/sys` file of a dotted sysctl name.
    ///
    /// ```
    /// assert_eq!(ktrace_core::hint::Sysctl::path("kernel.yama.ptrace_scope"), "/proc/sys/kernel/yama/ptrace_scope");
    /// ```
    pub fn path(name: &str) -> String {
        format!("/proc/sys/{}", name.replace('.', "/"))
    }

    /// `kernel.x is V`, or `kernel.x is unavailable (no /proc/sys/kernel/x)` when it could not be read.
    pub fn current(&self) -> String {
        match self.value {
            Some(v) => format!("{} is {v}", self.name),
            None => format!("{} is unavailable (no {})", self.name, Sysctl::path(self.name)),
        }
    }
}

/// "needs CAP_A or CAP_B (or root)".
fn caps_text(caps: &[&str]) -> String {
    match caps {
        [] => "needs root".to_owned(),
        _ => format!("needs {} (or root)", caps.join(" or ")),
    }
}

/// A permission hint: the capabilities that would allow the call and, when a sysctl can allow it
/// without them, that sysctl's needed value (`"≤ 0 for system-wide sampling"`) and its current one.
pub fn permission(caps: &[&str], alternative: Option<(&Sysctl<'_>, &str)>) -> String {
    let caps = caps_text(caps);
    match alternative {
        Some((s, wanted)) => match s.value {
            Some(v) => format!("{caps}, or {} {wanted} (it is {v})", s.name),
            None => format!("{caps}, or {} {wanted} ({})", s.name, s.current()),
        },
        None => caps,
    }
}

/// A permission hint where a sysctl restricts further (it does not allow by itself):
/// `needs CAP_SYS_PTRACE (or root); kernel.yama.ptrace_scope is 1 (1: only descendants)`.
pub fn permission_restricted(caps: &[&str], restriction: &Sysctl<'_>, meaning: &str) -> String {
    let caps = caps_text(caps);
    if meaning.is_empty() {
        format!("{caps}; {}", restriction.current())
    } else {
        format!("{caps}; {} ({meaning})", restriction.current())
    }
}

/// A missing kernel feature: `needs a kernel with CONFIG_X (Linux V+)`.
///
/// ```
/// assert_eq!(
///     ktrace_core::hint::kernel_feature("CONFIG_FPROBE_EVENTS", "6.4"),
///     "needs a kernel with CONFIG_FPROBE_EVENTS=y (Linux 6.4+)"
/// );
/// ```
pub fn kernel_feature(config: &str, since: &str) -> String {
    format!("needs a kernel with {config}=y (Linux {since}+)")
}

/// What a file is, from the file-type bits of its `st_mode` (`S_IFMT`), for "not a regular file"
/// errors: `"a directory"`, `"a FIFO"`, `"a character device"`…
///
/// ```
/// assert_eq!(ktrace_core::hint::file_kind(0o020_666), "a character device");
/// assert_eq!(ktrace_core::hint::file_kind(0o010_644), "a FIFO");
/// ```
pub fn file_kind(st_mode: u32) -> &'static str {
    match st_mode & 0o170_000 {
        0o100_000 => "a regular file",
        0o040_000 => "a directory",
        0o010_000 => "a FIFO",
        0o020_000 => "a character device",
        0o060_000 => "a block device",
        0o140_000 => "a socket",
        0o120_000 => "a symbolic link",
        _ => "of an unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_texts() {
        let yama = Sysctl { name: "kernel.yama.ptrace_scope", value: None };
        assert_eq!(
            permission_restricted(&["CAP_SYS_PTRACE"], &yama, ""),
            "needs CAP_SYS_PTRACE (or root); kernel.yama.ptrace_scope is unavailable (no /proc/sys/kernel/yama/ptrace_scope)"
        );
        let yama = Sysctl { value: Some("1"), ..yama };
        assert_eq!(
            permission_restricted(&["CAP_SYS_PTRACE"], &yama, "1: only descendants"),
            "needs CAP_SYS_PTRACE (or root); kernel.yama.ptrace_scope is 1 (1: only descendants)"
        );
        assert_eq!(permission(&["CAP_NET_ADMIN"], None), "needs CAP_NET_ADMIN (or root)");
        assert_eq!(permission(&[], None), "needs root");
        let p = Sysctl { name: "kernel.perf_event_paranoid", value: None };
        assert!(
            permission(&["CAP_PERFMON"], Some((&p, "≤ 1")))
                .ends_with("(kernel.perf_event_paranoid is unavailable (no /proc/sys/kernel/perf_event_paranoid))")
        );
        assert_eq!(file_kind(0o100_644), "a regular file");
        assert_eq!(file_kind(0o040_755), "a directory");
    }
}
