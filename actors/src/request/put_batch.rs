//! PutBatch: store a compressed batch of records. Records are checked and
//! stored one by one in batch order; the first that fails (empty value, key
//! out of range, size limit) ends the request with its status, and the
//! records before it stay stored, as in the original. Batched writes do not
//! wake Listen requests (the original's choice: batches come from
//! redistribution and bulk loads). While this node runs a Redistribute,
//! records are refused (OutOfMemory) once the storage would grow past
//! `redist_memory_limit_mulitplier` times its size at the start.

use bytes::BytesMut;
use shoal_protocol::legacy::batch::{decompress, records};
use shoal_protocol::legacy::request::{ChannelData, MAX_ARRAY};
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status};
use crate::connection::ConnectionError;
use crate::counters::Action;
use crate::node::DhtNode;

/// Applies a PutBatch; a batch that does not decompress closes the connection.
pub fn apply(args: ChannelData<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<(), ConnectionError> {
    let Some(channel) = channel_name(args.channel, out) else { return Ok(()) };
    // The original creates the channel before it looks at the batch.
    let entry = node.channels.get_or_create(channel);
    let decompressed = decompress(args.data, MAX_ARRAY)?;
    for record in records(&decompressed, 2)? {
        let (key_text, value) = (record[0], record[1]);
        if value.is_empty() {
            status(out, Status::EmptyValue);
            return Ok(());
        }
        let key = key(key_text)?;
        if !node.range().owns(key) {
            status(out, Status::WrongNode);
            return Ok(());
        }
        if !node.has_room_for(value.len()) {
            tracing::warn!(target: "shoal.request", "Batch rejected: size limit exceeded");
            status(out, Status::OutOfMemory);
            return Ok(());
        }
        if !node.redistribution.allows(value.len() as u64, || node.channels.total().reported_bytes) {
            tracing::warn!(target: "dhtnode.request.PutBatchRequest", "Batch rejected: uneven redistribution");
            status(out, Status::OutOfMemory);
            return Ok(());
        }
        entry.storage.put(key, value);
        node.counters.action(Action::Written, 1, value.len() as u64);
    }
    status(out, Status::Ok);
    Ok(())
}
