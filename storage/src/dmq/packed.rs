//! How a record is kept in a ring: compressed with LZ4 when that saves at
//! least an eighth, as is, otherwise; one tag byte in front says which.
//!
//! Queues of text or JSON records then hold several times more in the same
//! memory, while incompressible records cost one byte more. Only the rings
//! are packed: the disk overflow and the `.rq` files keep the original's
//! plain records, so the original reads shoal's files and vice versa.

use std::borrow::Cow;

/// Tag of a record stored as is.
const RAW: u8 = 0;
/// Tag of an LZ4 block with its uncompressed length in front.
const LZ4: u8 = 1;

/// Records shorter than this are not worth compressing.
const MIN_COMPRESSED: usize = 32;

/// The bytes to store for `record`.
pub fn pack(record: &[u8]) -> Vec<u8> {
    if record.len() >= MIN_COMPRESSED {
        let compressed = lz4_flex::compress_prepend_size(record);
        if compressed.len() < record.len() - record.len() / 8 {
            let mut out = Vec::with_capacity(compressed.len() + 1);
            out.push(LZ4);
            out.extend_from_slice(&compressed);
            return out;
        }
    }
    let mut out = Vec::with_capacity(record.len() + 1);
    out.push(RAW);
    out.extend_from_slice(record);
    out
}

/// The record stored as `stored`. Only this process packs ring records, so
/// a bad tag or block is a bug: it is reported, never a panic.
pub fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, UnpackError> {
    match stored.split_first() {
        Some((&RAW, record)) => Ok(Cow::Borrowed(record)),
        Some((&LZ4, block)) => lz4_flex::decompress_size_prepended(block).map(Cow::Owned).map_err(|_| UnpackError),
        _ => Err(UnpackError),
    }
}

/// A stored record that does not unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a ring record does not unpack (memory corruption?)")]
pub struct UnpackError;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compressible_records_shrink_and_others_cost_one_byte() {
        let text = br#"{"user":1234,"event":"click","page":"/home","user_agent":"Mozilla/5.0"}"#.repeat(2);
        let packed = pack(&text);
        assert!(packed.len() < text.len() * 7 / 8, "{} of {}", packed.len(), text.len());
        assert_eq!(unpack(&packed).unwrap(), &text[..]);
        let short = b"abc";
        assert_eq!(pack(short), b"\0abc");
        assert_eq!(unpack(&pack(short)).unwrap(), &short[..]);
        assert_eq!(unpack(&[]), Err(UnpackError));
        assert_eq!(unpack(&[7, 1]), Err(UnpackError));
    }

    proptest! {
        #[test]
        fn every_record_round_trips(record in proptest::collection::vec(any::<u8>(), 0..300), repeat in 1usize..5) {
            let record = record.repeat(repeat);
            let packed = pack(&record);
            prop_assert!(packed.len() <= record.len() + 1);
            prop_assert_eq!(unpack(&packed).unwrap(), &record[..]);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = unpack(&bytes);
        }
    }
}
