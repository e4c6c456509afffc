//! The requests watching a channel: legacy Listen and neo Mirror.
//!
//! A write (and, for Mirror, a removal) queues the key with every watcher
//! and wakes it; the watcher then reads the current value and sends it, as
//! the original does (so a key written twice quickly may be sent twice with
//! the newest value). Each queue is bounded like the original's (Listen:
//! 256 KiB of keys; Mirror: 256 Ki changes): past that, changes are dropped
//! and counted instead of growing without limit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Written (Put, Update).
    Written,
    /// Removed.
    Removed,
}

/// What kind of request watches, which decides what it is told and how far
/// it may fall behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watcher {
    /// Legacy Listen: writes only, at most 32 Ki keys waiting.
    Listen,
    /// Neo Mirror: writes and removals, at most 256 Ki changes waiting.
    Mirror,
}

impl Watcher {
    fn capacity(self) -> usize {
        match self {
            Watcher::Listen => 256 * 1024 / 8,
            Watcher::Mirror => 256 * 1024,
        }
    }
}

/// The changes waiting to be sent to one watching request.
pub struct ListenerQueue {
    changes: Mutex<VecDeque<(u64, Change)>>,
    watcher: Watcher,
    dropped: AtomicU64,
    wake: Notify,
    finished: AtomicBool,
}

/// What a watcher should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum ListenEvent {
    /// Send these keys' current state.
    Changes(Vec<(u64, Change)>),
    /// The channel was removed: end the request.
    Finished,
}

impl ListenerQueue {
    fn new(watcher: Watcher) -> Self {
        ListenerQueue {
            changes: Mutex::default(),
            watcher,
            dropped: AtomicU64::new(0),
            wake: Notify::new(),
            finished: AtomicBool::new(false),
        }
    }

    /// Waits until there are changes to send or the channel is gone.
    pub async fn next(&self) -> ListenEvent {
        loop {
            let notified = self.wake.notified();
            if let Some(event) = self.poll() {
                return event;
            }
            notified.await;
        }
    }

    /// Takes the waiting changes (or the end) without waiting.
    pub fn poll(&self) -> Option<ListenEvent> {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if !changes.is_empty() {
            return Some(ListenEvent::Changes(changes.drain(..).collect()));
        }
        self.finished.load(Ordering::Acquire).then_some(ListenEvent::Finished)
    }

    /// How many changes were dropped since the last call (queue full).
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::AcqRel)
    }

    /// Queues a change; false when the queue is full and it was dropped.
    fn push(&self, key: u64, change: Change) -> bool {
        let mut changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        if changes.len() >= self.watcher.capacity() {
            drop(changes);
            self.dropped.fetch_add(1, Ordering::AcqRel);
            self.wake.notify_one();
            return false;
        }
        changes.push_back((key, change));
        drop(changes);
        self.wake.notify_one();
        true
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// The watchers of one channel.
#[derive(Default)]
pub struct Listeners {
    queues: Mutex<Vec<Arc<ListenerQueue>>>,
    /// Number of queues, read without the lock on every write.
    count: AtomicUsize,
}

impl Listeners {
    /// Registers a new watcher; it stays until [`Listeners::unregister`].
    pub fn register(&self, watcher: Watcher) -> Arc<ListenerQueue> {
        let queue = Arc::new(ListenerQueue::new(watcher));
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.push(Arc::clone(&queue));
        self.count.store(queues.len(), Ordering::Release);
        queue
    }

    /// Removes a watcher (its request ended).
    pub fn unregister(&self, queue: &Arc<ListenerQueue>) {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.retain(|q| !Arc::ptr_eq(q, queue));
        self.count.store(queues.len(), Ordering::Release);
    }

    /// Tells every interested watcher that `key` changed. Returns how many
    /// dropped it because their queue was full.
    pub fn changed(&self, key: u64, change: Change) -> usize {
        if self.count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues
            .iter()
            .filter(|q| change == Change::Written || q.watcher == Watcher::Mirror)
            .filter(|q| !q.push(key, change))
            .count()
    }

    /// Ends every watcher (the channel was removed).
    pub fn close_all(&self) {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.iter().for_each(|q| q.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_reach_every_interested_watcher_until_the_bound() {
        let listeners = Listeners::default();
        let listen = listeners.register(Watcher::Listen);
        let mirror = listeners.register(Watcher::Mirror);
        assert_eq!(listeners.changed(7, Change::Written), 0);
        assert_eq!(listeners.changed(8, Change::Removed), 0);
        assert_eq!(listen.poll(), Some(ListenEvent::Changes(vec![(7, Change::Written)])));
        assert_eq!(mirror.poll(), Some(ListenEvent::Changes(vec![(7, Change::Written), (8, Change::Removed)])));
        assert_eq!(listen.poll(), None);
        listeners.unregister(&mirror);
        let capacity = Watcher::Listen.capacity() as u64;
        for key in 0..capacity {
            listeners.changed(key, Change::Written);
        }
        assert_eq!(listeners.changed(1, Change::Written), 1);
        assert_eq!(listen.take_dropped(), 1);
        assert_eq!(listen.take_dropped(), 0);
        listeners.close_all();
        assert!(matches!(listen.poll(), Some(ListenEvent::Changes(k)) if k.len() == capacity as usize));
        assert_eq!(listen.poll(), Some(ListenEvent::Finished));
    }
}
