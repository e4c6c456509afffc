//! Record versions of a ring member, beside the channels.
//!
//! Replicas can disagree (a write that reached two of three, a member that
//! was down): the copy with the highest stamp wins. Stamps live here, in
//! memory only, so the channels and their `.tcm` dumps keep the original's
//! format; a record without a stamp (loaded from a dump) counts as stamp 0,
//! older than any write through the ring. A removal keeps its stamp as a
//! tombstone, so a balance cannot bring an old copy back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use dashmap::DashMap;

/// A stamp and whether it is a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// The coordinator's clock when the record was written.
    pub stamp: u64,
    /// The record was removed at `stamp`.
    pub removed: bool,
}

/// The versions of one channel's records.
pub type ChannelVersions = DashMap<u64, Version>;

/// The versions of every channel.
#[derive(Debug, Default)]
pub struct Versions {
    channels: DashMap<String, Arc<ChannelVersions>>,
}

impl Versions {
    /// The versions of `channel`, created if new.
    pub fn channel(&self, channel: &str) -> Arc<ChannelVersions> {
        if let Some(versions) = self.channels.get(channel) {
            return Arc::clone(&versions);
        }
        Arc::clone(&self.channels.entry(channel.to_owned()).or_default())
    }

    /// Forgets a removed channel.
    pub fn remove_channel(&self, channel: &str) {
        self.channels.remove(channel);
    }

    /// The channels with versions.
    pub fn names(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.key().clone()).collect()
    }

    /// Forgets the removals stamped before `horizon` (a stamp); returns how
    /// many. Their records are gone everywhere by then, unless a member was
    /// away for longer than the horizon.
    pub fn compact(&self, horizon: u64) -> usize {
        let mut dropped = 0;
        for channel in self.channels.iter() {
            channel.retain(|_, version| {
                let expired = version.removed && version.stamp < horizon;
                dropped += usize::from(expired);
                !expired
            });
        }
        dropped
    }

    /// Tombstones and stamps kept, for the status output.
    pub fn len(&self) -> usize {
        self.channels.iter().map(|c| c.len()).sum()
    }

    /// Whether no version is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The stamps a coordinator gives its writes: milliseconds since the epoch
/// shifted left by 10 bits, plus a counter, never going backwards; so two
/// writes through one member are always ordered, and writes through
/// different members are ordered by their clocks.
#[derive(Debug, Default)]
pub struct Clock {
    last: AtomicU64,
}

/// The stamp of the time `age` ago (stamps count milliseconds << 10).
pub fn stamp_ago(age: std::time::Duration) -> u64 {
    now_ms().saturating_sub(age.as_millis() as u64) << 10
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Clock {
    /// A stamp higher than every earlier one of this clock.
    pub fn next(&self) -> u64 {
        let now = now_ms() << 10;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let stamp = now.max(last + 1);
            match self.last.compare_exchange_weak(last, stamp, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return stamp,
                Err(actual) => last = actual,
            }
        }
    }

    /// Keeps this clock ahead of a stamp seen from another member.
    pub fn witness(&self, stamp: u64) {
        self.last.fetch_max(stamp, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_forgets_old_removals_only() {
        let versions = Versions::default();
        let old = stamp_ago(std::time::Duration::from_secs(100));
        let channel = versions.channel("c");
        channel.insert(1, Version { stamp: old, removed: true });
        channel.insert(2, Version { stamp: old, removed: false });
        channel.insert(3, Version { stamp: Clock::default().next(), removed: true });
        assert_eq!(versions.compact(stamp_ago(std::time::Duration::from_secs(10))), 1);
        assert!(channel.get(&1).is_none() && channel.get(&2).is_some() && channel.get(&3).is_some());
    }

    #[test]
    fn stamps_only_go_up_even_past_a_clock_from_the_future() {
        let clock = Clock::default();
        let first = clock.next();
        assert!(clock.next() > first);
        clock.witness(first + (1 << 40));
        assert!(clock.next() > first + (1 << 40));
    }
}
