//! Placement: which members hold a key.
//!
//! Each member (`host:port`) owns `virtual_nodes` tokens on the ring of
//! 64-bit positions, token `i` being the first 8 bytes (big-endian) of the
//! MD5 of `host:port:i`, as mydht derives its points. A key's position is
//! its swarm hash run through a bijective 64-bit mixer ([`position`]):
//! swarm keys are usually hashes already, but applications also use small
//! or sequential numbers, which would otherwise all fall on one arc and
//! one set of replicas. The key's replicas are the owners of the first
//! tokens at or after its position, clockwise and wrapping, skipping
//! members already chosen, until `n` distinct members are found.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

/// Virtual nodes per member by default: enough that five members each hold
/// within 15% of the mean share of keys.
pub const DEFAULT_VIRTUAL_NODES: u32 = 512;

/// The ring of one membership view.
#[derive(Debug, Clone, Default)]
pub struct HashRing {
    /// Token → member.
    tokens: BTreeMap<u64, String>,
    virtual_nodes: u32,
    members: Vec<String>,
}

/// A key's position on the ring: MurmurHash3's 64-bit finaliser, a
/// bijection that spreads neighbouring keys over the whole space.
pub fn position(key: u64) -> u64 {
    let mut x = key;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The position of virtual node `index` of `member` (`host:port`).
pub fn token(member: &str, index: u32) -> u64 {
    let digest = Md5::digest(format!("{member}:{index}").as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("MD5 has 16 bytes"))
}

impl HashRing {
    /// An empty ring whose members get `virtual_nodes` tokens each.
    pub fn new(virtual_nodes: u32) -> Self {
        assert!(virtual_nodes > 0, "a member needs at least one token");
        HashRing { tokens: BTreeMap::new(), virtual_nodes, members: Vec::new() }
    }

    /// Adds a member (idempotent). A token another member already has (an
    /// MD5 collision of the first 8 bytes) stays with the member that
    /// sorts first, so every view agrees whatever the order of joins.
    pub fn add(&mut self, member: &str) {
        if self.members.iter().any(|m| m == member) {
            return;
        }
        self.members.push(member.to_owned());
        self.members.sort_unstable();
        for index in 0..self.virtual_nodes {
            let owner = self.tokens.entry(token(member, index)).or_insert_with(|| member.to_owned());
            if member < owner.as_str() {
                *owner = member.to_owned();
            }
        }
    }

    /// Removes a member and its tokens.
    pub fn remove(&mut self, member: &str) {
        self.members.retain(|m| m != member);
        self.tokens.retain(|_, owner| owner != member);
        // A collided token lost by the removed member goes back to the
        // next claimant.
        for other in self.members.clone() {
            for index in 0..self.virtual_nodes {
                self.tokens.entry(token(&other, index)).or_insert(other.clone());
            }
        }
    }

    /// The members, sorted.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// The up to `n` distinct members holding `key`, primary first.
    pub fn replicas(&self, key: u64, n: usize) -> Vec<&str> {
        let want = n.min(self.members.len());
        let mut chosen: Vec<&str> = Vec::with_capacity(want);
        let at = position(key);
        let clockwise = self.tokens.range(at..).chain(self.tokens.range(..at));
        for (_, member) in clockwise {
            if chosen.len() == want {
                break;
            }
            if !chosen.contains(&member.as_str()) {
                chosen.push(member);
            }
        }
        chosen
    }

    /// Per member: its tokens and the fraction of the key space it is the
    /// primary of (the arcs ending at its tokens), for the status page.
    pub fn shares(&self) -> BTreeMap<&str, (u32, f64)> {
        let mut shares: BTreeMap<&str, (u32, f64)> = self.members.iter().map(|m| (m.as_str(), (0, 0.0))).collect();
        let Some((&last, _)) = self.tokens.last_key_value() else { return shares };
        let mut previous = last;
        for (&token, member) in &self.tokens {
            // The arc (previous, token], wrapping past the top of the space.
            let arc = token.wrapping_sub(previous);
            let arc = if arc == 0 { u64::MAX } else { arc };
            if let Some(share) = shares.get_mut(member.as_str()) {
                share.0 += 1;
                share.1 += arc as f64 / u64::MAX as f64;
            }
            previous = token;
        }
        shares
    }

    /// Whether `member` is one of the `n` replicas of `key`.
    pub fn holds(&self, member: &str, key: u64, n: usize) -> bool {
        self.replicas(key, n).contains(&member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn keys(count: u64) -> impl Iterator<Item = u64> {
        // Swarm keys are hashes: spread them like one.
        (0..count).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ 0x5851_f42d_4c95_7f2d)
    }

    fn ring_of(members: &[&str]) -> HashRing {
        let mut ring = HashRing::new(DEFAULT_VIRTUAL_NODES);
        members.iter().for_each(|m| ring.add(m));
        ring
    }

    const FIVE: [&str; 5] = ["127.0.0.1:10000", "127.0.0.1:10001", "127.0.0.1:10002", "127.0.0.1:10003", "127.0.0.1:10004"];

    #[test]
    fn five_members_each_hold_within_fifteen_percent_of_the_mean() {
        let ring = ring_of(&FIVE);
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for key in keys(100_000) {
            for member in ring.replicas(key, 3) {
                *counts.entry(member).or_default() += 1;
            }
        }
        let mean = 300_000.0 / 5.0;
        for member in FIVE {
            let share = counts[member] as f64 / mean;
            assert!((0.85..=1.15).contains(&share), "{member}: {share:.3} of the mean");
        }
    }

    #[test]
    fn a_join_moves_at_most_one_and_a_quarter_nth_of_the_keys() {
        let mut ring = ring_of(&FIVE);
        let before: Vec<Vec<String>> =
            keys(100_000).map(|k| ring.replicas(k, 3).into_iter().map(str::to_owned).collect()).collect();
        ring.add("127.0.0.1:10005");
        let n = 6.0;
        let moved = keys(100_000)
            .zip(&before)
            .filter(|(key, old)| ring.replicas(*key, 3)[0] != old[0])
            .count();
        assert!((moved as f64) <= 100_000.0 * 1.25 / n, "{moved} of 100000 keys changed primary");
        assert!(moved > 0);
        // Only the new member gains keys: nothing moves between old ones.
        for (key, old) in keys(100_000).zip(&before) {
            let new = ring.replicas(key, 3);
            for member in &new {
                assert!(*member == "127.0.0.1:10005" || old.iter().any(|o| o == member), "key {key:x}");
            }
        }
    }

    #[test]
    fn sequential_keys_spread_over_every_member() {
        let ring = ring_of(&FIVE);
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for key in 0..100_000u64 {
            *counts.entry(ring.replicas(key, 1)[0]).or_default() += 1;
        }
        for member in FIVE {
            let share = counts[member] as f64 / 20_000.0;
            assert!((0.85..=1.15).contains(&share), "{member}: {share:.3} of the mean");
        }
    }

    #[test]
    fn replicas_are_distinct_and_views_agree_whatever_the_join_order() {
        let a = ring_of(&FIVE);
        let mut reversed = FIVE;
        reversed.reverse();
        let b = ring_of(&reversed);
        for key in keys(1_000) {
            let replicas = a.replicas(key, 3);
            assert_eq!(replicas.len(), 3);
            let mut distinct = replicas.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), 3);
            assert_eq!(replicas, b.replicas(key, 3));
        }
        assert_eq!(ring_of(&FIVE[..2]).replicas(1, 3).len(), 2, "n is capped by the members");
        let shares = a.shares();
        assert_eq!(shares.values().map(|s| s.0).sum::<u32>(), 5 * DEFAULT_VIRTUAL_NODES);
        assert!((shares.values().map(|s| s.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(HashRing::new(8).replicas(1, 3).is_empty());
        let mut removed = ring_of(&FIVE);
        removed.remove(FIVE[0]);
        assert_eq!(removed.members().len(), 4);
        assert!(keys(1_000).all(|k| !removed.holds(FIVE[0], k, 3)));
    }
}
