//! This member as a replica: keeps a record when it is newer than its own
//! copy, reads its copies with their versions, and lists what it holds.

use dashmap::mapref::entry::Entry;
use shoal_cluster::message::{Record, BATCH_BYTES};
use shoal_storage::dht::{Channel, ChannelCursor, ChannelStats};

use super::versions::{Version, Versions};
use crate::counters::Action;
use crate::node::DhtNode;

/// Keeps `record` in `channel` if it is newer than this member's copy (or
/// there is none); returns whether it was kept. The version entry stays
/// locked while the channel changes, so two copies of one key arriving at
/// once cannot both win.
pub fn store(node: &DhtNode, versions: &Versions, channel: &str, record: &Record) -> bool {
    let channel_versions = versions.channel(channel);
    let entry = channel_versions.entry(record.key);
    let ours = match &entry {
        Entry::Occupied(version) => Some(version.get().stamp),
        Entry::Vacant(_) => unstamped(node, channel, record.key),
    };
    if ours.is_some_and(|stamp| record.stamp <= stamp) {
        return false;
    }
    match &record.value {
        Some(value) => {
            node.put(channel, record.key, value);
            node.counters.action(Action::Written, 1, value.len() as u64);
        }
        None => {
            node.remove(channel, record.key);
        }
    }
    entry.insert(Version { stamp: record.stamp, removed: record.value.is_none() });
    true
}

/// This member's copy of `key`: stamp 0 and no value when it has none.
pub fn read(node: &DhtNode, versions: &Versions, channel: &str, key: u64) -> Record {
    let channel_versions = versions.channel(channel);
    let version = channel_versions.get(&key);
    let value = node.channels.get(channel).and_then(|c| c.storage.get(key, <[u8]>::to_vec));
    Record { key, stamp: version.map_or(0, |v| v.stamp), value }
}

/// Whether this member has any copy of `key`, a removal included.
pub fn knows(node: &DhtNode, versions: &Versions, channel: &str, key: u64) -> Option<u64> {
    if let Some(version) = versions.channel(channel).get(&key) {
        return Some(version.stamp);
    }
    unstamped(node, channel, key)
}

/// Stamp 0 if the channel holds `key` without a version (loaded from a
/// dump), `None` if it does not hold it.
fn unstamped(node: &DhtNode, channel: &str, key: u64) -> Option<u64> {
    node.channels.get(channel).filter(|c| c.storage.contains(key)).map(|_| 0)
}

/// `(key, stamp)` of every record and removal this member holds in
/// `channel`, keys in no particular order.
pub fn stamps(node: &DhtNode, versions: &Versions, channel: &str) -> Vec<(u64, u64)> {
    let channel_versions = versions.channel(channel);
    let mut stamps = Vec::new();
    if let Some(entry) = node.channels.get(channel) {
        let mut cursor = ChannelCursor::new();
        cursor.next_batch(&entry.storage, |key, _| {
            stamps.push((key, channel_versions.get(&key).map_or(0, |v| v.stamp)));
            true
        });
    }
    stamps.extend(channel_versions.iter().filter(|v| v.removed).map(|v| (*v.key(), v.stamp)));
    stamps
}

/// A page of a ring-wide scan: this member's records of `channel` whose
/// first live replica it is, after `after` in scan order (key order within
/// a shard, see [`ChannelCursor::in_key_order`]), about `BATCH_BYTES`.
pub fn primary_page(ring: &super::Ring, node: &DhtNode, channel: &str, after: Option<u64>) -> Vec<Record> {
    let Some(entry) = node.channels.get(channel) else { return Vec::new() };
    let primary_here = primary_test(ring);
    let mut page = Vec::new();
    let mut bytes = 0;
    let mut cursor = ChannelCursor::in_key_order(after);
    cursor.next_batch(&entry.storage, |key, value| {
        if primary_here(key) {
            bytes += value.len() + 32;
            page.push(Record { key, stamp: 0, value: Some(value.to_vec()) });
        }
        bytes < BATCH_BYTES
    });
    page
}

/// Whether this member is a key's first live replica (the one that
/// answers for it in ring-wide scans and counts).
fn primary_test(ring: &super::Ring) -> impl Fn(u64) -> bool + '_ {
    let (placement, n) = ring.placement();
    let down = ring.down_members();
    move |key| placement.replicas(key, n).into_iter().find(|m| !down.iter().any(|d| d == m)) == Some(ring.me())
}

/// This member's share of a channel for GetSize and GetChannelSize: the
/// records whose first live replica it is. A legacy client adds up the
/// answers of every node it knows, so over all members each record counts
/// once, not once per copy.
pub fn primary_stats(ring: &super::Ring, storage: &Channel) -> ChannelStats {
    let primary_here = primary_test(ring);
    let (mut records, mut value_bytes) = (0, 0);
    ChannelCursor::new().next_batch(storage, |key, value| {
        if primary_here(key) {
            records += 1;
            value_bytes += value.len() as u64;
        }
        true
    });
    storage.stats_for(records, value_bytes)
}

/// The channels this member holds records or removals of.
pub fn channels(node: &DhtNode, versions: &Versions) -> Vec<String> {
    let mut names = node.channels.names();
    names.extend(versions.names());
    names.sort_unstable();
    names.dedup();
    names
}

/// Drops this member's copy of `key` (purge: it is not a replica of it);
/// the version goes too, since the owners keep theirs.
pub fn drop_copy(node: &DhtNode, versions: &Versions, channel: &str, key: u64) {
    versions.channel(channel).remove(&key);
    node.remove(channel, key);
}
