//! The 32-byte header in front of every record of `overflow.dat`.
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | channel id, u32 (0 only for the original's filler record) |
//! | 4 | 4 | padding |
//! | 8 | 8 | distance to the channel's next record, i64; 0 for its newest |
//! | 16 | 1 | parity |
//! | 17 | 7 | padding |
//! | 24 | 8 | payload length, u64 |
//!
//! The parity folds the XOR of the three fields (as 64-bit values) down to
//! one byte; a header is intact when the fold including the stored parity is
//! 0. Padding is written as zeros and ignored when reading, as the original
//! does.
//!
//! A popped record keeps its place in the file. Shoal marks it by storing
//! the two's complement of its channel id (the marking the original's design
//! describes but never does), so that a restart after a crash can tell popped
//! records from live ones. The original never reads a popped record, so the
//! marks do not disturb it.

/// Size of a header in the file.
pub const HEADER_LEN: u64 = 32;

/// Ids at or above this are popped marks, never live channels.
const POPPED_BIT: u32 = 1 << 31;

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The raw channel field: a live id, or a popped mark ([`popped_mark`]).
    pub channel: u32,
    /// Bytes from this record's start to the next record of its channel.
    pub next_offset: i64,
    /// Payload bytes following the header.
    pub length: u64,
}

/// Why a header cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The parity does not match: not a header, or a damaged one.
    #[error("parity check failed")]
    Parity,
    /// Channel 0: the original's filler record, never part of a channel.
    #[error("channel id 0")]
    NoChannel,
}

impl RecordHeader {
    /// The parity byte of the fields.
    pub fn parity(&self) -> u8 {
        fold(u64::from(self.channel) ^ self.next_offset as u64 ^ self.length)
    }

    /// The 32 bytes as the original lays them out.
    pub fn encode(&self) -> [u8; HEADER_LEN as usize] {
        let mut out = [0u8; HEADER_LEN as usize];
        out[0..4].copy_from_slice(&self.channel.to_le_bytes());
        out[8..16].copy_from_slice(&self.next_offset.to_le_bytes());
        out[16] = self.parity();
        out[24..32].copy_from_slice(&self.length.to_le_bytes());
        out
    }

    /// Reads and checks a header.
    pub fn decode(bytes: &[u8; HEADER_LEN as usize]) -> Result<RecordHeader, HeaderError> {
        let header = RecordHeader {
            channel: u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")),
            next_offset: i64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")),
            length: u64::from_le_bytes(bytes[24..32].try_into().expect("8 bytes")),
        };
        if header.parity() != bytes[16] {
            return Err(HeaderError::Parity);
        }
        if header.channel == 0 {
            return Err(HeaderError::NoChannel);
        }
        Ok(header)
    }

    /// The live channel id this header belongs to, popped or not.
    pub fn owner(&self) -> u32 {
        if self.is_popped() {
            self.channel.wrapping_neg()
        } else {
            self.channel
        }
    }

    /// Whether the record was popped (its channel field is a mark).
    pub fn is_popped(&self) -> bool {
        self.channel >= POPPED_BIT
    }
}

/// The channel field of a popped record of channel `id`.
pub fn popped_mark(id: u32) -> u32 {
    assert!(id > 0 && id < POPPED_BIT, "channel id {id} out of range");
    id.wrapping_neg()
}

/// Whether `id` can be given to a channel.
pub fn valid_id(id: u32) -> bool {
    id > 0 && id < POPPED_BIT
}

/// XOR-folds 64 bits into 8.
fn fold(mut x: u64) -> u8 {
    x ^= x >> 32;
    x ^= x >> 16;
    x ^= x >> 8;
    x as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_matches_the_original_files() {
        // From the original's overflow.dat (channel 3, newest, 10 bytes) and
        // the research note's own run (channel 4, next 132, 100 bytes).
        assert_eq!(
            RecordHeader {
                channel: 3,
                next_offset: 0,
                length: 10
            }
            .parity(),
            0x09
        );
        assert_eq!(
            RecordHeader {
                channel: 4,
                next_offset: 132,
                length: 100
            }
            .parity(),
            0xE4
        );
    }

    #[test]
    fn round_trip_and_damage() {
        let header = RecordHeader {
            channel: 7,
            next_offset: 4242,
            length: 99,
        };
        let mut bytes = header.encode();
        assert_eq!(RecordHeader::decode(&bytes), Ok(header));
        bytes[9] ^= 1;
        assert_eq!(RecordHeader::decode(&bytes), Err(HeaderError::Parity));
        let filler = RecordHeader {
            channel: 0,
            next_offset: 0,
            length: 5,
        }
        .encode();
        assert_eq!(RecordHeader::decode(&filler), Err(HeaderError::NoChannel));
    }

    #[test]
    fn popped_marks_name_their_owner() {
        let live = RecordHeader {
            channel: 5,
            next_offset: 0,
            length: 1,
        };
        let popped = RecordHeader {
            channel: popped_mark(5),
            ..live
        };
        assert!(!live.is_popped() && popped.is_popped());
        assert_eq!((live.owner(), popped.owner()), (5, 5));
        assert_eq!(RecordHeader::decode(&popped.encode()), Ok(popped));
    }
}
