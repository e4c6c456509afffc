//! Moving records between members: a joining member's share, a leaving
//! member's hand-over, balance (newest copy wins, both directions) and
//! purge. All of them compare versions first ([`PeerMessage::Offer`]) and
//! send only the records the other side lacks or holds older.

use shoal_cluster::message::{PeerMessage, Record, BATCH_BYTES};
use shoal_cluster::ring::HashRing;

use super::peer::ExchangeError;
use super::{replica, Ring};
use crate::node::DhtNode;

/// Keys offered per message (16 bytes each, well below a frame).
const OFFER_KEYS: usize = 16 * 1024;

/// What a sync moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// Records sent to the peer.
    pub sent: u64,
    /// Newer records taken from the peer.
    pub taken: u64,
}

/// Which direction a sync goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only send what the peer lacks or holds older.
    Push,
    /// Also take what the peer holds newer.
    Both,
}

/// Syncs with `peer` every record of this member for which `wanted(key)`
/// holds, channel by channel.
pub async fn sync_with(
    ring: &Ring,
    node: &DhtNode,
    peer: &str,
    direction: Direction,
    wanted: impl Fn(u64) -> bool,
) -> Result<Moved, ExchangeError> {
    let mut moved = Moved::default();
    for channel in replica::channels(node, &ring.versions) {
        let stamps: Vec<(u64, u64)> =
            replica::stamps(node, &ring.versions, &channel).into_iter().filter(|(key, _)| wanted(*key)).collect();
        for offer in stamps.chunks(OFFER_KEYS) {
            let message = PeerMessage::Offer { channel: channel.clone(), stamps: offer.to_vec() };
            let (send, take) = match ring.send(peer, &message).await? {
                PeerMessage::Compared { wanted, newer } => (wanted, newer),
                other => return Err(unexpected(peer, &other)),
            };
            moved.sent += send_records(ring, node, peer, &channel, &send).await?;
            if direction == Direction::Both {
                moved.taken += take_records(ring, node, peer, &channel, &take).await?;
            }
        }
    }
    Ok(moved)
}

fn unexpected(peer: &str, answer: &PeerMessage) -> ExchangeError {
    ExchangeError::Io(std::io::Error::other(format!("{peer} answered {answer:?}")))
}

/// Sends this member's copies of `keys` in batches of about
/// [`BATCH_BYTES`].
async fn send_records(ring: &Ring, node: &DhtNode, peer: &str, channel: &str, keys: &[u64]) -> Result<u64, ExchangeError> {
    let mut batch: Vec<Record> = Vec::new();
    let mut bytes = 0;
    let mut sent = 0;
    for (i, &key) in keys.iter().enumerate() {
        let record = replica::read(node, &ring.versions, channel, key);
        bytes += record.value.as_ref().map_or(0, Vec::len) + 32;
        batch.push(record);
        if bytes >= BATCH_BYTES || i + 1 == keys.len() {
            let records = std::mem::take(&mut batch);
            sent += records.len() as u64;
            match ring.send(peer, &PeerMessage::Store { channel: channel.to_owned(), records }).await? {
                PeerMessage::Done { .. } => {}
                other => return Err(unexpected(peer, &other)),
            }
            bytes = 0;
        }
    }
    Ok(sent)
}

/// Fetches the peer's copies of `keys` and keeps those newer than ours.
async fn take_records(ring: &Ring, node: &DhtNode, peer: &str, channel: &str, keys: &[u64]) -> Result<u64, ExchangeError> {
    let mut taken = 0;
    // Values may be large: ask for a few at a time.
    for chunk in keys.chunks(64) {
        let message = PeerMessage::Fetch { channel: channel.to_owned(), keys: chunk.to_vec() };
        let records = match ring.send(peer, &message).await? {
            PeerMessage::Records(records) => records,
            other => return Err(unexpected(peer, &other)),
        };
        for record in &records {
            ring.clock.witness(record.stamp);
            taken += u64::from(replica::store(node, &ring.versions, channel, record));
        }
    }
    Ok(taken)
}

/// Balance: every record this member holds is compared with each of its
/// replicas in the current view; the newest copy wins in both directions.
/// Returns the records moved; members that cannot be reached are logged
/// and skipped.
pub async fn balance(ring: &Ring, node: &DhtNode) -> u64 {
    let (placement, n) = ring.placement();
    let me = ring.me();
    let mut moved = 0;
    for peer in placement.members().iter().filter(|m| **m != me) {
        let holds = |key: u64| placement.holds(peer, key, n);
        match sync_with(ring, node, peer, Direction::Both, holds).await {
            Ok(m) => moved += m.sent + m.taken,
            Err(error) => tracing::warn!(target: "shoal.ring", "balance with {peer} failed: {error}"),
        }
    }
    tracing::info!(target: "shoal.ring", "balance done: {moved} records moved");
    moved
}

/// Sends `member` every record it holds in `placement` with n replicas
/// (a joining member's share, or a leaving member's hand-over).
pub async fn hand_over(
    ring: &Ring,
    node: &DhtNode,
    member: &str,
    placement: &HashRing,
    n: usize,
) -> Result<u64, ExchangeError> {
    Ok(sync_with(ring, node, member, Direction::Push, |key| placement.holds(member, key, n)).await?.sent)
}

/// Purge: the records this member does not hold in the current view are
/// first pushed to their owners; those all owners then hold are dropped.
/// Returns how many were dropped.
pub async fn purge(ring: &Ring, node: &DhtNode) -> u64 {
    let (placement, n) = ring.placement();
    let me = ring.me();
    let mut unreachable: Vec<String> = Vec::new();
    for owner in placement.members().iter().filter(|m| **m != me) {
        let foreign = |key: u64| !placement.holds(me, key, n) && placement.holds(owner, key, n);
        if let Err(error) = sync_with(ring, node, owner, Direction::Push, foreign).await {
            tracing::warn!(target: "shoal.ring", "purge: cannot hand records to {owner}: {error}");
            unreachable.push(owner.clone());
        }
    }
    let mut dropped = 0;
    for channel in replica::channels(node, &ring.versions) {
        for (key, _) in replica::stamps(node, &ring.versions, &channel) {
            let owners = placement.replicas(key, n);
            if !owners.contains(&me) && !owners.iter().any(|o| unreachable.iter().any(|u| u == o)) {
                replica::drop_copy(node, &ring.versions, &channel, key);
                dropped += 1;
            }
        }
    }
    tracing::info!(target: "shoal.ring", "purge done: {dropped} records dropped");
    dropped
}

/// Tells every member the current view, then has each balance (re-replicates
/// after a removal or a change of n). Runs the local balance too.
pub async fn rebalance_everywhere(ring: &Ring, node: &DhtNode) -> u64 {
    ask_every_member(ring, &PeerMessage::Balance).await + balance(ring, node).await
}

/// Sends every other member the current view (so it acts on the same
/// placement), then `request`; returns the records their `Done` answers
/// report. A member that fails is logged and skipped.
pub async fn ask_every_member(ring: &Ring, request: &PeerMessage) -> u64 {
    let view = ring.membership().view();
    let mut records = 0;
    for member in view.members.iter().filter(|m| m.as_str() != ring.me()) {
        let answer = match ring.send(member, &PeerMessage::View(view.clone())).await {
            Ok(_) => ring.send(member, request).await,
            Err(error) => Err(error),
        };
        match answer {
            Ok(PeerMessage::Done { records: done }) => records += done,
            Ok(other) => tracing::warn!(target: "shoal.ring", "{member} answered {request:?} with {other:?}"),
            Err(error) => tracing::warn!(target: "shoal.ring", "{member} failed {request:?}: {error}"),
        }
    }
    records
}
