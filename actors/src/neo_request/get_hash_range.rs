//! Neo GetHashRange: the node's range now, then a notification whenever it
//! changes or a Redistribute tells the node about another node. Runs until
//! the client disconnects.

use std::sync::Arc;

use shoal_protocol::neo::dht::get_hash_range::{encode_current, HashRangeUpdate};
use tokio::sync::broadcast::error::RecvError;

use super::{DhtNode, Replies, Task};
use crate::neo::RequestIo;

/// Sends the current range and returns the task that forwards changes.
/// It subscribes before reading the range, so no change in between is lost.
pub(super) fn start(node: &Arc<DhtNode>, reply: &mut Replies<'_>) -> Task {
    let mut updates = node.hash_range_updates();
    let range = node.range();
    reply.send(&encode_current(range.min, range.max));
    let node = Arc::clone(node);
    Task::new(move |io: RequestIo| async move {
        loop {
            let update = match updates.recv().await {
                Ok(update) => update,
                // Fell behind: the current range is what matters.
                Err(RecvError::Lagged(_)) => {
                    let range = node.range();
                    HashRangeUpdate::ChangeHashRange { min: range.min, max: range.max }
                }
                Err(RecvError::Closed) => return Ok(()),
            };
            io.send(&update.encode()).await?;
        }
    })
}
