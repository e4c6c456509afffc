//! A channel as the connections share it: its storage, locked while a disk
//! thread works on it, and the Puts waiting for a disk thread.
//!
//! Puts are group-committed: a Put that arrives while a job of its channel
//! is queued or running joins that job's next round instead of handing a
//! job of its own to the disk pool, so a burst of Puts costs one hand-over
//! and one lock instead of one each. Each Put is still answered with its own
//! result, and only once its record is in the bucket's write buffer.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use shoal_storage::dls::channel::DlsChannel;
use tokio::sync::oneshot;

use super::pool::{DiskPool, PoolStopped};

/// A channel and the Puts waiting to be appended to it.
pub struct SharedChannel {
    storage: Mutex<DlsChannel>,
    appends: Mutex<Appends>,
}

/// The Puts not yet taken by a disk thread.
#[derive(Default)]
struct Appends {
    waiting: Vec<Append>,
    /// Whether a job that will take `waiting` is queued or running.
    scheduled: bool,
}

/// One Put: its record and where its result goes.
struct Append {
    key: u64,
    value: Vec<u8>,
    stored: oneshot::Sender<io::Result<()>>,
}

impl SharedChannel {
    /// Shares `channel`.
    pub fn new(channel: DlsChannel) -> Arc<SharedChannel> {
        Arc::new(SharedChannel { storage: Mutex::new(channel), appends: Mutex::default() })
    }

    /// Locks the storage; only disk threads (and the last shutdown step)
    /// call it. A poisoned lock is still usable: the files are the truth.
    pub fn lock(&self) -> MutexGuard<'_, DlsChannel> {
        self.storage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a record on a disk thread, together with the Puts that wait
    /// beside it; resolves once it is in its bucket's write buffer.
    pub fn append(
        self: &Arc<Self>,
        pool: &DiskPool,
        key: u64,
        value: Vec<u8>,
    ) -> impl std::future::Future<Output = Result<io::Result<()>, PoolStopped>> {
        let (stored, result) = oneshot::channel();
        let start_job = {
            let mut appends = self.waiting();
            appends.waiting.push(Append { key, value, stored });
            !std::mem::replace(&mut appends.scheduled, true)
        };
        if start_job {
            let channel = Arc::clone(self);
            if pool.spawn(move || channel.store_waiting()).is_err() {
                // Nobody will take them: their senders drop, each Put fails.
                let mut appends = self.waiting();
                appends.waiting.clear();
                appends.scheduled = false;
            }
        }
        async move { result.await.map_err(|_| PoolStopped) }
    }

    /// The job (on a disk thread): stores the waiting Puts round after
    /// round until none are left.
    fn store_waiting(&self) {
        loop {
            let round = {
                let mut appends = self.waiting();
                if appends.waiting.is_empty() {
                    appends.scheduled = false;
                    return;
                }
                std::mem::take(&mut appends.waiting)
            };
            let results: Vec<_> = {
                let mut storage = self.lock();
                round.into_iter().map(|append| (storage.put(append.key, &append.value), append.stored)).collect()
            };
            for (result, stored) in results {
                // A Put whose client left does not wait for its answer.
                let _ = stored.send(result);
            }
        }
    }

    fn waiting(&self) -> MutexGuard<'_, Appends> {
        self.appends.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_appends_are_each_answered_and_all_stored() {
        let dir = tempfile::tempdir().unwrap();
        let pool = DiskPool::start(2).unwrap();
        let channel = SharedChannel::new(DlsChannel::new(dir.path(), "ch", 1 << 16));
        let puts: Vec<_> = (0..1000u64).map(|i| channel.append(&pool, i, i.to_le_bytes().to_vec())).collect();
        for put in puts {
            put.await.unwrap().unwrap();
        }
        let mut scan = channel.lock().scan(0, u64::MAX, 4096).unwrap();
        let mut keys: Vec<u64> = std::iter::from_fn(|| scan.next_record(|_, e| panic!("{e}")).map(|(k, _)| k)).collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..1000).collect::<Vec<_>>());
        assert!(!channel.waiting().scheduled, "the job ended once nothing waited");
    }

    #[tokio::test]
    async fn appends_after_the_pool_stopped_fail_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let pool = DiskPool::start(1).unwrap();
        pool.stop();
        let channel = SharedChannel::new(DlsChannel::new(dir.path(), "ch", 64));
        assert!(channel.append(&pool, 1, b"a".to_vec()).await.is_err());
        assert!(channel.append(&pool, 2, b"b".to_vec()).await.is_err(), "a failed job does not stay scheduled");
    }
}
