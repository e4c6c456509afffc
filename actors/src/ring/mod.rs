//! The optional ring (`[Ring]` in config.ini): dhtnodes that find each
//! other, keep every key on n members and rebalance themselves
//! (docs/ring.md). Peers talk on their own port with sealed messages
//! ([`shoal_cluster::message`]).
//!
//! - [`Ring`]: a member's shared state; [`RingNode`]: the actor owning its
//!   timers (join and pull, gossip, removal of members that are down,
//!   tombstone expiry); [`leave`]: the hand-over at SIGTERM.
//! - [`coordinator`]: Put/Get/Exists/Remove across a key's replicas, over
//!   the batched [`link`]s; [`scan`]: GetAll across the ring.
//! - [`replica`] and [`versions`]: this member as a replica, newest wins.
//! - [`sync`]: pull, hand-over, balance, purge.
//! - [`peer`] (frames, connections, the peer port) and [`answer`] (what a
//!   member answers to each message).
//! - [`status_page`]: the read-only HTTP page.

pub mod answer;
pub mod coordinator;
pub mod link;
pub mod peer;
pub mod replica;
pub mod scan;
pub mod status_page;
pub mod sync;
pub mod versions;

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix::prelude::*;
use shoal_cluster::membership::{Health, Membership};
use shoal_cluster::message::PeerMessage;
use shoal_cluster::ring::HashRing;

use peer::{exchange, PeerPool};

use crate::node::DhtNode;
use versions::{Clock, Versions};

/// A ring member's shared state.
pub struct Ring {
    /// This member's peer address (never changes).
    me: String,
    /// This member's view and failure detector.
    pub membership: Mutex<Membership>,
    /// The cluster key every peer message is sealed with.
    pub key: Arc<Vec<u8>>,
    /// Versions of the records this member holds.
    pub versions: Versions,
    /// Stamps for the writes this member coordinates.
    pub clock: Clock,
    /// Open connections to the other members.
    pub peers: Arc<PeerPool>,
    /// Batched links to the other members, for the coordinator.
    links: link::Links,
    /// Copies a Put needs before it is acknowledged (0: every live replica).
    pub write_acks: u32,
    /// Record requests coordinated, and those of them that failed for want
    /// of replicas, since stats.log last took them.
    pub coordinated: [std::sync::atomic::AtomicU64; 2],
    virtual_nodes: u32,
    /// The placement of the view at an epoch, rebuilt when the epoch moves.
    placement: RwLock<(u64, Arc<HashRing>)>,
}

impl Ring {
    /// A member `membership.me()` sealing its messages with `key`.
    pub fn new(membership: Membership, key: Vec<u8>, virtual_nodes: u32, write_acks: u32) -> Self {
        Ring {
            me: membership.me().to_owned(),
            membership: Mutex::new(membership),
            key: Arc::new(key),
            versions: Versions::default(),
            clock: Clock::default(),
            peers: Arc::default(),
            links: link::Links::default(),
            write_acks,
            coordinated: Default::default(),
            virtual_nodes,
            placement: RwLock::new((0, Arc::new(HashRing::new(virtual_nodes)))),
        }
    }

    /// Locks the membership (a poisoned lock is still usable).
    pub fn membership(&self) -> std::sync::MutexGuard<'_, Membership> {
        self.membership.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This member's peer address.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The placement of the current view and its n.
    pub fn placement(&self) -> (Arc<HashRing>, usize) {
        let (epoch, replicas) = self.membership().epoch_and_replicas();
        {
            let cached = self.placement.read().unwrap_or_else(|p| p.into_inner());
            if cached.0 == epoch {
                return (Arc::clone(&cached.1), replicas as usize);
            }
        }
        let view = self.membership().view();
        let mut ring = HashRing::new(self.virtual_nodes);
        view.members.iter().for_each(|member| ring.add(member));
        let ring = Arc::new(ring);
        *self.placement.write().unwrap_or_else(|p| p.into_inner()) = (view.epoch, Arc::clone(&ring));
        (ring, view.replicas as usize)
    }

    /// The members holding `key`, primary first, those down left out; and
    /// how many replicas the key has in the view, down ones included.
    pub fn live_replicas(&self, key: u64) -> (Vec<String>, usize) {
        let (ring, n) = self.placement();
        let replicas = ring.replicas(key, n);
        let all = replicas.len();
        let membership = self.membership();
        (replicas.into_iter().filter(|m| !membership.is_down(m)).map(str::to_owned).collect(), all)
    }

    /// Members currently down.
    pub fn down_members(&self) -> Vec<String> {
        self.membership().health().into_iter().filter(|(_, h)| *h == Health::Down).map(|(m, _)| m).collect()
    }

    /// Sends `message` to `member` on a kept connection.
    pub async fn send(&self, member: &str, message: &PeerMessage) -> Result<PeerMessage, peer::ExchangeError> {
        self.peers.exchange(member, &self.key, message).await
    }

    /// Sends `message` to `member` in the next batch of a link (the
    /// coordinator's many small messages). A link whose connection broke
    /// (the member restarted) fails what it carried and reconnects: the
    /// message is sent once more then, as every message is idempotent.
    pub async fn send_batched(&self, member: &str, message: PeerMessage) -> Result<PeerMessage, peer::ExchangeError> {
        match self.links.send(&self.key, member, message.clone()).await {
            Err(peer::ExchangeError::Io(_)) => self.links.send(&self.key, member, message).await,
            answer => answer,
        }
    }

    /// Removes `member` from the view and closes the connections and links
    /// to it; false if it is not a member (or is this one).
    pub fn remove_member(&self, member: &str) -> bool {
        if !self.membership().remove(member) {
            return false;
        }
        self.peers.forget(member);
        self.links.forget(member);
        true
    }

    /// The ring's fields of a stats.log line: the view, the members' health,
    /// the versions kept, and the coordinated and failed requests since
    /// the last line.
    pub fn stats(&self, line: &mut crate::stats::StatsLine) {
        use std::sync::atomic::Ordering::Relaxed;
        let (view, health) = {
            let membership = self.membership();
            (membership.view(), membership.health())
        };
        line.field("ring/epoch", view.epoch);
        line.field("ring/replicas", view.replicas);
        for state in [Health::Alive, Health::Suspect, Health::Down] {
            line.field(&format!("ring/members_{}", state.as_str()), health.iter().filter(|(_, h)| *h == state).count());
        }
        line.field("ring/versions", self.versions.len());
        line.field("ring/coordinated", self.coordinated[0].swap(0, Relaxed));
        line.field("ring/failed", self.coordinated[1].swap(0, Relaxed));
    }

    /// The `ring-status` text: the epoch and n, then one line per member
    /// with its health.
    pub fn status(&self) -> String {
        let membership = self.membership();
        let view = membership.view();
        let mut text = format!("epoch {} replicas {}\n", view.epoch, view.replicas);
        for (member, health) in membership.health() {
            text.push_str(&format!("{member} {}\n", health.as_str()));
        }
        text
    }
}

/// The actor owning the join and gossip timers.
pub struct RingNode {
    ring: Arc<Ring>,
    node: Arc<DhtNode>,
    seed: Option<String>,
    gossip: Duration,
    remove_down: bool,
    tombstone_ttl: Duration,
}

impl RingNode {
    /// Joins through `seed` (if any), then pulls this member's share of the
    /// records; gossips every `gossip`; with `remove_down`, removes members
    /// that are down and re-replicates their keys; forgets removals older
    /// than `tombstone_ttl`.
    pub fn new(ring: Arc<Ring>, node: Arc<DhtNode>, seed: Option<String>, gossip: Duration, remove_down: bool, tombstone_ttl: Duration) -> Self {
        RingNode { ring, node, seed, gossip, remove_down, tombstone_ttl }
    }
}

impl Actor for RingNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let me = self.ring.me().to_owned();
        if let Some(seed) = self.seed.clone().filter(|seed| *seed != me) {
            let ring = Arc::clone(&self.ring);
            let gossip = self.gossip;
            ctx.spawn(
                async move {
                    join(&ring, &seed, &me, gossip).await;
                    pull_share(&ring).await;
                }
                .into_actor(self),
            );
        }
        // Removals are checked a few times per time to live.
        ctx.run_interval((self.tombstone_ttl / 4).max(Duration::from_millis(100)), |actor, _| {
            let dropped = actor.ring.versions.compact(versions::stamp_ago(actor.tombstone_ttl));
            if dropped > 0 {
                tracing::info!(target: "shoal.ring", "forgot {dropped} removals older than {:?}", actor.tombstone_ttl);
            }
        });
        ctx.run_interval(self.gossip, |actor, ctx| {
            let (ring, node, remove_down) = (Arc::clone(&actor.ring), Arc::clone(&actor.node), actor.remove_down);
            ctx.spawn(
                async move {
                    gossip_round(&ring).await;
                    if remove_down {
                        remove_down_members(&ring, &node).await;
                    }
                }
                .into_actor(actor),
            );
        });
    }
}

/// Asks the seed to let us in, retrying every gossip period until it does.
async fn join(ring: &Ring, seed: &str, me: &str, retry: Duration) {
    while let Err(error) = join_once(ring, seed, me).await {
        tracing::warn!(target: "shoal.ring", "{error}");
        tokio::time::sleep(retry).await;
    }
}

/// Asks the seed once to let us in and takes its view.
pub async fn join_once(ring: &Ring, seed: &str, me: &str) -> Result<(), String> {
    match exchange(seed, &ring.key, &PeerMessage::Join { member: me.to_owned() }).await {
        Ok(PeerMessage::View(view)) => {
            ring.membership().merge(&view);
            tracing::info!(target: "shoal.ring", "joined the ring through {seed}: epoch {}", view.epoch);
            Ok(())
        }
        Ok(other) => Err(format!("seed {seed} answered the join with {other:?}")),
        Err(error) => Err(format!("cannot join through {seed}: {error}")),
    }
}

/// A new member asks every member for the records it now holds (telling
/// each the view with it first), so no manual balance is needed.
pub async fn pull_share(ring: &Ring) -> u64 {
    let pulled = sync::ask_every_member(ring, &PeerMessage::Pull { member: ring.me().to_owned() }).await;
    tracing::info!(target: "shoal.ring", "pulled {pulled} records from the ring");
    pulled
}

/// Pings every member; merges the views they answer with.
async fn gossip_round(ring: &Ring) {
    let (me, peers) = {
        let membership = ring.membership();
        (membership.me().to_owned(), membership.peers())
    };
    for peer in peers {
        match ring.send(&peer, &PeerMessage::Ping { from: me.clone() }).await {
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

/// Removes the members that are down (`[Ring] remove_down`) and has the
/// ring re-replicate their keys.
async fn remove_down_members(ring: &Ring, node: &DhtNode) {
    let mut removed = false;
    for member in ring.down_members() {
        if ring.remove_member(&member) {
            tracing::warn!(target: "shoal.ring", "{member} is down: removed from the ring");
            removed = true;
        }
    }
    if removed {
        sync::rebalance_everywhere(ring, node).await;
    }
}

/// Leaves the ring (SIGINT/SIGTERM): tells every member the view without
/// this one, so coordinators stop writing here, then hands every record to
/// its owners in that view. Run after the node stopped serving, on a
/// runtime of its own; returns the records handed over.
pub async fn leave(ring: &Ring, node: &DhtNode) -> u64 {
    ring.peers.forget_all();
    let me = ring.me();
    let mut view = ring.membership().view();
    view.members.retain(|m| *m != me);
    view.epoch += 1;
    if view.members.is_empty() {
        return 0;
    }
    for member in &view.members {
        if let Err(error) = ring.send(member, &PeerMessage::View(view.clone())).await {
            tracing::warn!(target: "shoal.ring", "cannot tell {member} that this member leaves: {error}");
        }
    }
    let mut placement = HashRing::new(ring.virtual_nodes);
    view.members.iter().for_each(|m| placement.add(m));
    let mut handed = 0;
    for member in &view.members {
        match sync::hand_over(ring, node, member, &placement, view.replicas as usize).await {
            Ok(records) => handed += records,
            Err(error) => tracing::error!(target: "shoal.ring", "leaving: cannot hand records to {member}: {error}"),
        }
    }
    tracing::info!(target: "shoal.ring", "left the ring: {handed} records handed over");
    handed
}
