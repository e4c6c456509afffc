//! What a member answers to each peer message. Membership messages answer
//! with the member's view; data messages with records or `Done`; admin
//! messages (remove, balance, purge, a change of n) do their work first,
//! so the asker learns when it is finished.

use shoal_cluster::message::{PeerMessage, Record};

use super::{replica, sync, Ring};
use crate::listeners::Change;
use crate::node::DhtNode;

/// The answer to `message`.
pub async fn answer(ring: &Ring, node: &DhtNode, message: PeerMessage) -> PeerMessage {
    let message = match answer_at_once(ring, node, message) {
        Ok(answer) => return answer,
        Err(message) => message,
    };
    match message {
        PeerMessage::Remove { member } => {
            if !ring.remove_member(&member) {
                return refused(format!("{member} is not a member (or is this node)"));
            }
            tracing::info!(target: "shoal.ring", "{member} removed: epoch {}; re-replicating", ring.membership().view().epoch);
            sync::rebalance_everywhere(ring, node).await;
        }
        PeerMessage::SetReplicas { replicas } => {
            if replicas == 0 {
                return refused("a ring keeps at least one copy of every key".into());
            }
            if ring.membership().set_replicas(replicas) {
                tracing::info!(target: "shoal.ring", "replicas set to {replicas}; balancing");
                sync::rebalance_everywhere(ring, node).await;
            }
        }
        PeerMessage::Pull { member } => {
            let (placement, n) = ring.placement();
            return match sync::hand_over(ring, node, &member, &placement, n).await {
                Ok(records) => {
                    tracing::info!(target: "shoal.ring", "handed {records} records to {member}");
                    PeerMessage::Done { records }
                }
                Err(error) => refused(format!("cannot hand records to {member}: {error}")),
            };
        }
        PeerMessage::JoinThrough { seed } => {
            if let Err(error) = super::join_once(ring, &seed, ring.me()).await {
                return refused(error);
            }
            return PeerMessage::Done { records: super::pull_share(ring).await };
        }
        PeerMessage::Balance => return PeerMessage::Done { records: sync::balance(ring, node).await },
        PeerMessage::Purge => return PeerMessage::Done { records: sync::purge(ring, node).await },
        PeerMessage::Batch(messages) => {
            // The coordinator's stores and fetches: answered at once, in order.
            let answers = messages.into_iter().map(|message| match answer_at_once(ring, node, message) {
                Ok(answer) => answer,
                Err(other) => refused(format!("{other:?} cannot be batched")),
            });
            return PeerMessage::Batch(answers.collect());
        }
        other => return refused(format!("{other:?} is an answer, not a request")),
    }
    PeerMessage::View(ring.membership().view())
}

/// The answer to a message that needs no waiting (membership and data
/// messages); the message back for those that do (admin work, batches).
pub fn answer_at_once(ring: &Ring, node: &DhtNode, message: PeerMessage) -> Result<PeerMessage, PeerMessage> {
    match message {
        PeerMessage::Join { member } => {
            let mut membership = ring.membership();
            if membership.add(&member) {
                tracing::info!(target: "shoal.ring", "{member} joined: epoch {}", membership.view().epoch);
            }
            membership.heard_from(&member);
        }
        PeerMessage::Ping { from } => ring.membership().heard_from(&from),
        PeerMessage::StatusRequest => {
            let membership = ring.membership();
            let health = membership.health().into_iter().map(|(m, h)| (m, h.as_str().to_owned())).collect();
            return Ok(PeerMessage::Status { view: membership.view(), health });
        }
        PeerMessage::View(view) => {
            ring.membership().merge(&view);
        }
        PeerMessage::Store { channel, records } => {
            let kept = records.iter().filter(|record| keep(ring, node, &channel, record)).count();
            return Ok(PeerMessage::Done { records: kept as u64 });
        }
        PeerMessage::Fetch { channel, keys } => {
            return Ok(PeerMessage::Records(keys.iter().map(|&key| replica::read(node, &ring.versions, &channel, key)).collect()));
        }
        PeerMessage::Offer { channel, stamps } => return Ok(compare(ring, node, &channel, &stamps)),
        PeerMessage::ListChannels => return Ok(PeerMessage::Channels(node.channels.names())),
        PeerMessage::Changed { channel, key, removed } => {
            if let Some(entry) = node.channels.get(&channel) {
                entry.listeners.changed(key, if removed { Change::Removed } else { Change::Written });
            }
            return Ok(PeerMessage::Done { records: 0 });
        }
        PeerMessage::ScanPrimary { channel, after } => {
            return Ok(PeerMessage::Records(replica::primary_page(ring, node, &channel, after)));
        }
        PeerMessage::Refused { reason } => return Ok(refused(format!("unexpected refusal: {reason}"))),
        other => return Err(other),
    }
    Ok(PeerMessage::View(ring.membership().view()))
}

fn refused(reason: String) -> PeerMessage {
    PeerMessage::Refused { reason }
}

/// Keeps a record a peer sent if it is newer than ours.
fn keep(ring: &Ring, node: &DhtNode, channel: &str, record: &Record) -> bool {
    ring.clock.witness(record.stamp);
    replica::store(node, &ring.versions, channel, record)
}

/// Which offered keys we lack or hold older, and which we hold newer.
fn compare(ring: &Ring, node: &DhtNode, channel: &str, stamps: &[(u64, u64)]) -> PeerMessage {
    let mut wanted = Vec::new();
    let mut newer = Vec::new();
    for &(key, stamp) in stamps {
        match replica::knows(node, &ring.versions, channel, key) {
            None => wanted.push(key),
            Some(ours) if ours < stamp => wanted.push(key),
            Some(ours) if ours > stamp => newer.push(key),
            Some(_) => {}
        }
    }
    PeerMessage::Compared { wanted, newer }
}
