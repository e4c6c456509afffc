//! Membership: this member's view of the ring and how views converge.
//!
//! Every change (join, removal) bumps the epoch. Members gossip their
//! views: a newer epoch replaces an older one; two different views with the
//! same epoch (concurrent changes) merge into their union at the next epoch,
//! so every member ends with the same view however updates were lost. A
//! member that has not been heard from for `suspect_after` is *suspect*,
//! after `down_after` *down*; it is removed only by an explicit Remove
//! (or automatically if so configured by the caller).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::message::View;

/// How a member looks from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Heard from recently.
    Alive,
    /// Silent for a while.
    Suspect,
    /// Silent for long: presumed crashed.
    Down,
}

impl Health {
    /// The word the status page and the CLI show.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Alive => "alive",
            Health::Suspect => "suspect",
            Health::Down => "down",
        }
    }
}

/// This member's view and what it last heard from each member.
#[derive(Debug)]
pub struct Membership {
    me: String,
    epoch: u64,
    replicas: u32,
    last_heard: BTreeMap<String, Instant>,
    suspect_after: Duration,
    down_after: Duration,
}

impl Membership {
    /// A ring of one: `me` alone, epoch 1, keys kept `replicas` times.
    pub fn new(me: &str, replicas: u32, suspect_after: Duration, down_after: Duration) -> Self {
        let mut last_heard = BTreeMap::new();
        last_heard.insert(me.to_owned(), Instant::now());
        Membership { me: me.to_owned(), epoch: 1, replicas, last_heard, suspect_after, down_after }
    }

    /// Changes n (copies of every key); returns whether the view changed.
    pub fn set_replicas(&mut self, replicas: u32) -> bool {
        if replicas == self.replicas {
            return false;
        }
        self.replicas = replicas;
        self.epoch += 1;
        true
    }

    /// This member's address.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// How many members the view has.
    pub fn len(&self) -> usize {
        self.last_heard.len()
    }

    /// Whether the view is empty (never: a member is in its own view).
    pub fn is_empty(&self) -> bool {
        self.last_heard.is_empty()
    }

    /// The current epoch and n, without copying the view.
    pub fn epoch_and_replicas(&self) -> (u64, u32) {
        (self.epoch, self.replicas)
    }

    /// Whether `member` has been silent for `down_after` (this member never
    /// is).
    pub fn is_down(&self, member: &str) -> bool {
        member != self.me && self.last_heard.get(member).is_some_and(|at| at.elapsed() >= self.down_after)
    }

    /// The current view.
    pub fn view(&self) -> View {
        View { epoch: self.epoch, members: self.last_heard.keys().cloned().collect(), replicas: self.replicas }
    }

    /// Adds a member (a join); returns whether the view changed.
    pub fn add(&mut self, member: &str) -> bool {
        if self.last_heard.contains_key(member) {
            return false;
        }
        self.last_heard.insert(member.to_owned(), Instant::now());
        self.epoch += 1;
        true
    }

    /// Removes a member; returns whether the view changed.
    pub fn remove(&mut self, member: &str) -> bool {
        if member == self.me || self.last_heard.remove(member).is_none() {
            return false;
        }
        self.epoch += 1;
        true
    }

    /// Merges a view heard from a peer; returns whether ours changed.
    pub fn merge(&mut self, view: &View) -> bool {
        let ours = self.view();
        if view.epoch < ours.epoch || *view == ours {
            return false;
        }
        let now = Instant::now();
        if view.epoch > ours.epoch {
            // Theirs is newer: take it (keeping when we last heard from
            // members we already knew). We stay in it even if it lost us.
            let mut last_heard: BTreeMap<String, Instant> =
                view.members.iter().map(|m| (m.clone(), self.last_heard.get(m).copied().unwrap_or(now))).collect();
            last_heard.entry(self.me.clone()).or_insert(now);
            let lost_me = !view.members.contains(&self.me);
            self.last_heard = last_heard;
            self.replicas = view.replicas;
            self.epoch = view.epoch + u64::from(lost_me);
        } else {
            // Same epoch, different members: concurrent changes.
            for member in &view.members {
                self.last_heard.entry(member.clone()).or_insert(now);
            }
            self.replicas = self.replicas.max(view.replicas);
            self.epoch += 1;
        }
        true
    }

    /// Notes that `member` was heard from just now.
    pub fn heard_from(&mut self, member: &str) {
        if let Some(at) = self.last_heard.get_mut(member) {
            *at = Instant::now();
        }
    }

    /// The health of every member, sorted by address.
    pub fn health(&self) -> Vec<(String, Health)> {
        let now = Instant::now();
        self.last_heard
            .iter()
            .map(|(member, at)| {
                let silent = now.duration_since(*at);
                let health = if member == &self.me || silent < self.suspect_after {
                    Health::Alive
                } else if silent < self.down_after {
                    Health::Suspect
                } else {
                    Health::Down
                };
                (member.clone(), health)
            })
            .collect()
    }

    /// Every member but this one.
    pub fn peers(&self) -> Vec<String> {
        self.last_heard.keys().filter(|m| **m != self.me).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(me: &str) -> Membership {
        Membership::new(me, 3, Duration::from_millis(50), Duration::from_millis(100))
    }

    #[test]
    fn newer_views_win_and_concurrent_ones_merge() {
        let mut seed = member("a");
        assert!(seed.add("b"));
        assert!(!seed.add("b"));
        let mut b = member("b");
        assert!(b.merge(&seed.view()));
        assert_eq!(b.view(), seed.view());
        // Concurrent joins at both: same epoch, different members.
        seed.add("c");
        b.add("d");
        assert_eq!(seed.view().epoch, b.view().epoch);
        assert!(seed.merge(&b.view()));
        assert!(b.merge(&seed.view()));
        assert_eq!(seed.view(), b.view());
        assert_eq!(seed.view().members, vec!["a", "b", "c", "d"]);
        // A change of n travels with the view.
        assert!(b.set_replicas(2));
        assert!(!b.set_replicas(2));
        assert!(seed.merge(&b.view()));
        assert_eq!(seed.view().replicas, 2);
        // An older view changes nothing.
        assert!(!seed.merge(&View { epoch: 1, members: vec!["a".into()], replicas: 3 }));
    }

    #[test]
    fn silent_members_become_suspect_then_down_and_removal_is_explicit() {
        let mut a = member("a");
        a.add("b");
        assert_eq!(a.health()[1], ("b".to_string(), Health::Alive));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(a.health()[1].1, Health::Suspect);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(a.health()[1].1, Health::Down);
        assert_eq!(a.health()[0].1, Health::Alive, "a member never suspects itself");
        a.heard_from("b");
        assert_eq!(a.health()[1].1, Health::Alive);
        assert!(a.remove("b"));
        assert!(!a.remove("a"), "a member does not remove itself");
        assert_eq!(a.peers(), Vec::<String>::new());
    }

    #[test]
    fn a_view_that_lost_us_is_taken_but_we_stay() {
        let mut b = member("b");
        assert!(b.merge(&View { epoch: 5, members: vec!["a".into(), "c".into()], replicas: 3 }));
        let view = b.view();
        assert_eq!(view.members, vec!["a", "b", "c"]);
        assert_eq!(view.epoch, 6, "our re-addition is a change the others must learn");
    }
}
