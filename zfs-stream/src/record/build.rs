//! A writer of synthetic, well-formed send streams (records with correct
//! running checksums), for tests, benches and fuzz seeds. Enabled in this
//! crate's tests and by the `encode` feature.

use super::types::{ByteOrder, RecordType, BACKUP_MAGIC, CHECKSUM_OFFSET, RECORD_SIZE};
use crate::fletcher::Fletcher4;

/// Builds a stream record by record, the way the kernel's `dump_record` does.
#[derive(Debug, Clone)]
pub struct StreamBuilder {
    out: Vec<u8>,
    sum: Fletcher4,
    order: ByteOrder,
}

/// A 312-byte record being filled in.
pub struct Rec {
    buf: [u8; RECORD_SIZE],
    order: ByteOrder,
}

impl Rec {
    /// A zeroed record of type `t`.
    pub fn new(t: RecordType, order: ByteOrder) -> Self {
        let mut r = Rec {
            buf: [0; RECORD_SIZE],
            order,
        };
        r.u32(0, t as u32);
        r
    }
    /// Puts a u32 at `off`.
    pub fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        let b = match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        self.buf[off..off + 4].copy_from_slice(&b);
        self
    }
    /// Puts a u64 at `off`.
    pub fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        let b = match self.order {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        self.buf[off..off + 8].copy_from_slice(&b);
        self
    }
    /// Puts a byte at `off`.
    pub fn u8(&mut self, off: usize, v: u8) -> &mut Self {
        self.buf[off] = v;
        self
    }
    /// Puts raw bytes at `off`.
    pub fn bytes(&mut self, off: usize, v: &[u8]) -> &mut Self {
        let n = v.len().min(RECORD_SIZE - off);
        self.buf[off..off + n].copy_from_slice(&v[..n]);
        self
    }
}

impl StreamBuilder {
    /// An empty stream in the given byte order.
    pub fn new(order: ByteOrder) -> Self {
        StreamBuilder {
            out: Vec::new(),
            sum: Fletcher4::new(order.words()),
            order,
        }
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.out
    }

    /// The finished stream.
    pub fn finish(self) -> Vec<u8> {
        self.out
    }

    /// Appends a record (setting its running checksum unless it is a BEGIN) and its payload.
    pub fn dump(&mut self, mut rec: Rec, payload: &[u8]) -> &mut Self {
        let is_begin = rec.buf[..4] == [0, 0, 0, 0];
        if is_begin {
            self.sum.reset(self.order.words());
        }
        self.sum.update(&rec.buf[..CHECKSUM_OFFSET]);
        if !is_begin {
            let v = self.sum.value();
            for (i, w) in v.iter().enumerate() {
                rec.u64(CHECKSUM_OFFSET + 8 * i, *w);
            }
        }
        self.sum.update(&rec.buf[CHECKSUM_OFFSET..]);
        self.out.extend_from_slice(&rec.buf);
        if !payload.is_empty() {
            self.sum.update(payload);
            self.sum.discard_tail();
            self.out.extend_from_slice(payload);
        }
        self
    }

    /// Appends a record verbatim (no checksum update), like libzfs's header END.
    pub fn raw(&mut self, rec: Rec) -> &mut Self {
        self.out.extend_from_slice(&rec.buf);
        self
    }

    /// A record of type `t` in this stream's byte order.
    pub fn rec(&self, t: RecordType) -> Rec {
        Rec::new(t, self.order)
    }

    /// BEGIN with header type `hdrtype` (1 substream, 2 compound).
    #[allow(clippy::too_many_arguments)]
    pub fn begin(
        &mut self,
        hdrtype: u64,
        features: u64,
        toguid: u64,
        fromguid: u64,
        toname: &str,
        payload: &[u8],
    ) -> &mut Self {
        let mut r = self.rec(RecordType::Begin);
        r.u32(4, payload.len() as u32)
            .u64(8, BACKUP_MAGIC)
            .u64(16, hdrtype | (features << 2))
            .u64(24, 1_700_000_000)
            .u32(32, 2)
            .u32(36, 4)
            .u64(40, toguid)
            .u64(48, fromguid)
            .bytes(56, toname.as_bytes());
        self.dump(r, payload)
    }

    /// OBJECT with a bonus buffer (padded to 8 here).
    pub fn object(&mut self, object: u64, bonus: &[u8], toguid: u64) -> &mut Self {
        let mut r = self.rec(RecordType::Object);
        r.u64(8, object)
            .u32(16, 19)
            .u32(20, 44)
            .u32(24, 131072)
            .u32(28, bonus.len() as u32)
            .u64(40, toguid);
        let mut payload = bonus.to_vec();
        payload.resize(bonus.len().div_ceil(8) * 8, 0);
        self.dump(r, &payload)
    }

    /// An uncompressed WRITE of `data` at `offset`.
    pub fn write(&mut self, object: u64, offset: u64, data: &[u8], toguid: u64) -> &mut Self {
        let mut r = self.rec(RecordType::Write);
        r.u64(8, object)
            .u32(16, 19)
            .u64(24, offset)
            .u64(32, data.len() as u64)
            .u64(40, toguid);
        self.dump(r, data)
    }

    /// A compressed WRITE: `data` is the compressed payload.
    pub fn write_compressed(
        &mut self,
        object: u64,
        offset: u64,
        logical: u64,
        data: &[u8],
        toguid: u64,
    ) -> &mut Self {
        let mut r = self.rec(RecordType::Write);
        r.u64(8, object)
            .u32(16, 19)
            .u64(24, offset)
            .u64(32, logical)
            .u64(40, toguid)
            .u8(50, 15)
            .u64(96, data.len() as u64);
        self.dump(r, data)
    }

    /// FREE of a range.
    pub fn free(&mut self, object: u64, offset: u64, length: u64, toguid: u64) -> &mut Self {
        let mut r = self.rec(RecordType::Free);
        r.u64(8, object)
            .u64(16, offset)
            .u64(24, length)
            .u64(32, toguid);
        self.dump(r, &[])
    }

    /// END of a substream (carries the substream checksum).
    pub fn end(&mut self, toguid: u64) -> &mut Self {
        let v = self.sum.value();
        let mut r = self.rec(RecordType::End);
        for (i, w) in v.iter().enumerate() {
            r.u64(8 + 8 * i, *w);
        }
        r.u64(40, toguid);
        self.dump(r, &[])
    }

    /// END closing a compound header, written as libzfs does (record checksum zero).
    pub fn header_end(&mut self) -> &mut Self {
        let v = self.sum.value();
        let mut r = self.rec(RecordType::End);
        for (i, w) in v.iter().enumerate() {
            r.u64(8 + 8 * i, *w);
        }
        self.raw(r)
    }

    /// The all-zero END closing a compound stream.
    pub fn final_end(&mut self) -> &mut Self {
        let r = self.rec(RecordType::End);
        self.raw(r)
    }
}

/// A plain full stream of uncompressed WRITE records (128 KiB blocks)
/// of pseudo-random, incompressible data, about `size` bytes long.
pub fn synthetic_stream(size: usize, order: ByteOrder) -> Vec<u8> {
    synthetic(size, order, false)
}

/// Like [`synthetic_stream`], with text-like block contents that zstd
/// and lz4 compress about 3:1 (closer to real file data).
pub fn synthetic_stream_compressible(size: usize, order: ByteOrder) -> Vec<u8> {
    synthetic(size, order, true)
}

fn synthetic(size: usize, order: ByteOrder, text: bool) -> Vec<u8> {
    const WORDS: [&[u8]; 16] = [
        b"zfs ",
        b"send ",
        b"receive ",
        b"snapshot ",
        b"pool ",
        b"dataset ",
        b"the ",
        b"of ",
        b"a ",
        b"block ",
        b"checksum ",
        b"stream ",
        b"\n",
        b"0123 ",
        b"guid ",
        b"bookmark ",
    ];
    let toguid = 0x1234_5678_9abc_def0;
    let mut b = StreamBuilder::new(order);
    b.begin(1, 1 << 16 | 1 << 19, toguid, 0, "pool/fs@bench", &[]);
    b.object(2, &[7u8; 192], toguid);
    let block = 128 * 1024;
    let mut data = vec![0u8; block];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut off = 0u64;
    b.out.reserve(size + 4096);
    while b.bytes().len() < size {
        if text {
            let mut i = 0;
            while i < block {
                let r = next();
                let w = if r % 8 == 0 {
                    &r.to_le_bytes()[..]
                } else {
                    WORDS[(r >> 8) as usize % WORDS.len()]
                };
                let n = w.len().min(block - i);
                data[i..i + n].copy_from_slice(&w[..n]);
                i += n;
            }
        } else {
            for chunk in data.chunks_mut(8) {
                let v = next().to_le_bytes();
                let n = chunk.len();
                chunk.copy_from_slice(&v[..n]);
            }
        }
        let n = block.min(size.saturating_sub(b.bytes().len()).max(512));
        b.write(2, off, &data[..n], toguid);
        off += n as u64;
    }
    b.end(toguid);
    b.finish()
}
