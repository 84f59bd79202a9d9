//! A small decoder (and, for tests and fixtures, encoder) of packed nvlists.
//!
//! ZFS packs name-value lists in two encodings, chosen by the first byte of a
//! 4-byte header `{encoding, endian, 0, 0}`:
//! - **native** (`encoding = 0`): the in-memory `nvpair_t` layout, in the byte
//!   order given by `endian` (1 = little, 0 = big). Each list is
//!   `i32 version, u32 nvflag`, then pairs `{i32 size, i16 name_sz, i16 0,
//!   i32 nelem, i32 type, name\0, pad to 8, value, pad to 8}`, then 4 zero
//!   bytes. Embedded lists follow the pair that names them, without their own
//!   version/nvflag (those sit in the `nvlist_t` that is the pair's value).
//!   Resume tokens and BEGIN payloads of substreams use it.
//! - **XDR** (`encoding = 1`): big-endian, 4-byte units; each pair is
//!   `{i32 encoded_size, i32 decoded_size, string name, i32 type, i32 nelem, data}`
//!   and a list ends with two zero ints. Compound (`-R`) stream headers use it.
//!
//! Decoding never panics and never allocates more than the input can hold;
//! every error names the byte offset where it was found.

use std::fmt;

/// Maximum nesting of embedded nvlists accepted (the kernel allows 20).
pub const MAX_DEPTH: usize = 64;

/// The encoding of a packed nvlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `NV_ENCODE_NATIVE`.
    Native,
    /// `NV_ENCODE_XDR`.
    Xdr,
}

/// Byte order of a native-encoded nvlist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian host.
    Little,
    /// Big-endian host.
    Big,
}

/// Why a packed nvlist could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NvlistError {
    /// The input ended inside the list.
    #[error("packed nvlist truncated at byte {offset} (needed {needed} more bytes)")]
    Truncated {
        /// Byte offset where more input was needed.
        offset: usize,
        /// How many bytes were missing.
        needed: usize,
    },
    /// The header names an encoding other than native (0) or XDR (1).
    #[error("packed nvlist has unknown encoding {0} (expected 0 native or 1 XDR)")]
    UnknownEncoding(u8),
    /// The header names an endianness other than 0 or 1.
    #[error("packed nvlist has unknown endianness byte {0}")]
    UnknownEndian(u8),
    /// A pair's data type is not one nvpair defines.
    #[error("nvpair at byte {offset} has unknown data type {data_type}")]
    UnknownType {
        /// Byte offset of the pair.
        offset: usize,
        /// The type number found.
        data_type: i32,
    },
    /// A pair is malformed (sizes, counts, strings).
    #[error("malformed nvpair at byte {offset}: {reason}")]
    BadPair {
        /// Byte offset of the pair.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// Embedded lists nest deeper than [`MAX_DEPTH`].
    #[error("nvlist nested deeper than {MAX_DEPTH} levels at byte {offset}")]
    TooDeep {
        /// Byte offset of the list that was too deep.
        offset: usize,
    },
}

/// A decoded nvlist: its header fields and its pairs in stream order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Nvlist {
    /// `nvl_version` (0 in every list ZFS writes).
    pub version: i32,
    /// `nvl_nvflag` (1 = `NV_UNIQUE_NAME`).
    pub flags: u32,
    /// The pairs, in order.
    pub pairs: Vec<(String, Value)>,
}

/// The value of one nvpair.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Value {
    /// `DATA_TYPE_BOOLEAN`: a name with no value (presence means true).
    Boolean,
    BooleanValue(bool),
    Byte(u8),
    Int8(i8),
    Uint8(u8),
    Int16(i16),
    Uint16(u16),
    Int32(i32),
    Uint32(u32),
    Int64(i64),
    Uint64(u64),
    Hrtime(i64),
    /// `DATA_TYPE_DOUBLE` (userland only).
    Double(f64),
    String(String),
    Nvlist(Nvlist),
    ByteArray(Vec<u8>),
    Int8Array(Vec<i8>),
    Uint8Array(Vec<u8>),
    Int16Array(Vec<i16>),
    Uint16Array(Vec<u16>),
    Int32Array(Vec<i32>),
    Uint32Array(Vec<u32>),
    Int64Array(Vec<i64>),
    Uint64Array(Vec<u64>),
    BooleanArray(Vec<bool>),
    StringArray(Vec<String>),
    NvlistArray(Vec<Nvlist>),
}

// data_type_t numbers (sys/nvpair.h).
const T_BOOLEAN: i32 = 1;
const T_BYTE: i32 = 2;
const T_INT16: i32 = 3;
const T_UINT16: i32 = 4;
const T_INT32: i32 = 5;
const T_UINT32: i32 = 6;
const T_INT64: i32 = 7;
const T_UINT64: i32 = 8;
const T_STRING: i32 = 9;
const T_BYTE_ARRAY: i32 = 10;
const T_INT16_ARRAY: i32 = 11;
const T_UINT16_ARRAY: i32 = 12;
const T_INT32_ARRAY: i32 = 13;
const T_UINT32_ARRAY: i32 = 14;
const T_INT64_ARRAY: i32 = 15;
const T_UINT64_ARRAY: i32 = 16;
const T_STRING_ARRAY: i32 = 17;
const T_HRTIME: i32 = 18;
const T_NVLIST: i32 = 19;
const T_NVLIST_ARRAY: i32 = 20;
const T_BOOLEAN_VALUE: i32 = 21;
const T_INT8: i32 = 22;
const T_UINT8: i32 = 23;
const T_BOOLEAN_ARRAY: i32 = 24;
const T_INT8_ARRAY: i32 = 25;
const T_UINT8_ARRAY: i32 = 26;
const T_DOUBLE: i32 = 27;

/// Size of `nvlist_t` in memory, the value size of a native NVLIST pair.
const NVLIST_T_SIZE: usize = 24;
/// Size of the fixed `nvpair_t` header.
const NVPAIR_HDR: usize = 16;

impl Value {
    /// The nvpair `data_type_t` number of this value.
    pub fn data_type(&self) -> i32 {
        match self {
            Value::Boolean => T_BOOLEAN,
            Value::BooleanValue(_) => T_BOOLEAN_VALUE,
            Value::Byte(_) => T_BYTE,
            Value::Int8(_) => T_INT8,
            Value::Uint8(_) => T_UINT8,
            Value::Int16(_) => T_INT16,
            Value::Uint16(_) => T_UINT16,
            Value::Int32(_) => T_INT32,
            Value::Uint32(_) => T_UINT32,
            Value::Int64(_) => T_INT64,
            Value::Uint64(_) => T_UINT64,
            Value::Hrtime(_) => T_HRTIME,
            Value::Double(_) => T_DOUBLE,
            Value::String(_) => T_STRING,
            Value::Nvlist(_) => T_NVLIST,
            Value::ByteArray(_) => T_BYTE_ARRAY,
            Value::Int8Array(_) => T_INT8_ARRAY,
            Value::Uint8Array(_) => T_UINT8_ARRAY,
            Value::Int16Array(_) => T_INT16_ARRAY,
            Value::Uint16Array(_) => T_UINT16_ARRAY,
            Value::Int32Array(_) => T_INT32_ARRAY,
            Value::Uint32Array(_) => T_UINT32_ARRAY,
            Value::Int64Array(_) => T_INT64_ARRAY,
            Value::Uint64Array(_) => T_UINT64_ARRAY,
            Value::BooleanArray(_) => T_BOOLEAN_ARRAY,
            Value::StringArray(_) => T_STRING_ARRAY,
            Value::NvlistArray(_) => T_NVLIST_ARRAY,
        }
    }

    /// The value as an unsigned integer, for any integer type that holds a
    /// non-negative value.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Byte(v) | Value::Uint8(v) => Some(v as u64),
            Value::Uint16(v) => Some(v as u64),
            Value::Uint32(v) => Some(v as u64),
            Value::Uint64(v) => Some(v),
            Value::Int8(v) => u64::try_from(v).ok(),
            Value::Int16(v) => u64::try_from(v).ok(),
            Value::Int32(v) => u64::try_from(v).ok(),
            Value::Int64(v) | Value::Hrtime(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

impl Nvlist {
    /// An empty list with `NV_UNIQUE_NAME` set, as ZFS creates them.
    pub fn new() -> Self {
        Nvlist {
            version: 0,
            flags: 1,
            pairs: Vec::new(),
        }
    }

    /// Appends a pair (builder style).
    pub fn with(mut self, name: &str, value: Value) -> Self {
        self.pairs.push((name.to_string(), value));
        self
    }

    /// The first value named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether a pair named `name` exists (how ZFS stores boolean flags).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An integer value named `name`.
    pub fn get_u64(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(Value::as_u64)
    }

    /// A string value named `name`.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// An embedded list named `name`.
    pub fn get_nvlist(&self, name: &str) -> Option<&Nvlist> {
        match self.get(name) {
            Some(Value::Nvlist(l)) => Some(l),
            _ => None,
        }
    }

    /// A `uint64_array` named `name`.
    pub fn get_u64_array(&self, name: &str) -> Option<&[u64]> {
        match self.get(name) {
            Some(Value::Uint64Array(a)) => Some(a),
            _ => None,
        }
    }
}

impl fmt::Display for Nvlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{")?;
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            match v {
                Value::Boolean => write!(f, "{n}")?,
                Value::String(s) => write!(f, "{n}: {s:?}")?,
                Value::Nvlist(l) => write!(f, "{n}: {l}")?,
                other => write!(f, "{n}: {other:?}")?,
            }
        }
        write!(f, "}}")
    }
}

/// Decodes a packed nvlist (either encoding), reading the 4-byte header.
/// Trailing bytes after the list (e.g. padding) are ignored.
pub fn unpack(buf: &[u8]) -> Result<Nvlist, NvlistError> {
    unpack_prefix(buf).map(|(l, _)| l)
}

/// Like [`unpack`] but also returns the encoding and how many bytes the list used.
pub fn unpack_prefix(buf: &[u8]) -> Result<(Nvlist, usize), NvlistError> {
    if buf.len() < 4 {
        return Err(NvlistError::Truncated {
            offset: 0,
            needed: 4 - buf.len(),
        });
    }
    let endian = match buf[1] {
        0 => Endian::Big,
        1 => Endian::Little,
        e => return Err(NvlistError::UnknownEndian(e)),
    };
    match buf[0] {
        0 => {
            let mut c = Cursor {
                buf,
                pos: 4,
                little: endian == Endian::Little,
            };
            let l = native_list(&mut c, 0, None)?;
            Ok((l, c.pos))
        }
        1 => {
            let mut c = Cursor {
                buf,
                pos: 4,
                little: false,
            };
            let l = xdr_list(&mut c, 0)?;
            Ok((l, c.pos))
        }
        e => Err(NvlistError::UnknownEncoding(e)),
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    little: bool,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], NvlistError> {
        let avail = self.buf.len() - self.pos;
        if n > avail {
            return Err(NvlistError::Truncated {
                offset: self.pos,
                needed: n - avail,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn u32(&mut self) -> Result<u32, NvlistError> {
        let b = self.take(4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    fn i32(&mut self) -> Result<i32, NvlistError> {
        self.u32().map(|v| v as i32)
    }
    fn u64(&mut self) -> Result<u64, NvlistError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(if self.little {
            u64::from_le_bytes(a)
        } else {
            u64::from_be_bytes(a)
        })
    }
    fn u16(&mut self) -> Result<u16, NvlistError> {
        let b = self.take(2)?;
        Ok(if self.little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }
    fn u8(&mut self) -> Result<u8, NvlistError> {
        Ok(self.take(1)?[0])
    }
    /// `k` array elements, each decoded by `read`.
    fn elements<T>(
        &mut self,
        k: usize,
        mut read: impl FnMut(&mut Self) -> Result<T, NvlistError>,
    ) -> Result<Vec<T>, NvlistError> {
        (0..k).map(|_| read(self)).collect()
    }
    /// An array count, checked against the bytes left (each element needs at least `min_elem` bytes).
    fn count(&self, n: i64, min_elem: usize, at: usize) -> Result<usize, NvlistError> {
        if n < 0 {
            return Err(bad(at, "negative element count"));
        }
        let n = n as u64;
        if n.saturating_mul(min_elem.max(1) as u64) > self.remaining() as u64 {
            return Err(bad(at, "element count larger than the data"));
        }
        Ok(n as usize)
    }
}

fn bad(offset: usize, reason: &'static str) -> NvlistError {
    NvlistError::BadPair { offset, reason }
}

fn cstr(b: &[u8], at: usize) -> Result<(String, usize), NvlistError> {
    match b.iter().position(|&c| c == 0) {
        Some(n) => Ok((String::from_utf8_lossy(&b[..n]).into_owned(), n + 1)),
        None => Err(bad(at, "string without terminating NUL")),
    }
}

const fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// One native list. The top-level list starts with `version, nvflag`; an
/// embedded list does not (its `nvlist_t` in the parent pair's value holds
/// them, passed as `header`).
fn native_list(
    c: &mut Cursor<'_>,
    depth: usize,
    header: Option<(i32, u32)>,
) -> Result<Nvlist, NvlistError> {
    if depth > MAX_DEPTH {
        return Err(NvlistError::TooDeep { offset: c.pos });
    }
    let (version, flags) = match header {
        Some(h) => h,
        None => (c.i32()?, c.u32()?),
    };
    let mut list = Nvlist {
        version,
        flags,
        pairs: Vec::new(),
    };
    loop {
        let at = c.pos;
        let size = c.i32()?;
        if size == 0 {
            return Ok(list);
        }
        c.pos = at;
        if size < 0 {
            return Err(bad(at, "negative pair size"));
        }
        let size = size as usize;
        if size < align8(NVPAIR_HDR + 1) {
            return Err(bad(at, "pair size smaller than a pair header"));
        }
        let pair = c.take(size)?;
        let mut p = Cursor {
            buf: pair,
            pos: 4,
            little: c.little,
        };
        let name_sz = p.u16()? as i16;
        let _reserved = p.u16()?;
        let nelem = p.i32()?;
        let dtype = p.i32()?;
        if name_sz < 1 || NVPAIR_HDR + name_sz as usize > size {
            return Err(bad(at, "name size out of range"));
        }
        let name_bytes = &pair[NVPAIR_HDR..NVPAIR_HDR + name_sz as usize];
        let (name, _) = cstr(name_bytes, at)?;
        let voff = align8(NVPAIR_HDR + name_sz as usize);
        if voff > size {
            return Err(bad(at, "value starts past the pair"));
        }
        let mut v = Cursor {
            buf: &pair[voff..],
            pos: 0,
            little: c.little,
        };
        let value = native_value(&mut v, c, dtype, nelem, at, depth)?;
        list.pairs.push((name, value));
    }
}

fn native_value(
    v: &mut Cursor<'_>,
    outer: &mut Cursor<'_>,
    dtype: i32,
    nelem: i32,
    at: usize,
    depth: usize,
) -> Result<Value, NvlistError> {
    let n = nelem as i64;
    // Offsets inside the value are reported relative to the pair start.
    Ok(match dtype {
        T_BOOLEAN => Value::Boolean,
        T_BOOLEAN_VALUE => Value::BooleanValue(v.i32()? != 0),
        T_BYTE => Value::Byte(v.u8()?),
        T_INT8 => Value::Int8(v.u8()? as i8),
        T_UINT8 => Value::Uint8(v.u8()?),
        T_INT16 => Value::Int16(v.u16()? as i16),
        T_UINT16 => Value::Uint16(v.u16()?),
        T_INT32 => Value::Int32(v.i32()?),
        T_UINT32 => Value::Uint32(v.u32()?),
        T_INT64 => Value::Int64(v.u64()? as i64),
        T_UINT64 => Value::Uint64(v.u64()?),
        T_HRTIME => Value::Hrtime(v.u64()? as i64),
        T_DOUBLE => Value::Double(f64::from_bits(v.u64()?)),
        T_STRING => Value::String(cstr(&v.buf[v.pos..], at)?.0),
        T_BYTE_ARRAY => Value::ByteArray(v.take(v.count(n, 1, at)?)?.to_vec()),
        T_UINT8_ARRAY => Value::Uint8Array(v.take(v.count(n, 1, at)?)?.to_vec()),
        T_INT8_ARRAY => Value::Int8Array(
            v.take(v.count(n, 1, at)?)?
                .iter()
                .map(|&b| b as i8)
                .collect(),
        ),
        T_INT16_ARRAY => {
            Value::Int16Array(v.elements(v.count(n, 2, at)?, |v| v.u16().map(|x| x as i16))?)
        }
        T_UINT16_ARRAY => Value::Uint16Array(v.elements(v.count(n, 2, at)?, Cursor::u16)?),
        T_INT32_ARRAY => Value::Int32Array(v.elements(v.count(n, 4, at)?, Cursor::i32)?),
        T_UINT32_ARRAY => Value::Uint32Array(v.elements(v.count(n, 4, at)?, Cursor::u32)?),
        T_BOOLEAN_ARRAY => {
            Value::BooleanArray(v.elements(v.count(n, 4, at)?, |v| v.i32().map(|x| x != 0))?)
        }
        T_INT64_ARRAY => {
            Value::Int64Array(v.elements(v.count(n, 8, at)?, |v| v.u64().map(|x| x as i64))?)
        }
        T_UINT64_ARRAY => Value::Uint64Array(v.elements(v.count(n, 8, at)?, Cursor::u64)?),
        T_STRING_ARRAY => {
            let k = v.count(n, 9, at)?;
            v.take(k * 8)?; // pointer slots
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                let (s, used) = cstr(&v.buf[v.pos..], at)?;
                v.pos += used;
                out.push(s);
            }
            Value::StringArray(out)
        }
        T_NVLIST => {
            if v.remaining() < NVLIST_T_SIZE {
                return Err(bad(at, "nvlist value too small"));
            }
            let h = (v.i32()?, v.u32()?);
            Value::Nvlist(native_list(outer, depth + 1, Some(h))?)
        }
        T_NVLIST_ARRAY => {
            // Each embedded list needs at least its 4-byte terminator in the stream.
            let k = outer.count(n, 4, at)?;
            if (v.remaining() as u64) < (k as u64) * (8 + NVLIST_T_SIZE as u64) {
                return Err(bad(at, "nvlist array value too small"));
            }
            v.take(k * 8)?; // pointer slots
            let mut heads = Vec::with_capacity(k);
            for _ in 0..k {
                let h = (v.i32()?, v.u32()?);
                v.take(NVLIST_T_SIZE - 8)?;
                heads.push(h);
            }
            let mut out = Vec::with_capacity(k);
            for h in heads {
                out.push(native_list(outer, depth + 1, Some(h))?);
            }
            Value::NvlistArray(out)
        }
        other => {
            return Err(NvlistError::UnknownType {
                offset: at,
                data_type: other,
            })
        }
    })
}

fn xdr_string(c: &mut Cursor<'_>, at: usize) -> Result<String, NvlistError> {
    let len = c.u32()? as usize;
    if len > c.remaining() {
        return Err(bad(at, "string longer than the data"));
    }
    let s = String::from_utf8_lossy(c.take(len)?).into_owned();
    c.take((4 - len % 4) % 4)?;
    Ok(s)
}

/// An XDR array of fixed-size (`elem` bytes) elements: its count, which must equal `nelem`, then the
/// elements, each decoded by `read`.
fn xdr_array<'a, T>(
    c: &mut Cursor<'a>,
    nelem: i32,
    elem: usize,
    at: usize,
    read: impl FnMut(&mut Cursor<'a>) -> Result<T, NvlistError>,
) -> Result<Vec<T>, NvlistError> {
    let n = c.u32()?;
    if n as i64 != nelem as i64 {
        return Err(bad(at, "array count differs from nelem"));
    }
    let k = c.count(n as i64, elem, at)?;
    c.elements(k, read)
}

fn xdr_list(c: &mut Cursor<'_>, depth: usize) -> Result<Nvlist, NvlistError> {
    if depth > MAX_DEPTH {
        return Err(NvlistError::TooDeep { offset: c.pos });
    }
    let version = c.i32()?;
    let flags = c.u32()?;
    let mut list = Nvlist {
        version,
        flags,
        pairs: Vec::new(),
    };
    loop {
        let at = c.pos;
        let encoded = c.i32()?;
        let decoded = c.i32()?;
        if decoded == 0 {
            return Ok(list);
        }
        if encoded < 0 || decoded < 0 {
            return Err(bad(at, "negative pair size"));
        }
        if encoded as usize > c.remaining() + 8 {
            return Err(bad(at, "pair size larger than the data"));
        }
        let name = xdr_string(c, at)?;
        let dtype = c.i32()?;
        let nelem = c.i32()?;
        let value = xdr_value(c, dtype, nelem, at, depth)?;
        list.pairs.push((name, value));
    }
}

fn xdr_value(
    c: &mut Cursor<'_>,
    dtype: i32,
    nelem: i32,
    at: usize,
    depth: usize,
) -> Result<Value, NvlistError> {
    Ok(match dtype {
        T_BOOLEAN => Value::Boolean,
        T_BOOLEAN_VALUE => Value::BooleanValue(c.i32()? != 0),
        T_BYTE => Value::Byte(c.u32()? as u8),
        T_INT8 => Value::Int8(c.i32()? as i8),
        T_UINT8 => Value::Uint8(c.u32()? as u8),
        T_INT16 => Value::Int16(c.i32()? as i16),
        T_UINT16 => Value::Uint16(c.u32()? as u16),
        T_INT32 => Value::Int32(c.i32()?),
        T_UINT32 => Value::Uint32(c.u32()?),
        T_INT64 => Value::Int64(c.u64()? as i64),
        T_UINT64 => Value::Uint64(c.u64()?),
        T_HRTIME => Value::Hrtime(c.u64()? as i64),
        T_DOUBLE => Value::Double(f64::from_bits(c.u64()?)),
        T_STRING => Value::String(xdr_string(c, at)?),
        T_BYTE_ARRAY | T_INT8_ARRAY | T_UINT8_ARRAY => {
            let k = c.count(nelem as i64, 1, at)?;
            let b = c.take(k)?.to_vec();
            c.take((4 - k % 4) % 4)?;
            match dtype {
                T_BYTE_ARRAY => Value::ByteArray(b),
                T_UINT8_ARRAY => Value::Uint8Array(b),
                _ => Value::Int8Array(b.into_iter().map(|x| x as i8).collect()),
            }
        }
        T_INT16_ARRAY => {
            Value::Int16Array(xdr_array(c, nelem, 4, at, |c| c.i32().map(|x| x as i16))?)
        }
        T_UINT16_ARRAY => {
            Value::Uint16Array(xdr_array(c, nelem, 4, at, |c| c.u32().map(|x| x as u16))?)
        }
        T_INT32_ARRAY => Value::Int32Array(xdr_array(c, nelem, 4, at, Cursor::i32)?),
        T_UINT32_ARRAY => Value::Uint32Array(xdr_array(c, nelem, 4, at, Cursor::u32)?),
        T_BOOLEAN_ARRAY => {
            Value::BooleanArray(xdr_array(c, nelem, 4, at, |c| c.i32().map(|x| x != 0))?)
        }
        T_INT64_ARRAY => {
            Value::Int64Array(xdr_array(c, nelem, 8, at, |c| c.u64().map(|x| x as i64))?)
        }
        T_UINT64_ARRAY => Value::Uint64Array(xdr_array(c, nelem, 8, at, Cursor::u64)?),
        T_STRING_ARRAY => {
            let k = c.count(nelem as i64, 4, at)?;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                out.push(xdr_string(c, at)?);
            }
            Value::StringArray(out)
        }
        T_NVLIST => Value::Nvlist(xdr_list(c, depth + 1)?),
        T_NVLIST_ARRAY => {
            let k = c.count(nelem as i64, 16, at)?;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                out.push(xdr_list(c, depth + 1)?);
            }
            Value::NvlistArray(out)
        }
        other => {
            return Err(NvlistError::UnknownType {
                offset: at,
                data_type: other,
            })
        }
    })
}

/// Encoders for both encodings, used to build fixtures (resume tokens,
/// stream headers) in tests. Enabled in this crate's tests and by the
/// `encode` feature.
#[cfg(any(test, feature = "encode"))]
pub mod encode {
    use super::*;

    struct Out {
        buf: Vec<u8>,
        little: bool,
    }

    impl Out {
        fn u32(&mut self, v: u32) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn i32(&mut self, v: i32) {
            self.u32(v as u32)
        }
        fn u64(&mut self, v: u64) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn u16(&mut self, v: u16) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn pad_to(&mut self, start: usize, align: usize) {
            while !(self.buf.len() - start).is_multiple_of(align) {
                self.buf.push(0);
            }
        }
    }

    fn nelem(v: &Value) -> usize {
        match v {
            Value::Boolean => 0,
            Value::ByteArray(a) | Value::Uint8Array(a) => a.len(),
            Value::Int8Array(a) => a.len(),
            Value::Int16Array(a) => a.len(),
            Value::Uint16Array(a) => a.len(),
            Value::Int32Array(a) => a.len(),
            Value::Uint32Array(a) => a.len(),
            Value::Int64Array(a) => a.len(),
            Value::Uint64Array(a) => a.len(),
            Value::BooleanArray(a) => a.len(),
            Value::StringArray(a) => a.len(),
            Value::NvlistArray(a) => a.len(),
            _ => 1,
        }
    }

    /// Packs `list` with `NV_ENCODE_NATIVE` in the given byte order.
    pub fn pack_native(list: &Nvlist, endian: Endian) -> Vec<u8> {
        let little = endian == Endian::Little;
        let mut o = Out {
            buf: vec![0, little as u8, 0, 0],
            little,
        };
        native_list(&mut o, list, true);
        o.buf
    }

    fn native_list(o: &mut Out, list: &Nvlist, top: bool) {
        if top {
            o.i32(list.version);
            o.u32(list.flags);
        }
        for (name, v) in &list.pairs {
            let mut val = Out {
                buf: Vec::new(),
                little: o.little,
            };
            native_scalar(&mut val, v);
            let name_sz = name.len() + 1;
            let size = align8(NVPAIR_HDR + name_sz) + align8(val.buf.len());
            let start = o.buf.len();
            o.i32(size as i32);
            o.u16(name_sz as u16);
            o.u16(0);
            o.i32(nelem(v) as i32);
            o.i32(v.data_type());
            o.buf.extend_from_slice(name.as_bytes());
            o.buf.push(0);
            o.pad_to(start, 8);
            o.buf.extend_from_slice(&val.buf);
            o.pad_to(start, 8);
            match v {
                Value::Nvlist(l) => native_list(o, l, false),
                Value::NvlistArray(a) => a.iter().for_each(|l| native_list(o, l, false)),
                _ => {}
            }
        }
        o.i32(0);
    }

    fn native_scalar(o: &mut Out, v: &Value) {
        match v {
            Value::Boolean => {}
            Value::BooleanValue(b) => o.i32(*b as i32),
            Value::Byte(b) | Value::Uint8(b) => o.buf.push(*b),
            Value::Int8(b) => o.buf.push(*b as u8),
            Value::Int16(x) => o.u16(*x as u16),
            Value::Uint16(x) => o.u16(*x),
            Value::Int32(x) => o.i32(*x),
            Value::Uint32(x) => o.u32(*x),
            Value::Int64(x) | Value::Hrtime(x) => o.u64(*x as u64),
            Value::Uint64(x) => o.u64(*x),
            Value::Double(x) => o.u64(x.to_bits()),
            Value::String(s) => {
                o.buf.extend_from_slice(s.as_bytes());
                o.buf.push(0);
            }
            Value::ByteArray(a) | Value::Uint8Array(a) => o.buf.extend_from_slice(a),
            Value::Int8Array(a) => o.buf.extend(a.iter().map(|&x| x as u8)),
            Value::Int16Array(a) => a.iter().for_each(|&x| o.u16(x as u16)),
            Value::Uint16Array(a) => a.iter().for_each(|&x| o.u16(x)),
            Value::Int32Array(a) => a.iter().for_each(|&x| o.i32(x)),
            Value::Uint32Array(a) => a.iter().for_each(|&x| o.u32(x)),
            Value::BooleanArray(a) => a.iter().for_each(|&x| o.i32(x as i32)),
            Value::Int64Array(a) => a.iter().for_each(|&x| o.u64(x as u64)),
            Value::Uint64Array(a) => a.iter().for_each(|&x| o.u64(x)),
            Value::StringArray(a) => {
                o.buf.resize(o.buf.len() + a.len() * 8, 0);
                for s in a {
                    o.buf.extend_from_slice(s.as_bytes());
                    o.buf.push(0);
                }
            }
            Value::Nvlist(l) => nvlist_t(o, l),
            Value::NvlistArray(a) => {
                let n = o.buf.len() + a.len() * 8;
                o.buf.resize(n, 0);
                a.iter().for_each(|l| nvlist_t(o, l));
            }
        }
    }

    /// The in-memory `nvlist_t` of an embedded list: version, nvflag, then zeroed priv/flag/pad.
    fn nvlist_t(o: &mut Out, l: &Nvlist) {
        o.i32(l.version);
        o.u32(l.flags);
        let n = o.buf.len() + NVLIST_T_SIZE - 8;
        o.buf.resize(n, 0);
    }

    /// Packs `list` with `NV_ENCODE_XDR` (the header's endian byte says little).
    pub fn pack_xdr(list: &Nvlist) -> Vec<u8> {
        let mut o = Out {
            buf: vec![1, 1, 0, 0],
            little: false,
        };
        xdr_list(&mut o, list);
        o.buf
    }

    fn xdr_str(o: &mut Out, s: &str) {
        o.u32(s.len() as u32);
        let start = o.buf.len();
        o.buf.extend_from_slice(s.as_bytes());
        o.pad_to(start, 4);
    }

    fn xdr_list(o: &mut Out, list: &Nvlist) {
        o.i32(list.version);
        o.u32(list.flags);
        for (name, v) in &list.pairs {
            let mut body = Out {
                buf: Vec::new(),
                little: false,
            };
            xdr_str(&mut body, name);
            body.i32(v.data_type());
            body.i32(nelem(v) as i32);
            xdr_value(&mut body, v);
            let mut native = Out {
                buf: Vec::new(),
                little: true,
            };
            native_scalar(&mut native, v);
            let decoded = align8(NVPAIR_HDR + name.len() + 1) + align8(native.buf.len());
            o.i32((body.buf.len() + 8) as i32);
            o.i32(decoded as i32);
            o.buf.extend_from_slice(&body.buf);
        }
        o.i32(0);
        o.i32(0);
    }

    fn xdr_value(o: &mut Out, v: &Value) {
        match v {
            Value::Boolean => {}
            Value::BooleanValue(b) => o.i32(*b as i32),
            Value::Byte(b) | Value::Uint8(b) => o.u32(*b as u32),
            Value::Int8(b) => o.i32(*b as i32),
            Value::Int16(x) => o.i32(*x as i32),
            Value::Uint16(x) => o.u32(*x as u32),
            Value::Int32(x) => o.i32(*x),
            Value::Uint32(x) => o.u32(*x),
            Value::Int64(x) | Value::Hrtime(x) => o.u64(*x as u64),
            Value::Uint64(x) => o.u64(*x),
            Value::Double(x) => o.u64(x.to_bits()),
            Value::String(s) => xdr_str(o, s),
            Value::ByteArray(a) | Value::Uint8Array(a) => {
                let start = o.buf.len();
                o.buf.extend_from_slice(a);
                o.pad_to(start, 4);
            }
            Value::Int8Array(a) => {
                let start = o.buf.len();
                o.buf.extend(a.iter().map(|&x| x as u8));
                o.pad_to(start, 4);
            }
            Value::Int16Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.i32(x as i32));
            }
            Value::Uint16Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.u32(x as u32));
            }
            Value::Int32Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.i32(x));
            }
            Value::Uint32Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.u32(x));
            }
            Value::BooleanArray(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.i32(x as i32));
            }
            Value::Int64Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.u64(x as u64));
            }
            Value::Uint64Array(a) => {
                o.u32(a.len() as u32);
                a.iter().for_each(|&x| o.u64(x));
            }
            Value::StringArray(a) => a.iter().for_each(|s| xdr_str(o, s)),
            Value::Nvlist(l) => xdr_list(o, l),
            Value::NvlistArray(a) => a.iter().for_each(|l| xdr_list(o, l)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encode::*;
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Nvlist {
        Nvlist::new()
            .with("fromguid", Value::Uint64(0x1122334455667788))
            .with("toname", Value::String("pool/fs@snap".into()))
            .with("embedok", Value::Boolean)
            .with("flag", Value::BooleanValue(true))
            .with("b", Value::Byte(7))
            .with("redact_snaps", Value::Uint64Array(vec![1, 2, 3]))
            .with(
                "names",
                Value::StringArray(vec!["a".into(), "bcdefghij".into()]),
            )
            .with(
                "fss",
                Value::Nvlist(Nvlist::new().with(
                    "0x1",
                    Value::Nvlist(Nvlist::new().with("name", Value::String("pool/fs".into()))),
                )),
            )
            .with(
                "arr",
                Value::NvlistArray(vec![
                    Nvlist::new().with("x", Value::Int32(-5)),
                    Nvlist::new(),
                ]),
            )
            .with("after", Value::Uint32(9))
    }

    #[test]
    fn native_round_trip_both_orders() {
        let l = sample();
        for e in [Endian::Little, Endian::Big] {
            let packed = pack_native(&l, e);
            assert_eq!(unpack(&packed).unwrap(), l);
        }
    }

    #[test]
    fn xdr_round_trip() {
        let l = sample();
        assert_eq!(unpack(&pack_xdr(&l)).unwrap(), l);
    }

    #[test]
    fn native_layout_of_one_uint64() {
        // {"ab": uint64 5}, little endian: header, version, flags, one pair, end.
        let l = Nvlist::new().with("ab", Value::Uint64(5));
        let p = pack_native(&l, Endian::Little);
        let mut want = vec![0u8, 1, 0, 0];
        want.extend_from_slice(&0i32.to_le_bytes());
        want.extend_from_slice(&1u32.to_le_bytes());
        want.extend_from_slice(&32i32.to_le_bytes()); // 16 + align8(3) + 8
        want.extend_from_slice(&3i16.to_le_bytes());
        want.extend_from_slice(&0i16.to_le_bytes());
        want.extend_from_slice(&1i32.to_le_bytes());
        want.extend_from_slice(&8i32.to_le_bytes());
        want.extend_from_slice(b"ab\0\0\0\0\0\0");
        want.extend_from_slice(&5u64.to_le_bytes());
        want.extend_from_slice(&0i32.to_le_bytes());
        assert_eq!(p, want);
    }

    #[test]
    fn errors_name_offsets() {
        let p = pack_native(&sample(), Endian::Little);
        for cut in [0, 3, 4, 11, 20, p.len() - 1] {
            assert!(unpack(&p[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad_enc = p.clone();
        bad_enc[0] = 7;
        assert_eq!(unpack(&bad_enc), Err(NvlistError::UnknownEncoding(7)));
        let mut bad_type = p.clone();
        bad_type[12 + 12] = 99; // type of first pair
        assert!(matches!(
            unpack(&bad_type),
            Err(NvlistError::UnknownType {
                offset: 12,
                data_type: 99
            })
        ));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut l = Nvlist::new();
        for _ in 0..(MAX_DEPTH + 2) {
            l = Nvlist::new().with("n", Value::Nvlist(l));
        }
        assert!(matches!(
            unpack(&pack_native(&l, Endian::Little)),
            Err(NvlistError::TooDeep { .. })
        ));
        assert!(matches!(
            unpack(&pack_xdr(&l)),
            Err(NvlistError::TooDeep { .. })
        ));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Boolean),
            any::<bool>().prop_map(Value::BooleanValue),
            any::<u8>().prop_map(Value::Byte),
            any::<i8>().prop_map(Value::Int8),
            any::<u8>().prop_map(Value::Uint8),
            any::<i16>().prop_map(Value::Int16),
            any::<u16>().prop_map(Value::Uint16),
            any::<i32>().prop_map(Value::Int32),
            any::<u32>().prop_map(Value::Uint32),
            any::<i64>().prop_map(Value::Int64),
            any::<u64>().prop_map(Value::Uint64),
            any::<i64>().prop_map(Value::Hrtime),
            "[a-z/@#_.-]{0,20}".prop_map(Value::String),
            proptest::collection::vec(any::<u8>(), 0..9).prop_map(Value::ByteArray),
            proptest::collection::vec(any::<i8>(), 0..9).prop_map(Value::Int8Array),
            proptest::collection::vec(any::<u8>(), 0..9).prop_map(Value::Uint8Array),
            proptest::collection::vec(any::<i16>(), 0..5).prop_map(Value::Int16Array),
            proptest::collection::vec(any::<u16>(), 0..5).prop_map(Value::Uint16Array),
            proptest::collection::vec(any::<i32>(), 0..5).prop_map(Value::Int32Array),
            proptest::collection::vec(any::<u32>(), 0..5).prop_map(Value::Uint32Array),
            proptest::collection::vec(any::<i64>(), 0..5).prop_map(Value::Int64Array),
            proptest::collection::vec(any::<u64>(), 0..5).prop_map(Value::Uint64Array),
            proptest::collection::vec(any::<bool>(), 0..5).prop_map(Value::BooleanArray),
            proptest::collection::vec("[a-z0-9]{0,12}", 0..4).prop_map(Value::StringArray),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let list =
                proptest::collection::vec(("[a-z_]{1,10}", inner), 0..4).prop_map(|pairs| Nvlist {
                    version: 0,
                    flags: 1,
                    pairs,
                });
            prop_oneof![
                list.clone().prop_map(Value::Nvlist),
                proptest::collection::vec(list, 0..3).prop_map(Value::NvlistArray),
            ]
        })
    }

    fn arb_list() -> impl Strategy<Value = Nvlist> {
        proptest::collection::vec(("[a-z_]{1,12}", arb_value()), 0..6).prop_map(|pairs| Nvlist {
            version: 0,
            flags: 1,
            pairs,
        })
    }

    proptest! {
        #[test]
        fn round_trip_native(l in arb_list(), big in any::<bool>()) {
            let e = if big { Endian::Big } else { Endian::Little };
            let packed = pack_native(&l, e);
            let (back, used) = unpack_prefix(&packed).unwrap();
            prop_assert_eq!(back, l);
            prop_assert_eq!(used, packed.len());
        }

        #[test]
        fn round_trip_xdr(l in arb_list()) {
            let packed = pack_xdr(&l);
            let (back, used) = unpack_prefix(&packed).unwrap();
            prop_assert_eq!(back, l);
            prop_assert_eq!(used, packed.len());
        }

        #[test]
        fn random_bytes_never_panic(mut data in proptest::collection::vec(any::<u8>(), 0..512),
                                    xdr in any::<bool>()) {
            if data.len() >= 2 {
                data[0] = xdr as u8;
                data[1] &= 1;
            }
            let _ = unpack(&data);
        }

        #[test]
        fn mutated_lists_never_panic(l in arb_list(), pos in any::<usize>(), byte in any::<u8>(),
                                     xdr in any::<bool>()) {
            let mut packed = if xdr { pack_xdr(&l) } else { pack_native(&l, Endian::Little) };
            let i = pos % packed.len();
            packed[i] = byte;
            let _ = unpack(&packed);
            let cut = pos % packed.len();
            let _ = unpack(&packed[..cut]);
        }
    }
}
