//! The `<storage name>.rq` files: a ring's records saved at shutdown,
//! byte-compatible with the original's.
//!
//! Layout (little-endian):
//!
//! | what | bytes |
//! |---|---|
//! | record count, u32 | 4 |
//! | data length D, u64 | 8 |
//! | per record: length L as u64, then the record | 8 + L, D in total |
//!
//! The original reads nothing after the data, and refuses the file unless
//! the count and the records agree exactly; it then aborts the start. Shoal
//! reads leniently: every complete record inside the data is kept, and what
//! is wrong is reported next to them ([`RqContents::damage`]), so a damaged
//! file loses only the records it really lost. Lengths are checked against
//! the bytes actually present before anything is copied.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::ring::RECORD_HEADER;

/// Suffix of a ring dump file.
pub const RQ_SUFFIX: &str = ".rq";

/// Bytes before the data: the record count and the data length.
const FILE_HEADER: usize = 4 + 8;

/// What is wrong with an `.rq` file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RqError {
    /// The file is shorter than its 12-byte header.
    #[error("file of {len} bytes is shorter than the 12-byte header")]
    NoHeader {
        /// Size of the file.
        len: usize,
    },
    /// The header announces more data than the file holds.
    #[error("header announces {announced} data bytes, the file holds {present}")]
    Truncated {
        /// Data length from the header.
        announced: u64,
        /// Data bytes in the file.
        present: usize,
    },
    /// A record's length runs past the end of the data.
    #[error("record {index} at data offset {offset} claims {len} bytes, past the end of the data")]
    RecordCut {
        /// Position of the record in the file (0-based).
        index: usize,
        /// Where its length header is, counted from the start of the data.
        offset: usize,
        /// The claimed length (or the bytes left when the header is cut).
        len: u64,
    },
    /// The data holds a different number of records than the header says.
    #[error("header says {announced} records, the data holds {found}")]
    Count {
        /// Record count from the header.
        announced: u32,
        /// Complete records found.
        found: usize,
    },
}

/// The records read from an `.rq` file, and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RqContents {
    /// Complete records in pop order.
    pub records: Vec<Vec<u8>>,
    /// `None` for a file the original would accept as it is.
    pub damage: Option<RqError>,
}

/// The `.rq` path of storage `name` in `dir`.
pub fn rq_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{RQ_SUFFIX}"))
}

/// The file contents for these records (a ring's, oldest first).
pub fn encode<R: AsRef<[u8]>>(records: impl IntoIterator<Item = R>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut count: u32 = 0;
    for record in records {
        let record = record.as_ref();
        body.extend_from_slice(&(record.len() as u64).to_le_bytes());
        body.extend_from_slice(record);
        count = count.checked_add(1).expect("a ring holds fewer than 2^32 records");
    }
    let mut out = Vec::with_capacity(FILE_HEADER + body.len());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Writes `records` to `path` through a temporary file that is synced and
/// renamed into place, so a crash leaves the old file or the new one.
pub fn write_file<R: AsRef<[u8]>>(path: &Path, records: impl IntoIterator<Item = R>) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = File::create(&temp)?;
    file.write_all(&encode(records))?;
    file.sync_all()?;
    fs::rename(&temp, path)
}

/// Reads the `.rq` file at `path` (see [`decode`]).
pub fn read_file(path: &Path) -> io::Result<RqContents> {
    Ok(decode(&fs::read(path)?))
}

/// Parses `.rq` file contents, keeping every complete record.
pub fn decode(bytes: &[u8]) -> RqContents {
    if bytes.len() < FILE_HEADER {
        return RqContents {
            records: Vec::new(),
            damage: Some(RqError::NoHeader { len: bytes.len() }),
        };
    }
    let count = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    let announced = u64::from_le_bytes(bytes[4..FILE_HEADER].try_into().expect("8 bytes"));
    let present = &bytes[FILE_HEADER..];
    let (data, mut damage) = match usize::try_from(announced) {
        Ok(len) if len <= present.len() => (&present[..len], None),
        _ => (
            present,
            Some(RqError::Truncated {
                announced,
                present: present.len(),
            }),
        ),
    };
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        let len = match rest.get(..RECORD_HEADER) {
            Some(header) => u64::from_le_bytes(header.try_into().expect("8 bytes")),
            None => rest.len() as u64,
        };
        let body = &rest[RECORD_HEADER.min(rest.len())..];
        match usize::try_from(len) {
            Ok(len) if rest.len() >= RECORD_HEADER && len <= body.len() => {
                records.push(body[..len].to_vec());
                offset += RECORD_HEADER + len;
            }
            _ => {
                // A truncated file is reported as such; a record cut inside
                // complete data is a damage of its own.
                damage.get_or_insert(RqError::RecordCut {
                    index: records.len(),
                    offset,
                    len,
                });
                break;
            }
        }
    }
    if damage.is_none() && records.len() != count as usize {
        damage = Some(RqError::Count {
            announced: count,
            found: records.len(),
        });
    }
    RqContents { records, damage }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dmq::ring::Ring;

    const HELLO: &[u8] = b"\x01\x00\x00\x00\x12\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x00\x00\x00\x00\x00Hello ch1!";

    #[test]
    fn decodes_the_original_layout() {
        assert_eq!(
            decode(HELLO),
            RqContents {
                records: vec![b"Hello ch1!".to_vec()],
                damage: None
            }
        );
    }

    #[test]
    fn encode_is_the_original_layout_even_when_wrapped() {
        let mut ring = Ring::new(36);
        ring.push(b"xxxxxxxxxx");
        ring.push(b"Hello ch1!");
        ring.pop();
        assert!(ring.push(b"second"), "wraps to the front");
        let bytes = encode(ring.iter());
        let mut expected = HELLO.to_vec();
        expected[0] = 2;
        expected[4] = 0x12 + 14;
        expected.extend_from_slice(b"\x06\x00\x00\x00\x00\x00\x00\x00second");
        assert_eq!(bytes, expected);
        assert_eq!(
            decode(&bytes).records,
            vec![b"Hello ch1!".to_vec(), b"second".to_vec()]
        );
    }

    #[test]
    fn empty_ring_is_twelve_zero_bytes() {
        let bytes = encode(Ring::new(8).iter());
        assert_eq!(bytes, [0; 12]);
        assert_eq!(
            decode(&bytes),
            RqContents {
                records: vec![],
                damage: None
            }
        );
    }

    #[test]
    fn truncated_file_keeps_the_complete_records() {
        let mut two = HELLO.to_vec();
        two[0] = 2;
        two[4] = 0x24;
        two.extend_from_slice(&HELLO[12..]);
        let cut = &two[..two.len() - 3];
        let contents = decode(cut);
        assert_eq!(contents.records, vec![b"Hello ch1!".to_vec()]);
        assert_eq!(
            contents.damage,
            Some(RqError::Truncated {
                announced: 0x24,
                present: 0x24 - 3
            })
        );
        assert_eq!(decode(&two[..5]).damage, Some(RqError::NoHeader { len: 5 }));
    }

    #[test]
    fn lying_lengths_are_reported_not_allocated() {
        let mut bytes = HELLO.to_vec();
        bytes[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        let contents = decode(&bytes);
        assert!(contents.records.is_empty());
        assert_eq!(
            contents.damage,
            Some(RqError::RecordCut {
                index: 0,
                offset: 0,
                len: u64::MAX
            })
        );
        bytes[4..12].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode(&bytes).damage,
            Some(RqError::Truncated {
                announced: u64::MAX,
                ..
            })
        ));
    }

    #[test]
    fn count_mismatch_is_reported_with_the_records() {
        let mut bytes = HELLO.to_vec();
        bytes[0] = 3;
        let contents = decode(&bytes);
        assert_eq!(contents.records.len(), 1);
        assert_eq!(
            contents.damage,
            Some(RqError::Count {
                announced: 3,
                found: 1
            })
        );
    }
}
