//! The pass over a channel behind GetAll, GetAllKeys and GetAllFilter.
//!
//! After Ok, the records go out in compressed batches of at most
//! `batch_size` bytes, written (and waited for) whenever 64 KiB of reply
//! has gathered, so a slow client holds back the scan instead of the node
//! buffering the channel; an empty array ends the stream. The scan never
//! holds a shard lock across a write, so writers are not stalled.

use std::sync::Arc;

use memchr::memmem::Finder;
use shoal_protocol::legacy::batch::{Added, BatchWriter};
use crate::batch_fill::ScanSource;
use shoal_protocol::legacy::wire::put_array;
use shoal_storage::dht::hash::format_hex_key;

use bytes::BytesMut;
use shoal_protocol::legacy::Status;

use super::{channel_name, status, Outcome, Streaming};
use crate::channels::ChannelEntry;
use crate::node::DhtNode;
use crate::connection::{ClientIo, ConnectionError};
use crate::counters::Action;

/// The reply bytes a scan gathers before writing them: the original node's
/// write buffer (64 KiB).
const WRITE_BUFFER: usize = 64 * 1024;

/// What a scan sends of each record.
pub enum ScanKind {
    /// Key and value.
    Records,
    /// Key only.
    Keys,
    /// Key and value of records whose value contains the pattern.
    Filter(Box<Finder<'static>>),
}

/// A scan ready to stream: the channel (none if it does not exist) and what
/// to send.
pub struct Scan {
    channel: Option<Arc<ChannelEntry>>,
    name: String,
    kind: ScanKind,
}

impl Scan {
    /// A scan of `channel` (named `name`).
    pub fn new(channel: Option<Arc<ChannelEntry>>, name: &str, kind: ScanKind) -> Self {
        Scan { channel, name: name.to_string(), kind }
    }

    /// Streams Ok, the batches and the end marker. Like the original, a
    /// missing or empty channel still sends one (empty) batch before the
    /// end. On a ring member the batches hold the whole ring's records, each
    /// once.
    ///
    /// The reply is written 64 KiB (`WRITE_BUFFER`) at a time, as the
    /// original's buffered writer writes it, so Ok goes out with the first
    /// batches, not the instant the request is read: the original legacy
    /// client, handed a bulk request's status by its first read, can reuse
    /// a select event another connection's request still holds, and then
    /// fails the new request (docs/protocol-legacy.md, "Timing").
    pub async fn stream(self, io: &mut ClientIo) -> Result<(), ConnectionError> {
        status(&mut io.output, Status::Ok);
        let mut batch = BatchWriter::new(io.node.limits.batch_size);
        let mut source = ScanSource::whole(&io.node, self.channel.clone(), &self.name);
        loop {
            let filled = source
                .fill(
                    |key, value| self.add(&mut batch, key, value),
                    |_, len| {
                        tracing::warn!(
                            target: "shoal.request",
                            "Large record ({len} bytes) being skipped for compressed batch request on {}",
                            self.name
                        )
                    },
                )
                .await;
            io.node.counters.action(Action::Iterated, filled.records, filled.bytes);
            batch.finish(&mut io.output);
            if !filled.more {
                break;
            }
            if io.output.len() >= WRITE_BUFFER {
                io.flush().await?;
            }
        }
        put_array(&mut io.output, b"");
        io.flush().await
    }

    /// Adds what this scan sends of one record to the batch; `None` for a
    /// record the filter leaves out.
    fn add(&self, batch: &mut BatchWriter, key: u64, value: &[u8]) -> Option<Added> {
        let hex = format_hex_key(key);
        Some(match &self.kind {
            ScanKind::Records => batch.add(&[&hex, value]),
            ScanKind::Keys => batch.add(&[&hex]),
            ScanKind::Filter(finder) if finder.find(value).is_some() => batch.add(&[&hex, value]),
            ScanKind::Filter(_) => return None,
        })
    }
}

/// Validates the channel of a scan request and prepares the scan (which
/// sends Ok). A missing channel is scanned as an empty one; it is not
/// created.
pub fn start(channel: &[u8], node: &DhtNode, out: &mut BytesMut, kind: ScanKind) -> Outcome {
    let Some(channel) = channel_name(channel, out) else { return Outcome::Done };
    Outcome::Stream(Streaming::Scan(Scan::new(node.channels.get(channel), channel, kind)))
}
