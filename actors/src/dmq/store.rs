//! The queue storage on a thread of its own.
//!
//! [`DmqStore`] does file I/O (the disk overflow, the index commit with its
//! fsync, the `.rq` files at shutdown), so it never runs on a connection's
//! thread: one storage thread owns it and takes commands from a queue;
//! requests send a command and await the answer. Commands queued while the
//! thread works are taken one after the other without waking it again, so
//! many connections share each wake-up.
//!
//! After a push the thread wakes the channel's consumers ([`Wakers`]); after
//! a channel removal too, so they notice it is gone.

use std::sync::Arc;
use std::thread::JoinHandle;

use dashmap::DashMap;
use shoal_storage::dmq::store::{DmqStore, Popped, StorageStats, StoreError};
use tokio::sync::{mpsc, oneshot, Notify};

/// Commands waiting for the storage thread before senders have to wait.
const COMMAND_QUEUE: usize = 16 * 1024;

/// What a consumer gets from its queue.
#[derive(Debug)]
pub enum Taken {
    /// Records, oldest first (at least one).
    Records(Vec<Vec<u8>>),
    /// Nothing now; wait for a push.
    Empty,
    /// The consumer's queue is gone (its channel was removed).
    Gone,
}

/// A channel's records and bytes, for stats.log.
#[derive(Debug, Clone)]
pub struct ChannelTotals {
    /// The channel.
    pub name: String,
    /// Records over all its queues.
    pub records: u64,
    /// Bytes over all its queues (ring bytes with headers + overflow payload).
    pub bytes: u64,
}

enum Command {
    Create { channel: String, done: oneshot::Sender<Result<(), StoreError>> },
    Push { channels: Vec<String>, record: Vec<u8>, done: oneshot::Sender<Result<(), StoreError>> },
    Pop { channel: String, create: bool, done: oneshot::Sender<Result<Popped, StoreError>> },
    Subscribe { channel: String, subscriber: String, done: oneshot::Sender<Result<String, StoreError>> },
    Take { channel: String, subscriber: String, max_bytes: usize, done: oneshot::Sender<Result<Taken, StoreError>> },
    RemoveChannel { channel: String, done: oneshot::Sender<Result<bool, StoreError>> },
    Stats { done: oneshot::Sender<(Vec<ChannelTotals>, Vec<StorageStats>)> },
    Requeue { channel: String, subscriber: String, records: Vec<Vec<u8>> },
    CommitIndex,
    Shutdown,
}

/// Consumers' wake-ups, by channel name.
#[derive(Default)]
pub struct Wakers {
    by_channel: DashMap<String, Arc<Notify>>,
}

impl Wakers {
    /// The wake-up of `channel`'s consumers.
    pub fn of(&self, channel: &str) -> Arc<Notify> {
        Arc::clone(self.by_channel.entry(channel.to_owned()).or_default().value())
    }

    fn wake(&self, channel: &str) {
        if let Some(notify) = self.by_channel.get(channel) {
            notify.notify_waiters();
        }
    }
}

/// The storage thread; requests talk to it through a [`StoreHandle`].
pub struct StoreThread {
    thread: JoinHandle<Result<(), StoreError>>,
    commands: mpsc::Sender<Command>,
}

/// Why the clean shutdown of the storage failed.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// Saving the queues or the overflow index failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The storage thread panicked (a bug); nothing was saved.
    #[error("the storage thread panicked")]
    Panicked,
}

/// Sends commands to the storage thread; cheap to clone.
#[derive(Clone)]
pub struct StoreHandle {
    commands: mpsc::Sender<Command>,
}

/// The storage thread stopped (the node is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the queue storage has stopped")]
pub struct Stopped;

/// Why a storage command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The storage refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The storage thread is gone.
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

impl StoreThread {
    /// Starts the thread that owns `store`.
    pub fn start(store: DmqStore, wakers: Arc<Wakers>) -> std::io::Result<(StoreThread, StoreHandle)> {
        let (commands, queue) = mpsc::channel(COMMAND_QUEUE);
        let thread = std::thread::Builder::new()
            .name("dmq-storage".into())
            .spawn(move || run(store, queue, &wakers))?;
        Ok((StoreThread { thread, commands: commands.clone() }, StoreHandle { commands }))
    }

    /// Clean shutdown: the thread finishes the commands already queued,
    /// saves every queue and the overflow index, and ends. Commands sent
    /// later are answered [`Stopped`].
    pub fn shutdown(self) -> Result<(), ShutdownError> {
        // A full queue waits; a gone thread has nothing left to save.
        let _ = self.commands.blocking_send(Command::Shutdown);
        self.thread.join().map_err(|_| ShutdownError::Panicked)?.map_err(ShutdownError::from)
    }
}

fn run(mut store: DmqStore, mut queue: mpsc::Receiver<Command>, wakers: &Wakers) -> Result<(), StoreError> {
    while let Some(command) = queue.blocking_recv() {
        match command {
            Command::Create { channel, done } => {
                let _ = done.send(store.create(&channel).map(drop));
            }
            Command::Push { channels, record, done } => {
                let result = channels.iter().try_for_each(|channel| store.push(channel, &record));
                channels.iter().for_each(|channel| wakers.wake(channel));
                let _ = done.send(result);
            }
            Command::Pop { channel, create, done } => {
                let result = if create { store.create(&channel).map(drop) } else { Ok(()) };
                let _ = done.send(result.and_then(|()| store.pop(&channel)));
            }
            Command::Subscribe { channel, subscriber, done } => {
                let _ = done.send(store.subscribe(&channel, &subscriber));
            }
            Command::Take { channel, subscriber, max_bytes, done } => {
                let _ = done.send(take(&mut store, &channel, &subscriber, max_bytes));
            }
            Command::RemoveChannel { channel, done } => {
                let result = store.remove_channel(&channel);
                wakers.wake(&channel);
                let _ = done.send(result);
            }
            Command::Stats { done } => {
                let channels = store
                    .channel_names()
                    .map(|name| {
                        let (records, bytes) = store.channel_size(name);
                        ChannelTotals { name: name.to_owned(), records, bytes }
                    })
                    .collect();
                let _ = done.send((channels, store.storage_stats()));
            }
            Command::Requeue { channel, subscriber, records } => {
                store.requeue(&channel, &subscriber, records);
                wakers.wake(&channel);
            }
            Command::CommitIndex => {
                if let Err(error) = store.commit_index() {
                    tracing::error!(target: "diskoverflow", "committing the overflow index failed: {error}");
                }
            }
            Command::Shutdown => break,
        }
    }
    queue.close();
    store.shutdown()
}

/// Pops up to about `max_bytes` of a subscriber's records.
fn take(store: &mut DmqStore, channel: &str, subscriber: &str, max_bytes: usize) -> Result<Taken, StoreError> {
    use shoal_storage::dmq::channel::Channel;
    let exists = matches!(store.channel(channel), Some(Channel::Subscribed(queues)) if queues.contains_key(subscriber));
    if !exists {
        return Ok(Taken::Gone);
    }
    let mut records = Vec::new();
    let mut bytes = 0;
    while bytes < max_bytes {
        match store.pop_subscriber(channel, subscriber)? {
            Some(record) => {
                bytes += record.len() + 8;
                records.push(record);
            }
            None => break,
        }
    }
    Ok(if records.is_empty() { Taken::Empty } else { Taken::Records(records) })
}

impl StoreHandle {
    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Stopped> {
        let (done, answer) = oneshot::channel();
        self.commands.send(command(done)).await.map_err(|_| Stopped)?;
        answer.await.map_err(|_| Stopped)
    }

    /// Creates `channel` (empty) unless it exists.
    pub async fn create(&self, channel: &str) -> Result<(), CommandError> {
        Ok(self.ask(|done| Command::Create { channel: channel.to_owned(), done }).await??)
    }

    /// Pushes `record` to every channel (each to all its queues), creating
    /// missing channels.
    pub async fn push(&self, channels: Vec<String>, record: Vec<u8>) -> Result<(), CommandError> {
        Ok(self.ask(|done| Command::Push { channels, record, done }).await??)
    }

    /// Pops the oldest record of a channel's plain queue; `create` makes the
    /// channel first (neo Pop does, legacy Pop does not).
    pub async fn pop(&self, channel: &str, create: bool) -> Result<Popped, CommandError> {
        Ok(self.ask(|done| Command::Pop { channel: channel.to_owned(), create, done }).await??)
    }

    /// Subscribes `subscriber` to `channel`; returns its queue's name.
    pub async fn subscribe(&self, channel: &str, subscriber: &str) -> Result<String, CommandError> {
        let (channel, subscriber) = (channel.to_owned(), subscriber.to_owned());
        Ok(self.ask(|done| Command::Subscribe { channel, subscriber, done }).await??)
    }

    /// Takes up to about `max_bytes` of a subscriber's records.
    pub async fn take(&self, channel: &str, subscriber: &str, max_bytes: usize) -> Result<Taken, CommandError> {
        let (channel, subscriber) = (channel.to_owned(), subscriber.to_owned());
        Ok(self.ask(|done| Command::Take { channel, subscriber, max_bytes, done }).await??)
    }

    /// Removes a channel with all its queues; whether it existed.
    pub async fn remove_channel(&self, channel: &str) -> Result<bool, CommandError> {
        Ok(self.ask(|done| Command::RemoveChannel { channel: channel.to_owned(), done }).await??)
    }

    /// Per-channel totals and per-queue sizes.
    pub async fn stats(&self) -> Result<(Vec<ChannelTotals>, Vec<StorageStats>), Stopped> {
        self.ask(|done| Command::Stats { done }).await
    }

    /// Gives back records a consumer took but could not deliver, without
    /// waiting (a consumer calls it as its connection goes away). If the
    /// storage's queue is full the records are lost, and that is logged.
    pub fn requeue_now(&self, channel: &str, subscriber: &str, records: Vec<Vec<u8>>) {
        let count = records.len();
        let command = Command::Requeue { channel: channel.to_owned(), subscriber: subscriber.to_owned(), records };
        if self.commands.try_send(command).is_err() {
            tracing::error!(target: "dmqnode.request", "{count} undelivered records of '{subscriber}@{channel}' lost: storage busy or stopped");
        }
    }

    /// Commits the overflow index (the periodic `write_index_ms` commit).
    pub async fn commit_index(&self) -> Result<(), Stopped> {
        self.commands.send(Command::CommitIndex).await.map_err(|_| Stopped)
    }
}
