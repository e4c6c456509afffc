//! A channel: the records of one name, spread over shards by key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::shard::{Replaced, Shard};
use super::size;

/// Number of shards per channel: enough that two cores' writers and a scan
/// rarely meet on one lock, few enough that an empty channel stays cheap.
pub(crate) const SHARDS: usize = 32;

/// Record and byte counts of a channel, as reported to clients and stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelStats {
    /// Number of records.
    pub records: u64,
    /// Sum of the values' lengths (the payload).
    pub value_bytes: u64,
    /// The size the original would report (see [`super::size`]).
    pub reported_bytes: u64,
}

/// One channel's records. All methods take `&self`: a channel is shared by
/// every connection, and each call locks only the shard of its key.
pub struct Channel {
    shards: Box<[RwLock<Shard>]>,
    records: AtomicU64,
    value_bytes: AtomicU64,
    bnum: u64,
}

impl Channel {
    /// An empty channel; `bnum` is the original's `[Options_Memory] bnum`,
    /// which only changes the reported size.
    pub fn new(bnum: u64) -> Self {
        Channel {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            records: AtomicU64::new(0),
            value_bytes: AtomicU64::new(0),
            bnum,
        }
    }

    /// Stores `value` under `key`, replacing an older value.
    pub fn put(&self, key: u64, value: &[u8]) {
        let replaced = self.write(key).put(key, value);
        self.count(replaced, value);
    }

    /// Stores `value` under `key` only if `keep_going` accepts the stored
    /// value (`None`: no record), checked and written under one lock so
    /// that two read-modify-writes of a key cannot both win. Returns whether
    /// it was written.
    pub fn put_if(&self, key: u64, value: &[u8], keep_going: impl FnOnce(Option<&[u8]>) -> bool) -> bool {
        let mut shard = self.write(key);
        let accepted = if shard.contains(key) {
            shard.get(key, |stored| keep_going(Some(stored))).unwrap_or(false)
        } else {
            keep_going(None)
        };
        if !accepted {
            return false;
        }
        let replaced = shard.put(key, value);
        drop(shard);
        self.count(replaced, value);
        true
    }

    fn count(&self, replaced: Replaced, value: &[u8]) {
        match replaced {
            Replaced::Nothing => {
                self.records.fetch_add(1, Ordering::Relaxed);
            }
            Replaced::Value(old) => {
                self.value_bytes.fetch_sub(old, Ordering::Relaxed);
            }
        }
        self.value_bytes.fetch_add(value.len() as u64, Ordering::Relaxed);
    }

    /// Removes `key`; returns the length of the value it held, if stored.
    pub fn remove(&self, key: u64) -> Option<u64> {
        let len = self.write(key).remove(key)?;
        self.records.fetch_sub(1, Ordering::Relaxed);
        self.value_bytes.fetch_sub(len, Ordering::Relaxed);
        Some(len)
    }

    /// Calls `f` with the value of `key` while its shard is read-locked, so
    /// the caller can copy it straight into an output buffer.
    pub fn get<R>(&self, key: u64, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.read(key).get(key, f)
    }

    /// Whether `key` is stored.
    pub fn contains(&self, key: u64) -> bool {
        self.read(key).contains(key)
    }

    /// Current counts.
    pub fn stats(&self) -> ChannelStats {
        self.stats_for(self.records.load(Ordering::Relaxed), self.value_bytes.load(Ordering::Relaxed))
    }

    /// The counts this channel reports when it is taken to hold `records`
    /// records of `value_bytes` (a ring member reports its share).
    pub fn stats_for(&self, records: u64, value_bytes: u64) -> ChannelStats {
        ChannelStats { records, value_bytes, reported_bytes: size::channel_bytes(self.bnum, records, value_bytes) }
    }

    /// Recounts from the shards (slow; for tests and debug checks).
    pub fn recount(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(records, bytes), shard| {
            let shard = shard.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            (records + shard.len() as u64, bytes + shard.value_bytes())
        })
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub(crate) fn read_shard(&self, shard: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[shard]
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self, key: u64) -> RwLockReadGuard<'_, Shard> {
        self.read_shard(shard_of(key))
    }

    fn write(&self, key: u64) -> RwLockWriteGuard<'_, Shard> {
        self.shards[shard_of(key)]
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Picks a key's shard from a multiplicative mix of all its bits, so
/// sequential keys and keys sharing low bits still spread evenly.
pub(crate) fn shard_of(key: u64) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 59) as usize % SHARDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_puts_overwrites_and_removes() {
        let channel = Channel::new(0);
        channel.put(1, b"abc");
        channel.put(2, b"de");
        channel.put(1, b"xyzw");
        assert_eq!(channel.stats().records, 2);
        assert_eq!(channel.stats().value_bytes, 6);
        assert_eq!(channel.stats().reported_bytes, 525_376 + 2 * 56 + 6);
        assert_eq!(channel.remove(2), Some(2));
        assert_eq!(channel.remove(2), None);
        assert_eq!(channel.get(1, <[u8]>::to_vec), Some(b"xyzw".to_vec()));
        assert_eq!(channel.recount(), (1, 4));
        assert_eq!((channel.stats().records, channel.stats().value_bytes), (1, 4));
    }

    #[test]
    fn conditional_puts_see_the_stored_value_or_its_absence() {
        let channel = Channel::new(0);
        assert!(channel.put_if(1, b"first", |stored| stored.is_none()));
        assert!(!channel.put_if(1, b"lost", |stored| stored.is_none()));
        assert!(channel.put_if(1, b"second", |stored| stored == Some(&b"first"[..])));
        assert_eq!(channel.get(1, <[u8]>::to_vec), Some(b"second".to_vec()));
        assert_eq!((channel.stats().records, channel.stats().value_bytes), (1, 6));
    }
}
