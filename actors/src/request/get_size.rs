//! GetSize: records and reported bytes of all channels together (on a ring
//! member, its share: see [`crate::ring::replica::primary_stats`]).

use bytes::BytesMut;
use shoal_protocol::legacy::Status;

use super::{node_figures, status};
use crate::node::DhtNode;
use crate::ring::replica::primary_stats;

/// Applies a GetSize.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    let total = match node.ring() {
        Some(ring) => node.channels.sum(|entry| primary_stats(ring, &entry.storage)),
        None => node.channels.total(),
    };
    status(out, Status::Ok);
    node_figures(out, node, &[total.records, total.reported_bytes]);
}
