//! The node side of the legacy DLS requests, one module per request kind.
//!
//! Every request reads all its arguments before checking any, so a refused
//! request leaves the connection in sync. Channel names follow the legacy
//! rule (ASCII letters, digits, `_`, `-`; 409 otherwise); a key that is not
//! 16 hex digits closes the connection, as in the original. Bucket I/O runs
//! on the disk pool.

mod get_all;
mod get_all_filter;
mod get_channels;
mod get_num_connections;
mod get_range;
mod get_range_filter;
mod get_range_regex;
mod get_version;
mod put;
mod put_batch;
mod redistribute;
mod remove_channel;
mod scan;

use bytes::BytesMut;
use shoal_protocol::dls::legacy::DlsRequest;
use shoal_protocol::legacy::wire::put_u32;
use shoal_protocol::legacy::Status;
use shoal_storage::channel_name::is_valid_channel_name;
use shoal_storage::dht::hash::parse_hex_key;

use super::node::DlsNode;
use crate::connection::{ClientIo, ConnectionError};

/// A request's bytes, kept while it is handled (handlers await the disk
/// while the input buffer takes more bytes); decoded again, borrowing from
/// them, when handled.
pub struct Owned(Vec<u8>);

impl From<&[u8]> for Owned {
    /// The bytes of one whole request, as [`DlsRequest::decode`] took them.
    fn from(bytes: &[u8]) -> Self {
        Owned(bytes.to_vec())
    }
}

impl Owned {
    /// Runs the request on the connection, timed in stats.log's figures.
    pub async fn handle(self, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
        let (request, _) = DlsRequest::decode(&self.0)?;
        let node = std::sync::Arc::clone(&io.node);
        let counters = node.counters.request(request.command());
        counters.inspect(|c| c.started());
        let started = std::time::Instant::now();
        let result = run(request, io).await;
        counters.inspect(|c| c.finished(started.elapsed()));
        result
    }
}

/// Dispatches a decoded request to its module.
async fn run(request: DlsRequest<'_>, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    match request {
        DlsRequest::Put { channel, key, value } => put::handle(channel, key, value, io).await,
        DlsRequest::PutBatch { channel, batch } => put_batch::handle(channel, batch, io).await,
        DlsRequest::GetChannels => {
            get_channels::handle(io);
            Ok(())
        }
        DlsRequest::RemoveChannel { channel } => remove_channel::handle(channel, io).await,
        DlsRequest::GetNumConnections => {
            get_num_connections::handle(io);
            Ok(())
        }
        DlsRequest::GetVersion => {
            get_version::handle(io);
            Ok(())
        }
        DlsRequest::GetAll { channel } => get_all::handle(channel, io).await,
        DlsRequest::GetAllFilter { channel, filter } => get_all_filter::handle(channel, filter, io).await,
        DlsRequest::GetRange { channel, range } => get_range::handle(channel, range, io).await,
        DlsRequest::GetRangeFilter { channel, range, filter } => {
            get_range_filter::handle(channel, range, filter, io).await
        }
        DlsRequest::GetRangeRegex { channel, range, mode, pattern } => {
            get_range_regex::handle(channel, range, mode, pattern, io).await
        }
        DlsRequest::Redistribute { fraction, nodes } => redistribute::handle(fraction, nodes, io).await,
    }
}

/// Appends a status code.
fn status(out: &mut BytesMut, status: Status) {
    put_u32(out, status as u32);
}

/// The channel name if valid; otherwise answers 409 BadChannelName.
fn valid_channel<'a>(name: &'a [u8], out: &mut BytesMut) -> Option<&'a str> {
    let valid = std::str::from_utf8(name).ok().filter(|name| is_valid_channel_name(name.as_bytes()));
    if valid.is_none() {
        status(out, Status::BadChannelName);
    }
    valid
}

/// A key as the original reads it: 16 hex digits, else the connection
/// closes.
fn key(text: &[u8]) -> Result<u64, ConnectionError> {
    parse_hex_key(text).ok_or_else(|| ConnectionError::InvalidKey(String::from_utf8_lossy(text).into_owned()))
}

/// A disk failure: logged, answered 500.
fn disk_failed(error: impl std::fmt::Display, out: &mut BytesMut) {
    tracing::error!(target: "dlsnode.request", "{error}");
    status(out, Status::Error);
}
