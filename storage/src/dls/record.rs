//! Bucket headers and records, both versions, as bytes.

/// The 16-byte header of a version-1 bucket: `u64` 1, then `DLSBUCKT`.
pub const BUCKET_HEADER: [u8; 16] = *b"\x01\0\0\0\0\0\0\0DLSBUCKT";

/// The magic of a versioned bucket header.
const MAGIC: &[u8; 8] = b"DLSBUCKT";

/// The record format of a bucket file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// No file header; records `u64 key, u64 length, value`.
    Legacy,
    /// The 16-byte header; records `u64 key, u64 length, u8 parity, value`.
    V1,
}

impl Version {
    /// The record format of a bucket from its first 16 bytes, and where its
    /// records start. A header with version 1 means version-1 records after
    /// it; with version 0, legacy records after it (as the original reads
    /// it); without the header (or fewer bytes), legacy records from the
    /// start.
    pub fn of(start: &[u8]) -> (Version, u64) {
        let header = BUCKET_HEADER.len() as u64;
        match start.get(..16) {
            Some(head) if &head[8..16] == MAGIC => match u64::from_le_bytes(head[..8].try_into().expect("8 bytes")) {
                0 => (Version::Legacy, header),
                1 => (Version::V1, header),
                _ => (Version::Legacy, 0),
            },
            _ => (Version::Legacy, 0),
        }
    }

    /// Bytes of a record header.
    pub fn header_len(self) -> usize {
        match self {
            Version::Legacy => 16,
            Version::V1 => 17,
        }
    }

    /// Appends one record in this version's format.
    pub fn encode(self, key: u64, value: &[u8], out: &mut Vec<u8>) {
        let len = value.len() as u64;
        let mut header = [0u8; 17];
        header[..8].copy_from_slice(&key.to_le_bytes());
        header[8..16].copy_from_slice(&len.to_le_bytes());
        header[16] = parity(key, len);
        out.extend_from_slice(&header[..self.header_len()]);
        out.extend_from_slice(value);
    }

    /// Reads a record header: (key, value length), or why the bucket ends
    /// here.
    pub fn decode_header(self, header: &[u8]) -> Result<(u64, u64), BucketEnd> {
        if header.len() < self.header_len() {
            return Err(BucketEnd::Fragment);
        }
        let key = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let len = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        if self == Version::V1 && parity(key, len) != header[16] {
            return Err(BucketEnd::Parity);
        }
        Ok((key, len))
    }
}

/// The parity byte of a version-1 record header: the XOR of the 16 bytes of
/// its key and length, folded a word at a time (a scan checks one per
/// record).
fn parity(key: u64, len: u64) -> u8 {
    let mut folded = key ^ len;
    folded ^= folded >> 32;
    folded ^= folded >> 16;
    folded ^= folded >> 8;
    folded as u8
}

/// Why reading a bucket stopped before the end of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketEnd {
    /// Fewer bytes left than a record header (a record being written).
    Fragment,
    /// A version-1 header whose parity fails: the rest is not trusted.
    Parity,
    /// A record running past the end of the file (torn).
    Torn,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observed_v1_record_bytes() {
        // dls-spec.md §4.3: key 0x57275806, "hello".
        let mut out = Vec::new();
        Version::V1.encode(0x5727_5806, b"hello", &mut out);
        assert_eq!(&out[..17], b"\x06\x58\x27\x57\0\0\0\0\x05\0\0\0\0\0\0\0\x2b");
        assert_eq!(Version::V1.decode_header(&out), Ok((0x5727_5806, 5)));
        out[9] ^= 1;
        assert_eq!(Version::V1.decode_header(&out), Err(BucketEnd::Parity));
        assert_eq!(Version::of(&BUCKET_HEADER), (Version::V1, 16));
        let mut version_zero = BUCKET_HEADER;
        version_zero[0] = 0;
        assert_eq!(Version::of(&version_zero), (Version::Legacy, 16));
        assert_eq!(Version::of(&out), (Version::Legacy, 0));
        assert_eq!(Version::of(b"short"), (Version::Legacy, 0));
    }

    #[test]
    fn the_folded_parity_is_the_xor_of_the_header_bytes() {
        for (key, len) in [(0u64, 0u64), (u64::MAX, 1), (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210), (1 << 63, 1 << 7)] {
            let bytes = key.to_le_bytes().into_iter().chain(len.to_le_bytes());
            assert_eq!(parity(key, len), bytes.fold(0, |p, b| p ^ b), "{key:#x} {len:#x}");
        }
    }
}
