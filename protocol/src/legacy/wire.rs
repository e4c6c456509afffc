//! The legacy protocol's primitive fields.
//!
//! A legacy message has no frame length: it is a sequence of fields, each an
//! integer in little-endian order or an array sent as a u64 length followed by
//! its bytes. A decoder therefore first walks the fields over the bytes
//! received so far; when one is missing it reports [`WireError::Incomplete`]
//! and the caller waits for more input. Lengths are checked against a limit
//! before anything is buffered for them, so a lying length field costs
//! nothing but the connection.

use bytes::{BufMut, BytesMut};

/// Why a field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// More bytes are needed; nothing was consumed.
    #[error("incomplete message")]
    Incomplete,
    /// An array claims more bytes than the protocol allows for it.
    #[error("{field} length {len} exceeds the limit of {limit} bytes")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The claimed length.
        len: u64,
        /// The limit for that field.
        limit: u64,
    },
    /// A field's bytes cannot mean anything valid (e.g. a bad enum value).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The request code is not one the node knows.
    #[error("unknown request code {0}")]
    UnknownCommand(u32),
}

/// A cursor over received bytes that reads legacy fields.
#[derive(Debug, Clone)]
pub struct WireReader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> WireReader<'a> {
    /// A reader at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        WireReader { input, position: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Bytes received but not yet consumed.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.position
    }

    /// The next `len` raw bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        self.take(len)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        if self.remaining() < len {
            return Err(WireError::Incomplete);
        }
        let bytes = &self.input[self.position..self.position + len];
        self.position += len;
        Ok(bytes)
    }

    /// A u8.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    /// A u16, little-endian.
    pub fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }

    /// A u32, little-endian.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    /// A u64, little-endian.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    /// An array (u64 length, then bytes) of at most `limit` bytes.
    pub fn array(&mut self, field: &'static str, limit: u64) -> Result<&'a [u8], WireError> {
        let len = self.u64()?;
        if len > limit {
            return Err(WireError::TooLong { field, len, limit });
        }
        self.take(len as usize)
    }
}

/// Appends a u32, little-endian.
pub fn put_u32(out: &mut BytesMut, value: u32) {
    out.put_u32_le(value);
}

/// Appends a u64, little-endian.
pub fn put_u64(out: &mut BytesMut, value: u64) {
    out.put_u64_le(value);
}

/// Appends an array: u64 length, then the bytes.
pub fn put_array(out: &mut BytesMut, bytes: &[u8]) {
    out.reserve(8 + bytes.len());
    out.put_u64_le(bytes.len() as u64);
    out.put_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_wait_for_their_bytes_and_refuse_lying_lengths() {
        let mut out = BytesMut::new();
        put_array(&mut out, b"test_channel");
        for cut in 0..out.len() {
            let mut reader = WireReader::new(&out[..cut]);
            assert_eq!(reader.array("channel", 100), Err(WireError::Incomplete));
        }
        let mut reader = WireReader::new(&out);
        assert_eq!(reader.array("channel", 100), Ok(&b"test_channel"[..]));
        assert_eq!(reader.remaining(), 0);

        let lie = u64::MAX.to_le_bytes();
        let mut reader = WireReader::new(&lie);
        assert!(matches!(reader.array("value", 1 << 20), Err(WireError::TooLong { .. })));
    }
}
