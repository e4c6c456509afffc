//! The fixed-size memory queue of one storage, with the same fit rule as the
//! original's (ocean's `FlexibleRingQueue`), because that rule decides which
//! records spill to the disk overflow.
//!
//! One buffer of exactly `capacity` bytes, allocated up front. A record is
//! stored as a u64 little-endian length followed by its bytes, packed, and
//! never wraps: when it does not fit at the tail it may go to the front, but
//! the two free areas are never combined. Three positions describe the
//! content:
//!
//! - `read_from`: the next record to pop;
//! - `write_to`: where the next record goes;
//! - `gap`: the end of the valid data at the tail; after a wrap the bytes
//!   between `gap` and the end of the buffer are unused.
//!
//! When the last record is popped every position goes back to 0, so an empty
//! ring always offers its whole capacity.

/// Bytes of the length header stored in front of every record.
pub const RECORD_HEADER: usize = 8;

/// The in-memory queue of one storage.
pub struct Ring {
    data: Box<[u8]>,
    read_from: usize,
    write_to: usize,
    gap: usize,
    items: usize,
}

impl Ring {
    /// An empty ring of `capacity` bytes (headers included). The zeroed
    /// buffer costs no resident memory until it is written.
    pub fn new(capacity: usize) -> Ring {
        assert!(capacity > 0, "a ring needs a capacity");
        Ring {
            data: vec![0; capacity].into_boxed_slice(),
            read_from: 0,
            write_to: 0,
            gap: 0,
            items: 0,
        }
    }

    /// Size of the buffer in bytes.
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.items
    }

    /// Whether the ring holds no record.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Bytes occupied, the 8-byte headers included (the stats report this).
    pub fn used_bytes(&self) -> usize {
        let (head, tail) = self.segments();
        head.len() + tail.len()
    }

    /// Whether a record of `len` bytes would be accepted now: at the tail,
    /// or else at the front, or between the write and read positions once
    /// wrapped; never by combining two free areas.
    pub fn fits(&self, len: usize) -> bool {
        let Some(size) = len.checked_add(RECORD_HEADER) else {
            return false;
        };
        if self.items == 0 {
            size <= self.capacity()
        } else if self.read_from < self.write_to {
            self.capacity() - self.write_to >= size || self.read_from >= size
        } else {
            self.read_from - self.write_to >= size
        }
    }

    /// Appends `record` if it fits; `false` leaves the ring unchanged.
    pub fn push(&mut self, record: &[u8]) -> bool {
        if !self.fits(record.len()) {
            return false;
        }
        let size = record.len() + RECORD_HEADER;
        if self.read_from < self.write_to && self.capacity() - self.write_to < size {
            // Not enough room at the tail: wrap to the front.
            self.write_to = 0;
        }
        let start = self.write_to;
        self.write_to += size;
        if self.write_to > self.read_from {
            // Writing at the tail (or into an empty ring) moves the end of
            // the valid data; writing in front of read_from does not.
            self.gap = self.write_to;
        }
        self.items += 1;
        self.data[start..start + RECORD_HEADER]
            .copy_from_slice(&(record.len() as u64).to_le_bytes());
        self.data[start + RECORD_HEADER..self.write_to].copy_from_slice(record);
        self.check();
        true
    }

    /// Removes and returns the oldest record.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        if self.items == 0 {
            return None;
        }
        let start = self.read_from + RECORD_HEADER;
        let len = read_len(&self.data[self.read_from..start]);
        let end = start + len;
        assert!(end <= self.gap, "ring record runs past the end of the data");
        let record = self.data[start..end].to_vec();
        self.read_from = end;
        self.items -= 1;
        if self.items == 0 {
            assert_eq!(
                self.read_from, self.write_to,
                "last record must end at the write position"
            );
            self.clear();
        } else if self.read_from == self.gap {
            // End of the tail data: continue at the front.
            self.read_from = 0;
            self.gap = self.write_to;
        }
        self.check();
        Some(record)
    }

    /// Drops every record.
    pub fn clear(&mut self) {
        self.read_from = 0;
        self.write_to = 0;
        self.gap = 0;
        self.items = 0;
    }

    /// The records in pop order, without removing them (for saving).
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (head, tail) = self.segments();
        Records { data: head }.chain(Records { data: tail })
    }

    /// The stored bytes in pop order: the tail part, then the wrapped front.
    fn segments(&self) -> (&[u8], &[u8]) {
        if self.items == 0 {
            (&[], &[])
        } else if self.read_from < self.write_to {
            (&self.data[self.read_from..self.write_to], &[])
        } else {
            (
                &self.data[self.read_from..self.gap],
                &self.data[..self.write_to],
            )
        }
    }

    /// The position invariants; cheap, so checked after every change.
    fn check(&self) {
        if self.items == 0 {
            assert!(
                self.read_from == 0 && self.write_to == 0 && self.gap == 0,
                "empty ring with positions"
            );
            return;
        }
        assert!(self.gap <= self.capacity() && self.write_to <= self.capacity());
        assert!(self.write_to > 0, "non-empty ring with write position 0");
        assert!(self.read_from < self.gap, "read position inside the gap");
        assert!(
            self.read_from >= self.write_to || self.gap == self.write_to,
            "unwrapped ring whose gap is not the write position"
        );
    }
}

/// Iterates over packed `u64 length + bytes` records of a slice that is
/// known to hold whole records.
struct Records<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        let len = read_len(&self.data[..RECORD_HEADER]);
        let (record, rest) = self.data[RECORD_HEADER..].split_at(len);
        self.data = rest;
        Some(record)
    }
}

/// Decodes a record length header written by [`Ring::push`].
fn read_len(header: &[u8]) -> usize {
    let len = u64::from_le_bytes(header.try_into().expect("8-byte header"));
    usize::try_from(len).expect("ring record length fits in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize, len: usize) -> Vec<u8> {
        vec![i as u8; len]
    }

    #[test]
    fn exact_capacity_fits_one_byte_more_does_not() {
        let mut ring = Ring::new(18);
        assert!(!ring.fits(11));
        assert!(ring.fits(10));
        assert!(ring.push(b"0123456789"));
        assert_eq!(ring.used_bytes(), 18);
        assert!(
            !ring.fits(0),
            "a full ring has no room even for an empty record"
        );
        assert_eq!(ring.pop().as_deref(), Some(&b"0123456789"[..]));
        assert!(ring.is_empty());
        assert_eq!(ring.used_bytes(), 0);
    }

    #[test]
    fn wraps_to_the_front_without_combining_free_areas() {
        // 3 records of 2 bytes (10 each) in 35 bytes: 5 bytes left at the tail.
        let mut ring = Ring::new(35);
        for i in 0..3 {
            assert!(ring.push(&record(i, 2)));
        }
        assert!(!ring.fits(2), "tail has 5 bytes, front 0");
        assert_eq!(ring.pop(), Some(record(0, 2)));
        // Front has 10 free bytes, tail 5: a 2-byte record wraps, a 3-byte
        // one (11 bytes) fits nowhere although 15 bytes are free in total.
        assert!(!ring.fits(3));
        assert!(ring.push(&record(3, 2)));
        assert_eq!(ring.write_to, 10);
        assert_eq!(ring.gap, 30);
        assert!(!ring.fits(0), "wrapped: write meets read");
        assert_eq!(
            ring.iter().collect::<Vec<_>>(),
            vec![&record(1, 2)[..], &record(2, 2), &record(3, 2)]
        );
        assert_eq!(ring.used_bytes(), 30);
        assert_eq!(ring.pop(), Some(record(1, 2)));
        assert_eq!(ring.pop(), Some(record(2, 2)));
        // read_from reached the gap: it continues at the front.
        assert_eq!(ring.read_from, 0);
        assert_eq!(ring.gap, 10);
        assert_eq!(ring.pop(), Some(record(3, 2)));
        assert_eq!(ring.pop(), None);
    }

    #[test]
    fn wrapped_ring_fills_the_space_between_write_and_read() {
        let mut ring = Ring::new(40);
        for i in 0..4 {
            assert!(ring.push(&record(i, 2)));
        }
        ring.pop();
        ring.pop();
        assert!(ring.push(&record(4, 2)), "tail is full; wraps to the front");
        assert!(ring.push(&record(5, 2)), "exactly fills up to read_from");
        assert!(!ring.fits(0));
        let all: Vec<Vec<u8>> = std::iter::from_fn(|| ring.pop()).collect();
        assert_eq!(all, (2..6).map(|i| record(i, 2)).collect::<Vec<_>>());
    }

    #[test]
    fn empty_records_take_a_header() {
        let mut ring = Ring::new(16);
        assert!(ring.push(b""));
        assert!(ring.push(b""));
        assert!(!ring.push(b""));
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.pop(), Some(Vec::new()));
    }

    #[test]
    fn huge_lengths_do_not_overflow_the_fit_check() {
        let ring = Ring::new(64);
        assert!(!ring.fits(usize::MAX));
        assert!(!ring.fits(usize::MAX - 7));
    }
}
