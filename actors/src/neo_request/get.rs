//! Neo Get: a record's value, sent in a message of its own after the Got
//! status; NoRecord when it is missing.

use super::{channel, DhtNode, Replies};
use shoal_protocol::neo::GetStatus;

use crate::counters::Action;

/// Applies a neo Get.
pub(super) fn apply(name: &[u8], key: u64, node: &DhtNode, reply: &mut Replies<'_>) {
    let Some(entry) = channel(name, node) else {
        return reply.send(&[GetStatus::Error.to_byte()]);
    };
    if !node.range().owns(key) {
        return reply.send(&[GetStatus::WrongNode.to_byte()]);
    }
    // The value is copied once, straight from storage into the reply.
    let found = entry.storage.get(key, |value| {
        reply.send(&[GetStatus::Got.to_byte()]);
        reply.send_parts(&[&(value.len() as u64).to_le_bytes(), value]);
        value.len()
    });
    match found {
        Some(len) => node.counters.action(Action::Read, 1, len as u64),
        None => reply.send(&[GetStatus::NoRecord.to_byte()]),
    }
}
