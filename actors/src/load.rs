//! Loading the channel dumps of the data directory at start.
//!
//! Every `<channel>.tcm` is read into a fresh channel that replaces nothing
//! until the file was read completely. A dump that is unreadable, truncated
//! or of an unknown version is reported in root.log and its
//! `<channel>.tcm.backup` is loaded instead (the original cannot: it stops
//! at a truncated file). If the backup fails too, the records readable from
//! the dump are kept rather than nothing. Temporary `.dumping` files are
//! ignored. Records are filtered as the original filters them: invalid keys,
//! empty values and values larger than `batch_size` are skipped, and keys
//! outside the node's range follow `allow_out_of_range`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::time::Instant;

use shoal_storage::dht::hash::HashRange;
use shoal_storage::dht::Channel;
use shoal_storage::dump::files::{scan_directory, ChannelFiles};
use shoal_storage::dump::format::{DumpError, DumpKey, DumpReader};

use crate::config::AllowOutOfRange;
use crate::node::DhtNode;

/// Read buffer for loading: large sequential reads.
const READ_BUFFER: usize = 4 << 20;

/// How records are filtered while loading.
#[derive(Debug, Clone, Copy)]
pub struct LoadRules {
    /// The node's hash range.
    pub range: HashRange,
    /// What to do with keys outside it.
    pub out_of_range: AllowOutOfRange,
    /// Abort when this many records were read and all were out of range
    /// (0 = never), as the original's safety net against a wrong range.
    pub abort_after_all_out_of_range: u64,
    /// Values longer than this are skipped (the original's batch_size).
    pub max_value: usize,
}

/// Why the node must not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The data directory cannot be read.
    #[error("cannot read data directory {0}: {1}")]
    Directory(String, std::io::Error),
    /// `allow_out_of_range = fatal` and a record was out of range.
    #[error("record {key:016x} in channel '{channel}' is outside the node's hash range (allow_out_of_range = fatal)")]
    OutOfRange {
        /// The channel.
        channel: String,
        /// The key.
        key: u64,
    },
    /// Every record read so far was out of range: the range is probably wrong.
    #[error("All records appear to be out-of-range. Aborting. (channel '{0}'; check Server.minval/maxval)")]
    AllOutOfRange(String),
}

/// Counts of one file's load.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    /// Records stored.
    pub loaded: u64,
    /// Records outside the range (stored or dropped per the rule).
    pub out_of_range: u64,
    /// Records with keys that are not hashes.
    pub invalid_keys: u64,
    /// Records with empty values.
    pub empty_values: u64,
    /// Records with values over the limit.
    pub too_large: u64,
}

/// Loads every channel dump of `dir` into the node. Returns the number of
/// channels loaded.
pub fn load_channels(node: &DhtNode, dir: &Path, rules: &LoadRules) -> Result<usize, LoadError> {
    let scan = scan_directory(dir).map_err(|e| LoadError::Directory(dir.display().to_string(), e))?;
    for path in &scan.unfinished {
        tracing::warn!(
            target: "dhtnode.storage.DumpManager",
            "Unfinished dump file found: '{}', ignored (the node was stopped during a dump)",
            path.display()
        );
    }
    for path in &scan.ignored {
        tracing::warn!(target: "dhtnode.storage.DumpManager", "Ignoring '{}' (not a channel dump)", path.display());
    }
    for files in &scan.channels {
        let channel = load_channel(node, files, rules)?;
        let records = channel.stats().records;
        node.channels.insert(&files.channel, channel);
        tracing::info!(
            target: "dhtnode.storage.DumpManager",
            "Channel '{}' ready, {records} records in channel",
            files.channel
        );
    }
    Ok(scan.channels.len())
}

/// Loads one channel from its dump, falling back to its backup.
fn load_channel(node: &DhtNode, files: &ChannelFiles, rules: &LoadRules) -> Result<Channel, LoadError> {
    let name = &files.channel;
    let mut partial = None;
    for path in [&files.dump, &files.backup].into_iter().flatten() {
        let channel = node.channels.new_channel();
        match load_file(name, path, &channel, rules)? {
            Ok(()) => return Ok(channel),
            Err(error) => {
                tracing::error!(
                    target: "dhtnode.storage.DumpManager",
                    "Cannot load '{}': {error}; {} records were readable",
                    path.display(),
                    channel.stats().records
                );
                partial.get_or_insert(channel);
            }
        }
    }
    tracing::error!(
        target: "dhtnode.storage.DumpManager",
        "No complete dump of channel '{name}': keeping the records that were readable"
    );
    Ok(partial.unwrap_or_else(|| node.channels.new_channel()))
}

/// Reads one file into `channel`. The outer error stops the node; the inner
/// one says the file is damaged.
fn load_file(
    name: &str,
    path: &Path,
    channel: &Channel,
    rules: &LoadRules,
) -> Result<Result<(), DumpError>, LoadError> {
    let started = Instant::now();
    tracing::info!(target: "dhtnode.storage.DumpManager", "Loading channel '{name}' from '{}'", path.display());
    let mut reader = match File::open(path).map(|f| DumpReader::new(BufReader::with_capacity(READ_BUFFER, f))) {
        Ok(Ok(reader)) => reader,
        Ok(Err(error)) => return Ok(Err(error)),
        Err(error) => return Ok(Err(error.into())),
    };
    let mut counts = FileCounts::default();
    let mut read = 0u64;
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(error) => return Ok(Err(error)),
        };
        read += 1;
        let DumpKey::Hash(key) = record.key else {
            counts.invalid_keys += 1;
            continue;
        };
        if record.value.is_empty() {
            counts.empty_values += 1;
            continue;
        }
        if record.value.len() > rules.max_value {
            counts.too_large += 1;
            continue;
        }
        if !rules.range.owns(key) {
            counts.out_of_range += 1;
            let threshold = rules.abort_after_all_out_of_range;
            if threshold > 0 && counts.out_of_range == read && read > threshold {
                return Err(LoadError::AllOutOfRange(name.to_string()));
            }
            match rules.out_of_range {
                AllowOutOfRange::Load => {}
                AllowOutOfRange::Ignore => continue,
                AllowOutOfRange::Fatal => return Err(LoadError::OutOfRange { channel: name.to_string(), key }),
            }
        }
        channel.put(key, &record.value);
        counts.loaded += 1;
    }
    report(name, &counts, read);
    tracing::info!(
        target: "dhtnode.storage.DumpManager",
        "Finished loading channel '{name}' from disk, took {:.3}s, read {} bytes, {} records in channel",
        started.elapsed().as_secs_f64(),
        reader.offset(),
        channel.stats().records
    );
    Ok(Ok(()))
}

/// Warns about skipped records, as the original does after each file.
fn report(name: &str, counts: &FileCounts, read: u64) {
    let kinds = [
        (counts.out_of_range, "out-of-range keys"),
        (counts.invalid_keys, "invalid keys"),
        (counts.too_large, "too large values"),
        (counts.empty_values, "empty values"),
    ];
    for (count, kind) in kinds.into_iter().filter(|(count, _)| *count > 0) {
        tracing::warn!(
            target: "dhtnode.storage.DumpManager",
            "Found {count} {kind} ({:.2}%) in channel '{name}'",
            count as f64 * 100.0 / read.max(1) as f64
        );
    }
}
