//! DiskPool: the blocking threads that do every bucket read, write and
//! fsync (`[Performance] number_of_thread_workers`), so that no connection
//! thread ever waits for the disk. Jobs are closures; each answers through a
//! oneshot channel the request awaits.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

type Job = Box<dyn FnOnce() + Send>;

/// The pool; dropping it (or [`DiskPool::stop`]) lets the threads finish the
/// queued jobs and exit.
pub struct DiskPool {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// The pool has stopped (the node is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the disk thread pool has stopped")]
pub struct PoolStopped;

impl DiskPool {
    /// Starts `threads` disk threads.
    pub fn start(threads: usize) -> std::io::Result<Arc<DiskPool>> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let handles = (0..threads.max(1))
            .map(|i| {
                let queue = Arc::clone(&queue);
                std::thread::Builder::new().name(format!("dls-disk-{i}")).spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Arc::new(DiskPool { jobs: Mutex::new(Some(jobs)), threads: Mutex::new(handles) }))
    }

    /// Queues `job` on a disk thread, nobody waiting for its end.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) -> Result<(), PoolStopped> {
        match &*self.jobs.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(jobs) => jobs.send(Box::new(job)).map_err(|_| PoolStopped),
            None => Err(PoolStopped),
        }
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
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
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
}
