//! Neo Remove: drop a record; Removed or NoRecord says whether it existed.

use super::{channel, DhtNode, Replies};
use shoal_protocol::neo::RemoveStatus;

/// Applies a neo Remove.
pub(super) fn apply(name: &[u8], key: u64, node: &DhtNode, reply: &mut Replies<'_>) {
    let status = match channel(name, node) {
        None => RemoveStatus::Error,
        Some(_) if !node.range().owns(key) => RemoveStatus::WrongNode,
        // Valid names are ASCII.
        Some(_) if node.remove(std::str::from_utf8(name).unwrap_or_default(), key) => RemoveStatus::Removed,
        Some(_) => RemoveStatus::NoRecord,
    };
    reply.send(&[status.to_byte()]);
}
