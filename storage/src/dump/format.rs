//! Reading and writing the bytes of a `.tcm` dump.
//!
//! Layout (all integers u64 little-endian):
//!
//! | what | bytes |
//! |---|---|
//! | format version, always 0 | 8 |
//! | per record: key length K (16), key as lower-case hex | 8 + K |
//! | value length V, value | 8 + V |
//! | end marker: a key length of 0 | 8 |
//! | zeros up to the next multiple of 512 (the original writes with direct I/O) | 0..511 |
//!
//! The reader also accepts what the original accepts: upper-case hex keys,
//! 8-byte binary (little-endian) keys written by some of its development
//! builds, and anything after the end marker. Lengths are never trusted for
//! allocation: bytes are read as they come, so a lying length runs into the
//! end of the file and is reported as truncation.

use std::io::{self, Read, Write};

use crate::dht::hash::{format_hex_key, parse_hex_key};

/// The only format version the original writes and reads.
pub const FORMAT_VERSION: u64 = 0;

/// Dumps are padded to a multiple of this, as the original's direct-I/O
/// writer does.
pub const BLOCK: u64 = 512;

/// Longest key accepted; the original writes 16 (or 8) bytes.
const MAX_KEY_LEN: u64 = 1024;

/// Why a dump could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Reading failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file is not format version 0.
    #[error("unsupported dump file version {0}")]
    Version(u64),
    /// The file ends before its end marker (a crash during the write, or a
    /// length field that points past the end).
    #[error("dump file truncated after {records} records ({offset} bytes read)")]
    Truncated {
        /// Records read completely.
        records: u64,
        /// Bytes read.
        offset: u64,
    },
    /// A key length that no writer produces.
    #[error("invalid key length {len} at byte {offset}")]
    KeyLength {
        /// The claimed length.
        len: u64,
        /// Where the length field is.
        offset: u64,
    },
}

/// What a record's key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKey {
    /// A valid key.
    Hash(u64),
    /// Not a key the original accepts (it logs and skips such records).
    Invalid,
}

/// Writes a dump to any writer (the caller buffers and syncs).
pub struct DumpWriter<W: Write> {
    out: W,
    written: u64,
    records: u64,
}

impl<W: Write> DumpWriter<W> {
    /// Starts a dump: writes the format version.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&FORMAT_VERSION.to_le_bytes())?;
        Ok(DumpWriter { out, written: 8, records: 0 })
    }

    /// Appends one record.
    pub fn record(&mut self, key: u64, value: &[u8]) -> io::Result<()> {
        self.out.write_all(&16u64.to_le_bytes())?;
        self.out.write_all(&format_hex_key(key))?;
        self.out.write_all(&(value.len() as u64).to_le_bytes())?;
        self.out.write_all(value)?;
        self.written += 32 + value.len() as u64;
        self.records += 1;
        Ok(())
    }

    /// Appends `records` records already laid out by [`encode_record`], so a
    /// caller can copy records out of a channel under a short lock and write
    /// them in one go.
    pub fn encoded_records(&mut self, bytes: &[u8], records: u64) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        self.records += records;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Writes the end marker and the padding; returns the writer and the
    /// file's total size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.out.write_all(&0u64.to_le_bytes())?;
        self.written += 8;
        let padding = (BLOCK - self.written % BLOCK) % BLOCK;
        self.out.write_all(&vec![0u8; padding as usize])?;
        Ok((self.out, self.written + padding))
    }
}

/// Lays out one record as a dump stores it, for
/// [`DumpWriter::encoded_records`].
pub fn encode_record(out: &mut Vec<u8>, key: u64, value: &[u8]) {
    out.extend_from_slice(&16u64.to_le_bytes());
    out.extend_from_slice(&format_hex_key(key));
    out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    out.extend_from_slice(value);
}

/// Reads the records of a dump one by one.
pub struct DumpReader<R: Read> {
    input: R,
    offset: u64,
    records: u64,
    done: bool,
    key: Vec<u8>,
}

/// One record read from a dump.
#[derive(Debug, PartialEq, Eq)]
pub struct DumpRecord {
    /// The key.
    pub key: DumpKey,
    /// The value.
    pub value: Vec<u8>,
}

impl<R: Read> DumpReader<R> {
    /// Opens a dump: reads and checks the format version.
    pub fn new(mut input: R) -> Result<Self, DumpError> {
        let mut version = [0u8; 8];
        read_exact_or_truncated(&mut input, &mut version, 0, 0)?;
        let version = u64::from_le_bytes(version);
        if version != FORMAT_VERSION {
            return Err(DumpError::Version(version));
        }
        Ok(DumpReader { input, offset: 8, records: 0, done: false, key: Vec::with_capacity(16) })
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record, `None` at the end marker.
    pub fn next_record(&mut self) -> Result<Option<DumpRecord>, DumpError> {
        if self.done {
            return Ok(None);
        }
        let key_len = self.length()?;
        if key_len == 0 {
            self.done = true;
            return Ok(None);
        }
        if key_len > MAX_KEY_LEN {
            return Err(DumpError::KeyLength { len: key_len, offset: self.offset - 8 });
        }
        let mut key_bytes = std::mem::take(&mut self.key);
        key_bytes.clear();
        let read = self.read_into(key_len, &mut key_bytes);
        self.key = key_bytes;
        read?;
        let key = match self.key.len() {
            16 => parse_hex_key(&self.key).map_or(DumpKey::Invalid, DumpKey::Hash),
            8 => DumpKey::Hash(u64::from_le_bytes(self.key[..].try_into().expect("8 bytes"))),
            _ => DumpKey::Invalid,
        };
        let value_len = self.length()?;
        let mut value = Vec::new();
        self.read_into(value_len, &mut value)?;
        self.records += 1;
        Ok(Some(DumpRecord { key, value }))
    }

    fn length(&mut self) -> Result<u64, DumpError> {
        let mut bytes = [0u8; 8];
        read_exact_or_truncated(&mut self.input, &mut bytes, self.records, self.offset)?;
        self.offset += 8;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Reads `len` bytes, growing `out` only as bytes really arrive.
    fn read_into(&mut self, len: u64, out: &mut Vec<u8>) -> Result<(), DumpError> {
        let read = (&mut self.input).take(len).read_to_end(out)? as u64;
        self.offset += read;
        if read < len {
            return Err(DumpError::Truncated { records: self.records, offset: self.offset });
        }
        Ok(())
    }
}

fn read_exact_or_truncated(input: &mut impl Read, buf: &mut [u8], records: u64, offset: u64) -> Result<(), DumpError> {
    input.read_exact(buf).map_err(|error| match error.kind() {
        io::ErrorKind::UnexpectedEof => DumpError::Truncated { records, offset },
        _ => DumpError::Io(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a dump byte by byte from the documented layout, without the
    /// writer, so the reader is checked against the format itself.
    fn handmade(records: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut bytes = 0u64.to_le_bytes().to_vec();
        for (key, value) in records {
            bytes.extend_from_slice(&(key.len() as u64).to_le_bytes());
            bytes.extend_from_slice(key);
            bytes.extend_from_slice(&(value.len() as u64).to_le_bytes());
            bytes.extend_from_slice(value);
        }
        bytes.extend_from_slice(&0u64.to_le_bytes());
        bytes
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<DumpRecord>, DumpError> {
        let mut reader = DumpReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(record) = reader.next_record()? {
            out.push(record);
        }
        Ok(out)
    }

    #[test]
    fn the_writer_produces_the_documented_bytes() {
        let mut writer = DumpWriter::new(Vec::new()).unwrap();
        writer.record(0x0123_4567_89ab_cdef, b"abc").unwrap();
        let (bytes, size) = writer.finish().unwrap();
        let mut expected = handmade(&[(b"0123456789abcdef", b"abc")]);
        expected.resize(512, 0);
        assert_eq!(bytes, expected);
        assert_eq!(size, 512);
    }

    #[test]
    fn encoded_records_are_the_same_bytes_as_records() {
        let mut one = DumpWriter::new(Vec::new()).unwrap();
        one.record(1, b"a").unwrap();
        one.record(2, b"bc").unwrap();
        let mut encoded = Vec::new();
        encode_record(&mut encoded, 1, b"a");
        encode_record(&mut encoded, 2, b"bc");
        let mut other = DumpWriter::new(Vec::new()).unwrap();
        other.encoded_records(&encoded, 2).unwrap();
        assert_eq!(one.records(), other.records());
        assert_eq!(one.finish().unwrap(), other.finish().unwrap());
    }

    #[test]
    fn reads_keys_in_every_form_the_original_accepts() {
        let bytes = handmade(&[
            (b"000000000000000a", b"lower"),
            (b"000000000000000B", b"upper"),
            (&12u64.to_le_bytes(), b"binary"),
            (b"xyz", b"invalid"),
        ]);
        let records = read_all(&bytes).unwrap();
        let keys: Vec<DumpKey> = records.iter().map(|r| r.key).collect();
        assert_eq!(keys, [DumpKey::Hash(10), DumpKey::Hash(11), DumpKey::Hash(12), DumpKey::Invalid]);
        assert_eq!(records[2].value, b"binary");
    }

    #[test]
    fn truncation_lies_and_bad_versions_are_errors_not_allocations() {
        let bytes = handmade(&[(b"000000000000000a", b"value")]);
        for cut in 0..bytes.len() {
            let result = read_all(&bytes[..cut]);
            assert!(matches!(result, Err(DumpError::Truncated { .. })), "cut at {cut}: {result:?}");
        }
        let mut lie = 0u64.to_le_bytes().to_vec();
        lie.extend_from_slice(&16u64.to_le_bytes());
        lie.extend_from_slice(b"000000000000000a");
        lie.extend_from_slice(&(u64::MAX / 2).to_le_bytes());
        lie.extend_from_slice(b"short");
        assert!(matches!(read_all(&lie), Err(DumpError::Truncated { records: 0, .. })));
        let mut long_key = 0u64.to_le_bytes().to_vec();
        long_key.extend_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(matches!(read_all(&long_key), Err(DumpError::KeyLength { .. })));
        assert!(matches!(read_all(&7u64.to_le_bytes()), Err(DumpError::Version(7))));
    }

    #[test]
    fn stops_at_the_end_marker_and_ignores_what_follows() {
        let mut bytes = handmade(&[(b"000000000000000a", b"v")]);
        bytes.extend_from_slice(b"garbage after the end marker");
        assert_eq!(read_all(&bytes).unwrap().len(), 1);
    }
}
