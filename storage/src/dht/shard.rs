//! One shard of a channel: an index from key to a value's place in a few
//! large append-only slabs.
//!
//! Values are not boxed one by one: each lives in a slab as `[len u32][bytes]`
//! and the index holds only `key -> (slab, offset)`, 16 bytes per record plus
//! the hash table's control byte. That keeps the per-record overhead well below
//! a per-value allocation (allocator header, rounding, a fat pointer) and
//! keeps scans sequential. Overwrites and removals leave garbage behind; once
//! garbage outweighs live data the shard is rewritten (compacted).

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

/// Largest slab that is grown in place; a value larger than this gets a slab
/// of its own.
const SLAB_SIZE: usize = 256 * 1024;

/// Bytes of the length prefix in front of every value in a slab.
const LEN_PREFIX: usize = 4;

/// Where a value lives: its slab and the offset of its length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    slab: u32,
    offset: u32,
}

/// A shard: index plus slabs, and the byte counts that decide compaction.
#[derive(Default)]
pub(crate) struct Shard {
    index: HashMap<u64, Place, FxBuildHasher>,
    slabs: Vec<Vec<u8>>,
    /// Value bytes (without prefixes) of the records in `index`.
    value_bytes: u64,
    /// Bytes in the slabs no longer referenced by the index.
    garbage: usize,
    /// Number of writes so far: a scan that took a snapshot of the places
    /// can trust them while this has not moved.
    changes: u64,
}

/// The keys of a shard and where their values were, in slab order, at one
/// moment (see [`Shard::snapshot`]).
#[derive(Debug, Default)]
pub(crate) struct ShardSnapshot {
    /// The shard's change count when the snapshot was taken.
    pub(crate) changes: u64,
    /// (key, place), ordered by place.
    pub(crate) entries: Vec<(u64, Place)>,
}

/// What a write replaced, so that the channel can keep its totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replaced {
    /// The key was new.
    Nothing,
    /// The key held a value of this many bytes.
    Value(u64),
}

impl Shard {
    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Stores `value` under `key`, replacing any older value.
    pub(crate) fn put(&mut self, key: u64, value: &[u8]) -> Replaced {
        self.changes += 1;
        let place = self.append(value);
        let replaced = match self.index.insert(key, place) {
            None => Replaced::Nothing,
            Some(old) => {
                let old_len = self.value_len(old);
                self.forget(old_len);
                Replaced::Value(old_len as u64)
            }
        };
        self.value_bytes += value.len() as u64;
        self.compact_if_wasteful();
        self.check_invariants();
        replaced
    }

    /// Removes `key`; returns the removed value's length.
    pub(crate) fn remove(&mut self, key: u64) -> Option<u64> {
        self.changes += 1;
        let place = self.index.remove(&key)?;
        let len = self.value_len(place);
        self.forget(len);
        self.compact_if_wasteful();
        self.check_invariants();
        Some(len as u64)
    }

    /// Calls `f` with the value of `key`, if stored.
    pub(crate) fn get<R>(&self, key: u64, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        self.index.get(&key).map(|&place| f(self.value(place)))
    }

    /// Whether `key` is stored.
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.index.contains_key(&key)
    }

    /// Every key and its value's place, for a scan that then fetches values a
    /// batch at a time. They come in slab order, so the scan reads memory
    /// sequentially instead of jumping around.
    pub(crate) fn snapshot(&self) -> ShardSnapshot {
        let mut entries: Vec<(u64, Place)> = self.index.iter().map(|(&key, &place)| (key, place)).collect();
        entries.sort_unstable_by_key(|&(_, place)| u64::from(place.slab) << 32 | u64::from(place.offset));
        ShardSnapshot { changes: self.changes, entries }
    }

    /// The same in key order, keeping only keys above `after`: for a scan
    /// that a client may continue after the last key it received.
    pub(crate) fn snapshot_by_key(&self, after: Option<u64>) -> ShardSnapshot {
        let mut entries: Vec<(u64, Place)> = self
            .index
            .iter()
            .filter(|(&key, _)| after.is_none_or(|after| key > after))
            .map(|(&key, &place)| (key, place))
            .collect();
        entries.sort_unstable_by_key(|&(key, _)| key);
        ShardSnapshot { changes: self.changes, entries }
    }

    /// Calls `f` with the value of `key`, which was at `place` when the
    /// snapshot with `changes` was taken: read straight from there if the
    /// shard has not changed since, else looked up again.
    pub(crate) fn get_snapshotted<R>(
        &self,
        changes: u64,
        key: u64,
        place: Place,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        if changes == self.changes {
            debug_assert_eq!(self.index.get(&key), Some(&place), "an unchanged shard moved a value");
            Some(f(self.value(place)))
        } else {
            self.get(key, f)
        }
    }

    /// Sum of value lengths (for debug checks of the channel's totals).
    pub(crate) fn value_bytes(&self) -> u64 {
        self.value_bytes
    }

    fn value(&self, place: Place) -> &[u8] {
        let slab = &self.slabs[place.slab as usize];
        let start = place.offset as usize;
        let len = self.value_len(place);
        &slab[start + LEN_PREFIX..start + LEN_PREFIX + len]
    }

    fn value_len(&self, place: Place) -> usize {
        let slab = &self.slabs[place.slab as usize];
        let start = place.offset as usize;
        let prefix: [u8; LEN_PREFIX] = slab[start..start + LEN_PREFIX]
            .try_into()
            .expect("prefix slice has the prefix length");
        u32::from_le_bytes(prefix) as usize
    }

    fn forget(&mut self, len: usize) {
        self.value_bytes -= len as u64;
        self.garbage += LEN_PREFIX + len;
    }

    /// Appends `value` to the newest slab (or a new one) and says where.
    fn append(&mut self, value: &[u8]) -> Place {
        let len = u32::try_from(value.len()).expect("values are bounded far below 4 GiB");
        let need = LEN_PREFIX + value.len();
        let fits = self
            .slabs
            .last()
            .is_some_and(|slab| slab.len() + need <= slab.capacity().max(SLAB_SIZE));
        if !fits {
            let capacity = if need > SLAB_SIZE { need } else { need.clamp(4096, SLAB_SIZE) };
            self.slabs.push(Vec::with_capacity(capacity));
        }
        let slab_index = self.slabs.len() - 1;
        let slab = &mut self.slabs[slab_index];
        if slab.len() + need > slab.capacity() {
            // Grow small slabs geometrically but never past SLAB_SIZE, so tiny
            // channels stay tiny and big ones waste at most one slab's slack.
            let target = (slab.capacity() * 2).max(slab.len() + need).min(SLAB_SIZE);
            slab.reserve_exact(target - slab.len());
        }
        let offset = u32::try_from(slab.len()).expect("slabs stay below 4 GiB");
        slab.extend_from_slice(&len.to_le_bytes());
        slab.extend_from_slice(value);
        Place { slab: slab_index as u32, offset }
    }

    /// Rewrites the shard when garbage exceeds live data (and one slab), so
    /// memory stays within about twice the live bytes.
    fn compact_if_wasteful(&mut self) {
        let live = self.value_bytes as usize + LEN_PREFIX * self.index.len();
        if self.garbage <= live || self.garbage <= SLAB_SIZE {
            if self.index.is_empty() && !self.slabs.is_empty() {
                self.slabs = Vec::new();
                self.garbage = 0;
            }
            return;
        }
        let old_slabs = std::mem::take(&mut self.slabs);
        let mut places: Vec<(u64, Place)> = self.index.iter().map(|(&k, &p)| (k, p)).collect();
        // Copy in slab order so the new slabs are filled sequentially.
        places.sort_unstable_by_key(|&(_, p)| (p.slab, p.offset));
        for (key, old) in places {
            let start = old.offset as usize;
            let slab = &old_slabs[old.slab as usize];
            let prefix: [u8; LEN_PREFIX] = slab[start..start + LEN_PREFIX]
                .try_into()
                .expect("prefix slice has the prefix length");
            let len = u32::from_le_bytes(prefix) as usize;
            let new = self.append(&slab[start + LEN_PREFIX..start + LEN_PREFIX + len]);
            self.index.insert(key, new);
        }
        self.garbage = 0;
        self.index.shrink_to_fit();
    }

    /// Debug builds check that the byte counts match the contents.
    fn check_invariants(&self) {
        #[cfg(debug_assertions)]
        if self.index.len() < 4096 {
            let sum: u64 = self.index.values().map(|&p| self.value_len(p) as u64).sum();
            debug_assert_eq!(sum, self.value_bytes, "value byte count drifted");
            let used: usize = self.slabs.iter().map(Vec::len).sum();
            debug_assert_eq!(
                used,
                self.garbage + sum as usize + LEN_PREFIX * self.index.len(),
                "slab bytes are neither live nor garbage"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_and_removals_are_compacted_away() {
        let mut shard = Shard::default();
        for round in 0..50u8 {
            for key in 0..1000u64 {
                shard.put(key, &[round; 300]);
            }
        }
        assert_eq!(shard.len(), 1000);
        assert_eq!(shard.get(7, <[u8]>::to_vec), Some(vec![49; 300]));
        let used: usize = shard.slabs.iter().map(Vec::len).sum();
        assert!(used <= 2 * 1000 * 304 + SLAB_SIZE, "used {used}");
        for key in 0..1000u64 {
            assert_eq!(shard.remove(key), Some(300));
        }
        assert_eq!(shard.len(), 0);
        assert!(shard.slabs.is_empty());
    }

    #[test]
    fn values_larger_than_a_slab_get_their_own() {
        let mut shard = Shard::default();
        shard.put(1, b"small");
        let big = vec![7u8; SLAB_SIZE * 2];
        shard.put(2, &big);
        shard.put(3, b"after");
        assert_eq!(shard.get(2, |v| v == big.as_slice()), Some(true));
        assert_eq!(shard.get(1, <[u8]>::to_vec), Some(b"small".to_vec()));
        assert_eq!(shard.get(3, <[u8]>::to_vec), Some(b"after".to_vec()));
    }
}
