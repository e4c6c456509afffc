//! Neo Exists: whether a record is stored.

use super::{channel, DhtNode, Replies};
use shoal_protocol::neo::ExistsStatus;

/// Applies a neo Exists.
pub(super) fn apply(name: &[u8], key: u64, node: &DhtNode, reply: &mut Replies<'_>) {
    let status = match channel(name, node) {
        None => ExistsStatus::Error,
        Some(_) if !node.range().owns(key) => ExistsStatus::WrongNode,
        Some(entry) if entry.storage.contains(key) => ExistsStatus::RecordExists,
        Some(_) => ExistsStatus::NoRecord,
    };
    reply.send(&[status.to_byte()]);
}
