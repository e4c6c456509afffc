//! Exists: whether a record is stored, as one byte after the status.

use bytes::{BufMut, BytesMut};
use shoal_protocol::legacy::request::KeyArgs;
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status};
use crate::connection::ConnectionError;
use crate::node::DhtNode;

/// Applies an Exists.
pub fn apply(args: KeyArgs<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<(), ConnectionError> {
    let Some(channel) = channel_name(args.channel, out) else { return Ok(()) };
    let exists = match node.channels.get(channel) {
        Some(entry) => entry.storage.contains(key(args.key)?),
        None => false,
    };
    status(out, Status::Ok);
    out.put_u8(u8::from(exists));
    Ok(())
}
