//! Sixteen captures at once under `cargo test`'s parallel threads: each sees only its own thread
//! and children (its own file, its own exit code), never a neighbour's, and leaves no instance.
#![cfg(all(feature = "ftrace", feature = "ptrace", feature = "sample"))]
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::process::Command;

use ktrace::capture::{Spec, capture};

fn path(i: u32) -> String {
    format!("/tmp/ktrace-parallel-{}-{i}", std::process::id())
}

/// Test `i` writes its file and runs a child exiting with `i`; it also watches test `i + 1`'s
/// file, which it must not see opened although that test opens it at about the same time.
fn scenario(i: u32) {
    let (mine, theirs) = (path(i), path((i + 1) % 16));
    let spec = Spec::default().watch_path(&mine).watch_path(&theirs);
    let (cap, status) = capture(spec, || {
        std::fs::write(&mine, i.to_string()).unwrap();
        Command::new("/bin/sh").args(["-c", &format!("exit {i}")]).status().unwrap()
    })
    .unwrap();
    assert_eq!(status.code(), Some(i as i32));
    cap.assert_opened(&mine);
    cap.assert_exited(i as i32);
    assert!(cap.opens().all(|o| o.path.as_deref() != Some(theirs.as_str())), "{cap}");
    let exits = cap.exits();
    assert_eq!(exits.len(), 1, "only my child exits: {exits:?}");
    assert_eq!(cap.execs().len(), 1, "{cap}");
    // Every thread seen is mine or my child's.
    let child = exits.first().unwrap().pid;
    let me = cap.syscalls().first().unwrap().tid;
    for r in cap.records() {
        assert!(r.tid == me || r.tid == child, "a stranger's event: {r:?}\n{cap}");
    }
    assert_eq!(cap.lost(), 0);
    std::fs::remove_file(&mine).unwrap();
}

macro_rules! scenarios {
    ($($name:ident = $i:expr;)*) => { $( #[test] fn $name() { scenario($i) } )* };
}

scenarios! {
    p00 = 0; p01 = 1; p02 = 2; p03 = 3; p04 = 4; p05 = 5; p06 = 6; p07 = 7;
    p08 = 8; p09 = 9; p10 = 10; p11 = 11; p12 = 12; p13 = 13; p14 = 14; p15 = 15;
}
