//! Any member accepts any request for any key and coordinates it: a write
//! goes to the key's live replicas in parallel, straight from here (not
//! store and forward), and is acknowledged once enough of them kept it; a
//! read asks every live replica and answers with the newest copy, then
//! brings stale replicas up to date (read repair).

use futures_util::future::join_all;
use shoal_cluster::membership::Health;

use crate::listeners::Change;
use shoal_cluster::message::{PeerMessage, Record};

use super::{replica, Ring};
use crate::node::DhtNode;

/// Why a coordinated request failed.
#[derive(Debug, thiserror::Error)]
pub enum CoordinationError {
    /// Fewer replicas than required answered.
    #[error("{stored} of {needed} replicas of key {key:016x} answered")]
    TooFewReplicas {
        /// The key.
        key: u64,
        /// Replicas that answered.
        stored: usize,
        /// Replicas needed.
        needed: usize,
    },
}

/// Writes `value` (or, with `None`, removes the record) at the live
/// replicas of `key` under a new stamp.
pub async fn write(ring: &Ring, node: &DhtNode, channel: &str, key: u64, value: Option<Vec<u8>>) -> Result<(), CoordinationError> {
    count(ring, 0);
    let record = Record { key, stamp: ring.clock.next(), value };
    let (replicas, all) = ring.live_replicas(key);
    // `write_acks` copies, even when members are down (then the write
    // fails); by default every live replica.
    let needed = match ring.write_acks {
        0 => replicas.len(),
        acks => (acks as usize).min(all),
    };
    let stored = store_at(ring, node, channel, &replicas, &record).await;
    // After the store: a listener told of the write reads it back.
    tell_the_others(ring, node, &replicas, channel, key, record.value.is_none()).await;
    if stored < needed.max(1) {
        count(ring, 1);
        return Err(CoordinationError::TooFewReplicas { key, stored, needed: needed.max(1) });
    }
    Ok(())
}

/// Tells the live members that do not hold the key about a write, for their
/// Listen requests (the replicas wake theirs as they store it); this member
/// wakes its own if it is not a replica. Nothing is sent in a ring where
/// every member holds every key.
async fn tell_the_others(ring: &Ring, node: &DhtNode, replicas: &[String], channel: &str, key: u64, removed: bool) {
    if replicas.len() == ring.membership().len() {
        return;
    }
    if !replicas.iter().any(|r| r == ring.me()) {
        if let Some(entry) = node.channels.get(channel) {
            entry.listeners.changed(key, if removed { Change::Removed } else { Change::Written });
        }
    }
    let changed = PeerMessage::Changed { channel: channel.to_owned(), key, removed };
    let others: Vec<String> = ring
        .membership()
        .health()
        .into_iter()
        .filter(|(member, health)| *health != Health::Down && !replicas.contains(member) && member.as_str() != ring.me())
        .map(|(member, _)| member)
        .collect();
    join_all(others.iter().map(|member| ring.send_batched(member, changed.clone()))).await;
}

/// Counts a coordinated request (0) or a failed one (1) for stats.log.
fn count(ring: &Ring, which: usize) {
    ring.coordinated[which].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Stores `record` at each of `members` in parallel; returns how many
/// answered (a replica with a newer copy answers too: it holds the key).
async fn store_at(ring: &Ring, node: &DhtNode, channel: &str, members: &[String], record: &Record) -> usize {
    let me = ring.me();
    let message = PeerMessage::Store { channel: channel.to_owned(), records: vec![record.clone()] };
    let message = &message;
    let answers = join_all(members.iter().map(|member| async move {
        if member.as_str() == me {
            replica::store(node, &ring.versions, channel, record);
            return true;
        }
        match ring.send_batched(member, message.clone()).await {
            Ok(PeerMessage::Done { .. }) => true,
            Ok(other) => {
                tracing::warn!(target: "shoal.ring", "{member} answered a store with {other:?}");
                false
            }
            Err(error) => {
                tracing::warn!(target: "shoal.ring", "cannot store key {:016x} at {member}: {error}", record.key);
                false
            }
        }
    }))
    .await;
    answers.into_iter().filter(|stored| *stored).count()
}

/// The newest copy of `key` among its live replicas (`None`: no replica
/// has it, or it was removed); stale replicas get the newest copy.
pub async fn read(ring: &Ring, node: &DhtNode, channel: &str, key: u64) -> Result<Option<Vec<u8>>, CoordinationError> {
    count(ring, 0);
    let me = ring.me();
    let (replicas, _) = ring.live_replicas(key);
    let message = PeerMessage::Fetch { channel: channel.to_owned(), keys: vec![key] };
    let message = &message;
    let copies: Vec<(String, Option<Record>)> = join_all(replicas.iter().map(|member| async move {
        if member.as_str() == me {
            return (member.clone(), Some(replica::read(node, &ring.versions, channel, key)));
        }
        let copy = match ring.send_batched(member, message.clone()).await {
            Ok(PeerMessage::Records(mut records)) if records.len() == 1 => records.pop(),
            Ok(other) => {
                tracing::warn!(target: "shoal.ring", "{member} answered a fetch with {other:?}");
                None
            }
            Err(error) => {
                tracing::warn!(target: "shoal.ring", "cannot read key {key:016x} at {member}: {error}");
                None
            }
        };
        (member.clone(), copy)
    }))
    .await;
    let answered: Vec<(String, Record)> = copies.into_iter().filter_map(|(m, c)| c.map(|c| (m, c))).collect();
    if answered.is_empty() && !replicas.is_empty() {
        count(ring, 1);
        return Err(CoordinationError::TooFewReplicas { key, stored: 0, needed: 1 });
    }
    // Newest first; at equal stamps a copy with a value beats none (a
    // record loaded from a dump against a replica that never had it).
    let newest = answered.iter().map(|(_, c)| c).max_by_key(|c| (c.stamp, c.value.is_some())).cloned();
    let Some(newest) = newest else { return Ok(None) };
    let stale: Vec<String> = answered
        .iter()
        .filter(|(_, c)| c.stamp < newest.stamp || (c.value.is_none() && newest.value.is_some()))
        .map(|(m, _)| m.clone())
        .collect();
    if !stale.is_empty() {
        store_at(ring, node, channel, &stale, &newest).await;
    }
    ring.clock.witness(newest.stamp);
    Ok(newest.value)
}

/// The names of the channels any member holds (GetChannels through any
/// member), sorted; a member that cannot be reached is logged and skipped.
pub async fn channels(ring: &Ring, node: &DhtNode) -> Vec<String> {
    let mut names = node.channels.names();
    let members = ring.membership().view().members;
    for member in members.iter().filter(|m| m.as_str() != ring.me()) {
        match ring.send(member, &PeerMessage::ListChannels).await {
            Ok(PeerMessage::Channels(theirs)) => names.extend(theirs),
            other => tracing::warn!(target: "shoal.ring", "channels of {member} left out: {other:?}"),
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}
