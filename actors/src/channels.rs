//! The channel registry: every channel of the node by name, shared by all
//! connections without a central mailbox.
//!
//! A [`dashmap::DashMap`] gives each lookup its own shard lock, so requests on
//! different cores do not queue behind one actor. A request clones the
//! channel's `Arc` and works on it without holding any registry lock; a
//! channel removed meanwhile simply stops being reachable.

use std::sync::Arc;

use dashmap::DashMap;
use shoal_storage::dht::{Channel, ChannelStats};

use crate::listeners::Listeners;

/// One channel: its records and the Listen requests watching it.
pub struct ChannelEntry {
    /// The records.
    pub storage: Channel,
    /// Listen requests to notify of every change.
    pub listeners: Listeners,
}

/// All channels of a node.
pub struct ChannelRegistry {
    channels: DashMap<Box<str>, Arc<ChannelEntry>>,
    bnum: u64,
}

impl ChannelRegistry {
    /// An empty registry; `bnum` only changes the sizes reported.
    pub fn new(bnum: u64) -> Self {
        ChannelRegistry { channels: DashMap::new(), bnum }
    }

    /// The channel named `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<ChannelEntry>> {
        self.channels.get(name).map(|entry| Arc::clone(entry.value()))
    }

    /// The channel named `name`, created empty if missing. The caller has
    /// validated the name.
    pub fn get_or_create(&self, name: &str) -> Arc<ChannelEntry> {
        if let Some(entry) = self.get(name) {
            return entry;
        }
        let entry = self.channels.entry(name.into()).or_insert_with(|| {
            Arc::new(ChannelEntry {
                storage: Channel::new(self.bnum),
                listeners: Listeners::default(),
            })
        });
        Arc::clone(entry.value())
    }

    /// Adds (or replaces) a channel with already loaded records, at start.
    pub fn insert(&self, name: &str, storage: Channel) -> Arc<ChannelEntry> {
        let entry = Arc::new(ChannelEntry { storage, listeners: Listeners::default() });
        self.channels.insert(name.into(), Arc::clone(&entry));
        entry
    }

    /// An empty channel object with this registry's settings, to be filled
    /// and then [`insert`](Self::insert)ed.
    pub fn new_channel(&self) -> Channel {
        Channel::new(self.bnum)
    }

    /// Every channel with its name, sorted by name.
    pub fn entries(&self) -> Vec<(String, Arc<ChannelEntry>)> {
        let mut all: Vec<(String, Arc<ChannelEntry>)> =
            self.channels.iter().map(|e| (e.key().to_string(), Arc::clone(e.value()))).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Removes a channel; its Listen requests are told it is gone.
    pub fn remove(&self, name: &str) -> Option<Arc<ChannelEntry>> {
        let (_, entry) = self.channels.remove(name)?;
        entry.listeners.close_all();
        Some(entry)
    }

    /// Names of all channels, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.channels.iter().map(|e| e.key().to_string()).collect();
        names.sort_unstable();
        names
    }

    /// Counts of every channel, sorted by name.
    pub fn stats(&self) -> Vec<(String, ChannelStats)> {
        let mut all: Vec<(String, ChannelStats)> = self
            .channels
            .iter()
            .map(|e| (e.key().to_string(), e.value().storage.stats()))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Counts summed over all channels.
    pub fn total(&self) -> ChannelStats {
        self.sum(|entry| entry.storage.stats())
    }

    /// `stats` of every channel, summed.
    pub fn sum(&self, stats: impl Fn(&ChannelEntry) -> ChannelStats) -> ChannelStats {
        self.channels.iter().fold(ChannelStats::default(), |sum, e| {
            let stats = stats(e.value());
            ChannelStats {
                records: sum.records + stats.records,
                value_bytes: sum.value_bytes + stats.value_bytes,
                reported_bytes: sum.reported_bytes + stats.reported_bytes,
            }
        })
    }
}
