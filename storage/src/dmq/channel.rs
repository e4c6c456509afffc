//! A channel and its subscribers (the original's `StorageChannels`).
//!
//! A channel starts with one plain queue, named like the channel, which Pop
//! reads. The first subscriber takes that queue over, backlog included, and
//! it is renamed `subscriber@channel`; every later new subscriber gets a new
//! empty queue. From then on the channel has no plain queue (Pop is refused)
//! and every push is copied into every subscriber's queue. Subscriptions
//! last until the channel is removed.

use std::collections::BTreeMap;

use super::name;
use super::overflow::{Overflow, OverflowError};
use super::queue::Queue;

/// The queues of one channel.
pub enum Channel {
    /// No subscriber yet: one queue for Pop.
    Plain(Queue),
    /// One queue per subscriber name ("" is legacy Consume's).
    Subscribed(BTreeMap<String, Queue>),
}

impl Channel {
    /// The queue of `subscriber` on channel `channel`, created as the module
    /// doc says if it is new.
    pub fn subscribe(
        &mut self,
        overflow: &mut Overflow,
        channel: &str,
        subscriber: &str,
        capacity: usize,
    ) -> Result<&mut Queue, OverflowError> {
        let storage = name::storage_name(channel, Some(subscriber));
        if let Channel::Plain(queue) = self {
            queue.rename(overflow, storage.clone())?;
            if let Channel::Plain(queue) =
                std::mem::replace(self, Channel::Subscribed(BTreeMap::new()))
            {
                *self = Channel::Subscribed(BTreeMap::from([(subscriber.to_owned(), queue)]));
            }
        }
        let Channel::Subscribed(queues) = self else {
            unreachable!("made subscribed above")
        };
        Ok(queues
            .entry(subscriber.to_owned())
            .or_insert_with(|| Queue::new(storage, capacity)))
    }

    /// Pushes `record` to every queue of the channel.
    pub fn push(&mut self, overflow: &mut Overflow, record: &[u8]) -> Result<(), OverflowError> {
        self.queues_mut()
            .try_for_each(|queue| queue.push(overflow, record))
    }

    /// Every queue of the channel.
    pub fn queues(&self) -> Box<dyn Iterator<Item = &Queue> + '_> {
        match self {
            Channel::Plain(queue) => Box::new(std::iter::once(queue)),
            Channel::Subscribed(queues) => Box::new(queues.values()),
        }
    }

    /// Every queue of the channel, for changing.
    pub fn queues_mut(&mut self) -> Box<dyn Iterator<Item = &mut Queue> + '_> {
        match self {
            Channel::Plain(queue) => Box::new(std::iter::once(queue)),
            Channel::Subscribed(queues) => Box::new(queues.values_mut()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_subscriber_takes_the_backlog_later_ones_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
        // Ring of two 1-byte records (8-byte header + tag + byte each): the
        // third record spills.
        let mut channel = Channel::Plain(Queue::new("ch".into(), 20));
        for r in [b"a", b"b", b"c"] {
            channel.push(&mut overflow, r).unwrap();
        }
        assert_eq!(overflow.records("ch"), 1);
        let first = channel.subscribe(&mut overflow, "ch", "sub1", 20).unwrap();
        assert_eq!(first.name(), "sub1@ch");
        assert_eq!(
            overflow.records("sub1@ch"),
            1,
            "the overflow channel moves with the queue"
        );
        let second = channel.subscribe(&mut overflow, "ch", "", 20).unwrap();
        assert_eq!((second.name(), second.records(&overflow)), ("@ch", 0));
        channel.push(&mut overflow, b"d").unwrap();
        let Channel::Subscribed(queues) = &mut channel else {
            panic!("subscribed")
        };
        let mut drain = |sub: &str| {
            let queue = queues.get_mut(sub).unwrap();
            std::iter::from_fn(|| queue.pop(&mut overflow).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(drain("sub1"), [b"a", b"b", b"c", b"d"]);
        assert_eq!(drain(""), [b"d"]);
    }
}
