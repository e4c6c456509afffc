//! RemoveChannel: drop a channel with all its records and end its listeners.

use bytes::BytesMut;
use shoal_protocol::legacy::request::ChannelArg;
use shoal_protocol::legacy::Status;

use super::{channel_name, status};
use crate::node::DhtNode;

/// Applies a RemoveChannel.
pub fn apply(arg: ChannelArg<'_>, node: &DhtNode, out: &mut BytesMut) {
    let Some(channel) = channel_name(arg.channel, out) else { return };
    node.remove_channel(channel);
    status(out, Status::Ok);
}
