//! One channel's directory: appends through at most three open bucket
//! writers (least recently used closed first, as the original), the
//! checkpoint of what is on disk, and range scans in bucket order.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::channel_name::is_valid_channel_name;
use super::bucket::{BucketReader, BucketWriter};
use super::chunk_reader::ReadBuffers;
use super::checkpoint::Checkpoint;
use super::layout::{bucket_of, bucket_path, bucket_start, buckets_in_range};

/// The channels of a data directory: every sub-directory with a valid
/// channel name; sub-directories with other names are returned apart (to
/// be reported). Files are not channels (the checkpoint lives there when
/// `data_dir` is `data`).
pub fn channel_names(data_dir: &Path) -> io::Result<(Vec<String>, Vec<String>)> {
    let (mut channels, mut ignored) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(data_dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_valid_channel_name(name.as_bytes()) {
            channels.push(name);
        } else {
            ignored.push(name);
        }
    }
    channels.sort_unstable();
    Ok((channels, ignored))
}

/// Bucket files a channel keeps open for writing at once.
pub const OPEN_WRITERS: usize = 3;

/// A channel's directory and its open writers.
pub struct DlsChannel {
    name: String,
    dir: PathBuf,
    write_buffer_size: usize,
    /// Open writers by bucket number, least recently used first.
    writers: Vec<(u64, BucketWriter)>,
    /// Buckets closed since the last checkpoint, with their length (not
    /// yet fsynced).
    closed: BTreeMap<u64, u64>,
    /// Buckets written since the last checkpoint that are still open.
    dirty: BTreeMap<u64, ()>,
    /// Whether the channel was removed: a Put that still holds it (it
    /// raced the removal) must not bring the directory back.
    removed: bool,
}

impl DlsChannel {
    /// The channel `name` in `data_dir` (its directory is created on the
    /// first write, or now with [`Self::create_dir`]).
    pub fn new(data_dir: &Path, name: &str, write_buffer_size: usize) -> DlsChannel {
        DlsChannel {
            name: name.to_owned(),
            dir: data_dir.join(name),
            write_buffer_size,
            writers: Vec::new(),
            closed: BTreeMap::new(),
            dirty: BTreeMap::new(),
            removed: false,
        }
    }

    /// Creates the channel's directory (a channel exists once it has one).
    pub fn create_dir(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)
    }

    /// The channel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends a record to its bucket. On a write error the bucket's
    /// writer is dropped, so the next write reopens the file.
    pub fn put(&mut self, key: u64, value: &[u8]) -> io::Result<()> {
        if self.removed {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("channel '{}' was removed", self.name)));
        }
        let bucket = bucket_of(key);
        let appended = self.writer(bucket)?.append(key, value);
        if appended.is_err() {
            self.writers.retain(|(b, _)| *b != bucket);
        }
        appended?;
        self.dirty.insert(bucket, ());
        Ok(())
    }

    /// The writer of `bucket`, opened (closing the least recently used one)
    /// if needed, and marked most recently used.
    fn writer(&mut self, bucket: u64) -> io::Result<&mut BucketWriter> {
        match self.writers.iter().position(|(b, _)| *b == bucket) {
            Some(index) => {
                let entry = self.writers.remove(index);
                self.writers.push(entry);
            }
            None => {
                if self.writers.len() == OPEN_WRITERS {
                    let (old, writer) = self.writers.remove(0);
                    // Fsynced at the next checkpoint, not now: Puts that
                    // hop between buckets would each wait for the disk.
                    let written = writer.close()?;
                    if self.dirty.remove(&old).is_some() {
                        self.closed.insert(old, written);
                    }
                }
                let writer = BucketWriter::open(&bucket_path(&self.dir, bucket), self.write_buffer_size)?;
                self.writers.push((bucket, writer));
            }
        }
        Ok(&mut self.writers.last_mut().expect("just pushed").1)
    }

    /// Writes every buffered record to its file (before a scan, so that it
    /// sees every acknowledged Put, and periodically).
    pub fn flush(&mut self) -> io::Result<()> {
        self.writers.iter_mut().try_for_each(|(_, writer)| writer.flush())
    }

    /// Fsyncs every bucket written since the last call and returns their
    /// checkpoint lines. A bucket closed meanwhile is fsynced through its
    /// path (unless it was opened again: its writer covers it, or it is
    /// gone: removed or redistributed).
    pub fn checkpoint(&mut self) -> io::Result<Vec<Checkpoint>> {
        let mut lines = Vec::new();
        for (bucket, length) in std::mem::take(&mut self.closed) {
            if self.dirty.contains_key(&bucket) {
                continue;
            }
            match fs::File::open(bucket_path(&self.dir, bucket)) {
                Ok(file) => file.sync_data()?,
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            }
            lines.push(self.line(bucket, length));
        }
        for (bucket, writer) in &mut self.writers {
            if self.dirty.remove(bucket).is_some() {
                let length = writer.sync()?;
                lines.push(Checkpoint { channel: self.name.clone(), bucket_start: bucket_start(*bucket), length });
            }
        }
        Ok(lines)
    }

    fn line(&self, bucket: u64, length: u64) -> Checkpoint {
        Checkpoint { channel: self.name.clone(), bucket_start: bucket_start(bucket), length }
    }

    /// The records with keys in `low..=high`, bucket by bucket, each read
    /// through `buffers`. Buffered records are flushed first.
    pub fn scan(&mut self, low: u64, high: u64, buffers: ReadBuffers) -> io::Result<RangeScan> {
        self.flush()?;
        let buckets = if low > high { VecDeque::new() } else { buckets_in_range(&self.dir, low, high)?.into() };
        Ok(RangeScan { again: false, buckets, current: None, low, high, buffers })
    }

    /// Every bucket of the channel, in key order (buffered records are
    /// flushed first, so a bucket holding only those is listed too).
    pub fn buckets(&mut self) -> io::Result<Vec<(u64, PathBuf)>> {
        self.flush()?;
        buckets_in_range(&self.dir, 0, u64::MAX)
    }

    /// Takes a bucket out of the channel (Redistribute): its writer, if
    /// open, is synced and closed, and the file renamed to `<bucket>.tmp`,
    /// whose path is returned; later writes to its keys start a new file.
    pub fn detach_bucket(&mut self, bucket: u64) -> io::Result<PathBuf> {
        if let Some(index) = self.writers.iter().position(|(b, _)| *b == bucket) {
            let (_, mut writer) = self.writers.remove(index);
            writer.sync()?;
        }
        self.dirty.remove(&bucket);
        self.closed.remove(&bucket);
        let path = bucket_path(&self.dir, bucket);
        let mut detached = path.clone().into_os_string();
        detached.push(".tmp");
        let detached = PathBuf::from(detached);
        fs::rename(&path, &detached)?;
        Ok(detached)
    }

    /// Flushes and closes every writer (clean shutdown, or before removal).
    pub fn close(&mut self) -> io::Result<()> {
        let result = self.flush();
        self.writers.clear();
        result
    }

    /// Deletes the channel's directory with every bucket (open writers are
    /// dropped unflushed: their records go too). The node gives the name a
    /// new channel; Puts still holding this one fail.
    pub fn remove(&mut self) -> io::Result<()> {
        self.removed = true;
        self.dirty.clear();
        self.closed.clear();
        self.writers.clear();
        match fs::remove_dir_all(&self.dir) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            result => result,
        }
    }
}

/// A scan over a channel's buckets in order, yielding the records in range.
pub struct RangeScan {
    /// Whether the consumer gave back the current record.
    again: bool,
    buckets: VecDeque<(u64, PathBuf)>,
    current: Option<BucketReader>,
    low: u64,
    high: u64,
    buffers: ReadBuffers,
}

impl RangeScan {
    /// The next record in range, lent until the next call; `None` at the
    /// end. A bucket that cannot be opened or read ends that bucket, never
    /// the scan (the error is given to `problem`).
    pub fn next_record(&mut self, problem: impl FnMut(&Path, io::Error)) -> Option<(u64, &[u8])> {
        if !std::mem::take(&mut self.again) && !self.advance(problem) {
            return None;
        }
        self.current.as_ref().and_then(BucketReader::record)
    }

    /// Gives back the record just taken (it did not fit the caller's batch);
    /// the next call returns it again.
    pub fn put_back(&mut self) {
        debug_assert!(!self.again, "one record given back at a time");
        self.again = true;
    }

    /// Moves to the next record in range; false at the end.
    fn advance(&mut self, mut problem: impl FnMut(&Path, io::Error)) -> bool {
        loop {
            let reader = match &mut self.current {
                Some(reader) => reader,
                None => {
                    let Some((_, path)) = self.buckets.pop_front() else { return false };
                    match BucketReader::open(&path, &self.buffers) {
                        Ok(reader) => self.current.insert(reader),
                        Err(error) => {
                            problem(&path, error);
                            continue;
                        }
                    }
                }
            };
            match reader.advance() {
                Ok(true) => {
                    let key = reader.record().map(|(key, _)| key).expect("advanced to a record");
                    if (self.low..=self.high).contains(&key) {
                        return true;
                    }
                }
                Ok(false) => self.current = None,
                Err(error) => {
                    problem(reader.path(), error);
                    self.current = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(scan: &mut RangeScan) -> Vec<(u64, Vec<u8>)> {
        std::iter::from_fn(|| scan.next_record(|path, error| panic!("{}: {error}", path.display())).map(|(k, v)| (k, v.to_vec())))
            .collect()
    }

    #[test]
    fn records_come_in_bucket_order_then_insertion_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut channel = DlsChannel::new(dir.path(), "ch", 64);
        for (key, value) in [(0x5727_5806u64, "hello"), (0x5727_5805, "a"), (0x1, "one"), (0x5727_a000, "later"), (0x5727_5806, "dup")] {
            channel.put(key, value.as_bytes()).unwrap();
        }
        let all = collect(&mut channel.scan(0, u64::MAX, ReadBuffers::inline(32)).unwrap());
        let keys: Vec<u64> = all.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, vec![0x1, 0x5727_5806, 0x5727_5805, 0x5727_5806, 0x5727_a000]);
        let range = collect(&mut channel.scan(0x5727_5806, 0x5727_a000, ReadBuffers::inline(32)).unwrap());
        assert_eq!(range.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec![0x5727_5806, 0x5727_5806, 0x5727_a000]);
        assert!(collect(&mut channel.scan(10, 1, ReadBuffers::inline(32)).unwrap()).is_empty());
    }

    #[test]
    fn a_detached_bucket_leaves_the_channel_and_new_writes_start_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut channel = DlsChannel::new(dir.path(), "ch", 64);
        channel.put(0x1000, b"old").unwrap();
        assert_eq!(channel.buckets().unwrap().len(), 1);
        let detached = channel.detach_bucket(1).unwrap();
        assert!(detached.to_string_lossy().ends_with("001.tmp"));
        assert!(channel.buckets().unwrap().is_empty());
        channel.put(0x1001, b"new").unwrap();
        let all = collect(&mut channel.scan(0, u64::MAX, ReadBuffers::inline(64)).unwrap());
        assert_eq!(all, vec![(0x1001, b"new".to_vec())]);
        let mut reader = BucketReader::open(&detached, &ReadBuffers::inline(64)).unwrap();
        assert_eq!(reader.next_record().unwrap(), Some((0x1000, b"old".to_vec())));
    }

    #[test]
    fn checkpoints_name_every_bucket_written_with_its_synced_length() {
        let dir = tempfile::tempdir().unwrap();
        let mut channel = DlsChannel::new(dir.path(), "ch", 1 << 16);
        // Five buckets: two are closed (LRU) before the checkpoint.
        for bucket in 0..5u64 {
            channel.put(bucket << 12, b"v").unwrap();
        }
        let mut lines = channel.checkpoint().unwrap();
        lines.sort_by_key(|c| c.bucket_start);
        assert_eq!(lines.len(), 5);
        for (i, line) in lines.iter().enumerate() {
            assert_eq!((line.bucket_start, line.length), ((i as u64) << 12, 16 + 17 + 1));
            let path = bucket_path(&dir.path().join("ch"), i as u64);
            assert_eq!(fs::metadata(path).unwrap().len(), line.length);
        }
        assert!(channel.checkpoint().unwrap().is_empty(), "nothing written since");
        channel.remove().unwrap();
        assert!(!dir.path().join("ch").exists());
        assert!(channel.put(1, b"late").is_err(), "a removed channel takes no more records");
        assert!(!dir.path().join("ch").exists());
    }
}
