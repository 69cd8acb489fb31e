use std::collections::BTreeMap;
#[cfg(all(feature = "zstd", feature = "zlib"))]
use std::io::Write;

#[cfg(all(feature = "zstd", feature = "zlib"))]
use super::read::{Compression, decompress};
use super::*;

#[test]
#[cfg(all(feature = "zstd", feature = "zlib"))]
fn decompression_stops_at_the_stated_size() {
    let big = ruzstd::encoding::compress_to_vec(&[0u8; 1 << 20][..], ruzstd::encoding::CompressionLevel::Fastest);
    assert_eq!(decompress(Compression::Zstd, &big, 1 << 20, 0).unwrap().len(), 1 << 20);
    let err = decompress(Compression::Zstd, &big, 4096, 77).unwrap_err();
    assert!(matches!(err, Error::TraceDat { offset: 77, ref what } if what.contains("stated size 4096")), "{err}");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&[0u8; 1 << 16]).unwrap();
    let z = z.finish().unwrap();
    assert_eq!(decompress(Compression::Zlib, &z, 1 << 16, 0).unwrap().len(), 1 << 16);
    assert!(decompress(Compression::Zlib, &z, 100, 0).is_err());
}

#[test]
fn v6_round_trip_and_bad_input() {
    let hp = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
    let mut page = vec![0u8; 4096];
    page[..8].copy_from_slice(&1000u64.to_le_bytes());
    page[8..16].copy_from_slice(&8u64.to_le_bytes());
    page[16..20].copy_from_slice(&((5u32 << 5) | 1).to_le_bytes());
    page[20..22].copy_from_slice(&7u16.to_le_bytes());
    let fmt = "name: e\nID: 7\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\nprint fmt: \"\"\n";
    let mut cpus = BTreeMap::new();
    cpus.insert(0u32, page.into());
    let t = TraceDat {
        version: 6,
        long_size: 8,
        page_size: 4096,
        header_page: hp.into(),
        header_event: "x".into(),
        formats: vec![("demo".into(), fmt.into())],
        cmdlines: "1 init\n".into(),
        buffers: vec![Buffer { name: String::new(), clock: "local".into(), page_size: 4096, cpus }],
        ..Default::default()
    };
    let mut out = Vec::new();
    t.write_v6(&mut out).unwrap();
    assert_eq!(out.len() % 4096, 0);
    let back = TraceDat::parse(&out).unwrap();
    assert_eq!(back.formats, t.formats);
    assert_eq!(back.comms()[&1], "init");
    let rec = back.recording().unwrap();
    let evs: Vec<_> = rec.events().map(|e| e.unwrap().timestamp().ns).collect();
    assert_eq!(evs, vec![1005]);
    // Written to a path: a directory is refused by name (it used to be a bare `Os { code: 21 }`).
    let dir = std::env::temp_dir();
    let e = back.write_recording_v6_to(&rec, &dir).unwrap_err();
    assert!(matches!(&e, Error::Syscall(s) if s.call == "create" && s.path() == Some(dir.as_path())), "{e:?}");
    assert_eq!(e.to_string(), format!("create {}: Is a directory (os error 21)", dir.display()));
    let file = dir.join(format!("ktrace-tracedat-{}.dat", std::process::id()));
    back.write_recording_v6_to(&rec, &file).unwrap();
    let written = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(TraceDat::parse(&written).unwrap().recording().unwrap().events().count(), 1);
    // Truncations anywhere give an error, never a panic.
    for cut in (0..out.len()).step_by(97) {
        let _ = TraceDat::parse(&out[..cut]);
    }
    assert!(matches!(TraceDat::parse(b"\x17\x08\x44tracing9\0"), Err(Error::TraceDat { .. })));
}
