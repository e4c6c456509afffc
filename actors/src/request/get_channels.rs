//! GetChannels: every channel name, then an empty name as the end.

use bytes::BytesMut;
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use super::status;
use crate::node::DhtNode;

/// Applies a GetChannels.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    status(out, Status::Ok);
    for name in node.channels.names() {
        put_array(out, name.as_bytes());
    }
    put_array(out, b"");
}
