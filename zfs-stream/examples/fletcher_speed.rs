//! Quick fletcher-4 throughput check: `cargo run --release -p zfs-stream --example fletcher_speed`.
//! Each kernel in cache (256 KiB, as the pipe inspects) and from memory (256 MiB).
use std::time::Instant;
use zfs_stream::fletcher::{fletcher4_reference, fletcher4_with, Kernel, WordOrder};

fn gibs(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / (1u64 << 30) as f64
}

fn main() {
    let data: Vec<u8> = (0..(256u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let small = &data[..256 << 10];
    let want = fletcher4_reference(small, WordOrder::Little);
    for k in Kernel::available() {
        for order in [WordOrder::Little, WordOrder::Big] {
            let t = Instant::now();
            let mut x = 0;
            for _ in 0..2000 {
                x ^= fletcher4_with(k, std::hint::black_box(small), order).unwrap_or_default()[3];
            }
            let l2 = gibs(2000 * small.len(), t.elapsed().as_secs_f64());
            let t = Instant::now();
            let v = fletcher4_with(k, &data, order).unwrap_or_default();
            let mem = gibs(data.len(), t.elapsed().as_secs_f64());
            assert_eq!(v, fletcher4_reference(&data, order));
            println!(
                "{k:?} {order:?}: {l2:6.2} GiB/s in cache, {mem:6.2} GiB/s from memory {:x}",
                x & 1
            );
        }
    }
    let t = Instant::now();
    let mut x = 0;
    for _ in 0..500 {
        x ^= fletcher4_reference(std::hint::black_box(small), WordOrder::Little)[3];
    }
    println!(
        "reference: {:6.2} GiB/s in cache {:x}",
        gibs(500 * small.len(), t.elapsed().as_secs_f64()),
        (x ^ want[3]) & 1
    );
}
