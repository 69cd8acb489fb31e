//! Workload: a fixed amount of CPU work (N million rounds of a hash-like mix) in nested calls;
//! prints the elapsed ms.
#[inline(never)]
fn leaf(mut x: u64, n: u64) -> u64 {
    for i in 0..n {
        x = x.rotate_left(7) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    x
}

#[inline(never)]
fn middle(x: u64, n: u64) -> u64 {
    leaf(x, n) ^ leaf(x + 1, n / 4)
}

fn main() {
    let m: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3000);
    let t = std::time::Instant::now();
    let mut x = 1u64;
    for i in 0..m {
        x = middle(x ^ i, 1_000_000);
    }
    std::hint::black_box(x);
    println!("{}", t.elapsed().as_millis());
}
