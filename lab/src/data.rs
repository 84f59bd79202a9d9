//! Deterministic test data.

/// `len` deterministic, incompressible bytes: the low byte of each step of a 32-bit xorshift
/// (shifts 13, 17, 5) seeded with `seed * 2654435761` (0 is mapped to 1).
///
/// The same `(len, seed)` always gives the same bytes, so a test can write `pattern(n, s)` to the
/// source and compare what it reads back on the target with `pattern(n, s)` again; different seeds
/// give different contents. Being incompressible, the data takes real space in a pool and real
/// time to send, even with compression on (use it to fill pools or to slow a transfer down).
///
/// ```
/// let a = zsync_lab::data::pattern(4096, 7);
/// assert_eq!(a, zsync_lab::data::pattern(4096, 7));
/// assert_ne!(a, zsync_lab::data::pattern(4096, 8));
/// ```
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    let mut out = vec![0u8; len];
    // A plain loop: lab test binaries are debug builds, and tests generate up to tens of MiB.
    for b in &mut out {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn known_bytes() {
        // Pinned: lab tests compare data written in one run with data generated again, and the
        // earlier per-file copies of this generator produced exactly these bytes.
        assert_eq!(
            pattern(8, 1),
            [0x11, 0x36, 0x13, 0xcf, 0x93, 0x3b, 0x2c, 0x68]
        );
        // FNV-1a 64 of 64 KiB, computed with the earlier copies.
        let fnv = |b: &[u8]| {
            b.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &x| {
                (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
            })
        };
        assert_eq!(fnv(&pattern(1 << 16, 0)), 0x8bd2_2e82_66b1_24dd);
        assert_eq!(fnv(&pattern(1 << 16, 7)), 0x372f_ca80_894c_a3a9);
        assert_eq!(fnv(&pattern(1 << 16, 99)), 0x1810_fe00_7704_dd64);
        assert_eq!(pattern(0, 1), Vec::<u8>::new());
        // Seed 0 is usable (xorshift's fixed point 0 is avoided).
        assert!(pattern(64, 0).iter().any(|&b| b != 0));
    }

    #[test]
    fn deterministic_prefix_stable_and_seed_dependent() {
        let long = pattern(10_000, 42);
        assert_eq!(long, pattern(10_000, 42));
        assert_eq!(&long[..100], &pattern(100, 42)[..]);
        assert_ne!(long, pattern(10_000, 43));
    }

    #[test]
    fn bytes_are_spread_evenly() {
        // Incompressible enough for the lab: every byte value occurs, none far more than others.
        let v = pattern(1 << 20, 3);
        let mut counts = [0u32; 256];
        for &b in &v {
            counts[usize::from(b)] += 1;
        }
        let expected = (v.len() / 256) as u32;
        assert!(
            counts
                .iter()
                .all(|&c| c > expected * 9 / 10 && c < expected * 11 / 10),
            "{counts:?}"
        );
    }
}
