//! What every connection of a dhtnode shares: the channels, the hash range,
//! the limits from config.ini and the counters.

use std::sync::RwLock;
use std::time::Duration;

use shoal_protocol::neo::dht::get_hash_range::HashRangeUpdate;
use shoal_storage::dht::hash::HashRange;

use crate::channels::ChannelRegistry;
use crate::counters::{Action, NodeCounters};
use crate::listeners::Change;

/// The limits a node enforces on requests, from config.ini.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `[Options_Memory] size_limit`: node-wide reported bytes, 0 = none.
    pub size_limit: u64,
    /// `[Options_Memory] batch_size`: size of bulk reply batches, and so the
    /// de facto record size limit.
    pub batch_size: usize,
    /// `[Performance] write_flush_ms`: how often streaming requests flush.
    pub write_flush: Duration,
    /// `[Server] connection_limit`.
    pub connection_limit: usize,
}

impl Limits {
    /// Largest value a legacy Put accepts: the original keeps room in a batch
    /// for the record's key and framing.
    pub fn max_put_value(&self) -> usize {
        self.batch_size.saturating_sub(32)
    }
}

/// The state shared by all connections of one dhtnode.
pub struct DhtNode {
    /// Every channel.
    pub channels: ChannelRegistry,
    /// Counters for stats.log.
    pub counters: NodeCounters,
    /// Request limits.
    pub limits: Limits,
    /// The address clients are told this node has (config `address`).
    pub address: String,
    /// The legacy port clients are told (config `port`).
    pub port: u16,
    range: RwLock<HashRange>,
    /// Whether a Redistribute is running and the storage cap it sets for
    /// incoming PutBatch meanwhile (only one may run at a time).
    pub redistribution: crate::redistribution::RedistributionState,
    /// Where removed channels' names go, so their dumps can be moved away.
    removals: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Changes of this node's range and news of other nodes, for the neo
    /// GetHashRange requests.
    hash_range_updates: tokio::sync::broadcast::Sender<HashRangeUpdate>,
    /// The ring this node is a member of (`[Ring]`), set once at start.
    ring: std::sync::OnceLock<std::sync::Arc<crate::ring::Ring>>,
}

/// How many hash-range notifications a GetHashRange request may fall behind
/// before it resynchronises from the current range.
const HASH_RANGE_UPDATES_QUEUED: usize = 1024;

impl DhtNode {
    /// A node with no channels yet.
    pub fn new(address: String, port: u16, range: HashRange, limits: Limits, bnum: u64) -> Self {
        DhtNode {
            address,
            port,
            channels: ChannelRegistry::new(bnum),
            counters: NodeCounters::default(),
            limits,
            range: RwLock::new(range),
            redistribution: crate::redistribution::RedistributionState::default(),
            removals: std::sync::OnceLock::new(),
            hash_range_updates: tokio::sync::broadcast::channel(HASH_RANGE_UPDATES_QUEUED).0,
            ring: std::sync::OnceLock::new(),
        }
    }

    /// Makes this node a ring member: its record requests are coordinated
    /// across replicas from now on. Set once, at start.
    pub fn join_ring(&self, ring: std::sync::Arc<crate::ring::Ring>) {
        let _ = self.ring.set(ring);
    }

    /// The ring this node is a member of, if any.
    pub fn ring(&self) -> Option<&std::sync::Arc<crate::ring::Ring>> {
        self.ring.get()
    }

    /// The hash range this node is responsible for.
    pub fn range(&self) -> HashRange {
        *self.range.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the hash range this node is responsible for (Redistribute);
    /// requests checked after this call see the new range.
    pub fn set_range(&self, range: HashRange) {
        *self.range.write().unwrap_or_else(|p| p.into_inner()) = range;
        let _ = self.hash_range_updates.send(HashRangeUpdate::ChangeHashRange { min: range.min, max: range.max });
    }

    /// Tells GetHashRange requests that the node at `address`:`port`
    /// (legacy port; its neo port is 100 above, the original's convention)
    /// now holds `range`. Addresses that are not IPv4 cannot be sent.
    pub fn announce_node(&self, address: &str, port: u16, range: HashRange) {
        let Ok(ip) = address.parse::<std::net::Ipv4Addr>() else {
            tracing::warn!(target: "shoal.neo", "cannot announce node {address}:{port} to neo clients: not IPv4");
            return;
        };
        let Some(neo_port) = port.checked_add(100) else { return };
        let addr = std::net::SocketAddrV4::new(ip, neo_port);
        let _ = self.hash_range_updates.send(HashRangeUpdate::NewNode { addr, min: range.min, max: range.max });
    }

    /// Hash-range notifications from now on.
    pub fn hash_range_updates(&self) -> tokio::sync::broadcast::Receiver<HashRangeUpdate> {
        self.hash_range_updates.subscribe()
    }

    /// Stores a record (creating its channel) and wakes the channel's
    /// listeners.
    pub fn put(&self, channel: &str, key: u64, value: &[u8]) {
        let entry = self.channels.get_or_create(channel);
        entry.storage.put(key, value);
        let dropped = entry.listeners.changed(key, Change::Written);
        if dropped > 0 {
            tracing::warn!(
                target: "shoal.listen",
                "{dropped} Listen requests on channel '{channel}' are too far behind: key {key:016x} not forwarded"
            );
        }
    }

    /// Removes a record, counting what was deleted and telling the
    /// channel's Mirror requests; returns whether it was stored.
    pub fn remove(&self, channel: &str, key: u64) -> bool {
        let Some(entry) = self.channels.get(channel) else { return false };
        let Some(len) = entry.storage.remove(key) else { return false };
        self.counters.action(Action::Deleted, 1, len);
        entry.listeners.changed(key, Change::Removed);
        true
    }

    /// Sends the names of channels removed by requests to `sink` (the dump
    /// cycle, which moves their files); set once at start.
    pub fn report_removals_to(&self, sink: tokio::sync::mpsc::UnboundedSender<String>) {
        let _ = self.removals.set(sink);
    }

    /// Removes a channel (legacy or neo RemoveChannel): counts what was
    /// deleted, logs it and reports the name so its dump files move away.
    pub fn remove_channel(&self, name: &str) {
        let Some(entry) = self.channels.remove(name) else { return };
        if let Some(sink) = self.removals.get() {
            let _ = sink.send(name.to_string());
        }
        let stats = entry.storage.stats();
        self.counters.action(Action::Deleted, stats.records, stats.reported_bytes);
        tracing::info!(target: "shoal.request", "removed channel '{name}' ({} records)", stats.records);
    }

    /// Whether the node-wide size limit leaves room for `value_len` more bytes.
    pub fn has_room_for(&self, value_len: usize) -> bool {
        self.limits.size_limit == 0
            || self.channels.total().reported_bytes + value_len as u64 <= self.limits.size_limit
    }
}
