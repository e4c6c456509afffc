//! DiskPool: the blocking threads that do every bucket read, write and
//! fsync (`[Performance] number_of_thread_workers`), so that no connection
//! thread ever waits for the disk. Jobs are closures; each answers through a
//! oneshot channel the request awaits.
//!
//! The queue is a mutex and a condition variable, and a job wakes one idle
//! thread only when no thread is awake to take it. A scan hands the pool a
//! job every few batches, and sharing one `mpsc::Receiver` behind a mutex
//! (as this pool first did) woke a second thread for every job, to wait in
//! the receiver's place: a warm scan of 1.1 GB (about 5,000 jobs) made
//! 21.5k futex calls that way, 13.5k this way.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use shoal_storage::dls::chunk_reader::Spawner;

type Job = Box<dyn FnOnce() + Send>;

/// The pool; [`DiskPool::stop`] (or dropping it, without the wait) lets the
/// threads finish the queued jobs and exit.
pub struct DiskPool {
    queue: Arc<Queue>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The jobs waiting for a thread, shared with the threads.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    /// Signalled when a job is queued for an idle thread, or the pool stops.
    job_queued: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<Job>,
    /// Threads waiting on `job_queued`.
    idle: usize,
    /// Set by [`DiskPool::stop`]: no more jobs are accepted.
    stopped: bool,
}

/// The pool has stopped (the node is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the disk thread pool has stopped")]
pub struct PoolStopped;

impl DiskPool {
    /// Starts `threads` disk threads.
    pub fn start(threads: usize) -> std::io::Result<Arc<DiskPool>> {
        let queue = Arc::new(Queue::default());
        let handles = (0..threads.max(1))
            .map(|i| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new().name(format!("dls-disk-{i}")).spawn(move || queue.work())
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Arc::new(DiskPool { queue, threads: Mutex::new(handles) }))
    }

    /// Queues `job` on a disk thread, nobody waiting for its end.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) -> Result<(), PoolStopped> {
        let mut state = self.queue.lock();
        if state.stopped {
            return Err(PoolStopped);
        }
        state.jobs.push_back(Box::new(job));
        // Only a job no awake thread will take needs a sleeping one.
        let wake = state.idle >= state.jobs.len();
        drop(state);
        if wake {
            self.queue.job_queued.notify_one();
        }
        Ok(())
    }

    /// Queues `job` on a disk thread at once (before the returned future is
    /// awaited, so work can be started ahead) and resolves to its result.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, PoolStopped>> {
        let (done, result) = tokio::sync::oneshot::channel();
        let sent = self.spawn(move || drop(done.send(job()))).is_ok();
        async move {
            if !sent {
                return Err(PoolStopped);
            }
            result.await.map_err(|_| PoolStopped)
        }
    }

    /// Lets the threads finish what is queued, then waits for them.
    pub fn stop(&self) {
        self.queue.close();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}

impl Spawner for DiskPool {
    fn spawn(&self, job: Box<dyn FnOnce() + Send>) -> bool {
        DiskPool::spawn(self, job).is_ok()
    }
}

impl Drop for DiskPool {
    /// Not joined here: the last owner may be a job on a disk thread.
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl Queue {
    /// Refuses new jobs and wakes every idle thread to finish.
    fn close(&self) {
        self.lock().stopped = true;
        self.job_queued.notify_all();
    }

    /// A disk thread: runs jobs until the pool has stopped and none is left.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                drop(state);
                job();
                state = self.lock();
            } else if state.stopped {
                return;
            } else {
                state.idle += 1;
                state = self.job_queued.wait(state).unwrap_or_else(|p| p.into_inner());
                state.idle -= 1;
            }
        }
    }

    /// A poisoned lock is still usable: a job's panic does not corrupt
    /// the queue.
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pool_until_it_stops() {
        let pool = DiskPool::start(2).unwrap();
        let name = pool.run(|| std::thread::current().name().map(str::to_owned)).await.unwrap();
        assert!(name.unwrap().starts_with("dls-disk-"));
        pool.stop();
        assert!(pool.run(|| 1).await.is_err());
    }

    #[tokio::test]
    async fn stop_runs_the_queued_jobs_first() {
        let pool = DiskPool::start(1).unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        pool.spawn(move || wait.recv().unwrap_or_default()).unwrap();
        let queued: Vec<_> = (0..3).map(|i| pool.run(move || i)).collect();
        let stopping = std::thread::spawn({
            let pool = Arc::clone(&pool);
            move || pool.stop()
        });
        release.send(()).unwrap();
        stopping.join().unwrap();
        for (i, result) in queued.into_iter().enumerate() {
            assert_eq!(result.await.unwrap(), i, "queued before the stop, so run");
        }
    }

    #[tokio::test]
    async fn every_thread_takes_jobs_at_once() {
        // Two jobs that each wait for the other: only two threads running
        // at the same time finish them.
        let pool = DiskPool::start(2).unwrap();
        // Both asleep first, so that each job must wake one.
        while pool.queue.lock().idle < 2 {
            std::thread::yield_now();
        }
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let jobs: Vec<_> = (0..2).map(|_| pool.run({
            let barrier = Arc::clone(&barrier);
            move || barrier.wait().is_leader()
        })).collect();
        let mut leaders = 0;
        for job in jobs {
            let done = tokio::time::timeout(std::time::Duration::from_secs(10), job).await;
            leaders += done.expect("a job waited for a thread that was not woken").unwrap() as usize;
        }
        assert_eq!(leaders, 1);
        pool.stop();
    }

    #[tokio::test]
    async fn a_scan_reading_ahead_on_the_pool_it_runs_on_never_waits_for_it() {
        // A bucket of many read buffers, scanned by a job of a one-thread
        // pool: the read-ahead jobs queue behind the scan, which reads
        // every half itself. Then with four threads, and on a stopped pool
        // (every read-ahead refused).
        use shoal_storage::dls::channel::DlsChannel;
        use shoal_storage::dls::chunk_reader::ReadBuffers;
        let dir = tempfile::tempdir().unwrap();
        let mut channel = DlsChannel::new(dir.path(), "ch", 1 << 16);
        let written: Vec<(u64, Vec<u8>)> = (0..2_000u64).map(|key| (key, vec![key as u8; 300])).collect();
        for (key, value) in &written {
            channel.put(*key, value).unwrap();
        }
        let channel = Arc::new(std::sync::Mutex::new(channel));
        let scan_all = |pool: &Arc<DiskPool>| {
            let (channel, buffers) = (Arc::clone(&channel), ReadBuffers::ahead(4096, Arc::clone(pool) as Arc<dyn Spawner>));
            move || {
                let mut scan = channel.lock().unwrap().scan(0, u64::MAX, buffers).unwrap();
                std::iter::from_fn(|| scan.next_record(|_, e| panic!("{e}")).map(|(k, v)| (k, v.to_vec()))).collect::<Vec<_>>()
            }
        };
        for threads in [1, 4] {
            let pool = DiskPool::start(threads).unwrap();
            let scanned = tokio::time::timeout(std::time::Duration::from_secs(30), pool.run(scan_all(&pool))).await;
            assert_eq!(scanned.expect("the scan did not wait for its own pool").unwrap(), written, "{threads} threads");
            pool.stop();
            assert_eq!(scan_all(&pool)(), written, "{threads} threads, stopped");
        }
    }
}
