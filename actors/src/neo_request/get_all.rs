//! Neo GetAll: every record of a channel (or every key, or the records whose
//! value contains a filter) in compressed batches of at most 64 KiB, the
//! original's batch size. The scan runs in key order within each shard so
//! that a client which lost its connection can continue after the last key
//! it received. Suspend, resume and stop act between batches.

use std::sync::Arc;

use bytes::BytesMut;
use memchr::memmem::Finder;
use shoal_protocol::legacy::batch::{Added, BatchWriter};
use crate::batch_fill::ScanSource;
use shoal_protocol::neo::dht::get_all::{GetAllArgs, GetAllMessage};

use super::flow::{await_final_ack, Flow, Next};
use super::{channel, channel_name, DhtNode, Replies, Task};
use crate::counters::Action;
use crate::neo::{RequestIo, TaskError};

/// Uncompressed bytes per batch (swarm's RecordBatcher default).
const BATCH_SIZE: usize = 64 * 1024;

/// The RecordBatch message type byte.
const RECORD_BATCH: u8 = 7;

/// Answers Started (or Error for an invalid channel name) and returns the
/// task that streams the records: this node's, or on a ring member the
/// whole ring's ([`ScanSource`]).
pub(super) fn start(args: GetAllArgs<'_>, node: &Arc<DhtNode>, reply: &mut Replies<'_>) -> Option<Task> {
    let Some(entry) = channel(args.channel, node) else {
        reply.send(&GetAllMessage::Error.encode());
        return None;
    };
    reply.send(&GetAllMessage::Started.encode());
    let filter = (!args.value_filter.is_empty()).then(|| Finder::new(args.value_filter).into_owned());
    let GetAllArgs { start_suspended, continue_after, keys_only, .. } = args;
    let node = Arc::clone(node);
    let what = What { keys_only, filter };
    let name = channel_name(args.channel).unwrap_or_default().to_owned();
    Some(Task::new(move |mut io: RequestIo| async move {
        let mut flow = Flow::new(start_suspended);
        let mut source = ScanSource::in_key_order(&node, Some(entry), &name, continue_after);
        let mut batch = BatchWriter::new(BATCH_SIZE);
        let mut message = BytesMut::new();
        loop {
            if flow.poll(&mut io).await? == Next::Stop || flow.wait_while_suspended(&mut io).await? == Next::Stop {
                return Ok(());
            }
            let filled = source.fill(|key, value| what.add(&mut batch, key, value), too_big).await;
            node.counters.action(Action::Iterated, filled.records, filled.bytes);
            send_batch(&mut io, &mut batch, &mut message).await?;
            if !filled.more {
                break;
            }
        }
        io.send(&GetAllMessage::Finished.encode()).await?;
        await_final_ack(&mut io).await
    }))
}

/// What the client asked for of each record.
struct What {
    keys_only: bool,
    filter: Option<Finder<'static>>,
}

impl What {
    /// Adds the record to the batch; `None` when the filter leaves it out.
    fn add(&self, batch: &mut BatchWriter, key: u64, value: &[u8]) -> Option<Added> {
        if self.filter.as_ref().is_some_and(|f| f.find(value).is_none()) {
            return None;
        }
        let key = key.to_le_bytes();
        Some(if self.keys_only { batch.add(&[&key]) } else { batch.add(&[&key, value]) })
    }
}

fn too_big(key: u64, len: usize) {
    tracing::warn!(target: "dhtproto.node.neo.request.GetAll", "GetAll: Large record 0x{key:016x} ({len} bytes) skipped.");
}

/// Sends the batch as a RecordBatch message and empties it.
async fn send_batch(io: &mut RequestIo, batch: &mut BatchWriter, message: &mut BytesMut) -> Result<(), TaskError> {
    message.clear();
    message.extend_from_slice(&[RECORD_BATCH]);
    batch.finish(message);
    io.send(message).await
}
