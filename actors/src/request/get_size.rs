//! GetSize: records and reported bytes of all channels together.

use bytes::BytesMut;
use shoal_protocol::legacy::Status;

use super::{node_figures, status};
use crate::node::DhtNode;

/// Applies a GetSize.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    let total = node.channels.total();
    status(out, Status::Ok);
    node_figures(out, node, &[total.records, total.reported_bytes]);
}
