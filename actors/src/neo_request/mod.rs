//! The node side of the neo DHT requests, one file per request kind, all at
//! version 0 as in the original.
//!
//! One-step requests (Put, Get, Exists, Remove, RemoveChannel,
//! GetChannels, and Update when no second message is needed) reply at once;
//! GetAll, Mirror, GetHashRange and the two-step Update continue as tasks of
//! the connection (see [`crate::neo::session`]). As in the original, every
//! neo request that names a channel creates it.

mod exists;
mod flow;
mod get;
mod get_all;
mod get_channels;
mod get_hash_range;
mod mirror;
mod put;
mod remove;
mod remove_channel;
mod replicated;
mod update;

use std::sync::Arc;

use shoal_protocol::neo::dht::get_all::{GetAllArgs, GET_ALL_V0};
use shoal_protocol::neo::dht::get_channels::GET_CHANNELS_V0;
use shoal_protocol::neo::dht::get_hash_range::GET_HASH_RANGE_V0;
use shoal_protocol::neo::dht::mirror::{MirrorArgs, MIRROR_V0};
use shoal_protocol::neo::dht::update::{UpdateArgs, UPDATE_V0};
use shoal_protocol::neo::request::{EXISTS_V0, GET_V0, PUT_V0, REMOVE_CHANNEL_V0, REMOVE_V0};
use shoal_protocol::neo::{Command, DhtRequest, RequestError, RequestStart};
use shoal_storage::channel_name::is_valid_channel_name;

use crate::channels::ChannelEntry;
use crate::neo::{NeoService, Replies, Task};
use crate::node::DhtNode;

/// The commands this node serves: all ten, version 0.
const SERVED: [Command; 10] = [
    GET_HASH_RANGE_V0,
    PUT_V0,
    GET_V0,
    MIRROR_V0,
    GET_ALL_V0,
    GET_CHANNELS_V0,
    EXISTS_V0,
    REMOVE_V0,
    REMOVE_CHANNEL_V0,
    UPDATE_V0,
];

/// The DHT node as a neo service.
pub struct DhtNeo {
    node: Arc<DhtNode>,
}

impl DhtNeo {
    /// Serves neo requests on `node`.
    pub fn new(node: Arc<DhtNode>) -> Self {
        DhtNeo { node }
    }
}

impl NeoService for DhtNeo {
    fn commands(&self) -> &[Command] {
        &SERVED
    }

    fn start(&self, start: RequestStart<'_>, replies: &mut Replies<'_>) -> Result<Option<Task>, RequestError> {
        let node = &self.node;
        let task = match start.command {
            GET_HASH_RANGE_V0 => Some(get_hash_range::start(node, replies)),
            GET_ALL_V0 => get_all::start(GetAllArgs::decode(start.args)?, node, replies),
            MIRROR_V0 => mirror::start(MirrorArgs::decode(start.args)?, node, replies),
            GET_CHANNELS_V0 => match node.ring() {
                Some(ring) => Some(get_channels::start_ring(Arc::clone(ring), Arc::clone(node))),
                None => {
                    get_channels::apply(node, replies);
                    None
                }
            },
            UPDATE_V0 => update::start(UpdateArgs::decode(start.args)?, node, replies)?,
            command => {
                let request = DhtRequest::decode(command, start.args)?;
                // On a ring member the record requests are coordinated.
                if let Some(task) = replicated::start(&request, node) {
                    return Ok(Some(task));
                }
                match request {
                    DhtRequest::Put { channel, key, value } => put::apply(channel, key, value, node, replies),
                    DhtRequest::Get { channel, key } => get::apply(channel, key, node, replies),
                    DhtRequest::Exists { channel, key } => exists::apply(channel, key, node, replies),
                    DhtRequest::Remove { channel, key } => remove::apply(channel, key, node, replies),
                    DhtRequest::RemoveChannel { channel } => remove_channel::apply(channel, node, replies),
                }
                None
            }
        };
        Ok(task)
    }
}

/// The channel a request names (created if missing, as the original
/// does), or `None` for an invalid name, which gets the request's Error.
fn channel(name: &[u8], node: &DhtNode) -> Option<Arc<ChannelEntry>> {
    channel_name(name).map(|name| node.channels.get_or_create(name))
}

/// A valid channel name as text.
fn channel_name(name: &[u8]) -> Option<&str> {
    if !is_valid_channel_name(name) {
        return None;
    }
    std::str::from_utf8(name).ok()
}
