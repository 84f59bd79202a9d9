//! Fletcher-4, the checksum ZFS uses for send streams and resume tokens.
//!
//! The sum runs over 32-bit words and keeps four 64-bit accumulators
//! (`a += w; b += a; c += b; d += c`, all wrapping). ZFS computes it over the
//! words in the byte order of the host that wrote the stream ("native"), so a
//! stream written by a big-endian host is summed with byte-swapped words
//! ([`WordOrder::Big`]).
//!
//! [`Fletcher4`] is incremental and accepts arbitrary splits: bytes that do not
//! complete a word are kept until the next [`Fletcher4::update`]. The bulk loop
//! folds four words per step with the closed form of four single steps, which
//! shortens the dependency chain between accumulators.

/// Byte order of the 32-bit words summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordOrder {
    /// Little-endian words (streams written on x86, arm64 ...).
    #[default]
    Little,
    /// Big-endian words (streams written on SPARC, POWER BE, s390x).
    Big,
}

/// An incremental fletcher-4 checksum.
#[derive(Debug, Clone, Default)]
pub struct Fletcher4 {
    state: [u64; 4],
    order: WordOrder,
    tail: [u8; 4],
    tail_len: usize,
}

impl Fletcher4 {
    /// A fresh sum (all accumulators zero) over words of the given order.
    pub fn new(order: WordOrder) -> Self {
        Self {
            state: [0; 4],
            order,
            tail: [0; 4],
            tail_len: 0,
        }
    }

    /// The word order this sum uses.
    pub fn order(&self) -> WordOrder {
        self.order
    }

    /// Restarts the sum from zero (keeping the word order).
    pub fn reset(&mut self, order: WordOrder) {
        *self = Self::new(order);
    }

    /// Folds `data` into the sum. Splits need not be word aligned.
    pub fn update(&mut self, mut data: &[u8]) {
        if self.tail_len > 0 {
            let take = (4 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 4 {
                return;
            }
            let word = self.tail;
            self.tail_len = 0;
            self.fold_words(&word);
        }
        let whole = data.len() & !3;
        self.fold_words(&data[..whole]);
        let rest = &data[whole..];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The current sum. Bytes that do not complete a word are ignored, as
    /// ZFS's `fletcher_4_native_varsize` does.
    pub fn value(&self) -> [u64; 4] {
        self.state
    }

    /// Drops buffered bytes that do not form a whole word, as ZFS does at
    /// the end of each incremental update.
    pub fn discard_tail(&mut self) {
        self.tail_len = 0;
    }

    /// Number of buffered bytes (0..=3) that do not yet form a word.
    pub fn pending(&self) -> usize {
        self.tail_len
    }

    fn fold_words(&mut self, bytes: &[u8]) {
        match self.order {
            WordOrder::Little => fold::<true>(&mut self.state, bytes),
            WordOrder::Big => fold::<false>(&mut self.state, bytes),
        }
    }
}

/// One-shot fletcher-4 of `data` (trailing bytes past the last whole word are ignored).
pub fn fletcher4(data: &[u8], order: WordOrder) -> [u64; 4] {
    let mut f = Fletcher4::new(order);
    f.update(data);
    f.value()
}

#[inline(always)]
fn word<const LE: bool>(b: &[u8]) -> u64 {
    let w = [b[0], b[1], b[2], b[3]];
    if LE {
        u32::from_le_bytes(w) as u64
    } else {
        u32::from_be_bytes(w) as u64
    }
}

/// Folds whole words (`bytes.len()` is a multiple of 4).
#[inline]
fn fold<const LE: bool>(state: &mut [u64; 4], bytes: &[u8]) {
    let [mut a, mut b, mut c, mut d] = *state;
    let mut blocks = bytes.chunks_exact(16);
    for blk in &mut blocks {
        let w0 = word::<LE>(&blk[0..4]);
        let w1 = word::<LE>(&blk[4..8]);
        let w2 = word::<LE>(&blk[8..12]);
        let w3 = word::<LE>(&blk[12..16]);
        // Four single steps in closed form (binomial weights).
        let s1 = w0.wrapping_add(w1).wrapping_add(w2).wrapping_add(w3);
        let s2 = (w0.wrapping_mul(4))
            .wrapping_add(w1.wrapping_mul(3))
            .wrapping_add(w2.wrapping_mul(2))
            .wrapping_add(w3);
        let s3 = (w0.wrapping_mul(10))
            .wrapping_add(w1.wrapping_mul(6))
            .wrapping_add(w2.wrapping_mul(3))
            .wrapping_add(w3);
        let s4 = (w0.wrapping_mul(20))
            .wrapping_add(w1.wrapping_mul(10))
            .wrapping_add(w2.wrapping_mul(4))
            .wrapping_add(w3);
        d = d
            .wrapping_add(c.wrapping_mul(4))
            .wrapping_add(b.wrapping_mul(10))
            .wrapping_add(a.wrapping_mul(20))
            .wrapping_add(s4);
        c = c
            .wrapping_add(b.wrapping_mul(4))
            .wrapping_add(a.wrapping_mul(10))
            .wrapping_add(s3);
        b = b.wrapping_add(a.wrapping_mul(4)).wrapping_add(s2);
        a = a.wrapping_add(s1);
    }
    for w in blocks.remainder().chunks_exact(4) {
        a = a.wrapping_add(word::<LE>(w));
        b = b.wrapping_add(a);
        c = c.wrapping_add(b);
        d = d.wrapping_add(c);
    }
    *state = [a, b, c, d];
}

/// The plain one-word-at-a-time definition, kept as the reference the fast
/// loop is tested against (and benchmarked against).
#[doc(hidden)]
pub fn fletcher4_reference(data: &[u8], order: WordOrder) -> [u64; 4] {
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for w in data.chunks_exact(4) {
        let w = match order {
            WordOrder::Little => u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
            WordOrder::Big => u32::from_be_bytes([w[0], w[1], w[2], w[3]]),
        } as u64;
        a = a.wrapping_add(w);
        b = b.wrapping_add(a);
        c = c.wrapping_add(b);
        d = d.wrapping_add(c);
    }
    [a, b, c, d]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_small_values() {
        // words 1,2: a=3, b=1+3=4, c=1+4=5, d=1+5=6
        let data = [1u8, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(fletcher4(&data, WordOrder::Little), [3, 4, 5, 6]);
        let be = [0u8, 0, 0, 1, 0, 0, 0, 2];
        assert_eq!(fletcher4(&be, WordOrder::Big), [3, 4, 5, 6]);
    }

    #[test]
    fn wraps_without_panicking() {
        let data = vec![0xffu8; 1 << 20];
        assert_eq!(
            fletcher4(&data, WordOrder::Little),
            fletcher4_reference(&data, WordOrder::Little)
        );
    }

    proptest! {
        #[test]
        fn fast_matches_reference(data in proptest::collection::vec(any::<u8>(), 0..600),
                                  big in any::<bool>()) {
            let order = if big { WordOrder::Big } else { WordOrder::Little };
            prop_assert_eq!(fletcher4(&data, order), fletcher4_reference(&data, order));
        }

        #[test]
        fn arbitrary_splits_match(data in proptest::collection::vec(any::<u8>(), 0..600),
                                  cuts in proptest::collection::vec(0usize..600, 0..8)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut f = Fletcher4::new(WordOrder::Little);
            let mut prev = 0;
            for c in cuts.into_iter().chain(std::iter::once(data.len())) {
                f.update(&data[prev..c]);
                prev = c;
            }
            prop_assert_eq!(f.value(), fletcher4_reference(&data, WordOrder::Little));
            prop_assert_eq!(f.pending(), data.len() % 4);
        }
    }
}
