//! Reading and writing the fields of a neo message payload: `u8`, `bool`,
//! `u32`/`u64` little-endian and arrays (`u64` length + bytes), as swarm's
//! message parser lays them out. Every length is checked against the bytes
//! actually present before anything is sliced or allocated.

use super::request::RequestError;

/// Reads fields off the front of a payload.
pub struct PayloadReader<'a> {
    buf: &'a [u8],
}

impl<'a> PayloadReader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The next `n` raw bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RequestError> {
        if self.buf.len() < n {
            return Err(RequestError::Truncated {
                field,
                needed: n as u64,
                available: self.buf.len(),
            });
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// One byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, RequestError> {
        Ok(self.take(1, field)?[0])
    }

    /// A D `bool`: one byte, anything but 0 is true.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, RequestError> {
        Ok(self.u8(field)? != 0)
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, RequestError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, RequestError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// `u64` length + bytes; the length is checked against what is left
    /// before any conversion to `usize`, so a huge length cannot overflow.
    pub fn array(&mut self, field: &'static str) -> Result<&'a [u8], RequestError> {
        let len = self.u64(field)?;
        if len > self.buf.len() as u64 {
            return Err(RequestError::Truncated {
                field,
                needed: len,
                available: self.buf.len(),
            });
        }
        self.take(len as usize, field)
    }

    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whatever is left, unparsed.
    pub fn rest(self) -> &'a [u8] {
        self.buf
    }

    /// Checks that nothing is left over.
    pub fn finish(self) -> Result<(), RequestError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(RequestError::TrailingBytes(self.buf.len()))
        }
    }
}

/// Appends an array: `u64` length, then the bytes.
pub fn put_array(out: &mut Vec<u8>, a: &[u8]) {
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    out.extend_from_slice(a);
}

