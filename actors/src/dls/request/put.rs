//! Put: appends a record to its bucket. Checks, in the original's order: a
//! bad channel name (409), an empty value (408), a value over 64 KiB (407),
//! a key that is not 16 hex digits (the connection closes); refused values
//! do not create the channel.

use shoal_protocol::legacy::Status;

use super::{disk_failed, key, status, valid_channel, ClientIo, ConnectionError, DlsNode};

/// Largest value a legacy Put stores (the original's).
pub const MAX_VALUE: usize = 64 * 1024;

/// Handles a legacy Put.
pub(super) async fn handle(channel: &[u8], key_text: &[u8], value: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    if value.is_empty() {
        status(&mut io.output, Status::EmptyValue);
        return Ok(());
    }
    if value.len() > MAX_VALUE {
        status(&mut io.output, Status::OutOfMemory);
        return Ok(());
    }
    let key = key(key_text)?;
    let node = &io.node;
    let shared = node.channel(channel);
    let value = value.to_vec();
    let len = value.len() as u64;
    let stored = shared.append(&node.pool, key, value).result().await;
    match stored {
        Ok(Ok(())) => {
            node.counters.handled(1, len);
            status(&mut io.output, Status::Ok);
        }
        Ok(Err(error)) => disk_failed(format!("Put into '{channel}': {error}"), &mut io.output),
        Err(error) => disk_failed(error, &mut io.output),
    }
    Ok(())
}
