//! Neo Pop: the oldest record of a channel (created if missing, as in the
//! original); Subscribed when the channel's records go to subscribers.

use std::sync::Arc;

use shoal_protocol::dmq::neo::PopReply;
use shoal_storage::dmq::name::valid_channel;
use shoal_storage::dmq::store::Popped;

use super::{valid_name, DmqNode, Task};
use crate::neo::RequestIo;

/// The task that pops and answers.
pub(super) fn start(channel: &[u8], node: &Arc<DmqNode>) -> Task {
    let channel = valid_name(channel, valid_channel);
    let node = Arc::clone(node);
    Task::new(move |io: RequestIo| async move {
        let Some(channel) = channel else { return io.send(&PopReply::Error.encode()).await };
        let reply = match node.store.pop(&channel, true).await {
            Ok(Popped::Record(record)) => {
                node.counters.popped(1, record.len() as u64);
                return io.send(&PopReply::Popped(&record).encode()).await;
            }
            Ok(Popped::Empty | Popped::NoChannel) => PopReply::Empty,
            Ok(Popped::Subscribed) => PopReply::Subscribed,
            Err(error) => {
                tracing::error!(target: "dmqnode.request", "neo Pop: storage failed: {error}");
                PopReply::Error
            }
        };
        io.send(&reply.encode()).await
    })
}
