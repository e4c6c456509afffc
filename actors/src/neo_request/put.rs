//! Neo Put: store a record. Unlike the legacy Put, the original checks no
//! size limit or empty value here; only the range.

use super::{channel, DhtNode, Replies};
use shoal_protocol::neo::PutStatus;

use crate::counters::Action;

/// Applies a neo Put.
pub(super) fn apply(name: &[u8], key: u64, value: &[u8], node: &DhtNode, reply: &mut Replies<'_>) {
    let status = match channel(name, node) {
        None => PutStatus::Error,
        Some(_) if !node.range().owns(key) => PutStatus::WrongNode,
        Some(_) => {
            // Valid names are ASCII.
            let name = std::str::from_utf8(name).unwrap_or_default();
            node.put(name, key, value);
            node.counters.action(Action::Written, 1, value.len() as u64);
            PutStatus::Put
        }
    };
    reply.send(&[status.to_byte()]);
}
