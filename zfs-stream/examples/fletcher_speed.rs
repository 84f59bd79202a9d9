//! Quick fletcher-4 throughput check: `cargo run --release -p zfs-stream --example fletcher_speed`.
use std::time::Instant;
use zfs_stream::fletcher::{fletcher4, fletcher4_reference, WordOrder};

fn main() {
    let data: Vec<u8> = (0..(256u32 << 20))
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let small = &data[..256 << 10];
    for (name, f) in [
        ("lanes-L2", fletcher4 as fn(&[u8], WordOrder) -> [u64; 4]),
        ("ref-L2", fletcher4_reference),
    ] {
        let t = Instant::now();
        let mut x = 0;
        for _ in 0..1000 {
            x ^= f(std::hint::black_box(small), WordOrder::Little)[3];
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{name:10} {:6.2} GiB/s {x:x}",
            1000.0 * small.len() as f64 / s / (1u64 << 30) as f64
        );
    }
    for round in 0..3 {
        for (name, f) in [
            ("lanes", fletcher4 as fn(&[u8], WordOrder) -> [u64; 4]),
            ("reference", fletcher4_reference),
        ] {
            let t = Instant::now();
            let v = f(&data, WordOrder::Little);
            let s = t.elapsed().as_secs_f64();
            println!(
                "round {round} {name:10} {:6.2} GiB/s {:x}",
                data.len() as f64 / s / (1u64 << 30) as f64,
                v[3]
            );
        }
    }
}
