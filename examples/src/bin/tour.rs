//! The tour (written below).
fn main() {}
