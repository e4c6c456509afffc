//! Get: the value of one record, or an empty value when it is missing. Any
//! key is accepted, in range or not, as by the original.

use bytes::BytesMut;
use shoal_protocol::legacy::request::KeyArgs;
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status};
use crate::connection::ConnectionError;
use crate::counters::Action;
use crate::node::DhtNode;

/// Applies a Get.
pub fn apply(args: KeyArgs<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<(), ConnectionError> {
    let Some(channel) = channel_name(args.channel, out) else { return Ok(()) };
    let Some(entry) = node.channels.get(channel) else {
        status(out, Status::Ok);
        put_array(out, b"");
        return Ok(());
    };
    let key = key(args.key)?;
    status(out, Status::Ok);
    let len = entry.storage.get(key, |value| {
        put_array(out, value);
        value.len()
    });
    match len {
        Some(len) => node.counters.action(Action::Read, 1, len as u64),
        None => put_array(out, b""),
    }
    Ok(())
}
