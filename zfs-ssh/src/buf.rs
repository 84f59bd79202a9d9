//! A bounded byte queue for the I/O thread: bytes go in at the back (read from a pipe or a channel)
//! and leave from the front (written to a channel or a pipe). The front stays where it is until
//! consumed, which libssh2 needs: a channel write that returned EAGAIN is retried with the same
//! leading bytes.

/// How much one direction of one channel may hold before its reader is no longer polled.
pub(crate) const CAP: usize = 256 * 1024;

/// A byte queue.
#[derive(Debug, Default)]
pub(crate) struct Buf {
    data: Vec<u8>,
    start: usize,
}

impl Buf {
    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    /// Nothing queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Below [`CAP`]: worth reading more into.
    pub(crate) fn has_room(&self) -> bool {
        self.len() < CAP
    }

    /// The queued bytes, oldest first.
    pub(crate) fn front(&self) -> &[u8] {
        &self.data[self.start..]
    }

    /// Drops `n` bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n.min(self.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        } else if self.start >= 64 * 1024 && self.start * 2 >= self.data.len() {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.start = 0;
    }

    /// Appends up to `chunk` bytes produced by `fill` (which returns how many it wrote into the
    /// slice it is given); returns what `fill` returned.
    pub(crate) fn fill_with<E>(
        &mut self,
        chunk: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let old = self.data.len();
        self.data.resize(old + chunk, 0);
        let r = fill(&mut self.data[old..]);
        let n = *r.as_ref().unwrap_or(&0);
        self.data.truncate(old + n.min(chunk));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_compaction() {
        let mut b = Buf::default();
        assert!(b.is_empty() && b.has_room());
        let n: Result<usize, ()> = b.fill_with(10, |s| {
            s[..3].copy_from_slice(b"abc");
            Ok(3)
        });
        assert_eq!(n, Ok(3));
        assert_eq!(b.front(), b"abc");
        b.consume(1);
        assert_eq!(b.front(), b"bc");
        let e: Result<usize, &str> = b.fill_with(10, |_| Err("x"));
        assert_eq!(e, Err("x"));
        assert_eq!(b.front(), b"bc");
        // Many bytes in, most out: the front stays right across compaction.
        for i in 0..100u8 {
            let _: Result<usize, ()> = b.fill_with(4096, |s| {
                s.fill(i);
                Ok(4096)
            });
        }
        b.consume(2 + 4096 * 60);
        assert_eq!(b.len(), 4096 * 40);
        assert!(b.front().iter().take(4096).all(|&x| x == 60));
        assert!(!b.has_room() || b.len() < CAP);
        b.clear();
        assert!(b.is_empty());
        b.consume(5);
        assert!(b.is_empty());
    }
}
