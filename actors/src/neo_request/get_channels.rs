//! Neo GetChannels: every channel's name, one message each, then Finished.

use shoal_protocol::neo::dht::get_channels::GetChannelsMessage;

use std::sync::Arc;

use super::{DhtNode, Replies, Task};
use crate::neo::RequestIo;
use crate::ring::{coordinator, Ring};

/// Applies a neo GetChannels.
pub(super) fn apply(node: &DhtNode, reply: &mut Replies<'_>) {
    for name in node.channels.names() {
        reply.send(&GetChannelsMessage::ChannelName(name.as_bytes()).encode());
    }
    reply.send(&GetChannelsMessage::Finished.encode());
}

/// On a ring member: the task that asks every member for its channels and
/// sends their union.
pub(super) fn start_ring(ring: Arc<Ring>, node: Arc<DhtNode>) -> Task {
    Task::new(move |io: RequestIo| async move {
        for name in coordinator::channels(&ring, &node).await {
            io.send(&GetChannelsMessage::ChannelName(name.as_bytes()).encode()).await?;
        }
        io.send(&GetChannelsMessage::Finished.encode()).await
    })
}
