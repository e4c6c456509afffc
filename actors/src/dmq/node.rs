//! What every connection of a dmqnode shares: the storage thread's handle,
//! the consumers' wake-ups, the counters and the limits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_protocol::dmq::legacy::DmqCommand;

use super::store::{StoreHandle, Wakers};
use crate::connection::Traffic;
use crate::counters::RequestCounters;

/// The legacy requests stats.log reports (`request/<name>/…`), in the
/// original's order; RemoveChannel and GetNumConnections are not counted.
pub const COUNTED_REQUESTS: [DmqCommand; 6] = [
    DmqCommand::Produce,
    DmqCommand::Consume,
    DmqCommand::PushMulti,
    DmqCommand::ProduceMulti,
    DmqCommand::Push,
    DmqCommand::Pop,
];

/// The neo requests stats.log reports (`neo_request/<name>/…`).
pub const NEO_REQUESTS: [&str; 3] = ["push", "consume", "pop"];

/// Counters for stats.log.
#[derive(Default)]
pub struct DmqCounters {
    /// Bytes received from legacy clients.
    pub bytes_received: AtomicU64,
    /// Bytes sent to legacy clients.
    pub bytes_sent: AtomicU64,
    /// Open legacy connections.
    pub connections: Arc<AtomicU64>,
    /// Open neo connections.
    pub neo_connections: Arc<AtomicU64>,
    /// Records pushed (once per request, however many channels).
    pub pushed_records: AtomicU64,
    /// Their bytes.
    pub pushed_bytes: AtomicU64,
    /// Records popped or consumed.
    pub popped_records: AtomicU64,
    /// Their bytes.
    pub popped_bytes: AtomicU64,
    /// Per legacy request kind of [`COUNTED_REQUESTS`].
    pub requests: [RequestCounters; COUNTED_REQUESTS.len()],
    /// Per neo request kind of [`NEO_REQUESTS`].
    pub neo_requests: [RequestCounters; NEO_REQUESTS.len()],
}

impl DmqCounters {
    /// Counts one pushed record.
    pub fn pushed(&self, len: usize) {
        self.pushed_records.fetch_add(1, Ordering::Relaxed);
        self.pushed_bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    /// The counters of a legacy request kind, if stats.log reports it.
    pub fn request(&self, command: DmqCommand) -> Option<&RequestCounters> {
        COUNTED_REQUESTS.iter().position(|c| *c == command).map(|i| &self.requests[i])
    }

    /// Counts popped or consumed records.
    pub fn popped(&self, records: u64, bytes: u64) {
        self.popped_records.fetch_add(records, Ordering::Relaxed);
        self.popped_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The state shared by all connections of one dmqnode.
pub struct DmqNode {
    /// The queues.
    pub store: StoreHandle,
    /// Consumers' wake-ups by channel.
    pub wakers: Arc<Wakers>,
    /// Counters for stats.log.
    pub counters: DmqCounters,
    /// `[Performance] write_flush_ms`: the longest a consumer's records wait
    /// before they are sent.
    pub write_flush: Duration,
    /// `[Server] connection_limit`, per listener.
    pub connection_limit: usize,
}

impl Traffic for DmqNode {
    fn bytes_received(&self) -> &AtomicU64 {
        &self.counters.bytes_received
    }

    fn bytes_sent(&self) -> &AtomicU64 {
        &self.counters.bytes_sent
    }
}
