//! Put, Get, Exists and Remove on a ring member: after the same checks as on
//! a lone node (channel name, key, value size), the record request is
//! coordinated across the key's replicas ([`crate::ring::coordinator`])
//! while the connection waits. Every key is in range: a ring member answers
//! for the whole hash space. A request that too few replicas answered gets
//! status Error (500).

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use shoal_protocol::legacy::request::{KeyArgs, PutArgs};
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use super::{channel_name, key, status, Outcome, Streaming};
use crate::connection::{ClientIo, ConnectionError};
use crate::counters::Action;
use crate::node::DhtNode;
use crate::ring::coordinator::{self, CoordinationError};
use crate::ring::Ring;

/// A record request to coordinate.
pub struct Replicated {
    ring: Arc<Ring>,
    channel: String,
    key: u64,
    operation: Operation,
}

/// What the record request does.
enum Operation {
    Put(Vec<u8>),
    Get,
    Exists,
    Remove,
}

/// Checks a Put; the stream writes the value at the replicas.
pub fn put(ring: &Arc<Ring>, args: PutArgs<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<Outcome, ConnectionError> {
    let Some(channel) = channel_name(args.target.channel, out) else { return Ok(Outcome::Done) };
    let key = key(args.target.key)?;
    let reply = match args.value {
        None => Status::ValueTooBig,
        Some([]) => Status::EmptyValue,
        Some(value) if !node.has_room_for(value.len()) => Status::OutOfMemory,
        Some(value) => return Ok(start(ring, channel, key, Operation::Put(value.to_vec()))),
    };
    status(out, reply);
    Ok(Outcome::Done)
}

/// Checks a Get, Exists or Remove (`code` says which).
pub fn keyed(ring: &Arc<Ring>, args: KeyArgs<'_>, code: KeyedRequest, out: &mut BytesMut) -> Result<Outcome, ConnectionError> {
    let Some(channel) = channel_name(args.channel, out) else { return Ok(Outcome::Done) };
    let key = key(args.key)?;
    let operation = match code {
        KeyedRequest::Get => Operation::Get,
        KeyedRequest::Exists => Operation::Exists,
        KeyedRequest::Remove => Operation::Remove,
    };
    Ok(start(ring, channel, key, operation))
}

/// The key-only record requests.
#[derive(Debug, Clone, Copy)]
pub enum KeyedRequest {
    /// Get.
    Get,
    /// Exists.
    Exists,
    /// Remove.
    Remove,
}

fn start(ring: &Arc<Ring>, channel: &str, key: u64, operation: Operation) -> Outcome {
    Outcome::Stream(Streaming::Replicated(Box::new(Replicated {
        ring: Arc::clone(ring),
        channel: channel.to_owned(),
        key,
        operation,
    })))
}

impl Replicated {
    /// Coordinates the request and appends its reply.
    pub async fn run(self, io: &mut ClientIo) -> Result<(), ConnectionError> {
        let node = Arc::clone(&io.node);
        let Replicated { ring, channel, key, operation } = self;
        let out = &mut io.output;
        let failed = |error: CoordinationError, out: &mut BytesMut| {
            tracing::warn!(target: "shoal.ring", "request on '{channel}' failed: {error}");
            status(out, Status::Error);
        };
        match operation {
            // The replicas count what they store.
            Operation::Put(value) => match coordinator::write(&ring, &node, &channel, key, Some(value)).await {
                Ok(()) => status(out, Status::Ok),
                Err(error) => failed(error, out),
            },
            Operation::Remove => match coordinator::write(&ring, &node, &channel, key, None).await {
                Ok(()) => status(out, Status::Ok),
                Err(error) => failed(error, out),
            },
            Operation::Get => match coordinator::read(&ring, &node, &channel, key).await {
                Ok(value) => {
                    status(out, Status::Ok);
                    let value = value.unwrap_or_default();
                    if !value.is_empty() {
                        node.counters.action(Action::Read, 1, value.len() as u64);
                    }
                    put_array(out, &value);
                }
                Err(error) => failed(error, out),
            },
            Operation::Exists => match coordinator::read(&ring, &node, &channel, key).await {
                Ok(value) => {
                    status(out, Status::Ok);
                    out.put_u8(u8::from(value.is_some()));
                }
                Err(error) => failed(error, out),
            },
        }
        Ok(())
    }
}
