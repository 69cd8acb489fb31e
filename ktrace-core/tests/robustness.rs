//! Bounded mutation test: thousands of corrupted fixtures through every parser, no panics.
//!
//! Runs in CI in a few seconds. The cargo-fuzz targets in `fuzz/` explore the same parsers without a bound.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::path::Path;

use ktrace_core::page::check_header_event;
use ktrace_core::{Endian, EventFormat, FormatRegistry, PageItem, PageLayout, Pages, PerfRing, RawData};

use ktrace_testing::Rng;

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        if data.is_empty() {
            return;
        }
        let i = rng.below(data.len());
        match rng.below(6) {
            0 => data[i] ^= 1 << rng.below(8),
            1 => data[i] = rng.next() as u8,
            2 => data[i] = [0, 0xff, 29, 30, 31, 0x80][rng.below(6)],
            3 => data.truncate(i),
            4 => {
                let v = (rng.next() as u32).to_le_bytes();
                let end = (i + 4).min(data.len());
                data[i..end].copy_from_slice(&v[..end - i]);
            }
            _ => data.insert(i, rng.next() as u8),
        }
    }
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn decode_all(reg: &FormatRegistry, buf: &[u8], page_size: usize) -> usize {
    let mut n = 0;
    for item in Pages::new(buf, page_size, PageLayout::LE64, 0) {
        let Ok(PageItem::Event(ev)) = item else {
            continue;
        };
        let rec = RawData::Single(ev.data);
        if let Ok(id) = ev.id(Endian::Little)
            && let Some(f) = reg.peek(id)
        {
            for field in f.fields.iter().chain(&f.common_fields) {
                let _ = field.value(rec, Endian::Little);
            }
        }
        n += 1;
    }
    n
}

fn registry() -> (FormatRegistry, Vec<String>) {
    let mut reg = FormatRegistry::new();
    let mut texts = Vec::new();
    for sys in std::fs::read_dir(fixtures().join("formats")).unwrap() {
        for ev in std::fs::read_dir(sys.unwrap().path()).unwrap() {
            let t = std::fs::read_to_string(ev.unwrap().path().join("format")).unwrap();
            reg.add_text("x", &t).unwrap();
            texts.push(t);
        }
    }
    (reg, texts)
}

#[test]
fn mutated_pages_never_panic() {
    assert!(ktrace_testing::overflow_checks_on(), "robustness tests need overflow checks (no --release)");
    let (reg, _) = registry();
    let mut rng = Rng::new(0x6b74_7261_6365);
    let mut total = 0;
    for (name, page) in [("raw_syscalls", 4096), ("trace_marker", 4096), ("missed_events", 4096), ("subbuf_8k", 8192)] {
        let orig = std::fs::read(fixtures().join(format!("{name}.raw"))).unwrap();
        assert!(decode_all(&reg, &orig, page) > 0);
        for _ in 0..1500 {
            let mut m = orig.clone();
            mutate(&mut rng, &mut m);
            decode_all(&reg, &m, page);
            total += 1;
        }
    }
    assert_eq!(total, 6000);
}

#[test]
fn mutated_format_texts_never_panic() {
    let (_, texts) = registry();
    let mut rng = Rng::new(42);
    let headers = [
        std::fs::read_to_string(fixtures().join("header_page")).unwrap(),
        std::fs::read_to_string(fixtures().join("header_event")).unwrap(),
    ];
    for i in 0..4000 {
        let base = if i % 10 == 0 { &headers[i % 20 / 10] } else { &texts[i % texts.len()] };
        let mut m = base.clone().into_bytes();
        mutate(&mut rng, &mut m);
        let s = String::from_utf8_lossy(&m);
        if let Ok(f) = EventFormat::parse("x", &s) {
            // Decoding a record with a corrupt format must not panic either.
            let rec = vec![0xa5u8; 64];
            for field in &f.fields {
                let _ = field.value(RawData::Single(&rec), Endian::Big);
            }
        }
        let _ = PageLayout::from_header_page(&s, Endian::Little);
        let _ = check_header_event(&s);
    }
}

#[test]
fn mutated_perf_rings_never_panic() {
    let mut rng = Rng::new(7);
    let mut ring = vec![0u8; 256];
    let mut pos = 0usize;
    for ty in [9u32, 2, 3, 10, 99] {
        let size = 8 + 8 * (ty as usize % 4 + 1);
        ring[pos % 256..pos % 256 + 4].copy_from_slice(&ty.to_ne_bytes());
        ring[pos % 256 + 6..pos % 256 + 8].copy_from_slice(&(size as u16).to_ne_bytes());
        pos += size;
    }
    for _ in 0..3000 {
        let mut m = ring.clone();
        mutate(&mut rng, &mut m);
        let tail = rng.next() % 512;
        let head = tail + rng.next() % 300;
        let layout = ktrace_core::perf::RecordLayout::new(
            ktrace_core::perf::SampleType::from_bits_retain(rng.next() & 0x1ffff),
            rng.below(2) == 0,
        );
        let mut scratch = Vec::new();
        for r in PerfRing::new(&m, tail, head).flatten() {
            let _ = r.body.to_vec();
            let _ = r.contiguous(&mut scratch).parse(&layout);
        }
    }
}
