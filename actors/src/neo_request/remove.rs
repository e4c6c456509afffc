//! Neo Remove: drop a record; Removed or NoRecord says whether it existed.

use super::{channel, DhtNode, Reply};
use shoal_protocol::neo::RemoveStatus;

/// Applies a neo Remove.
pub(super) fn apply(name: &[u8], key: u64, node: &DhtNode, mut reply: Reply<'_>) {
    let status = match channel(name, node) {
        None => RemoveStatus::Error,
        Some(_) if !node.range().owns(key) => RemoveStatus::WrongNode,
        Some(entry) => match entry.storage.remove(key) {
            Some(len) => {
                node.counters.action(crate::counters::Action::Deleted, 1, len);
                RemoveStatus::Removed
            }
            None => RemoveStatus::NoRecord,
        },
    };
    reply.send(&status.encode_body(reply.id));
}
