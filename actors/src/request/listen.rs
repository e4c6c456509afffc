//! Listen: after Ok, every record later written to the channel (key and
//! current value, empty if it was removed meanwhile), until the channel is
//! removed (then an empty key and value end the stream and the connection
//! takes requests again) or the client disconnects. Removals and PutBatch
//! writes are not forwarded, as in the original.
//!
//! Pending keys are sent as soon as the listener wakes, all of them in one
//! write; `write_flush_ms` is thus an upper bound on the delay rather than
//! the delay itself.
//!
//! On a ring member, Listen sees every write the ring coordinates to the
//! channel: members that do not hold a key are told of its writes
//! ([`PeerMessage::Changed`](shoal_cluster::message::PeerMessage::Changed)),
//! and values are read through the ring.

use std::sync::Arc;

use bytes::BytesMut;
use shoal_protocol::legacy::request::ChannelArg;
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;
use shoal_storage::dht::hash::format_hex_key;

use super::{channel_name, status, Outcome, Streaming};
use crate::channels::ChannelEntry;
use crate::connection::{ClientIo, ConnectionError};
use crate::counters::Action;
use crate::listeners::{ListenEvent, ListenerQueue, Watcher};
use crate::node::DhtNode;
use crate::ring::coordinator;

/// Validates a Listen, creates the channel if needed and registers the
/// listener before Ok is sent, so that no write the client makes after
/// seeing Ok can be missed.
pub fn start(arg: ChannelArg<'_>, node: &DhtNode, out: &mut BytesMut) -> Outcome {
    let Some(channel) = channel_name(arg.channel, out) else { return Outcome::Done };
    let entry = node.channels.get_or_create(channel);
    let queue = entry.listeners.register(Watcher::Listen);
    status(out, Status::Ok);
    Outcome::Stream(Streaming::Listen(Registration { name: channel.to_owned(), entry, queue }))
}

/// A registered listener; unregistered however the stream ends (also at
/// shutdown, when the connection's future is dropped).
pub struct Registration {
    name: String,
    entry: Arc<ChannelEntry>,
    queue: Arc<ListenerQueue>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.entry.listeners.unregister(&self.queue);
    }
}

/// Streams the channel's changes to the client.
pub async fn stream(registration: Registration, io: &mut ClientIo) -> Result<(), ConnectionError> {
    loop {
        let event = tokio::select! {
            event = registration.queue.next() => event,
            error = io.closed() => return error.map_or(Ok(()), Err),
        };
        match event {
            ListenEvent::Changes(changes) => {
                let (mut records, mut bytes) = (0, 0);
                for (key, _) in changes {
                    put_array(&mut io.output, &format_hex_key(key));
                    bytes += put_value(io, &registration, key).await as u64;
                    records += 1;
                }
                io.node.counters.action(Action::Forwarded, records, bytes);
            }
            ListenEvent::Finished => {
                put_array(&mut io.output, b"");
                put_array(&mut io.output, b"");
                return io.flush().await;
            }
        }
        io.flush().await?;
    }
}

/// Appends `key`'s current value, empty if it was removed since it was
/// queued (as the original sends it); returns its length. On a ring member
/// the value is read through the ring: the record may live on other
/// members.
async fn put_value(io: &mut ClientIo, registration: &Registration, key: u64) -> usize {
    if let Some(ring) = io.node.ring().cloned() {
        let node = Arc::clone(&io.node);
        let value = coordinator::read(&ring, &node, &registration.name, key).await.ok().flatten().unwrap_or_default();
        put_array(&mut io.output, &value);
        return value.len();
    }
    let len = registration.entry.storage.get(key, |value| {
        put_array(&mut io.output, value);
        value.len()
    });
    if len.is_none() {
        put_array(&mut io.output, b"");
    }
    len.unwrap_or(0)
}
