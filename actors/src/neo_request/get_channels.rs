//! Neo GetChannels: every channel's name, one message each, then Finished.

use shoal_protocol::neo::dht::get_channels::GetChannelsMessage;

use super::{DhtNode, Replies};

/// Applies a neo GetChannels.
pub(super) fn apply(node: &DhtNode, reply: &mut Replies<'_>) {
    for name in node.channels.names() {
        reply.send(&GetChannelsMessage::ChannelName(name.as_bytes()).encode());
    }
    reply.send(&GetChannelsMessage::Finished.encode());
}
