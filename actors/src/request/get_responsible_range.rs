//! GetResponsibleRange: the node's hash range (bit-reversed space).

use bytes::BytesMut;
use shoal_protocol::legacy::wire::put_u64;
use shoal_protocol::legacy::Status;

use super::status;
use crate::node::DhtNode;

/// Applies a GetResponsibleRange.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    let range = node.range();
    status(out, Status::Ok);
    put_u64(out, range.min);
    put_u64(out, range.max);
}
