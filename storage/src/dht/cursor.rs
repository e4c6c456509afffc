//! A resumable scan over a channel.
//!
//! A scan takes one shard's keys and value places under a short read lock
//! (reading values straight from those places while the shard is unchanged,
//! which makes a scan of a quiet channel sequential), then fetches
//! values a batch at a time, each batch under its own short read lock. Writers
//! are therefore never blocked for longer than one batch, at the price the
//! original also pays: records written during the scan into shards already
//! visited are not seen, and records removed before their turn are skipped.

use super::channel::shard_of;
use super::shard::ShardSnapshot;
use super::Channel;

/// Position of a scan; create with [`ChannelCursor::new`] and call
/// [`ChannelCursor::next_batch`] until it returns `false`.
#[derive(Debug, Default)]
pub struct ChannelCursor {
    shard: usize,
    snapshot: ShardSnapshot,
    next_key: usize,
    order: Order,
}

/// The order in which a scan visits each shard's records.
#[derive(Debug, Default, Clone, Copy)]
enum Order {
    /// Memory order: fastest (dumps, legacy GetAll).
    #[default]
    Place,
    /// Key order, so that a scan can be continued after a key; the shard
    /// holding that key is scanned only past it.
    Key {
        /// The key to continue after, if any.
        after: Option<u64>,
    },
}

impl ChannelCursor {
    /// A cursor at the start of a channel.
    pub fn new() -> Self {
        Self::default()
    }

    /// A cursor that visits records in a fixed order, shard by shard and
    /// by key within a shard, starting after `after` (the last key a client
    /// received) if given. Two such scans of an unchanged channel agree, so
    /// continuing after any key they returned yields exactly the rest.
    pub fn in_key_order(after: Option<u64>) -> Self {
        ChannelCursor { shard: after.map_or(0, shard_of), order: Order::Key { after }, ..Self::default() }
    }

    /// Where `key` comes in an [`in_key_order`](Self::in_key_order) scan:
    /// scans of several channels (or nodes) merged by this order form one
    /// scan that can be continued after any key in the same way.
    pub fn order_of(key: u64) -> (usize, u64) {
        (shard_of(key), key)
    }

    /// Feeds records to `sink` until it returns `false` (batch full) or the
    /// channel is exhausted. Returns whether records may remain.
    ///
    /// A record that the sink refused is offered again by the next call.
    pub fn next_batch(
        &mut self,
        channel: &Channel,
        mut sink: impl FnMut(u64, &[u8]) -> bool,
    ) -> bool {
        loop {
            if self.next_key == self.snapshot.entries.len() {
                if self.shard == channel.shard_count() {
                    return false;
                }
                let shard = channel.read_shard(self.shard);
                self.snapshot = match &mut self.order {
                    Order::Place => shard.snapshot(),
                    // Only the first shard visited holds keys at or before `after`.
                    Order::Key { after } => shard.snapshot_by_key(after.take()),
                };
                drop(shard);
                self.next_key = 0;
                self.shard += 1;
                continue;
            }
            let shard = channel.read_shard(self.shard - 1);
            let changes = self.snapshot.changes;
            while let Some(&(key, place)) = self.snapshot.entries.get(self.next_key) {
                let accepted = shard
                    .get_snapshotted(changes, key, place, |value| sink(key, value))
                    .unwrap_or(true);
                if !accepted {
                    return true;
                }
                self.next_key += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_scan_in_small_batches_sees_every_record_once() {
        let channel = Channel::new(0);
        for key in 0..10_000u64 {
            channel.put(key, &key.to_le_bytes());
        }
        let mut seen = BTreeMap::new();
        let mut cursor = ChannelCursor::new();
        let mut batches = 0;
        loop {
            let mut room = 7;
            let more = cursor.next_batch(&channel, |key, value| {
                if room == 0 {
                    return false;
                }
                room -= 1;
                assert!(seen.insert(key, value.to_vec()).is_none());
                true
            });
            batches += 1;
            if !more {
                break;
            }
        }
        assert_eq!(seen.len(), 10_000);
        assert!(batches > 10_000 / 7);
        assert!(seen.iter().all(|(k, v)| v == &k.to_le_bytes()));
    }

    #[test]
    fn a_key_order_scan_continued_after_any_key_yields_exactly_the_rest() {
        let channel = Channel::new(0);
        for key in 0..3_000u64 {
            channel.put(key.wrapping_mul(0x2545_f491_4f6c_dd1d), b"v");
        }
        let scan = |mut cursor: ChannelCursor| {
            let mut keys = Vec::new();
            while cursor.next_batch(&channel, |key, _| {
                keys.push(key);
                true
            }) {}
            keys
        };
        let all = scan(ChannelCursor::in_key_order(None));
        assert_eq!(all.len(), 3_000);
        for cut in [0, 1, 99, 1_500, 2_998, 2_999] {
            assert_eq!(scan(ChannelCursor::in_key_order(Some(all[cut]))), all[cut + 1..], "after #{cut}");
        }
    }

    #[test]
    fn values_overwritten_during_a_scan_are_read_fresh() {
        let channel = Channel::new(0);
        for key in 0..2_000u64 {
            channel.put(key, b"old");
        }
        let mut cursor = ChannelCursor::new();
        let mut seen = BTreeMap::new();
        let mut first = true;
        while cursor.next_batch(&channel, |key, value| {
            if first {
                first = false;
                return false;
            }
            seen.insert(key, value.to_vec());
            true
        }) {
            // Every shard's places move (and some shards compact).
            for key in 0..2_000u64 {
                channel.put(key, b"new, and longer than before");
            }
        }
        assert_eq!(seen.len(), 2_000);
        assert!(seen.values().all(|v| v == b"new, and longer than before"));
    }

    #[test]
    fn records_removed_before_their_turn_are_skipped() {
        let channel = Channel::new(0);
        for key in 0..100u64 {
            channel.put(key, b"v");
        }
        let mut cursor = ChannelCursor::new();
        let mut seen = 0;
        let mut first = true;
        while cursor.next_batch(&channel, |_, _| {
            if first {
                first = false;
                return false;
            }
            seen += 1;
            true
        }) {
            for key in 50..100u64 {
                channel.remove(key);
            }
        }
        assert!((50..=100).contains(&seen), "saw {seen}");
    }
}
