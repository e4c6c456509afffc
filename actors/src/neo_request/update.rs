//! Neo Update: read-modify-write of one record. After GetRecord the node
//! sends the value and waits for the client's decision; an UpdateRecord is
//! written only if the stored value still has the hash of the value the
//! client read (a record removed meanwhile counts as unchanged, as in the
//! original). The check and the write happen under one lock, so two
//! concurrent Updates of a key cannot both succeed.

use std::sync::Arc;

use shoal_protocol::neo::dht::update::{value_hash, UpdateArgs, UpdateReply, UpdateStep};
use shoal_protocol::neo::RequestError;

use super::{channel_name, DhtNode, Replies, Task};
use crate::counters::Action;
use crate::listeners::Change;
use crate::neo::{RequestIo, TaskError};

/// Applies an Update's first message; returns the task that waits for the
/// client's decision after RecordValue.
pub(super) fn start(args: UpdateArgs<'_>, node: &Arc<DhtNode>, reply: &mut Replies<'_>) -> Result<Option<Task>, RequestError> {
    let Some(name) = channel_name(args.channel) else {
        reply.send(&UpdateReply::Error.encode());
        return Ok(None);
    };
    if !node.range().owns(args.key) {
        reply.send(&UpdateReply::WrongNode.encode());
        return Ok(None);
    }
    let key = args.key;
    match args.step {
        UpdateStep::UpdateRecord { old_hash, value } => {
            reply.send(&update(node, name, key, old_hash, value).encode());
            Ok(None)
        }
        UpdateStep::GetRecord => {
            let entry = node.channels.get_or_create(name);
            let Some(len) = entry.storage.get(key, |value| {
                reply.send(&UpdateReply::RecordValue(value).encode());
                value.len()
            }) else {
                reply.send(&UpdateReply::NoRecord.encode());
                return Ok(None);
            };
            node.counters.action(Action::Read, 1, len as u64);
            let (node, name) = (Arc::clone(node), name.to_string());
            Ok(Some(Task::new(move |mut io: RequestIo| async move {
                let decision = io.recv().await?;
                let outcome = match UpdateStep::decode(&decision)? {
                    UpdateStep::UpdateRecord { old_hash, value } => update(&node, &name, key, old_hash, value),
                    UpdateStep::LeaveRecord => UpdateReply::Ok,
                    UpdateStep::RemoveRecord => {
                        node.remove(&name, key);
                        UpdateReply::Ok
                    }
                    UpdateStep::GetRecord => return Err(TaskError::Protocol(unexpected(1))),
                };
                io.send(&outcome.encode()).await
            })))
        }
        UpdateStep::RemoveRecord => Err(unexpected(3)),
        UpdateStep::LeaveRecord => Err(unexpected(4)),
    }
}

/// A client message out of place: a protocol error.
fn unexpected(byte: u8) -> RequestError {
    RequestError::UnknownStatus { kind: "unexpected Update message", byte }
}

/// Writes `value` if the stored value still hashes to `old_hash`.
fn update(node: &DhtNode, name: &str, key: u64, old_hash: u64, value: &[u8]) -> UpdateReply<'static> {
    let entry = node.channels.get_or_create(name);
    let written = entry.storage.put_if(key, value, |stored| stored.is_none_or(|stored| value_hash(stored) == old_hash));
    if !written {
        return UpdateReply::UpdateConflict;
    }
    node.counters.action(Action::Written, 1, value.len() as u64);
    entry.listeners.changed(key, Change::Written);
    UpdateReply::Ok
}
