//! Compressed record batches, as swarm's RecordBatcher makes them.
//!
//! Bulk replies (GetAll, GetAllKeys, GetAllFilter) and PutBatch carry records
//! in batches: the records are laid end to end (each key and value an array:
//! u64 length + bytes; GetAllKeys has keys only), at most `batch_size` bytes
//! in all, and the batch is sent as one array whose content is the
//! uncompressed length (u64) followed by the raw LZO1X stream, made by
//! [`crate::lzo`] and read by `lzokay`.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};
use crate::lzo::{self, Compressor, InPlaceBlock};

use super::wire::{WireError, WireReader};

/// Why a batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Shorter than its 8-byte length header.
    #[error("batch shorter than its length header")]
    Truncated,
    /// Claims an uncompressed size over the limit.
    #[error("batch claims {len} uncompressed bytes, limit is {limit}")]
    TooLarge {
        /// The claimed size.
        len: u64,
        /// The limit.
        limit: u64,
    },
    /// The LZO stream is corrupt or does not produce the claimed size.
    #[error("corrupt LZO data in batch")]
    Corrupt,
    /// The records inside do not parse.
    #[error("malformed records in batch: {0}")]
    Records(WireError),
}

/// Whether a record went into the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// It is in the batch.
    Yes,
    /// No room left: send the batch, then add the record again.
    BatchFull,
    /// It cannot fit even an empty batch: the original skips such records.
    TooBig,
}

/// Bytes of a batch array before its LZO stream: the array's length and
/// the uncompressed length.
const BATCH_HEAD: usize = 16;

/// Collects records into one batch and compresses it. The records are
/// gathered in an [`InPlaceBlock`], so a batch that goes as a literal run
/// can be sent from where its records lie ([`Self::finish_in_place`]).
pub struct BatchWriter {
    block: InPlaceBlock,
    capacity: usize,
    compressor: Compressor,
}

impl BatchWriter {
    /// A writer for batches of at most `capacity` uncompressed bytes.
    pub fn new(capacity: usize) -> Self {
        BatchWriter { block: InPlaceBlock::new(BATCH_HEAD, capacity), capacity, compressor: Compressor::default() }
    }

    /// Whether a record of `size` bytes goes into the batch.
    fn room_for(&self, size: usize) -> Added {
        if size > self.capacity {
            Added::TooBig
        } else if self.block.data().len() + size > self.capacity {
            Added::BatchFull
        } else {
            Added::Yes
        }
    }

    /// Adds arrays that form one record (key and value, or a key alone).
    pub fn add(&mut self, arrays: &[&[u8]]) -> Added {
        let added = self.room_for(arrays.iter().map(|a| 8 + a.len()).sum());
        if added == Added::Yes {
            for array in arrays {
                self.block.put_slice(&(array.len() as u64).to_le_bytes());
                self.block.put_slice(array);
            }
        }
        added
    }

    /// Adds a record as neo's Mirror batches hold them: the key as a bare
    /// little-endian `u64`, then the value as an array.
    pub fn add_keyed(&mut self, key: u64, value: &[u8]) -> Added {
        let added = self.room_for(16 + value.len());
        if added == Added::Yes {
            self.block.put_slice(&key.to_le_bytes());
            self.block.put_slice(&(value.len() as u64).to_le_bytes());
            self.block.put_slice(value);
        }
        added
    }

    /// Whether no record is waiting.
    pub fn is_empty(&self) -> bool {
        self.block.data().is_empty()
    }

    /// Appends the batch as one array (u64 length, u64 uncompressed length,
    /// LZO data) to `out` and starts a new batch. An empty batch is written
    /// too (11 bytes): the original always ends a scan with its last batch,
    /// even when that batch, or the whole channel, is empty.
    /// The stream goes straight into `out`, and the records' buffer is kept
    /// for the next batch.
    pub fn finish(&mut self, out: &mut BytesMut) {
        let start = out.len();
        out.put_u64_le(0); // the array's length, known below
        out.put_u64_le(self.block.data().len() as u64);
        self.compressor.compress_into(self.block.data(), out);
        let len = (out.len() - start - 8) as u64;
        out[start..start + 8].copy_from_slice(&len.to_le_bytes());
        self.block.clear();
    }

    /// [`Self::finish`], returning the buffer that holds the array (from
    /// the returned offset to the end) instead of copying it anywhere; the
    /// next batch gets a new buffer.
    pub fn finish_in_place(&mut self) -> (Vec<u8>, usize) {
        let len = self.block.data().len();
        let block = std::mem::replace(&mut self.block, InPlaceBlock::new(BATCH_HEAD, self.capacity));
        let (mut buf, stream_start) = block.finish(&mut self.compressor);
        let array_len = 8 + buf.len() - stream_start;
        let start = stream_start - BATCH_HEAD;
        let mut head = &mut buf[start..stream_start];
        head.put_u64_le(array_len as u64);
        head.put_u64_le(len as u64);
        (buf, start)
    }
}

/// Decompresses a batch (the content of the array), refusing to produce
/// more than `limit` bytes whatever the header claims; a batch that is one
/// literal run is lent where it lies instead ([`lzo::literal_run`]).
pub fn decompress(batch: &[u8], limit: u64) -> Result<Cow<'_, [u8]>, BatchError> {
    let header: [u8; 8] = batch
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or(BatchError::Truncated)?;
    let len = u64::from_le_bytes(header);
    if len > limit {
        return Err(BatchError::TooLarge { len, limit });
    }
    if let Some(records) = lzo::literal_run(&batch[8..], len as usize) {
        return Ok(Cow::Borrowed(records));
    }
    let mut records = vec![0; len as usize];
    let written =
        lzokay::decompress::decompress(&batch[8..], &mut records).map_err(|_| BatchError::Corrupt)?;
    if written != records.len() {
        return Err(BatchError::Corrupt);
    }
    Ok(Cow::Owned(records))
}

/// Splits decompressed records into groups of `arity` arrays (2 for key and
/// value, 1 for keys alone, whose second field is then empty): one vector
/// per batch, none per record.
pub fn records(decompressed: &[u8], arity: usize) -> Result<Vec<[&[u8]; 2]>, BatchError> {
    debug_assert!(arity == 1 || arity == 2, "records are keys or key-value pairs");
    let mut reader = WireReader::new(decompressed);
    let mut out = Vec::new();
    let malformed = |e| match e {
        WireError::Incomplete => BatchError::Records(WireError::Malformed("record")),
        other => BatchError::Records(other),
    };
    while reader.remaining() > 0 {
        let key = reader.array("batched record", u64::MAX).map_err(malformed)?;
        let value = if arity == 2 { reader.array("batched record", u64::MAX).map_err(malformed)? } else { &[] };
        out.push([key, value]);
    }
    Ok(out)
}

/// Splits decompressed records made by [`BatchWriter::add_keyed`] into
/// (key, value) pairs.
pub fn keyed_records(decompressed: &[u8]) -> Result<Vec<(u64, &[u8])>, BatchError> {
    let mut reader = WireReader::new(decompressed);
    let mut out = Vec::new();
    while reader.remaining() > 0 {
        let record = reader.u64().and_then(|key| Ok((key, reader.array("batched value", u64::MAX)?)));
        out.push(record.map_err(|_| BatchError::Records(WireError::Malformed("keyed record")))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy::wire::WireReader;

    #[test]
    fn batches_round_trip_and_respect_their_capacity() {
        let mut writer = BatchWriter::new(100);
        assert_eq!(writer.add(&[b"0000000000000001", b"value one"]), Added::Yes);
        assert_eq!(writer.add(&[b"0000000000000002", b"value two"]), Added::Yes);
        assert_eq!(writer.add(&[b"0000000000000003", b"value three"]), Added::BatchFull);
        assert_eq!(writer.add(&[b"0000000000000003", &[0; 100]]), Added::TooBig);
        let mut out = BytesMut::new();
        writer.finish(&mut out);
        assert!(writer.is_empty());
        let mut reader = WireReader::new(&out);
        let batch = reader.array("batch", 1 << 20).expect("one array");
        assert_eq!(reader.remaining(), 0);
        let decompressed = decompress(batch, 100).expect("valid batch");
        let records = records(&decompressed, 2).expect("valid records");
        assert_eq!(records.len(), 2);
        assert_eq!(records[1], [&b"0000000000000002"[..], &b"value two"[..]]);
    }

    #[test]
    fn keyed_batches_round_trip_and_truncated_records_are_refused() {
        let mut writer = BatchWriter::new(64);
        assert_eq!(writer.add_keyed(7, b"seven"), Added::Yes);
        assert_eq!(writer.add_keyed(u64::MAX, b""), Added::Yes);
        assert_eq!(writer.add_keyed(1, &[0; 40]), Added::BatchFull);
        assert_eq!(writer.add_keyed(1, &[0; 60]), Added::TooBig);
        let mut out = BytesMut::new();
        writer.finish(&mut out);
        let decompressed = decompress(&out[8..], 64).unwrap();
        assert_eq!(keyed_records(&decompressed).unwrap(), vec![(7, &b"seven"[..]), (u64::MAX, &b""[..])]);
        assert!(keyed_records(&decompressed[..decompressed.len() - 1]).is_err());
    }

    #[test]
    fn a_batch_that_does_not_compress_is_finished_where_its_records_lie() {
        let noise = crate::lzo::tests::noise(2_000, 9);
        let record: [&[u8]; 2] = [b"0000000000000001", &noise];
        let mut writer = BatchWriter::new(4_096);
        assert_eq!(writer.add(&record), Added::Yes);
        let records_at = writer.block.data().as_ptr();
        let (buffer, start) = writer.finish_in_place();
        assert!(buffer.as_ptr_range().contains(&records_at), "sent from where the records lie");
        assert!(writer.is_empty());
        // The same bytes as `finish` writes.
        let mut copied = BytesMut::new();
        let mut again = BatchWriter::new(4_096);
        assert_eq!(again.add(&record), Added::Yes);
        again.finish(&mut copied);
        assert_eq!(&buffer[start..], &copied[..]);
        let mut reader = WireReader::new(&buffer[start..]);
        let batch = reader.array("batch", 1 << 20).expect("one array");
        assert_eq!(reader.remaining(), 0);
        assert_eq!(records(&decompress(batch, 4_096).unwrap(), 2).unwrap(), vec![record]);
    }

    #[test]
    fn an_empty_batch_is_the_originals_eleven_bytes() {
        let mut out = BytesMut::new();
        BatchWriter::new(100).finish(&mut out);
        // Captured from the original: length 11, uncompressed length 0, LZO end.
        assert_eq!(&out[..], b"\x0b\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x11\0\0");
    }

    #[test]
    fn reads_a_batch_the_original_node_compressed() {
        // From captures/legacy-getall.pcap: the GetAll reply's one batch
        // (liblzo's lzo1x_1 output) holding keys 0, 1 and 2 of test_channel.
        let batch = b"\x78\0\0\0\0\0\0\0\x06\x10\0\0\0\0\0\0\0\x30\x2d\x02\0\x08\0\xa0\0\x05record 05\x9d\0\x31\x2d\x9d\0\x31\x32\x9c\0\0\x020002\x08\0\0\0\0\0\0\0record 2\x11\0\0";
        let decompressed = decompress(batch, 1 << 20).expect("original batch decompresses");
        let records = records(&decompressed, 2).expect("records parse");
        let expected: Vec<[&[u8]; 2]> = vec![
            [b"0000000000000000", b"record 0"],
            [b"0000000000000001", b"record 1"],
            [b"0000000000000002", b"record 2"],
        ];
        assert_eq!(records, expected);
    }

    #[test]
    fn lying_and_corrupt_batches_are_refused() {
        let mut lie = (u64::MAX).to_le_bytes().to_vec();
        lie.extend_from_slice(&[0x11, 0, 0]);
        assert!(matches!(decompress(&lie, 1 << 20), Err(BatchError::TooLarge { .. })));
        let mut garbage = 100u64.to_le_bytes().to_vec();
        garbage.extend_from_slice(&[0xff; 20]);
        assert_eq!(decompress(&garbage, 1 << 20), Err(BatchError::Corrupt));
        assert_eq!(decompress(&[1, 2], 1 << 20), Err(BatchError::Truncated));
        assert!(records(&[5, 0, 0, 0, 0, 0, 0, 0, b'a'], 1).is_err());
    }
}
