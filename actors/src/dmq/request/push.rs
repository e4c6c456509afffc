//! Push: one record into a channel (every subscriber's queue). The channel
//! is created even when the value is then refused as empty (408), as the
//! original does.

use shoal_protocol::legacy::Status;

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};

/// Handles a legacy Push.
pub(super) async fn handle(channel: Vec<u8>, value: Vec<u8>, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(vec![channel], &mut io.output) else { return Ok(()) };
    let node = &io.node;
    if value.is_empty() {
        match node.store.create(&channels[0]).await {
            Ok(()) => status(&mut io.output, Status::EmptyValue),
            Err(error) => storage_failed(error, &mut io.output),
        }
        return Ok(());
    }
    let len = value.len();
    match node.store.push(channels, value).await {
        Ok(()) => {
            node.counters.pushed(len);
            status(&mut io.output, Status::Ok);
        }
        Err(error) => storage_failed(error, &mut io.output),
    }
    Ok(())
}
