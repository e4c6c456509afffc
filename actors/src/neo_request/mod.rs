//! The node side of the neo DHT requests, one file per request kind.
//!
//! A request message carries its id, command code and version, then its
//! arguments. The node first answers whether it supports the command at that
//! version, then (if so) the request's result. Put, Get, Exists, Remove and
//! RemoveChannel (version 0, as the original) are served; every other command is answered
//! "request not supported" until it is implemented (issue 4). As in the
//! original, every neo request that names a channel creates it.

mod exists;
mod get;
mod put;
mod remove;
mod remove_channel;

use shoal_protocol::neo::header::encode_message;
use shoal_protocol::neo::request::{
    decode_request_start, encode_supported, split_request_id, EXISTS_V0, GET_V0, PUT_V0, REMOVE_CHANNEL_V0,
    REMOVE_V0,
};
use shoal_protocol::neo::{DhtRequest, MessageType, RequestError, RequestId, SupportedStatus};
use shoal_storage::dht::name::is_valid_channel_name;

use crate::channels::ChannelEntry;
use crate::node::DhtNode;

/// The commands this node serves.
const SERVED: [shoal_protocol::neo::Command; 5] = [PUT_V0, GET_V0, EXISTS_V0, REMOVE_V0, REMOVE_CHANNEL_V0];

/// Handles one request message of the authenticated client `client`,
/// appending the reply messages to `out`.
pub fn handle(body: &[u8], client: &str, node: &DhtNode, out: &mut Vec<u8>) -> Result<(), RequestError> {
    let (id, payload) = split_request_id(body)?;
    let start = decode_request_start(payload)?;
    let supported = SupportedStatus::for_command(start.command, &SERVED);
    reply(out, &encode_supported(id, supported));
    if supported != SupportedStatus::Supported {
        tracing::warn!(
            target: "shoal.neo",
            "neo request code {} version {} is not served (yet)",
            start.command.code,
            start.command.version
        );
        return Ok(());
    }
    let reply_to = Reply { id, out };
    match DhtRequest::decode(start.command, start.args)? {
        DhtRequest::Put { channel, key, value } => put::apply(channel, key, value, node, reply_to),
        DhtRequest::Get { channel, key } => get::apply(channel, key, node, reply_to),
        DhtRequest::Exists { channel, key } => exists::apply(channel, key, node, reply_to),
        DhtRequest::Remove { channel, key } => remove::apply(channel, key, node, reply_to),
        DhtRequest::RemoveChannel { channel } => remove_channel::apply(channel, client, node, reply_to),
    }
    Ok(())
}

/// Where a request's reply messages go.
struct Reply<'a> {
    id: RequestId,
    out: &'a mut Vec<u8>,
}

impl Reply<'_> {
    /// Appends one reply message with this body.
    fn send(&mut self, body: &[u8]) {
        reply(self.out, body);
    }
}

fn reply(out: &mut Vec<u8>, body: &[u8]) {
    encode_message(MessageType::Request, &[body], out);
}

/// The channel a record request names (created if missing, as the original
/// does), or `None` for an invalid name, which gets the request's Error.
fn channel(name: &[u8], node: &DhtNode) -> Option<std::sync::Arc<ChannelEntry>> {
    if !is_valid_channel_name(name) {
        return None;
    }
    std::str::from_utf8(name).ok().map(|name| node.channels.get_or_create(name))
}
