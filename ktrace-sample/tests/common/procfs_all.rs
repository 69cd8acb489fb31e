/// Runs every /proc text parser of ktrace-sample on `t`, ignoring the results: the one body of the
/// robustness test and the `procfs` fuzz target (both `include!` this file).
fn parse_every_procfs(t: &str) {
    use ktrace_sample::procfs;
    let _ = procfs::SystemStat::parse(t);
    let _ = procfs::PidStat::parse(t);
    let _ = procfs::PidStatm::parse(t);
    let _ = procfs::PidIo::parse(t);
    let _ = procfs::Pressure::parse(t);
    let _ = procfs::diskstats(t);
    let _ = procfs::schedstat(t);
    let _ = procfs::key_values(t);
}
