//! The node side of the legacy DMQ requests, one module per request kind.
//!
//! Every request reads all its arguments before checking any, so a refused
//! request leaves the connection in sync and usable, as in the original.
//! Channel names follow the legacy rule (ASCII letters, digits, `_`, `-`);
//! a bad one is answered 409 BadChannelName.

mod consume;
mod get_num_connections;
mod pop;
mod produce;
mod push;
mod push_multi;
mod remove_channel;

use bytes::BytesMut;
use shoal_protocol::dmq::legacy::{DmqCommand, DmqRequest};
use shoal_protocol::legacy::wire::put_u32;
use shoal_protocol::legacy::Status;
use shoal_storage::dmq::name::valid_channel;

use super::node::DmqNode;
use crate::connection::{ClientIo, ConnectionError};

/// A request copied out of the input buffer, so that handlers can await the
/// storage while the buffer takes more input.
pub enum Owned {
    /// Push.
    Push {
        /// channel name, not yet validated
        channel: Vec<u8>,
        /// the record
        value: Vec<u8>,
    },
    /// Pop.
    Pop {
        /// channel name, not yet validated
        channel: Vec<u8>,
    },
    /// Consume.
    Consume {
        /// channel name, not yet validated
        channel: Vec<u8>,
    },
    /// GetNumConnections.
    GetNumConnections,
    /// PushMulti.
    PushMulti {
        /// channel names, not yet validated
        channels: Vec<Vec<u8>>,
        /// the record
        value: Vec<u8>,
    },
    /// Produce.
    Produce {
        /// channel name, not yet validated
        channel: Vec<u8>,
    },
    /// ProduceMulti.
    ProduceMulti {
        /// channel names, not yet validated
        channels: Vec<Vec<u8>>,
    },
    /// RemoveChannel.
    RemoveChannel {
        /// channel name, not yet validated
        channel: Vec<u8>,
    },
}

impl From<&DmqRequest<'_>> for Owned {
    fn from(request: &DmqRequest<'_>) -> Self {
        let all = |channels: &[&[u8]]| channels.iter().map(|c| c.to_vec()).collect();
        match request {
            DmqRequest::Push { channel, value } => Owned::Push { channel: channel.to_vec(), value: value.to_vec() },
            DmqRequest::Pop { channel } => Owned::Pop { channel: channel.to_vec() },
            DmqRequest::Consume { channel } => Owned::Consume { channel: channel.to_vec() },
            DmqRequest::GetNumConnections => Owned::GetNumConnections,
            DmqRequest::PushMulti { channels, value } => {
                Owned::PushMulti { channels: all(channels), value: value.to_vec() }
            }
            DmqRequest::Produce { channel } => Owned::Produce { channel: channel.to_vec() },
            DmqRequest::ProduceMulti { channels } => Owned::ProduceMulti { channels: all(channels) },
            DmqRequest::RemoveChannel { channel } => Owned::RemoveChannel { channel: channel.to_vec() },
        }
    }
}

impl Owned {
    /// Runs the request on the connection, timed in stats.log's figures.
    pub async fn handle(self, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
        let node = std::sync::Arc::clone(&io.node);
        let counters = node.counters.request(self.command());
        counters.inspect(|c| c.started());
        let started = std::time::Instant::now();
        let result = self.run(io).await;
        counters.inspect(|c| c.finished(started.elapsed()));
        result
    }

    fn command(&self) -> DmqCommand {
        match self {
            Owned::Push { .. } => DmqCommand::Push,
            Owned::Pop { .. } => DmqCommand::Pop,
            Owned::Consume { .. } => DmqCommand::Consume,
            Owned::GetNumConnections => DmqCommand::GetNumConnections,
            Owned::PushMulti { .. } => DmqCommand::PushMulti,
            Owned::Produce { .. } => DmqCommand::Produce,
            Owned::ProduceMulti { .. } => DmqCommand::ProduceMulti,
            Owned::RemoveChannel { .. } => DmqCommand::RemoveChannel,
        }
    }

    async fn run(self, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
        match self {
            Owned::Push { channel, value } => push::handle(channel, value, io).await,
            Owned::Pop { channel } => pop::handle(channel, io).await,
            Owned::Consume { channel } => consume::handle(channel, io).await,
            Owned::GetNumConnections => {
                get_num_connections::handle(io);
                Ok(())
            }
            Owned::PushMulti { channels, value } => push_multi::handle(channels, value, io).await,
            Owned::Produce { channel } => produce::handle(vec![channel], io).await,
            Owned::ProduceMulti { channels } => produce::handle(channels, io).await,
            Owned::RemoveChannel { channel } => remove_channel::handle(channel, io).await,
        }
    }
}

/// Appends a status code.
fn status(out: &mut BytesMut, status: Status) {
    put_u32(out, status as u32);
}

/// The channel names as text if every one is valid; otherwise answers 409
/// BadChannelName and returns `None`.
fn valid_names(channels: Vec<Vec<u8>>, out: &mut BytesMut) -> Option<Vec<String>> {
    let names: Option<Vec<String>> = channels
        .into_iter()
        .map(|c| String::from_utf8(c).ok().filter(|name| valid_channel(name)))
        .collect();
    if names.is_none() {
        status(out, Status::BadChannelName);
    }
    names
}

/// A storage failure: answered 500 Error and logged.
fn storage_failed(error: impl std::fmt::Display, out: &mut BytesMut) {
    tracing::error!(target: "dmqnode.request", "storage failed: {error}");
    status(out, Status::Error);
}
