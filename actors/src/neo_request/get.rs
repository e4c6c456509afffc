//! Neo Get: a record's value, sent in a message of its own after the Got
//! status; NoRecord when it is missing.

use super::{channel, DhtNode, Reply};
use shoal_protocol::neo::request::encode_get_value;
use shoal_protocol::neo::GetStatus;

use crate::counters::Action;

/// Applies a neo Get.
pub(super) fn apply(name: &[u8], key: u64, node: &DhtNode, mut reply: Reply<'_>) {
    let Some(entry) = channel(name, node) else {
        return reply.send(&GetStatus::Error.encode_body(reply.id));
    };
    if !node.range().owns(key) {
        return reply.send(&GetStatus::WrongNode.encode_body(reply.id));
    }
    let id = reply.id;
    let found = entry.storage.get(key, |value| (value.len(), encode_get_value(id, value)));
    match found {
        Some((len, message)) => {
            reply.send(&GetStatus::Got.encode_body(id));
            node.counters.action(Action::Read, 1, len as u64);
            reply.send(&message);
        }
        None => reply.send(&GetStatus::NoRecord.encode_body(id)),
    }
}
