//! PutBatch: a compressed batch of records (hex key and value arrays),
//! stored in order. The channel is created first; at the first empty value
//! the rest is dropped and 408 answered (earlier records stay); a key that
//! is not 16 hex digits or a corrupt batch closes the connection.

use std::ops::Range;

use shoal_protocol::legacy::batch::{self, BatchError};
use shoal_protocol::legacy::wire::{WireError, WireReader};
use shoal_protocol::legacy::request::MAX_ARRAY;
use shoal_protocol::legacy::Status;
use shoal_storage::dht::hash::parse_hex_key;

use super::{disk_failed, status, valid_channel, ClientIo, ConnectionError, DlsNode};

/// Largest uncompressed batch accepted (the client's batch buffer).
const MAX_BATCH: u64 = 16 * 1024 * 1024;

/// Handles a legacy PutBatch.
pub(super) async fn handle(channel: &[u8], batch_bytes: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    // Owned: the disk job outlives the connection's input buffer.
    let decompressed = batch::decompress(batch_bytes, MAX_BATCH.max(MAX_ARRAY))?.into_owned();
    let (records, empty_value) = parse(&decompressed)?;
    let node = &io.node;
    let shared = node.channel(channel);
    let count = records.len() as u64;
    let bytes: u64 = records.iter().map(|(_, value)| value.len() as u64).sum();
    // The values stay in the decompressed batch, found by their offsets.
    let stored = node
        .pool
        .run(move || {
            let mut channel = shared.lock();
            channel.create_dir()?;
            records.iter().try_for_each(|(key, value)| channel.put(*key, &decompressed[value.clone()]))
        })
        .await;
    match stored {
        Ok(Ok(())) => {
            node.counters.handled(count, bytes);
            status(&mut io.output, if empty_value { Status::EmptyValue } else { Status::Ok });
        }
        Ok(Err(error)) => disk_failed(format!("PutBatch into '{channel}': {error}"), &mut io.output),
        Err(error) => disk_failed(error, &mut io.output),
    }
    Ok(())
}

/// A batch's records up to the first empty value: keys and where their
/// values are in the decompressed batch.
type Offsets = Vec<(u64, Range<usize>)>;

/// The records of a decompressed batch, and whether an empty value cut
/// them short.
fn parse(decompressed: &[u8]) -> Result<(Offsets, bool), ConnectionError> {
    let mut reader = WireReader::new(decompressed);
    let mut records = Vec::new();
    while reader.remaining() > 0 {
        let corrupt = |_| ConnectionError::Batch(BatchError::Records(WireError::Malformed("record")));
        let key_text = reader.array("batched key", u64::MAX).map_err(corrupt)?;
        let value = reader.array("batched value", u64::MAX).map_err(corrupt)?;
        if value.is_empty() {
            return Ok((records, true));
        }
        let key = parse_hex_key(key_text)
            .ok_or_else(|| ConnectionError::InvalidKey(String::from_utf8_lossy(key_text).into_owned()))?;
        let end = decompressed.len() - reader.remaining();
        records.push((key, end - value.len()..end));
    }
    Ok((records, false))
}
