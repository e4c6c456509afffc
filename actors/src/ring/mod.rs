//! The optional ring (`[Ring]` in config.ini): membership of a replicated
//! ring of dhtnodes. Peers talk on their own port with sealed messages
//! ([`shoal_cluster::message`]).
//!
//! - [`peer`]: the peer port's service and the client side of an exchange.
//! - [`RingNode`]: the actor that joins through the seed and, every
//!   `gossip_ms`, pings every member; the answers carry views, so all
//!   members converge on the newest one, and silent members turn suspect,
//!   then down.
//!
//! Replication and rebalancing build on this (issue 5).

pub mod peer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use shoal_cluster::membership::Membership;
use shoal_cluster::message::PeerMessage;

use peer::exchange;

/// A ring member's shared state: its membership and the cluster key.
pub struct Ring {
    /// This member's view and failure detector.
    pub membership: Mutex<Membership>,
    /// The cluster key every peer message is sealed with.
    pub key: Vec<u8>,
}

impl Ring {
    /// Locks the membership (a poisoned lock is still usable).
    pub fn membership(&self) -> std::sync::MutexGuard<'_, Membership> {
        self.membership.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `ring-status` text: the epoch, then one line per member with
    /// its health.
    pub fn status(&self) -> String {
        let membership = self.membership();
        let mut text = format!("epoch {}\n", membership.view().epoch);
        for (member, health) in membership.health() {
            text.push_str(&format!("{member} {}\n", health.as_str()));
        }
        text
    }
}

/// The actor owning the join and gossip timers.
pub struct RingNode {
    ring: Arc<Ring>,
    seed: Option<String>,
    gossip: Duration,
}

impl RingNode {
    /// Joins through `seed` (if any) and gossips every `gossip`.
    pub fn new(ring: Arc<Ring>, seed: Option<String>, gossip: Duration) -> Self {
        RingNode { ring, seed, gossip }
    }
}

impl Actor for RingNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let me = self.ring.membership().me().to_owned();
        if let Some(seed) = self.seed.clone().filter(|seed| *seed != me) {
            let ring = Arc::clone(&self.ring);
            let gossip = self.gossip;
            ctx.spawn(async move { join(&ring, &seed, &me, gossip).await }.into_actor(self));
        }
        ctx.run_interval(self.gossip, |actor, ctx| {
            let ring = Arc::clone(&actor.ring);
            ctx.spawn(async move { gossip_round(&ring).await }.into_actor(actor));
        });
    }
}

/// Asks the seed to let us in, retrying every gossip period until it does.
async fn join(ring: &Ring, seed: &str, me: &str, retry: Duration) {
    loop {
        match exchange(seed, &ring.key, &PeerMessage::Join { member: me.to_owned() }).await {
            Ok(PeerMessage::View(view)) => {
                ring.membership().merge(&view);
                tracing::info!(target: "shoal.ring", "joined the ring through {seed}: epoch {}", view.epoch);
                return;
            }
            Ok(other) => tracing::warn!(target: "shoal.ring", "seed {seed} answered the join with {other:?}"),
            Err(error) => tracing::warn!(target: "shoal.ring", "cannot join through {seed}: {error}"),
        }
        tokio::time::sleep(retry).await;
    }
}

/// Pings every member; merges the views they answer with.
async fn gossip_round(ring: &Ring) {
    let (me, peers) = {
        let membership = ring.membership();
        (membership.me().to_owned(), membership.peers())
    };
    for peer in peers {
        match exchange(&peer, &ring.key, &PeerMessage::Ping { from: me.clone() }).await {
            Ok(PeerMessage::View(view)) => {
                let mut membership = ring.membership();
                membership.heard_from(&peer);
                if membership.merge(&view) {
                    tracing::info!(target: "shoal.ring", "ring view from {peer}: epoch {}", view.epoch);
                }
            }
            Ok(other) => tracing::warn!(target: "shoal.ring", "{peer} answered a ping with {other:?}"),
            Err(error) => tracing::debug!(target: "shoal.ring", "{peer} did not answer: {error}"),
        }
    }
}
