//! `data/checkpoint.dat`: per bucket written since the last commit, the
//! length known to be on disk, in the original's text format (`<channel>
//! <first key of the bucket, decimal> <length, decimal>` per line), and the
//! crash recovery that cuts each listed bucket back to that length.
//!
//! The file is written to `checkpoint.dat.tmp`, fsynced and renamed, and the
//! directory fsynced, so a crash leaves the old list or the new one. A clean
//! shutdown deletes it: nothing needs cutting then.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::channel_name::is_valid_channel_name;
use super::layout::{bucket_of, bucket_path};

/// One line: a bucket and the length of it that is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The channel.
    pub channel: String,
    /// The first key of the bucket.
    pub bucket_start: u64,
    /// Bytes of the file known to be synced.
    pub length: u64,
}

/// A line of the file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("checkpoint.dat line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The file's path under the working directory's `data/` (the original
/// keeps it there whatever `data_dir` says).
pub fn checkpoint_path(data: &Path) -> PathBuf {
    data.join("checkpoint.dat")
}

/// Parses the file's text; bad lines are reported and skipped (the original
/// stops at the first one, leaving later buckets uncut).
pub fn parse(text: &str) -> (Vec<Checkpoint>, Vec<LineError>) {
    let mut checkpoints = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| LineError { line: index + 1, reason: reason.to_string() };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [channel, start, length] = fields[..] else {
            errors.push(bad("expected '<channel> <bucket start> <length>'"));
            continue;
        };
        if !is_valid_channel_name(channel.as_bytes()) {
            errors.push(bad("invalid channel name"));
            continue;
        }
        match (start.parse::<u64>(), length.parse::<u64>()) {
            (Ok(bucket_start), Ok(length)) => {
                checkpoints.push(Checkpoint { channel: channel.to_string(), bucket_start, length })
            }
            _ => errors.push(bad("invalid bucket start or length")),
        }
    }
    (checkpoints, errors)
}

/// The file's text for these checkpoints.
pub fn format(checkpoints: &[Checkpoint]) -> String {
    checkpoints.iter().map(|c| format!("{} {} {}\n", c.channel, c.bucket_start, c.length)).collect()
}

/// Replaces the file at `path` with `checkpoints`: temporary file, fsync,
/// rename, directory fsync.
pub fn write(path: &Path, checkpoints: &[Checkpoint]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let mut file = File::create(&temp)?;
    file.write_all(format(checkpoints).as_bytes())?;
    file.sync_all()?;
    fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// What recovery did to one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncated {
    /// The bucket file.
    pub path: PathBuf,
    /// Its length found.
    pub from: u64,
    /// Its length now.
    pub to: u64,
}

/// Crash recovery: cuts every listed bucket under `data_dir` that is longer
/// than its checkpoint back to it (and syncs it). Missing files are fine.
pub fn truncate_to(data_dir: &Path, checkpoints: &[Checkpoint]) -> io::Result<Vec<Truncated>> {
    let mut done = Vec::new();
    for checkpoint in checkpoints {
        let path = bucket_path(&data_dir.join(&checkpoint.channel), bucket_of(checkpoint.bucket_start));
        let file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            // Nothing there that a read would serve.
            Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::IsADirectory) => continue,
            Err(error) => return Err(at(&path, error)),
        };
        let from = file.metadata().map_err(|e| at(&path, e))?.len();
        if from > checkpoint.length {
            file.set_len(checkpoint.length).and_then(|()| file.sync_all()).map_err(|e| at(&path, e))?;
            done.push(Truncated { path, from, to: checkpoint.length });
        }
    }
    Ok(done)
}

/// `error` with the path it happened on (recovery errors stop the start,
/// so the operator must know which file).
fn at(path: &Path, error: io::Error) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Crash recovery for buckets the checkpoint does not list (written for the
/// first time since the last commit): every bucket of the channel modified
/// at or after `since` is read, and a torn or partial last record is cut
/// off at the end of the last complete one. A parity failure is left alone
/// (the reader stops there anyway; cutting could lose good records behind).
pub fn cut_torn_tails(channel_dir: &Path, since: std::time::SystemTime) -> io::Result<Vec<Truncated>> {
    use super::bucket::BucketReader;
    use super::record::BucketEnd;
    let mut done = Vec::new();
    for (_, path) in super::layout::buckets_in_range(channel_dir, 0, u64::MAX)? {
        let cut = || -> io::Result<Option<Truncated>> {
            let metadata = fs::metadata(&path)?;
            if !metadata.is_file() || metadata.modified()? < since {
                return Ok(None);
            }
            let mut reader = BucketReader::open(&path, &super::chunk_reader::ReadBuffers::inline(1 << 16))?;
            while reader.next_record()?.is_some() {}
            if !matches!(reader.ended, Some(BucketEnd::Torn | BucketEnd::Fragment)) {
                return Ok(None);
            }
            let file = OpenOptions::new().write(true).open(&path)?;
            file.set_len(reader.position())?;
            file.sync_all()?;
            Ok(Some(Truncated { path: path.clone(), from: metadata.len(), to: reader.position() }))
        };
        done.extend(cut().map_err(|e| at(&path, e))?);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_lines_parse_and_bad_ones_are_reported() {
        let text = "ch1 1462194176 0\nch3 1610612736 92\nnch 18446744073709547520 0\nbad.name 1 2\nch 1\n";
        let (checkpoints, errors) = parse(text);
        assert_eq!(checkpoints.len(), 3);
        assert_eq!(checkpoints[1], Checkpoint { channel: "ch3".into(), bucket_start: 1_610_612_736, length: 92 });
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![4, 5]);
        assert_eq!(format(&checkpoints), "ch1 1462194176 0\nch3 1610612736 92\nnch 18446744073709547520 0\n");
    }

    #[test]
    fn recovery_cuts_buckets_back_to_their_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = bucket_path(&dir.path().join("ch"), bucket_of(0x5727_5806));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, vec![7u8; 114]).unwrap();
        let checkpoints = vec![
            Checkpoint { channel: "ch".into(), bucket_start: 0x5727_5000, length: 50 },
            Checkpoint { channel: "gone".into(), bucket_start: 0, length: 0 },
            // Not a bucket file: nothing to cut, and the start goes on.
            Checkpoint { channel: "odd".into(), bucket_start: 0x5727_5000, length: 0 },
        ];
        fs::create_dir_all(bucket_path(&dir.path().join("odd"), bucket_of(0x5727_5000))).unwrap();
        let file = checkpoint_path(dir.path());
        write(&file, &checkpoints).unwrap();
        let (read, errors) = parse(&fs::read_to_string(&file).unwrap());
        assert!(errors.is_empty());
        let done = truncate_to(dir.path(), &read).unwrap();
        assert_eq!(done, vec![Truncated { path: path.clone(), from: 114, to: 50 }]);
        assert_eq!(fs::metadata(&path).unwrap().len(), 50);
        assert!(truncate_to(dir.path(), &read).unwrap().is_empty(), "a second run changes nothing");
    }

    #[test]
    fn unlisted_buckets_lose_only_their_torn_tail() {
        use crate::dls::bucket::BucketWriter;
        let dir = tempfile::tempdir().unwrap();
        let channel = dir.path().join("ch");
        let path = bucket_path(&channel, bucket_of(0x10));
        let mut writer = BucketWriter::open(&path, 1).unwrap();
        writer.append(0x10, b"kept").unwrap();
        writer.append(0x11, b"torn value").unwrap();
        let whole = writer.sync().unwrap();
        drop(writer);
        OpenOptions::new().write(true).open(&path).unwrap().set_len(whole - 4).unwrap();
        let before = std::time::SystemTime::UNIX_EPOCH;
        let done = cut_torn_tails(&channel, before).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(fs::metadata(&path).unwrap().len(), 16 + 17 + 4);
        // Appending after the repair gives a readable bucket again.
        let mut writer = BucketWriter::open(&path, 1).unwrap();
        writer.append(0x12, b"after").unwrap();
        drop(writer);
        let mut reader = crate::dls::bucket::BucketReader::open(&path, &crate::dls::chunk_reader::ReadBuffers::inline(64)).unwrap();
        let mut keys = Vec::new();
        while let Some((key, _)) = reader.next_record().unwrap() {
            keys.push(key);
        }
        assert_eq!(keys, vec![0x10, 0x12]);
    }
}
