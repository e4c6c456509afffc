//! All channels of a dmqnode data directory: the start-up load, the
//! operations the requests need, and the shutdown save.
//!
//! Start-up, as the original's:
//! 1. create the data directory if missing;
//! 2. open the disk overflow ([`Overflow::open`]);
//! 3. for every `<storage name>.rq` (in name order; the original takes
//!    readdir order) create the channel or subscriber queue and refill its
//!    ring; a plain `ch.rq` together with `@ch.rq` or `sub@ch.rq` stops the
//!    start, as in the original; files with invalid names are left alone and
//!    reported;
//! 4. create a queue for every overflow channel that has none yet (a plain
//!    overflow name on a subscribed channel, or the other way round, stops
//!    the start);
//! 5. delete the `.rq` files that were loaded (their records now live in
//!    memory only, until the next clean shutdown). A damaged `.rq` file
//!    gives its complete records and is renamed `<name>.rq.damaged`.
//!
//! Shutdown: close the overflow (commit its index, or delete both files when
//! empty), then write every non-empty ring to `<storage name>.rq`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::channel::Channel;
use super::name;
use super::overflow::{Overflow, OverflowError, OverflowProblem};
use super::queue::Queue;
use super::rq::{self, RqError, RQ_SUFFIX};
use super::size::ChannelSizes;

/// Suffix a damaged `.rq` file is renamed to after its records were taken.
pub const DAMAGED_SUFFIX: &str = ".rq.damaged";

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A channel or subscriber name the storage refuses (it would become a
    /// file name).
    #[error("invalid channel or subscriber name '{0}'")]
    InvalidName(String),
    /// The disk overflow failed.
    #[error(transparent)]
    Overflow(#[from] OverflowError),
    /// Writing a `.rq` file failed.
    #[error("writing {}: {source}", path.display())]
    Save {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Why the start failed; nothing was deleted.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Reading the data directory failed.
    #[error("data directory {}: {source}", path.display())]
    Dir {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The disk overflow could not be opened.
    #[error(transparent)]
    Overflow(#[from] OverflowError),
    /// A channel has files both for its plain queue and for subscribers.
    #[error("storage '{0}' conflicts with the channel's other queues (plain queue and subscribers together)")]
    Conflict(String),
}

/// Something found at start that the operator should know about.
#[derive(Debug, thiserror::Error)]
pub enum StartupProblem {
    /// From the disk overflow.
    #[error(transparent)]
    Overflow(#[from] OverflowProblem),
    /// A `.rq` file whose name is not a storage name; left in place.
    #[error("ignoring {} (invalid name)", .0.display())]
    InvalidName(PathBuf),
    /// A damaged `.rq` file; its complete records were loaded.
    #[error("{}: {error}; loaded {kept} records, file renamed to {}", path.display(), moved_to.display())]
    DamagedRq {
        /// The file as found.
        path: PathBuf,
        /// What is wrong with it.
        error: RqError,
        /// Records loaded from it.
        kept: usize,
        /// Its new name.
        moved_to: PathBuf,
    },
}

/// What a Pop on a channel gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popped {
    /// The oldest record.
    Record(Vec<u8>),
    /// The channel exists and is empty.
    Empty,
    /// The channel has subscribers, so it has no queue to pop from.
    Subscribed,
    /// No such channel (Pop does not create one).
    NoChannel,
}

/// Sizes of one storage queue, for the stats log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageStats {
    /// Storage name (`ch`, `@ch`, `sub@ch`).
    pub name: String,
    /// Ring capacity in bytes.
    pub capacity: u64,
    /// Records in the ring.
    pub memory_records: u64,
    /// Bytes of the ring's records as the original counts them (length +
    /// 8-byte header each, unpacked).
    pub memory_bytes: u64,
    /// Ring bytes really taken (records are packed), for the fill figure.
    pub memory_used: u64,
    /// Records in the overflow.
    pub overflow_records: u64,
    /// Overflow payload bytes.
    pub overflow_bytes: u64,
}

/// Every channel of the node, with the shared overflow.
pub struct DmqStore {
    dir: PathBuf,
    sizes: ChannelSizes,
    overflow: Overflow,
    channels: BTreeMap<String, Channel>,
}

impl DmqStore {
    /// Loads the data directory `dir` (see the module doc).
    pub fn open(
        dir: &Path,
        sizes: ChannelSizes,
    ) -> Result<(DmqStore, Vec<StartupProblem>), StartupError> {
        let dir_error = |source| StartupError::Dir {
            path: dir.to_owned(),
            source,
        };
        fs::create_dir_all(dir).map_err(dir_error)?;
        let (overflow, overflow_problems) = Overflow::open(dir)?;
        let mut problems: Vec<StartupProblem> =
            overflow_problems.into_iter().map(Into::into).collect();
        let mut store = DmqStore {
            dir: dir.to_owned(),
            sizes,
            overflow,
            channels: BTreeMap::new(),
        };

        let mut files = Vec::new();
        for entry in fs::read_dir(dir).map_err(dir_error)? {
            let entry = entry.map_err(dir_error)?;
            if entry.file_type().map_err(dir_error)?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        let mut loaded = Vec::new();
        for path in files {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(storage) = file_name.strip_suffix(RQ_SUFFIX) else {
                continue;
            };
            if !name::valid_storage(storage) {
                problems.push(StartupProblem::InvalidName(path));
                continue;
            }
            let storage = storage.to_owned();
            let contents = rq::read_file(&path).map_err(|source| StartupError::Dir {
                path: path.clone(),
                source,
            })?;
            let queue = add_storage(&mut store.channels, &store.sizes, &storage)?;
            queue.restore(&mut store.overflow, &contents.records)?;
            match contents.damage {
                None => loaded.push(path),
                Some(error) => {
                    let moved_to = dir.join(format!("{storage}{DAMAGED_SUFFIX}"));
                    fs::rename(&path, &moved_to).map_err(dir_error)?;
                    problems.push(StartupProblem::DamagedRq {
                        path,
                        error,
                        kept: contents.records.len(),
                        moved_to,
                    });
                }
            }
        }
        let overflow_names: Vec<String> = store.overflow.names().map(str::to_owned).collect();
        for storage in overflow_names {
            add_storage(&mut store.channels, &store.sizes, &storage)?;
        }
        for path in loaded {
            fs::remove_file(&path).map_err(|source| StartupError::Dir { path, source })?;
        }
        Ok((store, problems))
    }

    /// Creates `channel` with an empty plain queue unless it exists.
    pub fn create(&mut self, channel: &str) -> Result<&mut Channel, StoreError> {
        if !name::valid_channel(channel) {
            return Err(StoreError::InvalidName(channel.to_owned()));
        }
        let capacity = capacity(&self.sizes, channel);
        Ok(self
            .channels
            .entry(channel.to_owned())
            .or_insert_with(|| Channel::Plain(Queue::new(channel.to_owned(), capacity))))
    }

    /// Pushes `record` to every queue of `channel`, creating the channel if
    /// needed. The storage takes empty records too; refusing them is the
    /// protocol's decision.
    pub fn push(&mut self, channel: &str, record: &[u8]) -> Result<(), StoreError> {
        self.create(channel)?;
        let target = self.channels.get_mut(channel).expect("created above");
        Ok(target.push(&mut self.overflow, record)?)
    }

    /// Pops the oldest record of `channel`'s plain queue.
    pub fn pop(&mut self, channel: &str) -> Result<Popped, StoreError> {
        match self.channels.get_mut(channel) {
            None => Ok(Popped::NoChannel),
            Some(Channel::Subscribed(_)) => Ok(Popped::Subscribed),
            Some(Channel::Plain(queue)) => Ok(queue
                .pop(&mut self.overflow)?
                .map_or(Popped::Empty, Popped::Record)),
        }
    }

    /// Subscribes `subscriber` to `channel` (creating the channel if
    /// needed); returns the storage name of its queue.
    pub fn subscribe(&mut self, channel: &str, subscriber: &str) -> Result<String, StoreError> {
        if !name::valid_subscriber(subscriber) {
            return Err(StoreError::InvalidName(subscriber.to_owned()));
        }
        self.create(channel)?;
        let capacity = capacity(&self.sizes, channel);
        let target = self.channels.get_mut(channel).expect("created above");
        Ok(target
            .subscribe(&mut self.overflow, channel, subscriber, capacity)?
            .name()
            .to_owned())
    }

    /// Pops the oldest record of `subscriber`'s queue on `channel`; `None`
    /// when it is empty or does not exist.
    pub fn pop_subscriber(
        &mut self,
        channel: &str,
        subscriber: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match self.channels.get_mut(channel) {
            Some(Channel::Subscribed(queues)) => match queues.get_mut(subscriber) {
                Some(queue) => Ok(queue.pop(&mut self.overflow)?),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// Gives back records a subscriber's consumer took but could not
    /// deliver; they are popped first. Dropped if the queue is gone (its
    /// channel was removed meanwhile).
    pub fn requeue(&mut self, channel: &str, subscriber: &str, records: Vec<Vec<u8>>) {
        if let Some(Channel::Subscribed(queues)) = self.channels.get_mut(channel) {
            if let Some(queue) = queues.get_mut(subscriber) {
                queue.requeue(records);
            }
        }
    }

    /// Removes `channel` with all its queues and records; `false` if it did
    /// not exist.
    pub fn remove_channel(&mut self, channel: &str) -> Result<bool, StoreError> {
        let Some(mut removed) = self.channels.remove(channel) else {
            return Ok(false);
        };
        removed
            .queues_mut()
            .try_for_each(|queue| queue.clear(&mut self.overflow))?;
        Ok(true)
    }

    /// Names of all channels, in order.
    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.keys().map(String::as_str)
    }

    /// The channel named `channel`.
    pub fn channel(&self, channel: &str) -> Option<&Channel> {
        self.channels.get(channel)
    }

    /// Records and bytes of `channel` summed over its queues (the stats'
    /// per-channel numbers).
    pub fn channel_size(&self, channel: &str) -> (u64, u64) {
        self.channels.get(channel).map_or((0, 0), |c| {
            c.queues().fold((0, 0), |(r, b), q| {
                (r + q.records(&self.overflow), b + q.bytes(&self.overflow))
            })
        })
    }

    /// Sizes of every storage queue.
    pub fn storage_stats(&self) -> Vec<StorageStats> {
        let queues = self.channels.values().flat_map(Channel::queues);
        queues
            .map(|q| StorageStats {
                name: q.name().to_owned(),
                capacity: q.ring().capacity() as u64,
                memory_records: q.ring().len() as u64,
                memory_bytes: q.memory_bytes(),
                memory_used: q.ring().used_bytes() as u64,
                overflow_records: self.overflow.records(q.name()),
                overflow_bytes: self.overflow.bytes(q.name()),
            })
            .collect()
    }

    /// Commits the overflow index; call every `[Overflow] write_index_ms`.
    pub fn commit_index(&mut self) -> Result<(), StoreError> {
        Ok(self.overflow.commit_index()?)
    }

    /// Clean shutdown (see the module doc). Every ring is saved even if an
    /// earlier step failed; the first error is returned.
    pub fn shutdown(self) -> Result<(), StoreError> {
        let mut result = self.overflow.close().map_err(StoreError::from);
        for queue in self.channels.values().flat_map(Channel::queues) {
            if queue.ring().is_empty() {
                continue;
            }
            let path = rq::rq_path(&self.dir, queue.name());
            if let Err(source) = rq::write_file(&path, queue.memory_records()) {
                result = result.and(Err(StoreError::Save { path, source }));
            }
        }
        result
    }
}

/// The ring capacity of the queues of `channel`.
fn capacity(sizes: &ChannelSizes, channel: &str) -> usize {
    usize::try_from(sizes.size_for(channel)).expect("ring size fits in memory")
}

/// Start-up: the queue of storage `storage`, added to its channel if new.
fn add_storage<'a>(
    channels: &'a mut BTreeMap<String, Channel>,
    sizes: &ChannelSizes,
    storage: &str,
) -> Result<&'a mut Queue, StartupError> {
    let (channel, subscriber) = name::split(storage);
    let capacity = capacity(sizes, channel);
    let conflict = || StartupError::Conflict(storage.to_owned());
    let entry = channels
        .entry(channel.to_owned())
        .or_insert_with(|| match subscriber {
            None => Channel::Plain(Queue::new(storage.to_owned(), capacity)),
            Some(sub) => Channel::Subscribed(BTreeMap::from([(
                sub.to_owned(),
                Queue::new(storage.to_owned(), capacity),
            )])),
        });
    match (entry, subscriber) {
        (Channel::Plain(queue), None) => Ok(queue),
        (Channel::Subscribed(queues), Some(sub)) => Ok(queues
            .entry(sub.to_owned())
            .or_insert_with(|| Queue::new(storage.to_owned(), capacity))),
        _ => Err(conflict()),
    }
}
