//! Proves the hot path is zero-copy: iterating and decoding pages of real events allocates nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic, reason = "tests fail by panicking")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use ktrace_core::{Endian, FormatRegistry, PageItem, PageLayout, Pages, RawData};

struct Counting;
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter only touches const-initialized thread locals.
#[allow(unsafe_code, reason = "a global allocator is an unsafe trait; this one only counts")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn iterating_and_decoding_pages_allocates_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let raw = std::fs::read(dir.join("raw_syscalls.raw")).unwrap();
    let mut reg = FormatRegistry::new();
    for ev in ["sys_enter", "sys_exit"] {
        let t = std::fs::read_to_string(dir.join(format!("formats/raw_syscalls/{ev}/format"))).unwrap();
        reg.add_text("raw_syscalls", &t).unwrap();
    }
    let id_field = reg.by_name("raw_syscalls", "sys_enter").unwrap().require("id").unwrap().clone();
    let pid_field = reg.by_name("raw_syscalls", "sys_enter").unwrap().require("common_pid").unwrap().clone();

    COUNTING.with(|c| c.set(true));
    let mut n = 0u64;
    let mut sum = 0i64;
    for item in Pages::new(&raw, 4096, PageLayout::LE64, 0) {
        if let PageItem::Event(ev) = item.unwrap() {
            let rec = RawData::Single(ev.data);
            let id = ev.id(Endian::Little).unwrap();
            assert!(reg.peek(id).is_some());
            sum += id_field.i64(rec, Endian::Little).unwrap() + pid_field.i64(rec, Endian::Little).unwrap();
            n += 1;
        }
    }
    COUNTING.with(|c| c.set(false));
    assert!(n > 500 && sum != 0);
    assert_eq!(ALLOCS.with(Cell::get), 0, "the page walk and field decoding allocated");
}
