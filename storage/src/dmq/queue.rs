//! One storage queue: its ring plus its channel in the shared disk
//! overflow, under the storage's name.
//!
//! Order rule (shoal's, strictly FIFO; the original pushes to the ring
//! whenever a record fits, which lets later records overtake spilled ones):
//! a push goes to the ring only while this queue has nothing in the
//! overflow and the record fits; otherwise it goes to the overflow. A pop
//! takes from the ring first, then from the overflow. Once the overflow has
//! records the ring only drains, and the overflow only drains after the ring
//! is empty, so every ring record is older than every overflow record.

use std::collections::VecDeque;

use super::overflow::{Overflow, OverflowError};
use super::packed::{pack, unpack};
use super::ring::{Ring, RECORD_HEADER};

/// The queue of one storage name (`ch`, `@ch` or `sub@ch`).
pub struct Queue {
    name: String,
    /// Packed records ([`super::packed`]).
    ring: Ring,
    /// The ring's records as the original counts them: each record's
    /// length plus its 8-byte header, unpacked.
    memory_bytes: u64,
    /// Records a consumer took but could not deliver, given back: they are
    /// older than everything else and are popped first.
    returned: VecDeque<Vec<u8>>,
}

impl Queue {
    /// An empty queue with a ring of `capacity` bytes.
    pub fn new(name: String, capacity: usize) -> Queue {
        Queue {
            name,
            ring: Ring::new(capacity),
            memory_bytes: 0,
            returned: VecDeque::new(),
        }
    }

    /// The storage name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The memory part (for its capacity and fill).
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The records in memory, oldest first, unpacked (for saving). A record
    /// that does not unpack is reported and left out.
    pub fn memory_records(&self) -> impl Iterator<Item = Vec<u8>> + '_ {
        let ring = self.ring.iter().filter_map(|stored| match unpack(stored) {
            Ok(record) => Some(record.into_owned()),
            Err(error) => {
                debug_assert!(false, "{error}");
                None
            }
        });
        self.returned.iter().cloned().chain(ring)
    }

    /// Gives back records a consumer took but could not deliver (oldest
    /// first): they will be popped before anything else.
    pub fn requeue(&mut self, records: Vec<Vec<u8>>) {
        for record in records.into_iter().rev() {
            self.memory_bytes += (record.len() + RECORD_HEADER) as u64;
            self.returned.push_front(record);
        }
    }

    /// Bytes of the records in memory as the original counts them (record
    /// plus 8-byte header, before packing).
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// Packs `record` into the ring if it fits.
    fn push_to_ring(&mut self, record: &[u8]) -> bool {
        let pushed = self.ring.push(&pack(record));
        if pushed {
            self.memory_bytes += (record.len() + RECORD_HEADER) as u64;
        }
        pushed
    }

    /// Appends a record, to the ring or to the overflow (see the module doc).
    pub fn push(&mut self, overflow: &mut Overflow, record: &[u8]) -> Result<(), OverflowError> {
        if overflow.records(&self.name) == 0 && self.push_to_ring(record) {
            return Ok(());
        }
        overflow.push(&self.name, record)
    }

    /// Refills the queue at start from a saved ring: the records go to the
    /// ring in order as long as they fit, which rebuilds the saved ring
    /// exactly when the capacity is unchanged. If the ring has shrunk, the
    /// rest goes to the overflow after what it holds already (the original
    /// refuses to start instead).
    pub fn restore(
        &mut self,
        overflow: &mut Overflow,
        records: &[Vec<u8>],
    ) -> Result<(), OverflowError> {
        let mut spilled = false;
        for record in records {
            spilled = spilled || !self.push_to_ring(record);
            if spilled {
                overflow.push(&self.name, record)?;
            }
        }
        Ok(())
    }

    /// Removes the oldest record.
    pub fn pop(&mut self, overflow: &mut Overflow) -> Result<Option<Vec<u8>>, OverflowError> {
        if let Some(record) = self.returned.pop_front() {
            self.memory_bytes -= (record.len() + RECORD_HEADER) as u64;
            return Ok(Some(record));
        }
        while let Some(stored) = self.ring.pop() {
            match unpack(&stored) {
                Ok(record) => {
                    let record = record.into_owned();
                    self.memory_bytes -= (record.len() + RECORD_HEADER) as u64;
                    return Ok(Some(record));
                }
                // Cannot happen short of memory corruption: skip it loudly.
                Err(error) => debug_assert!(false, "{error}"),
            }
        }
        overflow.pop(&self.name)
    }

    /// Records in memory and on disk.
    pub fn records(&self, overflow: &Overflow) -> u64 {
        (self.returned.len() + self.ring.len()) as u64 + overflow.records(&self.name)
    }

    /// Bytes as the original's stats count them: ring bytes with their
    /// 8-byte headers plus overflow payload bytes.
    pub fn bytes(&self, overflow: &Overflow) -> u64 {
        self.memory_bytes + overflow.bytes(&self.name)
    }

    /// Gives the queue (and its overflow channel) a new storage name.
    pub fn rename(&mut self, overflow: &mut Overflow, name: String) -> Result<(), OverflowError> {
        overflow.rename(&self.name, &name)?;
        self.name = name;
        Ok(())
    }

    /// Drops every record, in memory and on disk.
    pub fn clear(&mut self, overflow: &mut Overflow) -> Result<(), OverflowError> {
        self.ring.clear();
        self.returned.clear();
        self.memory_bytes = 0;
        overflow.remove(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeued_records_come_first_and_are_saved_first() {
        let dir = tempfile::tempdir().unwrap();
        let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
        let mut queue = Queue::new("q".into(), 1_000);
        for r in [b"a", b"b", b"c", b"d"] {
            queue.push(&mut overflow, r).unwrap();
        }
        let taken = vec![queue.pop(&mut overflow).unwrap().unwrap(), queue.pop(&mut overflow).unwrap().unwrap()];
        assert_eq!(queue.bytes(&overflow), 18);
        queue.requeue(taken);
        assert_eq!((queue.records(&overflow), queue.bytes(&overflow)), (4, 36));
        assert_eq!(queue.memory_records().collect::<Vec<_>>(), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]);
        for r in [b"a", b"b", b"c", b"d"] {
            assert_eq!(queue.pop(&mut overflow).unwrap(), Some(r.to_vec()));
        }
        assert_eq!((queue.pop(&mut overflow).unwrap(), queue.bytes(&overflow)), (None, 0));
    }

    #[test]
    fn fifo_across_ring_and_overflow() {
        // The research note's scenario: the original returns R02..R08, R12,
        // R13, R09, R10, R11, R14; shoal keeps push order.
        let dir = tempfile::tempdir().unwrap();
        let (mut overflow, problems) = Overflow::open(dir.path()).unwrap();
        assert!(problems.is_empty());
        // Nine records of 8-byte header + tag byte + 3 bytes.
        let mut queue = Queue::new("q".into(), 9 * 12);
        let rec = |i: usize| format!("R{i:02}").into_bytes();
        for i in 0..12 {
            queue.push(&mut overflow, &rec(i)).unwrap();
        }
        assert_eq!((queue.ring().len(), overflow.records("q")), (9, 3));
        for i in 0..2 {
            assert_eq!(queue.pop(&mut overflow).unwrap(), Some(rec(i)));
        }
        for i in 12..15 {
            queue.push(&mut overflow, &rec(i)).unwrap();
        }
        assert_eq!(
            overflow.records("q"),
            6,
            "pushes follow the spilled records to disk"
        );
        for i in 2..15 {
            assert_eq!(queue.pop(&mut overflow).unwrap(), Some(rec(i)));
        }
        assert_eq!(queue.pop(&mut overflow).unwrap(), None);
        assert_eq!(overflow.total_records(), 0);
        assert_eq!(
            std::fs::metadata(dir.path().join("overflow.dat"))
                .unwrap()
                .len(),
            0,
            "emptied when drained"
        );
        queue.push(&mut overflow, b"again").unwrap();
        assert_eq!(
            queue.ring().len(),
            1,
            "a drained overflow sends pushes back to the ring"
        );
    }

    #[test]
    fn records_larger_than_the_ring_go_to_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
        let mut queue = Queue::new("big".into(), 16);
        queue.push(&mut overflow, &[7; 100]).unwrap();
        assert_eq!((queue.records(&overflow), queue.bytes(&overflow)), (1, 100));
        assert_eq!(queue.pop(&mut overflow).unwrap(), Some(vec![7; 100]));
    }
}
