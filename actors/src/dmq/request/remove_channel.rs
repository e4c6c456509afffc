//! RemoveChannel: drops a channel with all its queues and records (a missing
//! channel counts as removed); its consumers end their streams.

use shoal_protocol::legacy::Status;

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};

/// Handles a legacy RemoveChannel.
pub(super) async fn handle(channel: Vec<u8>, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(vec![channel], &mut io.output) else { return Ok(()) };
    match io.node.store.remove_channel(&channels[0]).await {
        Ok(_) => {
            tracing::info!(target: "dmqnode.request", "removed channel '{}'", channels[0]);
            status(&mut io.output, Status::Ok);
        }
        Err(error) => storage_failed(error, &mut io.output),
    }
    Ok(())
}
