//! The Listen requests watching a channel.
//!
//! A write to a channel queues the key with every listener and wakes it; the
//! listener then reads the current value and sends it, as the original does
//! (so a key written twice quickly may be sent twice with the newest value).
//! A listener's queue is bounded like the original's (256 KiB of keys): past
//! that, keys are dropped with a warning instead of growing without limit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Most keys a listener may have waiting (the original's bound).
pub const MAX_PENDING_KEYS: usize = 256 * 1024 / 8;

/// The keys waiting to be sent to one Listen request.
#[derive(Default)]
pub struct ListenerQueue {
    keys: Mutex<VecDeque<u64>>,
    wake: Notify,
    finished: AtomicBool,
}

/// What a listener should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum ListenEvent {
    /// Send these keys' current values.
    Keys(Vec<u64>),
    /// The channel was removed: end the request.
    Finished,
}

impl ListenerQueue {
    /// Waits until there are keys to send or the channel is gone.
    pub async fn next(&self) -> ListenEvent {
        loop {
            let notified = self.wake.notified();
            if let Some(event) = self.poll() {
                return event;
            }
            notified.await;
        }
    }

    /// Takes the waiting keys (or the end) without waiting.
    pub fn poll(&self) -> Option<ListenEvent> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if !keys.is_empty() {
            return Some(ListenEvent::Keys(keys.drain(..).collect()));
        }
        self.finished.load(Ordering::Acquire).then_some(ListenEvent::Finished)
    }

    /// Queues `key`; false when the queue is full and the key was dropped.
    fn push(&self, key: u64) -> bool {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_PENDING_KEYS {
            return false;
        }
        keys.push_back(key);
        drop(keys);
        self.wake.notify_one();
        true
    }

    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// The listeners of one channel.
#[derive(Default)]
pub struct Listeners {
    queues: Mutex<Vec<Arc<ListenerQueue>>>,
    /// Number of queues, read without the lock on every write.
    count: AtomicUsize,
}

impl Listeners {
    /// Registers a new listener; it stays until [`Listeners::unregister`].
    pub fn register(&self) -> Arc<ListenerQueue> {
        let queue = Arc::new(ListenerQueue::default());
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.push(Arc::clone(&queue));
        self.count.store(queues.len(), Ordering::Release);
        queue
    }

    /// Removes a listener (its request ended).
    pub fn unregister(&self, queue: &Arc<ListenerQueue>) {
        let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.retain(|q| !Arc::ptr_eq(q, queue));
        self.count.store(queues.len(), Ordering::Release);
    }

    /// Tells every listener that `key` changed. Returns how many listeners
    /// dropped it because their queue was full.
    pub fn changed(&self, key: u64) -> usize {
        if self.count.load(Ordering::Acquire) == 0 {
            return 0;
        }
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.iter().filter(|q| !q.push(key)).count()
    }

    /// Ends every listener (the channel was removed).
    pub fn close_all(&self) {
        let queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
        queues.iter().for_each(|q| q.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reach_every_listener_until_the_bound() {
        let listeners = Listeners::default();
        let a = listeners.register();
        let b = listeners.register();
        assert_eq!(listeners.changed(7), 0);
        assert_eq!(a.poll(), Some(ListenEvent::Keys(vec![7])));
        assert_eq!(b.poll(), Some(ListenEvent::Keys(vec![7])));
        assert_eq!(a.poll(), None);
        listeners.unregister(&b);
        for key in 0..MAX_PENDING_KEYS as u64 {
            listeners.changed(key);
        }
        assert_eq!(listeners.changed(1), 1);
        listeners.close_all();
        assert!(matches!(a.poll(), Some(ListenEvent::Keys(k)) if k.len() == MAX_PENDING_KEYS));
        assert_eq!(a.poll(), Some(ListenEvent::Finished));
    }
}
