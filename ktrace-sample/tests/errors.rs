//! Errors a user can act on: refused perf and taskstats calls, run as `nobody` (this test binary
//! re-executed under setpriv), name the capability and the sysctl with its current value; a pid
//! that does not exist is "no such process"; ELF inputs that are not regular files are refused
//! at once instead of being read without end (`/dev/zero`) or blocking (a FIFO).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::time::{Duration, Instant};

use ktrace_sample::Error;
use ktrace_testing::refused_as_nobody;

/// The output of `call` run as nobody (see [`refused_as_nobody`]), which must contain each of `expect`.
fn nobody_error<T>(test: &str, call: impl FnOnce() -> Result<T, Error>, expect: &[&str]) -> Option<String> {
    let out = refused_as_nobody(test, call, Error::is_permission)?;
    for e in expect {
        assert!(out.contains(e), "no {e:?} in {out}");
    }
    Some(out)
}

#[test]
fn perf_as_nobody_names_paranoid_and_perfmon() {
    use ktrace_sample::counters::{Counters, Ev};
    // Counting on a whole CPU needs perf_event_paranoid ≤ 0 (it is 2 by default): refused.
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").unwrap();
    let paranoid = paranoid.trim();
    let sysctl = format!("kernel.perf_event_paranoid ≤ 0 for per-CPU (system-wide) counting (it is {paranoid})");
    let expect = [
        "ERR perf_event_open cpu-clock: permission denied",
        "CAP_PERFMON",
        "CAP_SYS_ADMIN",
        &sysctl,
        "PERMISSION true",
    ];
    let test = "perf_as_nobody_names_paranoid_and_perfmon";
    if nobody_error(test, || Counters::cpu(0, &[Ev::CpuClock]), &expect).is_some() {
        assert!(paranoid.parse::<i32>().unwrap() > 0, "perf_event_paranoid {paranoid} allows per-CPU counting");
    }
}

#[test]
fn system_profile_as_nobody_names_paranoid() {
    use ktrace_sample::profile::{Options, Profiler, Rate, Scope, Source};
    nobody_error(
        "system_profile_as_nobody_names_paranoid",
        || Profiler::open(&Options::new(Source::CpuClock, Scope::System, Rate::Frequency(99))).map(|_| ()),
        &[
            "ERR perf_event_open cpu-clock: permission denied",
            "kernel.perf_event_paranoid ≤ 0 for system-wide sampling (it is ",
            "CAP_PERFMON",
        ],
    );
}

#[test]
fn taskstats_as_nobody_names_cap_net_admin() {
    let expect = ["ERR netlink(TASKSTATS_CMD_GET) pid 1: permission denied: needs CAP_NET_ADMIN", "PERMISSION true"];
    let test = "taskstats_as_nobody_names_cap_net_admin";
    if let Some(out) = nobody_error(test, || ktrace_sample::taskstats::query(1, false), &expect) {
        assert!(!out.contains("Nlmsgerr"), "a raw netlink struct: {out}");
    }
}

#[test]
fn exit_listener_as_nobody_is_refused() {
    // Without an acknowledgement the registration used to "succeed" and then receive nothing.
    nobody_error(
        "exit_listener_as_nobody_is_refused",
        || ktrace_sample::taskstats::ExitListener::register(None),
        &["ERR netlink(TASKSTATS_CMD_ATTR_REGISTER_CPUMASK) register cpus ", "needs CAP_NET_ADMIN", "PERMISSION true"],
    );
}

#[test]
fn delay_accounting_as_nobody_says_who_may_turn_it_on() {
    nobody_error(
        "delay_accounting_as_nobody_says_who_may_turn_it_on",
        ktrace_sample::taskstats::DelayAcctGuard::enable,
        &[
            "ERR write /proc/sys/kernel/task_delayacct: permission denied: needs CAP_SYS_ADMIN",
            "sysctl kernel.task_delayacct=1",
        ],
    );
}

#[test]
fn taskstats_of_a_missing_pid_is_no_such_process() {
    // Above any pid_max (at most 2^22), so no task has it.
    let pid = 0x3fff_fff0;
    match ktrace_sample::taskstats::query(pid, false) {
        Err(e @ Error::NoSuchProcess { pid: p, .. }) if p == pid => {
            assert_eq!(e.to_string(), format!("netlink(TASKSTATS_CMD_GET): no such process: pid {pid}"));
        }
        r => panic!("expected NoSuchProcess: {r:?}"),
    }
    assert!(matches!(ktrace_sample::taskstats::query(pid, true), Err(Error::NoSuchProcess { .. })));
}

#[test]
fn symbolizer_refuses_dev_zero_and_a_fifo_at_once() {
    use ktrace_sample::symbolize::{Mapping, Symbolizer};
    let dir = std::env::temp_dir().join(format!("ktrace-sym-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let fifo = fifo.to_str().unwrap().to_owned();
    let mut s = Symbolizer::new("");
    s.add_mapping(7, Mapping { start: 0x1000, end: 0x2000, pgoff: 0, path: "/dev/zero".into() });
    s.add_mapping(7, Mapping { start: 0x3000, end: 0x4000, pgoff: 0, path: fifo.clone() });
    let t = Instant::now();
    assert_eq!(s.resolve(7, 0x1100), None);
    assert_eq!(s.resolve(7, 0x3100), None);
    assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());
    let mut bad: Vec<String> = s.unreadable().map(|(_, e)| e.to_string()).collect();
    bad.sort();
    assert_eq!(
        bad,
        [
            "/dev/zero is not a regular file: it is a character device".to_owned(),
            format!("{fifo} is not a regular file: it is a FIFO")
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
