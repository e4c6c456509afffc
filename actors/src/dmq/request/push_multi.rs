//! PushMulti: one record into several channels, in the order given. Any bad
//! name refuses the whole request (409) and an empty value is refused (408)
//! before any channel is created; no channels at all is a successful no-op.

use shoal_protocol::legacy::Status;

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};

/// Handles a legacy PushMulti.
pub(super) async fn handle(
    channels: Vec<Vec<u8>>,
    value: Vec<u8>,
    io: &mut ClientIo<DmqNode>,
) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(channels, &mut io.output) else { return Ok(()) };
    if value.is_empty() {
        status(&mut io.output, Status::EmptyValue);
        return Ok(());
    }
    if channels.is_empty() {
        status(&mut io.output, Status::Ok);
        return Ok(());
    }
    let len = value.len();
    match io.node.store.push(channels, value).await {
        Ok(()) => {
            io.node.counters.pushed(len);
            status(&mut io.output, Status::Ok);
        }
        Err(error) => storage_failed(error, &mut io.output),
    }
    Ok(())
}
