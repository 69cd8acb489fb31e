//! Live: trace_marker and trace_marker_raw writes come back byte for byte.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

mod common;
use ktrace_ftrace::{Recorder, Typed};

#[test]
fn markers_round_trip() {
    let Some(inst) = common::instance("markers_round_trip") else {
        return;
    };
    let rec = Recorder::start(&inst).unwrap();
    let msgs: Vec<Vec<u8>> =
        (0..200).map(|i| format!("ktrace marker {i} {}", "y".repeat(i % 90)).into_bytes()).collect();
    let mut m = inst.marker().unwrap();
    for msg in &msgs {
        m.write(msg).unwrap();
    }
    inst.write_marker_raw(0x6b74, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let recording = rec.stop().unwrap();
    let mut got = Vec::new();
    let mut raw = None;
    for ev in recording.events() {
        match ev.unwrap().typed().unwrap() {
            Typed::Print { msg, .. } => got.push(msg.to_vec()),
            Typed::RawData { id, data } => raw = Some((id, data.to_vec())),
            _ => {}
        }
    }
    assert_eq!(got, msgs);
    let (id, data) = raw.expect("raw marker");
    assert_eq!(id, 0x6b74);
    assert_eq!(&data[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
}
