//! Neo GetAll: every record of a channel (or every key, or the records whose
//! value contains a filter) in compressed batches of at most 64 KiB, the
//! original's batch size. The scan runs in key order within each shard so
//! that a client which lost its connection can continue after the last key
//! it received. Suspend, resume and stop act between batches.

use std::sync::Arc;

use bytes::BytesMut;
use memchr::memmem::Finder;
use shoal_protocol::legacy::batch::BatchWriter;
use crate::batch_fill::fill_batch;
use shoal_protocol::neo::dht::get_all::{GetAllArgs, GetAllMessage};
use shoal_storage::dht::ChannelCursor;

use super::flow::{await_final_ack, Flow, Next};
use super::{channel, DhtNode, Replies, Task};
use crate::counters::Action;
use crate::neo::RequestIo;

/// Uncompressed bytes per batch (swarm's RecordBatcher default).
const BATCH_SIZE: usize = 64 * 1024;

/// The RecordBatch message type byte.
const RECORD_BATCH: u8 = 7;

/// Answers Started (or Error for an invalid channel name) and returns the
/// task that streams the records.
pub(super) fn start(args: GetAllArgs<'_>, node: &Arc<DhtNode>, reply: &mut Replies<'_>) -> Option<Task> {
    let Some(entry) = channel(args.channel, node) else {
        reply.send(&GetAllMessage::Error.encode());
        return None;
    };
    reply.send(&GetAllMessage::Started.encode());
    let filter = (!args.value_filter.is_empty()).then(|| Finder::new(args.value_filter).into_owned());
    let GetAllArgs { start_suspended, continue_after, keys_only, .. } = args;
    let node = Arc::clone(node);
    Some(Task::new(move |mut io: RequestIo| async move {
        let mut flow = Flow::new(start_suspended);
        let mut cursor = ChannelCursor::in_key_order(continue_after);
        let mut batch = BatchWriter::new(BATCH_SIZE);
        let mut message = BytesMut::new();
        loop {
            if flow.poll(&mut io).await? == Next::Stop || flow.wait_while_suspended(&mut io).await? == Next::Stop {
                return Ok(());
            }
            let filled = fill_batch(
                &mut cursor,
                &entry.storage,
                |key, value| {
                    if filter.as_ref().is_some_and(|f| f.find(value).is_none()) {
                        return None;
                    }
                    let key = key.to_le_bytes();
                    Some(if keys_only { batch.add(&[&key]) } else { batch.add(&[&key, value]) })
                },
                |key, len| {
                    tracing::warn!(target: "dhtproto.node.neo.request.GetAll", "GetAll: Large record 0x{key:016x} ({len} bytes) skipped.")
                },
            );
            node.counters.action(Action::Iterated, filled.records, filled.bytes);
            message.clear();
            message.extend_from_slice(&[RECORD_BATCH]);
            batch.finish(&mut message);
            io.send(&message).await?;
            if !filled.more {
                break;
            }
        }
        io.send(&GetAllMessage::Finished.encode()).await?;
        await_final_ack(&mut io).await
    }))
}
