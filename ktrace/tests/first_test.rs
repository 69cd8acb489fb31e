//! What the kernel saw while this test ran: my open of a file, my child's exit code.
use ktrace::capture::{Spec, capture};

#[test]
fn writing_a_file_opens_it_and_my_child_exits_3() -> Result<(), Box<dyn std::error::Error>> {
    let (cap, status) = capture(Spec::default().watch_path("/tmp/ktrace-first-test"), || {
        std::fs::write("/tmp/ktrace-first-test", "hi")?;
        std::process::Command::new("sh").args(["-c", "exit 3"]).status()
    })?;
    assert_eq!(status?.code(), Some(3));
    cap.assert_opened("/tmp/ktrace-first-test");
    cap.assert_exited(3);
    Ok(())
}
