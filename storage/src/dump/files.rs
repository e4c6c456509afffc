//! Dump files in a data directory: writing one safely, and finding the dumps
//! to load at start.
//!
//! A dump is written to `<channel>.tcm.<random>.dumping` (mode 0600), synced,
//! then the current `<channel>.tcm` is kept as `<channel>.tcm.backup` (via a
//! hard link renamed over the old backup, so `<channel>.tcm` never
//! disappears), the new file is renamed over `<channel>.tcm`, and the
//! directory is synced. A crash at any point leaves a complete `.tcm` (old or
//! new) and at worst a stray `.dumping` file, which loading ignores.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::format::DumpWriter;

/// Suffix of a channel's dump.
pub const DUMP_SUFFIX: &str = ".tcm";
/// Suffix of the previous dump kept as a fallback.
pub const BACKUP_SUFFIX: &str = ".tcm.backup";
/// Suffix of a dump being written.
pub const TEMP_SUFFIX: &str = ".dumping";
/// Subdirectory holding the dumps of removed channels (never loaded).
pub const DELETED_DIR: &str = "deleted";

/// Write buffer of a dump, for callers that write record by record; callers
/// that hand over larger chunks bypass it (no extra copy).
const WRITE_BUFFER: usize = 256 << 10;

/// What a finished dump wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpSummary {
    /// Records written.
    pub records: u64,
    /// Size of the file, padding included.
    pub bytes: u64,
}

/// The dump file path of `channel`.
pub fn dump_path(dir: &Path, channel: &str) -> PathBuf {
    dir.join(format!("{channel}{DUMP_SUFFIX}"))
}

/// The backup path of `channel`.
pub fn backup_path(dir: &Path, channel: &str) -> PathBuf {
    dir.join(format!("{channel}{BACKUP_SUFFIX}"))
}

/// Writes `channel`'s dump into `dir`: `fill` writes the records; the
/// previous dump becomes the backup.
pub fn write_dump(
    dir: &Path,
    channel: &str,
    fill: impl FnOnce(&mut DumpFileWriter) -> io::Result<()>,
) -> io::Result<DumpSummary> {
    let (temp_path, file) = create_temp(dir, &format!("{channel}{DUMP_SUFFIX}"))?;
    let written = std::thread::scope(|scope| {
        let file = EarlySyncFile::new(file, scope)?;
        let mut writer = DumpWriter::new(BufWriter::with_capacity(WRITE_BUFFER, file))?;
        fill(&mut writer)?;
        let records = writer.records();
        let (buffered, bytes) = writer.finish()?;
        let file = buffered.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.into_file().sync_all()?;
        Ok(DumpSummary { records, bytes })
    });
    let summary = match written {
        Ok(summary) => summary,
        Err(error) => {
            let _ = fs::remove_file(&temp_path);
            return Err(error);
        }
    };
    let current = dump_path(dir, channel);
    if current.exists() {
        let link = temp_name(dir, &format!("{channel}{BACKUP_SUFFIX}"))?;
        fs::hard_link(&current, &link)?;
        fs::rename(&link, backup_path(dir, channel))?;
    }
    fs::rename(&temp_path, &current)?;
    File::open(dir)?.sync_all()?;
    Ok(summary)
}

/// The writer a dump's records go to.
pub type DumpFileWriter<'scope> = DumpWriter<BufWriter<EarlySyncFile<'scope>>>;

/// Bytes written between two background syncs.
const SYNC_STEP: u64 = 16 << 20;

/// A file that asks a helper thread to sync what was written every
/// `SYNC_STEP` bytes, so the disk works while the dump is still being
/// copied and the final fsync has only the tail left to wait for.
pub struct EarlySyncFile<'scope> {
    file: File,
    unsynced: u64,
    syncer: std::sync::mpsc::Sender<()>,
    _thread: std::thread::ScopedJoinHandle<'scope, ()>,
}

impl<'scope> EarlySyncFile<'scope> {
    fn new<'env>(file: File, scope: &'scope std::thread::Scope<'scope, 'env>) -> io::Result<Self> {
        let to_sync = file.try_clone()?;
        let (syncer, requests) = std::sync::mpsc::channel::<()>();
        let thread = scope.spawn(move || {
            while requests.recv().is_ok() {
                while requests.try_recv().is_ok() {}
                // Errors surface in the final sync_all of the writer.
                let _ = to_sync.sync_data();
            }
        });
        Ok(EarlySyncFile { file, unsynced: 0, syncer, _thread: thread })
    }

    /// The file, once everything is written (stops the helper thread).
    fn into_file(self) -> File {
        self.file
    }
}

impl io::Write for EarlySyncFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written as u64;
        if self.unsynced >= SYNC_STEP {
            self.unsynced = 0;
            let _ = self.syncer.send(());
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Moves a removed channel's dump (and backup) to `deleted/`, as the
/// original does, so that it is not loaded again.
pub fn move_to_deleted(dir: &Path, channel: &str) -> io::Result<()> {
    let deleted = dir.join(DELETED_DIR);
    fs::create_dir_all(&deleted)?;
    for path in [dump_path(dir, channel), backup_path(dir, channel)] {
        if path.exists() {
            let name = path.file_name().expect("dump paths have a file name");
            fs::rename(&path, deleted.join(name))?;
        }
    }
    File::open(dir)?.sync_all()
}

/// The dump files of one channel found in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFiles {
    /// The channel name (the file name without suffix).
    pub channel: String,
    /// `<channel>.tcm`, if present.
    pub dump: Option<PathBuf>,
    /// `<channel>.tcm.backup`, if present.
    pub backup: Option<PathBuf>,
}

/// What else a data directory held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DirectoryScan {
    /// Channels with a dump or a backup, sorted by name.
    pub channels: Vec<ChannelFiles>,
    /// Unfinished dumps (`*.dumping`), left by a crash; ignored.
    pub unfinished: Vec<PathBuf>,
    /// Other files, ignored.
    pub ignored: Vec<PathBuf>,
}

/// Lists the dumps of `dir` (creating it if missing).
pub fn scan_directory(dir: &Path) -> io::Result<DirectoryScan> {
    fs::create_dir_all(dir)?;
    let mut scan = DirectoryScan::default();
    let mut channels: std::collections::BTreeMap<String, ChannelFiles> = Default::default();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() {
            if name != DELETED_DIR {
                scan.ignored.push(path);
            }
            continue;
        }
        let (channel, is_backup) = if let Some(channel) = name.strip_suffix(BACKUP_SUFFIX) {
            (channel, true)
        } else if let Some(channel) = name.strip_suffix(DUMP_SUFFIX) {
            (channel, false)
        } else if name.ends_with(TEMP_SUFFIX) {
            scan.unfinished.push(path);
            continue;
        } else {
            scan.ignored.push(path);
            continue;
        };
        if !crate::channel_name::is_valid_channel_name(channel.as_bytes()) {
            scan.ignored.push(path);
            continue;
        }
        let files = channels.entry(channel.to_string()).or_insert_with(|| ChannelFiles {
            channel: channel.to_string(),
            dump: None,
            backup: None,
        });
        if is_backup {
            files.backup = Some(path);
        } else {
            files.dump = Some(path);
        }
    }
    scan.channels = channels.into_values().collect();
    Ok(scan)
}

/// Creates `<base>.<6 chars>.dumping` exclusively, mode 0600.
fn create_temp(dir: &Path, base: &str) -> io::Result<(PathBuf, File)> {
    loop {
        let path = temp_name(dir, base)?;
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
}

/// A fresh `<base>.<6 random chars>.dumping` path in `dir` (the original's
/// temporary name pattern).
fn temp_name(dir: &Path, base: &str) -> io::Result<PathBuf> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let suffix: String = random.iter().map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char).collect();
    Ok(dir.join(format!("{base}.{suffix}{TEMP_SUFFIX}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dump::format::DumpReader;

    fn records_in(path: &Path) -> Vec<u64> {
        let mut reader = DumpReader::new(File::open(path).unwrap()).unwrap();
        let mut keys = Vec::new();
        while let Some(record) = reader.next_record().unwrap() {
            if let crate::dump::format::DumpKey::Hash(key) = record.key {
                keys.push(key);
            }
        }
        keys
    }

    #[test]
    fn a_second_dump_keeps_the_first_as_backup() {
        let dir = tempfile::tempdir().unwrap();
        let first = write_dump(dir.path(), "ch", |w| w.record(1, b"one")).unwrap();
        assert_eq!(first, DumpSummary { records: 1, bytes: 512 });
        write_dump(dir.path(), "ch", |w| {
            w.record(1, b"one")?;
            w.record(2, b"two")
        })
        .unwrap();
        assert_eq!(records_in(&dump_path(dir.path(), "ch")), [1, 2]);
        assert_eq!(records_in(&backup_path(dir.path(), "ch")), [1]);
        let mode = fs::metadata(dump_path(dir.path(), "ch")).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let scan = scan_directory(dir.path()).unwrap();
        assert_eq!(scan.channels.len(), 1);
        assert!(scan.unfinished.is_empty() && scan.ignored.is_empty(), "{scan:?}");
    }

    #[test]
    fn a_failed_dump_leaves_the_previous_one_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        write_dump(dir.path(), "ch", |w| w.record(1, b"one")).unwrap();
        let failed = write_dump(dir.path(), "ch", |_| Err(io::Error::other("disk on fire")));
        assert!(failed.is_err());
        assert_eq!(records_in(&dump_path(dir.path(), "ch")), [1]);
        let scan = scan_directory(dir.path()).unwrap();
        assert!(scan.unfinished.is_empty());
        assert!(scan.channels[0].backup.is_none());
    }

    #[test]
    fn scanning_sorts_out_dumps_backups_leftovers_and_strangers() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.tcm", "a.tcm.backup", "b.tcm.backup", "c.tcm.x1Y2z3.dumping", "notes.txt", "bad name.tcm"] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        fs::create_dir(dir.path().join(DELETED_DIR)).unwrap();
        let scan = scan_directory(dir.path()).unwrap();
        let names: Vec<(&str, bool, bool)> =
            scan.channels.iter().map(|c| (c.channel.as_str(), c.dump.is_some(), c.backup.is_some())).collect();
        assert_eq!(names, [("a", true, true), ("b", false, true)]);
        assert_eq!(scan.unfinished.len(), 1);
        assert_eq!(scan.ignored.len(), 2);
    }
}
