//! Workload: N getppid() calls; prints `ns_per_syscall=X` (the child measures itself).
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let t = std::time::Instant::now();
    for _ in 0..n {
        // SAFETY: getppid has no preconditions.
        #[allow(unsafe_code, reason = "a raw syscall is the workload being measured")]
        unsafe {
            libc::syscall(libc::SYS_getppid);
        }
    }
    println!("ns_per_syscall={:.1}", t.elapsed().as_nanos() as f64 / n as f64);
}
