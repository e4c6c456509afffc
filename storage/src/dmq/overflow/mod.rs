//! The disk overflow shared by every storage of the node: records that do
//! not fit in their ring, in two files of the data directory, in the
//! original's formats.
//!
//! - `overflow.dat`: the magic `QDSKOF01`, then the records of all channels
//!   appended in push order, each a [`header::RecordHeader`] and the payload.
//!   The records of one channel form a chain: each header holds the distance
//!   to the channel's next record, 0 in the newest one.
//! - `ofchannels.csv` ([`index`]): per channel the name, counts and the
//!   offsets of its oldest and newest record. Channel ids live only in the
//!   record headers.
//!
//! Push appends the record, then links it from the channel's previous newest
//! record (so a crash in between leaves an unlinked record at the end, not a
//! link into nothing). Pop reads the oldest record, marks it popped in place
//! and follows the link. When the last record of all channels is popped both
//! files are emptied, which is the only space ever given back, as in the
//! original.
//!
//! Durability, where shoal differs from the original (which writes the index
//! only at clean shutdown): [`Overflow::commit_index`] syncs the data file and
//! replaces the index atomically; the caller runs it every
//! `[Overflow] write_index_ms`. The index is also committed at once whenever
//! a channel starts a new chain or is removed or renamed, so every chain on
//! disk is reachable from the committed index. At open each chain is walked
//! from its indexed oldest record: popped records are skipped and records
//! pushed after the commit are found through the links, so after a kill
//! nothing pushed is lost and nothing popped comes back.
//!
//! Open problems are reported, not fatal ([`OverflowProblem`]): a bad index
//! line or a chain that breaks (a truncated or damaged data file) loses only
//! what cannot be reached. The original aborts its start on any of them.
//! Only a data file that does not start with the magic is refused.

pub mod header;
pub mod index;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use header::{popped_mark, valid_id, HeaderError, RecordHeader, HEADER_LEN};
use index::{IndexEntry, DATA_START};

/// Name of the data file.
pub const DATA_FILE: &str = "overflow.dat";
/// Name of the index file.
pub const INDEX_FILE: &str = "ofchannels.csv";
/// First bytes of a non-empty data file.
pub const MAGIC: &[u8; 8] = b"QDSKOF01";
/// Where a data file with records but no index is moved, so that it is
/// neither lost nor mistaken for live data.
pub const UNINDEXED_FILE: &str = "overflow.dat.unindexed";

/// An error that stops the overflow from working.
#[derive(Debug, thiserror::Error)]
pub enum OverflowError {
    /// A file operation failed.
    #[error("disk overflow I/O error: {0}")]
    Io(#[from] io::Error),
    /// `overflow.dat` is not a data file of this format; nothing was touched.
    #[error(
        "overflow.dat does not start with QDSKOF01 (not an overflow data file, or a newer format)"
    )]
    Magic,
    /// A channel's oldest record cannot be read at run time; the channel's
    /// remaining records were dropped, since the chain cannot be followed.
    #[error("disk overflow channel '{name}': record at {offset} unusable ({reason}); its {lost} records were dropped")]
    Corrupt {
        /// Storage name.
        name: String,
        /// Offset of the bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
        /// Records dropped.
        lost: u64,
    },
}

/// Something found at open that cost records or needs attention; the
/// overflow works anyway.
#[derive(Debug, thiserror::Error)]
pub enum OverflowProblem {
    /// An index line was not used.
    #[error(transparent)]
    Index(#[from] index::IndexError),
    /// A channel's chain broke at `offset`; the records before it are kept.
    #[error("disk overflow channel '{name}': chain broken at offset {offset} ({reason}); kept {kept} records")]
    Chain {
        /// Storage name.
        name: String,
        /// Where the chain broke.
        offset: u64,
        /// What is wrong there.
        reason: String,
        /// Live records kept.
        kept: u64,
    },
    /// The data file had records but the index named no channel (the
    /// original's state after a kill); the file was moved aside untouched.
    #[error("overflow.dat has {bytes} bytes but the index names no channel; moved to {}", moved_to.display())]
    Unindexed {
        /// Size of the moved file.
        bytes: u64,
        /// Where it is now.
        moved_to: PathBuf,
    },
}

/// The state of one channel.
#[derive(Debug, Clone)]
struct Channel {
    id: u32,
    records: u64,
    bytes: u64,
    /// Offset of the oldest record; meaningless when empty.
    first: u64,
    /// Offset of the newest record; meaningless when empty.
    last: u64,
    /// The newest record's header, rewritten when the next record is linked.
    last_header: RecordHeader,
}

/// The disk overflow of a data directory.
pub struct Overflow {
    dir: PathBuf,
    data: File,
    /// Size of the data file, i.e. where the next record goes.
    end: u64,
    channels: BTreeMap<String, Channel>,
    highest_id: u32,
    records: u64,
    bytes: u64,
}

impl Overflow {
    /// Opens (creating if missing) the overflow files of `dir` and recovers
    /// every channel reachable from the index.
    pub fn open(dir: &Path) -> Result<(Overflow, Vec<OverflowProblem>), OverflowError> {
        let data_path = dir.join(DATA_FILE);
        let data = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data_path)?;
        let end = data.metadata()?.len();
        if end > 0 {
            let mut magic = [0u8; 8];
            if end < DATA_START || data.read_exact_at(&mut magic, 0).is_err() || &magic != MAGIC {
                return Err(OverflowError::Magic);
            }
        }
        let text = match fs::read(dir.join(INDEX_FILE)) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let (entries, index_errors) = index::parse(&text);
        let mut problems: Vec<OverflowProblem> = index_errors.into_iter().map(Into::into).collect();
        let mut overflow = Overflow {
            dir: dir.to_owned(),
            data,
            end,
            channels: BTreeMap::new(),
            highest_id: 0,
            records: 0,
            bytes: 0,
        };
        for entry in &entries {
            let (channel, problem) = overflow.walk(entry)?;
            problems.extend(problem);
            let Some(channel) = channel else { continue };
            if overflow.channels.values().any(|c| c.id == channel.id) {
                problems.push(OverflowProblem::Chain {
                    name: entry.name.clone(),
                    offset: entry.first,
                    reason: format!(
                        "channel id {} already belongs to another channel",
                        channel.id
                    ),
                    kept: 0,
                });
                continue;
            }
            overflow.highest_id = overflow.highest_id.max(channel.id);
            overflow.records += channel.records;
            overflow.bytes += channel.bytes;
            overflow.channels.insert(entry.name.clone(), channel);
        }
        overflow.channels.retain(|_, c| c.records > 0);
        if overflow.records == 0 && overflow.end > DATA_START {
            if entries.is_empty() {
                let moved_to = dir.join(UNINDEXED_FILE);
                fs::rename(&data_path, &moved_to)?;
                problems.push(OverflowProblem::Unindexed {
                    bytes: overflow.end,
                    moved_to,
                });
                overflow.data = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&data_path)?;
                overflow.end = 0;
            }
            // Otherwise every indexed record had been popped.
            overflow.empty_files()?;
        }
        Ok((overflow, problems))
    }

    /// Pushes `record` to channel `name`, creating the channel on first use.
    pub fn push(&mut self, name: &str, record: &[u8]) -> Result<(), OverflowError> {
        if self.end == 0 {
            self.data.write_all_at(MAGIC, 0)?;
            self.end = DATA_START;
        }
        let id = match self.channels.get(name) {
            Some(channel) => channel.id,
            None => self.new_id()?,
        };
        let pos = self.end;
        let header = RecordHeader {
            channel: id,
            next_offset: 0,
            length: record.len() as u64,
        };
        let mut bytes = Vec::with_capacity(HEADER_LEN as usize + record.len());
        bytes.extend_from_slice(&header.encode());
        bytes.extend_from_slice(record);
        self.data.write_all_at(&bytes, pos)?;
        self.end += bytes.len() as u64;

        let channel = self.channels.entry(name.to_owned()).or_insert(Channel {
            id,
            records: 0,
            bytes: 0,
            first: 0,
            last: 0,
            last_header: header,
        });
        let new_chain = channel.records == 0;
        if new_chain {
            channel.first = pos;
        } else {
            assert!(channel.last < pos, "records are appended");
            channel.last_header.next_offset = (pos - channel.last) as i64;
            self.data
                .write_all_at(&channel.last_header.encode(), channel.last)?;
        }
        channel.last = pos;
        channel.last_header = header;
        channel.records += 1;
        channel.bytes += record.len() as u64;
        self.records += 1;
        self.bytes += record.len() as u64;
        if new_chain {
            self.commit_index()?;
        }
        Ok(())
    }

    /// Pops the oldest record of channel `name`.
    pub fn pop(&mut self, name: &str) -> Result<Option<Vec<u8>>, OverflowError> {
        let Some(channel) = self.channels.get(name).filter(|c| c.records > 0) else {
            return Ok(None);
        };
        let (id, pos) = (channel.id, channel.first);
        let header = match read_header(&self.data, self.end, pos) {
            Ok(header) if header.channel == id => header,
            Ok(header) => {
                return Err(self.drop_corrupt(
                    name,
                    pos,
                    format!("belongs to channel {}", header.channel),
                ))
            }
            Err(ReadError::Io(e)) => return Err(e.into()),
            Err(bad) => return Err(self.drop_corrupt(name, pos, bad.to_string())),
        };
        let mut payload = vec![0u8; header.length as usize];
        self.data.read_exact_at(&mut payload, pos + HEADER_LEN)?;
        let popped = RecordHeader {
            channel: popped_mark(id),
            ..header
        };
        self.data.write_all_at(&popped.encode(), pos)?;
        let channel = self.channels.get_mut(name).expect("checked above");
        channel.records -= 1;
        channel.bytes -= header.length;
        self.records -= 1;
        self.bytes -= header.length;
        if channel.records > 0 {
            let next = pos
                .checked_add_signed(header.next_offset)
                .filter(|&next| next > pos && next <= channel.last);
            match next {
                Some(next) => channel.first = next,
                None => return Err(self.drop_corrupt(name, pos, "link out of the channel".into())),
            }
        } else if self.records == 0 {
            self.empty_files()?;
        }
        Ok(Some(payload))
    }

    /// Records of channel `name`.
    pub fn records(&self, name: &str) -> u64 {
        self.channels.get(name).map_or(0, |c| c.records)
    }

    /// Payload bytes of channel `name`.
    pub fn bytes(&self, name: &str) -> u64 {
        self.channels.get(name).map_or(0, |c| c.bytes)
    }

    /// Records of all channels.
    pub fn total_records(&self) -> u64 {
        self.records
    }

    /// Payload bytes of all channels.
    pub fn total_bytes(&self) -> u64 {
        self.bytes
    }

    /// Names of the channels holding records, in name order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.channels
            .iter()
            .filter(|(_, c)| c.records > 0)
            .map(|(name, _)| name.as_str())
    }

    /// Gives channel `old` the name `new` (a plain queue becoming a
    /// subscriber's); its id and records stay.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), OverflowError> {
        assert!(
            !self.channels.contains_key(new),
            "overflow channel '{new}' exists already"
        );
        if let Some(channel) = self.channels.remove(old) {
            let had_records = channel.records > 0;
            self.channels.insert(new.to_owned(), channel);
            if had_records {
                self.commit_index()?;
            }
        }
        Ok(())
    }

    /// Drops channel `name` and its records.
    pub fn remove(&mut self, name: &str) -> Result<(), OverflowError> {
        let Some(channel) = self.channels.remove(name) else {
            return Ok(());
        };
        self.records -= channel.records;
        self.bytes -= channel.bytes;
        if self.channels.is_empty() {
            self.highest_id = 0;
        }
        if self.records == 0 {
            self.empty_files()
        } else if channel.records > 0 {
            self.commit_index()
        } else {
            Ok(())
        }
    }

    /// Makes everything pushed and popped so far survive a crash: syncs the
    /// data file, then replaces the index through a synced temporary file.
    pub fn commit_index(&mut self) -> Result<(), OverflowError> {
        self.data.sync_data()?;
        let entries: Vec<IndexEntry> = self
            .channels
            .iter()
            .filter(|(_, c)| c.records > 0)
            .map(|(name, c)| IndexEntry {
                name: name.clone(),
                records: c.records,
                bytes: c.bytes,
                first: c.first,
                last: c.last,
            })
            .collect();
        let temp = self.dir.join(format!("{INDEX_FILE}.tmp"));
        let mut file = File::create(&temp)?;
        file.write_all(index::format(&entries).as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, self.dir.join(INDEX_FILE))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }

    /// Clean shutdown: commits the index, or deletes both files when the
    /// overflow is empty (as the original does).
    pub fn close(mut self) -> Result<(), OverflowError> {
        if self.records > 0 {
            return self.commit_index();
        }
        for file in [INDEX_FILE, DATA_FILE] {
            match fs::remove_file(self.dir.join(file)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// A fresh channel id: one above the highest in use.
    fn new_id(&mut self) -> Result<u32, OverflowError> {
        let id = self.highest_id + 1;
        if !valid_id(id) {
            return Err(io::Error::other("disk overflow channel ids exhausted").into());
        }
        self.highest_id = id;
        Ok(id)
    }

    /// Empties both files once no record is left, the index first: a crash
    /// in between leaves only popped records that no index names, which open
    /// moves aside rather than guessing.
    fn empty_files(&mut self) -> Result<(), OverflowError> {
        assert_eq!(
            self.records, 0,
            "emptying the overflow files with records left"
        );
        File::create(self.dir.join(INDEX_FILE))?;
        self.data.set_len(0)?;
        self.end = 0;
        for channel in self.channels.values_mut() {
            assert_eq!(channel.records, 0);
        }
        Ok(())
    }

    /// Drops the rest of a channel whose oldest record cannot be used and
    /// returns the error describing it.
    fn drop_corrupt(&mut self, name: &str, offset: u64, reason: String) -> OverflowError {
        let lost = self.channels.get(name).map_or(0, |c| c.records);
        if let Err(e) = self.remove(name) {
            return e;
        }
        OverflowError::Corrupt {
            name: name.to_owned(),
            offset,
            reason,
            lost,
        }
    }

    /// Follows the chain of index entry `entry`: skips the popped records at
    /// its start and counts the live ones up to the newest. A break keeps the
    /// records before it and makes the last of them the newest on disk.
    fn walk(
        &mut self,
        entry: &IndexEntry,
    ) -> Result<(Option<Channel>, Option<OverflowProblem>), OverflowError> {
        let mut channel: Option<Channel> = None;
        let mut id = None;
        let mut pos = entry.first;
        let broken = loop {
            let header = match read_header(&self.data, self.end, pos) {
                Ok(header) => header,
                Err(ReadError::Io(e)) => return Err(e.into()),
                Err(bad) => break Some(bad.to_string()),
            };
            let owner = *id.get_or_insert(header.owner());
            if header.owner() != owner || !valid_id(owner) {
                break Some(format!(
                    "record of channel {} in the chain of channel {owner}",
                    header.channel
                ));
            }
            if header.is_popped() {
                if channel.is_some() {
                    break Some("popped record after a live one".into());
                }
            } else {
                let c = channel.get_or_insert(Channel {
                    id: owner,
                    records: 0,
                    bytes: 0,
                    first: pos,
                    last: pos,
                    last_header: header,
                });
                c.records += 1;
                c.bytes += header.length;
                c.last = pos;
                c.last_header = header;
            }
            if header.next_offset == 0 {
                break None;
            }
            match pos.checked_add_signed(header.next_offset) {
                Some(next) if next >= pos + HEADER_LEN + header.length => pos = next,
                _ => {
                    break Some(format!(
                        "link {} points backwards or into the record",
                        header.next_offset
                    ))
                }
            }
        };
        let Some(reason) = broken else {
            return Ok((channel, None));
        };
        let kept = channel.as_ref().map_or(0, |c| c.records);
        if let Some(c) = channel.as_mut().filter(|c| c.last_header.next_offset != 0) {
            // Cut the chain so that the file stays readable by the original.
            c.last_header.next_offset = 0;
            self.data.write_all_at(&c.last_header.encode(), c.last)?;
        }
        Ok((
            channel,
            Some(OverflowProblem::Chain {
                name: entry.name.clone(),
                offset: pos,
                reason,
                kept,
            }),
        ))
    }
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Io(io::Error),
    #[error("record header ends past the end of the file")]
    HeaderCut,
    #[error("invalid record header: {0}")]
    Header(#[from] HeaderError),
    #[error("payload of {0} bytes ends past the end of the file")]
    PayloadCut(u64),
}

/// Reads and checks the header of the record at `pos` of a data file of
/// `end` bytes, including that its payload lies inside the file, so that a
/// lying length is never allocated.
fn read_header(data: &File, end: u64, pos: u64) -> Result<RecordHeader, ReadError> {
    if pos < DATA_START || pos.checked_add(HEADER_LEN).is_none_or(|e| e > end) {
        return Err(ReadError::HeaderCut);
    }
    let mut bytes = [0u8; HEADER_LEN as usize];
    data.read_exact_at(&mut bytes, pos).map_err(ReadError::Io)?;
    let header = RecordHeader::decode(&bytes)?;
    if header.length > end - pos - HEADER_LEN {
        return Err(ReadError::PayloadCut(header.length));
    }
    Ok(header)
}
