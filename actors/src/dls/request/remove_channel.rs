//! RemoveChannel: answers 200, then deletes the channel's directory with
//! every bucket (a missing channel counts as removed).

use shoal_protocol::legacy::Status;

use super::{status, valid_channel, ClientIo, ConnectionError, DlsNode};

/// Handles a legacy RemoveChannel.
pub(super) async fn handle(channel: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    status(&mut io.output, Status::Ok);
    let node = &io.node;
    let shared = node.channel(channel);
    node.channels.remove(channel);
    let removed = node
        .pool
        .run(move || shared.lock().remove())
        .await;
    match removed {
        Ok(Ok(())) => tracing::info!(target: "dlsnode.request", "Clearing (deleting) DLS channel '{channel}'"),
        Ok(Err(error)) => tracing::error!(target: "dlsnode.request", "removing channel '{channel}': {error}"),
        Err(error) => tracing::error!(target: "dlsnode.request", "removing channel '{channel}': {error}"),
    }
    Ok(())
}
