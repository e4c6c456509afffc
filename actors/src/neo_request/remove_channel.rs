//! Neo RemoveChannel: only the client named `admin` may drop a channel, as in
//! the original. The original sends nothing at all to other clients (the
//! request just ends); shoal answers NotPermitted, which the client's status
//! handling already knows. A missing channel counts as removed.

use super::{DhtNode, Replies};
use shoal_protocol::neo::RemoveChannelStatus;

/// The only client the original lets remove channels.
const PERMITTED_CLIENT: &str = "admin";

/// Applies a neo RemoveChannel.
pub(super) fn apply(name: &[u8], node: &DhtNode, reply: &mut Replies<'_>) {
    let client = reply.client();
    let status = if client != PERMITTED_CLIENT {
        tracing::warn!(target: "shoal.neo", "client '{client}' may not remove channels");
        RemoveChannelStatus::NotPermitted
    } else {
        if let Ok(name) = std::str::from_utf8(name) {
            node.remove_channel(name);
        }
        RemoveChannelStatus::ChannelRemoved
    };
    reply.send(&[status.to_byte()]);
}
