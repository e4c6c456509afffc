//! GetChannelSize: records and reported bytes of one channel (zero for a
//! missing one; on a ring member, its share: see
//! [`crate::ring::replica::primary_stats`]), labelled with this node's
//! address and port.

use bytes::BytesMut;
use shoal_protocol::legacy::request::ChannelArg;
use shoal_protocol::legacy::Status;

use super::{channel_name, node_figures, status};
use crate::node::DhtNode;
use crate::ring::replica::primary_stats;

/// Applies a GetChannelSize.
pub fn apply(arg: ChannelArg<'_>, node: &DhtNode, out: &mut BytesMut) {
    let Some(channel) = channel_name(arg.channel, out) else { return };
    let stats = node
        .channels
        .get(channel)
        .map(|entry| match node.ring() {
            Some(ring) => primary_stats(ring, &entry.storage),
            None => entry.storage.stats(),
        })
        .unwrap_or_default();
    status(out, Status::Ok);
    node_figures(out, node, &[stats.records, stats.reported_bytes]);
}
