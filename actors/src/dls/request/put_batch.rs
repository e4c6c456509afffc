//! PutBatch: a compressed batch of records (hex key and value arrays),
//! stored in order. The channel is created first; at the first empty value
//! the rest is dropped and 408 answered (earlier records stay); a key that
//! is not 16 hex digits or a corrupt batch closes the connection.

use shoal_protocol::legacy::batch;
use shoal_protocol::legacy::request::MAX_ARRAY;
use shoal_protocol::legacy::Status;
use shoal_storage::dht::hash::parse_hex_key;

use super::{disk_failed, status, valid_channel, ClientIo, ConnectionError, DlsNode};

/// Largest uncompressed batch accepted (the client's batch buffer).
const MAX_BATCH: u64 = 16 * 1024 * 1024;

/// Handles a legacy PutBatch.
pub(super) async fn handle(channel: &[u8], batch_bytes: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let decompressed = batch::decompress(batch_bytes, MAX_BATCH.max(MAX_ARRAY))?;
    let mut records = Vec::new();
    let mut empty_value = false;
    for fields in batch::records(&decompressed, 2)? {
        if fields[1].is_empty() {
            empty_value = true;
            break;
        }
        let key = parse_hex_key(fields[0])
            .ok_or_else(|| ConnectionError::InvalidKey(String::from_utf8_lossy(fields[0]).into_owned()))?;
        records.push((key, fields[1].to_vec()));
    }
    let node = &io.node;
    let shared = node.channel(channel);
    let count = records.len() as u64;
    let bytes: u64 = records.iter().map(|(_, v)| v.len() as u64).sum();
    let stored = node
        .pool
        .run(move || {
            let mut channel = shared.lock();
            channel.create_dir()?;
            records.iter().try_for_each(|(key, value)| channel.put(*key, value))
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
