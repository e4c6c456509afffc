//! A channel as the connections share it: its storage, locked while a disk
//! thread works on it, and the Puts waiting for a disk thread.
//!
//! Puts are written behind, as the original's write buffer does: a Put's
//! record joins the channel's queue and is acknowledged at once. Once
//! [`STORE_AT`] bytes are queued, a disk job appends whatever has queued
//! up, round after round, so a disk thread is woken once per write buffer's
//! worth of Puts, not once per Put. Once the queue holds [`WAITING_LIMIT`]
//! bytes, Puts wait until their round is stored, so a disk slower than the
//! clients holds them back instead of filling memory; after a round failed
//! (a full or failing disk), they wait too, and hear of the failure, until
//! a round succeeds again. Whoever locks the
//! storage stores the queue first, so reads, checkpoints, the periodic
//! flush (`write_flush_ms`) and the shutdown see every acknowledged Put.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use shoal_storage::dls::channel::DlsChannel;
use tokio::sync::oneshot;

use super::pool::{DiskPool, PoolStopped};

/// Queued value bytes that start a disk job (the original's write buffer).
pub const STORE_AT: usize = 64 * 1024;

/// Value bytes a channel queues, acknowledged, before Puts wait for the
/// disk (16 of the original's 64 KiB write buffers).
pub const WAITING_LIMIT: usize = 1 << 20;

/// What became of a Put given to [`SharedChannel::append`].
pub enum Appended {
    /// Queued and acknowledged.
    Queued,
    /// The queue was full: the result comes once the record is stored.
    Waiting(oneshot::Receiver<io::Result<()>>),
    /// The disk pool has stopped (the node is shutting down): the Put is
    /// answered with an error, though the shutdown may still store it.
    Refused,
}

impl Appended {
    /// The Put's result, waiting for it if need be.
    pub async fn result(self) -> Result<io::Result<()>, PoolStopped> {
        match self {
            Appended::Queued => Ok(Ok(())),
            Appended::Waiting(result) => result.await.map_err(|_| PoolStopped),
            Appended::Refused => Err(PoolStopped),
        }
    }
}

/// A channel and the Puts waiting to be appended to it.
pub struct SharedChannel {
    storage: Mutex<DlsChannel>,
    appends: Mutex<Appends>,
}

/// The Puts not yet taken by a disk thread.
#[derive(Default)]
struct Appends {
    waiting: Vec<Append>,
    /// Their value bytes.
    bytes: usize,
    /// Whether a job that will take `waiting` is queued or running.
    scheduled: bool,
    /// Whether the last round failed (a full or failing disk): Puts then
    /// wait for their own result, so clients hear of the failure instead of
    /// being acknowledged, until a round succeeds again.
    failing: bool,
}

/// Where a waiting Put's result goes.
type Answer = oneshot::Sender<io::Result<()>>;

/// One Put: its record, and where its result goes if the Put waits for it.
struct Append {
    key: u64,
    value: Vec<u8>,
    stored: Option<Answer>,
}

impl SharedChannel {
    /// Shares `channel`.
    pub fn new(channel: DlsChannel) -> Arc<SharedChannel> {
        Arc::new(SharedChannel { storage: Mutex::new(channel), appends: Mutex::default() })
    }

    /// Locks the storage after appending every queued Put (so the caller
    /// sees all acknowledged records); only disk threads and the last step
    /// of a shutdown call it. A poisoned lock is still usable: the files
    /// are the truth.
    pub fn lock(&self) -> MutexGuard<'_, DlsChannel> {
        let mut storage = self.storage.lock().unwrap_or_else(|p| p.into_inner());
        // Taken under the storage lock: a record is either stored by an
        // earlier holder or still queued for this one.
        let round = {
            let mut appends = self.waiting();
            appends.bytes = 0;
            std::mem::take(&mut appends.waiting)
        };
        if !round.is_empty() {
            let (stored, answers) = Self::store(&mut storage, round);
            // Before the answers: a client that hears of a stored round and
            // puts again must find the channel healthy.
            self.waiting().failing = !stored;
            for (answer, result) in answers {
                // A Put whose client left does not wait for its answer.
                let _ = answer.send(result);
            }
        }
        storage
    }

    /// Queues a record for its bucket: acknowledged at once while the
    /// queue is short and the disk healthy, else its result comes once it
    /// is in its bucket's write buffer.
    pub fn append(self: &Arc<Self>, pool: &DiskPool, key: u64, value: Vec<u8>) -> Appended {
        let (start_job, appended) = {
            let mut appends = self.waiting();
            let waits = appends.bytes >= WAITING_LIMIT || appends.failing;
            let (stored, appended) = if waits {
                let (stored, result) = oneshot::channel();
                (Some(stored), Appended::Waiting(result))
            } else {
                (None, Appended::Queued)
            };
            appends.bytes += value.len();
            appends.waiting.push(Append { key, value, stored });
            let start_job = (appends.bytes >= STORE_AT || waits) && !appends.scheduled;
            appends.scheduled |= start_job;
            (start_job, appended)
        };
        if start_job {
            let channel = Arc::clone(self);
            if pool.spawn(move || channel.store_waiting()).is_err() {
                // The node is stopping: this Put fails; what is queued
                // stays for the shutdown, which locks every channel.
                self.waiting().scheduled = false;
                return Appended::Refused;
            }
        }
        appended
    }

    /// The job (on a disk thread): stores the queue, round after round,
    /// until it stays empty.
    fn store_waiting(&self) {
        loop {
            drop(self.lock());
            let mut appends = self.waiting();
            if appends.waiting.is_empty() {
                appends.scheduled = false;
                return;
            }
        }
    }

    /// Appends one round; returns whether every record was stored, and
    /// the results owed to the Puts that wait. A failure of those
    /// acknowledged already is logged.
    fn store(storage: &mut DlsChannel, round: Vec<Append>) -> (bool, Vec<(Answer, io::Result<()>)>) {
        let (mut lost, mut failed) = (0, false);
        let mut last_error = None;
        let mut answers = Vec::new();
        for append in round {
            let result = storage.put(append.key, &append.value);
            failed |= result.is_err();
            match append.stored {
                Some(answer) => answers.push((answer, result)),
                None => {
                    if let Err(error) = result {
                        lost += 1;
                        last_error = Some(error);
                    }
                }
            }
        }
        if let Some(error) = last_error {
            tracing::error!(target: "dlsnode.storage", "'{}': {lost} acknowledged records lost: {error}", storage.name());
        }
        (!failed, answers)
    }

    fn waiting(&self) -> MutexGuard<'_, Appends> {
        self.appends.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn records_or_error(channel: &SharedChannel) -> std::io::Result<Vec<u64>> {
        let mut scan = channel.lock().scan(0, u64::MAX, shoal_storage::dls::chunk_reader::ReadBuffers::inline(4096))?;
        Ok(std::iter::from_fn(|| scan.next_record(|_, e| panic!("{e}")).map(|(k, _)| k)).collect())
    }

    fn records(channel: &SharedChannel) -> Vec<u64> {
        let mut scan = channel.lock().scan(0, u64::MAX, shoal_storage::dls::chunk_reader::ReadBuffers::inline(4096)).unwrap();
        std::iter::from_fn(|| scan.next_record(|_, e| panic!("{e}")).map(|(k, _)| k)).collect()
    }

    /// A scratch directory, a one-thread disk pool and the channel "ch" in it.
    fn setup() -> (tempfile::TempDir, Arc<DiskPool>, Arc<SharedChannel>) {
        let dir = tempfile::tempdir().unwrap();
        let channel = SharedChannel::new(DlsChannel::new(dir.path(), "ch", 1 << 16));
        (dir, DiskPool::start(1).unwrap(), channel)
    }

    /// Occupies the pool's only thread until the returned sender is used.
    fn block(pool: &DiskPool) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        pool.spawn(move || wait.recv().unwrap_or_default()).unwrap();
        release
    }

    #[tokio::test]
    async fn small_puts_wait_in_memory_and_the_next_reader_stores_them() {
        let (_dir, pool, channel) = setup();
        for key in [3, 1, 2] {
            assert!(matches!(channel.append(&pool, key, b"v".to_vec()), Appended::Queued), "acknowledged at once");
        }
        assert!(!channel.waiting().scheduled, "no disk job for a few bytes");
        assert_eq!(records(&channel), vec![3, 1, 2], "in put order");
        assert!(channel.waiting().waiting.is_empty());
    }

    #[tokio::test]
    async fn a_write_buffers_worth_starts_a_job_and_readers_see_it_before_the_job_runs() {
        let (_dir, pool, channel) = setup();
        let release = block(&pool);
        let value = vec![b'x'; STORE_AT / 4];
        for key in 0..4 {
            assert!(matches!(channel.append(&pool, key, value.clone()), Appended::Queued));
        }
        assert!(channel.waiting().scheduled, "a job is queued behind the blocked one");
        assert_eq!(records(&channel), vec![0, 1, 2, 3]);
        release.send(()).unwrap();
        assert_eq!(pool.run(|| ()).await.map(|_| records(&channel)).unwrap(), vec![0, 1, 2, 3], "stored once");
        assert!(!channel.waiting().scheduled, "the job ended once nothing waited");
    }

    #[tokio::test]
    async fn past_the_limit_puts_wait_for_the_disk() {
        let (_dir, pool, channel) = setup();
        let release = block(&pool);
        let value = vec![b'x'; 64 * 1024];
        for key in 0..(WAITING_LIMIT / value.len()) as u64 {
            assert!(matches!(channel.append(&pool, key, value.clone()), Appended::Queued), "under the limit");
        }
        let mut waiting = Box::pin(channel.append(&pool, 1000, value.clone()).result());
        assert!((&mut waiting).now_or_never().is_none(), "the queue is full: the Put waits");
        release.send(()).unwrap();
        waiting.await.unwrap().unwrap();
        assert_eq!(records(&channel).len(), WAITING_LIMIT / value.len() + 1);
    }

    #[tokio::test]
    async fn after_a_failed_round_puts_wait_for_their_own_result_until_one_succeeds() {
        let (dir, pool, channel) = setup();
        // The channel's directory cannot be made: a file is in its place.
        std::fs::write(dir.path().join("ch"), b"in the way").unwrap();
        assert!(matches!(channel.append(&pool, 1, b"lost".to_vec()), Appended::Queued));
        assert!(records_or_error(&channel).is_err(), "the round failed (and was logged)");
        let failing = channel.append(&pool, 2, b"refused".to_vec());
        assert!(matches!(failing, Appended::Waiting(_)), "a failing disk is not acknowledged blindly");
        assert!(failing.result().await.unwrap().is_err(), "the client hears of it");
        std::fs::remove_file(dir.path().join("ch")).unwrap();
        let healed = channel.append(&pool, 3, b"stored".to_vec());
        assert!(healed.result().await.unwrap().is_ok());
        assert!(matches!(channel.append(&pool, 4, b"fast again".to_vec()), Appended::Queued));
        assert_eq!(records(&channel), vec![3, 4]);
    }

    #[tokio::test]
    async fn a_put_needing_a_job_after_the_pool_stopped_fails_and_the_queue_is_kept() {
        let (_dir, pool, channel) = setup();
        pool.stop();
        assert!(matches!(channel.append(&pool, 1, b"a".to_vec()), Appended::Queued));
        assert!(matches!(channel.append(&pool, 2, vec![b'b'; STORE_AT]), Appended::Refused));
        assert!(!channel.waiting().scheduled, "a failed job does not stay scheduled");
        assert_eq!(records(&channel), vec![1, 2], "the shutdown's lock stores what is queued");
    }
}
