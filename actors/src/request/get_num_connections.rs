//! GetNumConnections: how many clients are connected to this node.

use std::sync::atomic::Ordering;

use bytes::BytesMut;
use shoal_protocol::legacy::Status;

use super::{node_figures, status};
use crate::node::DhtNode;

/// Applies a GetNumConnections.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    status(out, Status::Ok);
    let connections = node.counters.connections.load(Ordering::Relaxed);
    node_figures(out, node, &[connections]);
}
