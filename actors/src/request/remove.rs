//! Remove: drop one record of this node's range; Ok whether it existed or not.

use bytes::BytesMut;
use shoal_protocol::legacy::request::KeyArgs;
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status};
use crate::connection::ConnectionError;
use crate::node::DhtNode;

/// Applies a Remove.
pub fn apply(args: KeyArgs<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<(), ConnectionError> {
    let Some(channel) = channel_name(args.channel, out) else { return Ok(()) };
    let key = key(args.key)?;
    if !node.range().owns(key) {
        status(out, Status::WrongNode);
        return Ok(());
    }
    status(out, Status::Ok);
    node.remove(channel, key);
    Ok(())
}
