//! A test the VM runner's self-test uses to prove a crashing test binary is reported: it aborts
//! when `KTRACE_VM_SELFTEST_CRASH=1`, and passes otherwise.

#[test]
fn vm_selftest_crash() {
    if std::env::var("KTRACE_VM_SELFTEST_CRASH").is_ok_and(|v| v == "1") {
        std::process::abort();
    }
}
