//! Put: store one record, after the original's checks in its order: channel
//! name, key in range, value size, non-empty value, node size limit.

use bytes::BytesMut;
use shoal_protocol::legacy::request::PutArgs;
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status};
use crate::connection::ConnectionError;
use crate::counters::Action;
use crate::node::DhtNode;

/// Applies a Put.
pub fn apply(args: PutArgs<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<(), ConnectionError> {
    let Some(channel) = channel_name(args.target.channel, out) else { return Ok(()) };
    let key = key(args.target.key)?;
    let reply = match args.value {
        _ if !node.range().owns(key) => Status::WrongNode,
        None => Status::ValueTooBig,
        Some([]) => Status::EmptyValue,
        Some(value) if !node.has_room_for(value.len()) => Status::OutOfMemory,
        Some(value) => {
            node.put(channel, key, value);
            node.counters.action(Action::Written, 1, value.len() as u64);
            Status::Ok
        }
    };
    status(out, reply);
    Ok(())
}
