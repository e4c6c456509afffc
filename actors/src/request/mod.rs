//! The node side of every legacy DHT request, one file per request kind.
//!
//! A short request is applied synchronously while its bytes are still in the
//! connection's input buffer, and its reply is appended to the output buffer.
//! A streaming request (Listen, GetAll, GetAllKeys, GetAllFilter) validates
//! its arguments here, then returns a [`Streaming`] that owns what it needs
//! and runs on the connection until it ends. Redistribute uses the same
//! path: its reply comes only after the records have been moved.

mod exists;
mod get;
mod get_all;
mod get_all_filter;
mod get_all_keys;
mod get_channel_size;
mod get_channels;
mod get_num_connections;
mod get_responsible_range;
mod get_size;
mod get_version;
mod listen;
mod put;
mod put_batch;
mod redistribute;
mod remove;
mod remove_channel;
mod replicated;
mod scan;


use bytes::BytesMut;
use shoal_protocol::legacy::{Request, Status};
use shoal_storage::dht::hash::parse_hex_key;
use shoal_storage::channel_name::is_valid_channel_name;

use crate::connection::{ClientIo, ConnectionError};
use crate::node::DhtNode;

pub use scan::Scan;

/// What the connection does after a request was applied.
pub enum Outcome {
    /// The reply is in the output buffer; read the next request.
    Done,
    /// Stream a reply until the request ends.
    Stream(Streaming),
}

/// A streaming request, detached from the input buffer.
pub enum Streaming {
    /// Listen: changes of a channel until it is removed or the client leaves.
    Listen(listen::Registration),
    /// GetAll, GetAllKeys, GetAllFilter: one pass over a channel.
    Scan(Scan),
    /// Redistribute: moves records to other nodes, then sends the status.
    Redistribute(Box<crate::redistribution::Redistribution>),
    /// Put, Get, Exists or Remove on a ring member, coordinated across the
    /// key's replicas.
    Replicated(Box<replicated::Replicated>),
    /// GetChannels on a ring member: the union of every member's channels.
    RingChannels(std::sync::Arc<crate::ring::Ring>),
}

impl Streaming {
    /// Runs the stream on the connection.
    pub async fn run(self, io: &mut ClientIo) -> Result<(), ConnectionError> {
        match self {
            Streaming::Listen(registration) => listen::stream(registration, io).await,
            Streaming::Scan(scan) => scan.stream(io).await,
            Streaming::Redistribute(work) => redistribute::stream(*work, io).await,
            Streaming::Replicated(request) => request.run(io).await,
            Streaming::RingChannels(ring) => get_channels::stream_ring(ring, io).await,
        }
    }
}

/// Applies `request`; an error closes the connection (the original closes it
/// when a key is not a hash, since it then throws out of the request). On a
/// ring member the record requests are coordinated across replicas.
pub fn handle(request: Request<'_>, node: &DhtNode, out: &mut BytesMut) -> Result<Outcome, ConnectionError> {
    use replicated::KeyedRequest;
    if let Some(ring) = node.ring() {
        match request {
            Request::Put(args) => return replicated::put(ring, args, node, out),
            Request::Get(args) => return replicated::keyed(ring, args, KeyedRequest::Get, out),
            Request::Exists(args) => return replicated::keyed(ring, args, KeyedRequest::Exists, out),
            Request::Remove(args) => return replicated::keyed(ring, args, KeyedRequest::Remove, out),
            Request::GetChannels => return Ok(get_channels::start_ring(ring)),
            _ => {}
        }
    }
    match request {
        Request::Put(args) => put::apply(args, node, out)?,
        Request::Get(args) => get::apply(args, node, out)?,
        Request::Exists(args) => exists::apply(args, node, out)?,
        Request::Remove(args) => remove::apply(args, node, out)?,
        Request::GetChannels => get_channels::apply(node, out),
        Request::GetChannelSize(arg) => get_channel_size::apply(arg, node, out),
        Request::GetSize => get_size::apply(node, out),
        Request::GetResponsibleRange => get_responsible_range::apply(node, out),
        Request::RemoveChannel(arg) => remove_channel::apply(arg, node, out),
        Request::GetNumConnections => get_num_connections::apply(node, out),
        Request::GetVersion => get_version::apply(out),
        Request::PutBatch(args) => put_batch::apply(args, node, out)?,
        Request::Listen(arg) => return Ok(listen::start(arg, node, out)),
        Request::GetAll(arg) => return Ok(get_all::start(arg, node, out)),
        Request::GetAllKeys(arg) => return Ok(get_all_keys::start(arg, node, out)),
        Request::GetAllFilter(args) => return Ok(get_all_filter::start(args, node, out)),
        Request::Redistribute(args) => return Ok(redistribute::start(args, node, out)),
    }
    Ok(Outcome::Done)
}

/// Appends a status code.
fn status(out: &mut BytesMut, status: Status) {
    shoal_protocol::legacy::wire::put_u32(out, status as u32);
}

/// The channel name as text if valid; otherwise replies BadChannelName.
fn channel_name<'a>(name: &'a [u8], out: &mut BytesMut) -> Option<&'a str> {
    if is_valid_channel_name(name) {
        // Valid names are ASCII, so this cannot fail.
        std::str::from_utf8(name).ok()
    } else {
        status(out, Status::BadChannelName);
        None
    }
}

/// The key as a hash, or the error that closes the connection.
fn key(text: &[u8]) -> Result<u64, ConnectionError> {
    parse_hex_key(text).ok_or_else(|| ConnectionError::InvalidKey(String::from_utf8_lossy(text).into_owned()))
}

/// Appends this node's address and port followed by `figures`, the shape of
/// the GetSize, GetChannelSize and GetNumConnections replies (swarm clients
/// aggregate them per node).
fn node_figures(out: &mut BytesMut, node: &DhtNode, figures: &[u64]) {
    use bytes::BufMut;
    shoal_protocol::legacy::wire::put_array(out, node.address.as_bytes());
    out.put_u16_le(node.port);
    figures.iter().for_each(|&figure| out.put_u64_le(figure));
}
