//! The node side of a legacy Redistribute: take a new hash range, remember it
//! in `etc/config.ini`, and hand every record the node no longer owns to the
//! node that now does.
//!
//! The flow follows the original dhtnode:
//!
//! 1. [`begin`] (synchronous, in the request): refuse a second concurrent
//!    redistribution and invalid ranges, rewrite `minval`/`maxval` in
//!    `[Server]` of `etc/config.ini` (relative to the working directory, as
//!    the original does whatever `-c` said), then switch the node's range, so
//!    from here on Put/PutBatch/Remove of the keys given away are refused.
//! 2. [`Redistribution::run`] (async, on the connection): record a storage
//!    cap for incoming PutBatch, then for every channel walk all records a
//!    chunk at a time (never holding a shard lock across an await). A record
//!    another listed node owns goes into that node's batch; full batches go
//!    out as legacy PutBatch, records too big for a batch as a single legacy
//!    Put. Records are deleted here only once the target acknowledged them.
//!    If any send failed, the channel is walked again after 2 s, until a
//!    pass succeeds. Only then does the client get its status.
//!
//! Empty values and values of `batch_size` bytes or more are dropped with a
//! warning instead of forwarded, as the original does: no node would accept
//! them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use shoal_protocol::client::legacy::{ClientError, LegacyClient};
use shoal_protocol::legacy::request::RedistributeArgs;
use shoal_storage::dht::hash::{format_hex_key, HashRange};
use shoal_storage::dht::ChannelCursor;

use crate::channels::ChannelEntry;
use crate::counters::Action;
use crate::node::DhtNode;

/// The config file a Redistribute rewrites, relative to the working
/// directory: the original's default config path, not the `-c` argument.
pub const HASH_RANGE_CONFIG: &str = "etc/config.ini";

/// Pause before walking a channel again after a send failed (the original's).
const RETRY_DELAY: Duration = Duration::from_secs(2);

/// A progress line is logged every this many records iterated.
const PROGRESS_EVERY: u64 = 100_000;

/// Records looked at per chunk before the engine yields to other connections
/// on its worker; bounds how long one shard read lock is held too.
const CHUNK_RECORDS: usize = 4096;

/// Value bytes copied out per chunk at most, so large values do not make a
/// chunk hold much memory.
const CHUNK_BYTES: usize = 1 << 20;

/// How long connecting to a target may take before the send counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a target may take to acknowledge one Put or PutBatch before the
/// send counts as failed (the records stay and are retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Default of `[Performance] redist_memory_limit_mulitplier`.
pub const DEFAULT_MEMORY_MULTIPLIER: f64 = 1.1;

const LOG_REQUEST: &str = "dhtnode.request.RedistributeRequest";
const LOG_PROTOCOL: &str = "dhtproto.node.request.Redistribute";
const LOG_PROCESS: &str = "dhtnode.node.RedistributionProcess";
const LOG_CONFIG: &str = "dhtnode.config.HashRangeConfig";

/// Framing a record adds in a batch: the key's and the value's u64 lengths
/// and the 16 hex digits of the key (what `BatchWriter::add` counts).
const BATCH_RECORD_OVERHEAD: usize = 8 + 16 + 8;

/// Whether a redistribution is running, and the storage cap it puts on
/// incoming PutBatch meanwhile; shared by all connections through
/// [`DhtNode::redistribution`].
pub struct RedistributionState {
    shared: Arc<Shared>,
    multiplier_bits: AtomicU64,
}

/// The part a running redistribution holds on to (and clears when dropped).
struct Shared {
    running: AtomicBool,
    /// Bytes PutBatch may fill the storage up to; `u64::MAX` = no cap.
    limit: AtomicU64,
}

impl Default for RedistributionState {
    fn default() -> Self {
        RedistributionState {
            shared: Arc::new(Shared { running: AtomicBool::new(false), limit: AtomicU64::new(u64::MAX) }),
            multiplier_bits: AtomicU64::new(DEFAULT_MEMORY_MULTIPLIER.to_bits()),
        }
    }
}

impl RedistributionState {
    /// Sets `[Performance] redist_memory_limit_mulitplier` (the node's
    /// startup passes the configured value; default 1.1).
    pub fn set_memory_multiplier(&self, multiplier: f64) {
        self.multiplier_bits.store(multiplier.to_bits(), Ordering::Relaxed);
    }

    /// The multiple of the storage size at the start of a redistribution
    /// that PutBatch may fill the storage up to while it runs.
    pub fn memory_multiplier(&self) -> f64 {
        f64::from_bits(self.multiplier_bits.load(Ordering::Relaxed))
    }

    /// Whether a Redistribute is being served.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Whether `more` bytes may be stored by a PutBatch: always outside a
    /// redistribution; during one, only while the storage (`stored`, asked
    /// only then) stays within the cap, so that uneven transfer rates between
    /// nodes cannot grow this node without bound.
    pub fn allows(&self, more: u64, stored: impl FnOnce() -> u64) -> bool {
        let limit = self.shared.limit.load(Ordering::Acquire);
        limit == u64::MAX || stored().saturating_add(more) <= limit
    }

    /// Takes the one redistribution slot, if free.
    fn claim(&self) -> Option<Claim> {
        self.shared
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Claim { shared: Arc::clone(&self.shared) })
    }
}

/// Holds the redistribution slot; dropping it (finished, failed, or the
/// connection's worker stopped) frees the slot and lifts the PutBatch cap.
struct Claim {
    shared: Arc<Shared>,
}

impl Claim {
    fn set_limit(&self, limit: u64) {
        self.shared.limit.store(limit, Ordering::Release);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.shared.limit.store(u64::MAX, Ordering::Release);
        self.shared.running.store(false, Ordering::Release);
    }
}

/// Why a Redistribute was refused before it started (the client gets Error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Another Redistribute is running.
    #[error("a redistribution is already running")]
    Busy,
    /// The node's new range or a target's range is not a range.
    #[error("invalid hash range")]
    InvalidRange,
    /// The new range is empty (the original refuses to set it).
    #[error("empty hash range")]
    EmptyRange,
    /// etc/config.ini could not be rewritten; the range is unchanged.
    #[error("cannot persist the hash range")]
    Persist,
}

/// The original's range validity: `min <= max`, or the empty range.
fn is_valid(min: u64, max: u64) -> bool {
    min <= max || is_empty(min, max)
}

/// The original's magic empty range.
fn is_empty(min: u64, max: u64) -> bool {
    min == u64::MAX && max == 0
}

/// Validates a Redistribute and returns the work to do, starting with
/// [`Redistribution::switch_range`]. Runs synchronously in the request, so a
/// second Redistribute arriving meanwhile is refused at once.
pub fn begin(args: RedistributeArgs, node: &DhtNode) -> Result<Redistribution, Refused> {
    let Some(claim) = node.redistribution.claim() else {
        tracing::error!(target: LOG_PROTOCOL, "Attempt to start multiple simultaneous Redistribute requests");
        return Err(Refused::Busy);
    };
    if !is_valid(args.min, args.max) {
        tracing::error!(target: LOG_PROTOCOL, "Received invalid hash range from client");
        return Err(Refused::InvalidRange);
    }
    if args.targets.iter().any(|t| !is_valid(t.min, t.max)) {
        tracing::error!(target: LOG_PROTOCOL, "Hash range for a node is invalid");
        return Err(Refused::InvalidRange);
    }
    tracing::info!(target: LOG_REQUEST, "Setting hash range: 0x{:016X}..0x{:016X}", args.min, args.max);
    if is_empty(args.min, args.max) {
        tracing::error!(target: LOG_CONFIG, "Invalid hash range: refusing to set an empty range");
        return Err(Refused::EmptyRange);
    }
    let range = HashRange { min: args.min, max: args.max };
    let targets = args
        .targets
        .into_iter()
        .map(|t| Target::new(t.address, t.port, HashRange { min: t.min, max: t.max }))
        .collect();
    Ok(Redistribution { range, targets, claim })
}

/// A validated redistribution whose records are still to be moved.
pub struct Redistribution {
    range: HashRange,
    targets: Vec<Target>,
    claim: Claim,
}

impl Redistribution {
    /// Switches the node to its new range: `etc/config.ini` first, on a
    /// blocking thread (never on the connection's), then memory. On failure
    /// the range is unchanged and the request is refused.
    pub async fn switch_range(&self, node: &DhtNode) -> Result<(), Refused> {
        let range = self.range;
        let config = Path::new(HASH_RANGE_CONFIG);
        let persisted = actix_rt::task::spawn_blocking(move || persist_hash_range(config, range)).await;
        match persisted {
            Ok(Ok(())) => {
                node.set_range(range);
                for target in &self.targets {
                    node.announce_node(&target.address, target.port, target.range);
                }
                Ok(())
            }
            Ok(Err(error)) => {
                tracing::error!(
                    target: LOG_CONFIG,
                    "cannot write the new hash range to {}: {error}; range left unchanged",
                    config.display()
                );
                Err(Refused::Persist)
            }
            Err(error) => {
                tracing::error!(target: LOG_CONFIG, "hash range writer failed: {error}; range left unchanged");
                Err(Refused::Persist)
            }
        }
    }
}

/// Counts of one pass over a channel.
#[derive(Default)]
struct Pass {
    iterated: u64,
    /// `iterated` at which the next progress line is due.
    next_progress: u64,
    forwarded: u64,
    failed: bool,
}

/// One chunk of records taken from a channel: (target index, key, value).
type Chunk = Vec<(usize, u64, Vec<u8>)>;

impl Redistribution {
    /// Moves the records, channel by channel, retrying each channel until
    /// every record for the targets has been acknowledged. Returns when done.
    pub async fn run(mut self, node: &DhtNode) {
        let current = node.channels.total().reported_bytes;
        let multiplier = node.redistribution.memory_multiplier();
        let limit = (current as f64 * multiplier) as u64;
        self.claim.set_limit(limit);
        tracing::info!(
            target: LOG_PROCESS,
            "Starting redistribution. Calculated maximum storage size = {limit} (current: {current} x multipler: {multiplier})"
        );
        for (name, entry) in node.channels.entries() {
            self.channel(node, &name, &entry).await;
        }
        tracing::info!(target: LOG_PROCESS, "Finishing redistribution.");
    }

    /// The target a record goes to: none if this node still owns it or no
    /// listed node does.
    fn owner(&self, key: u64) -> Option<usize> {
        if self.range.owns(key) {
            return None;
        }
        self.targets.iter().position(|t| t.range.owns(key))
    }

    /// Walks one channel until a pass forwards everything it should.
    async fn channel(&mut self, node: &DhtNode, name: &str, entry: &Arc<ChannelEntry>) {
        tracing::info!(target: LOG_REQUEST, "Redistributing channel '{name}'");
        loop {
            if !node.channels.get(name).is_some_and(|current| Arc::ptr_eq(&current, entry)) {
                tracing::warn!(target: LOG_REQUEST, "Channel '{name}' was removed during the redistribution; skipped");
                return;
            }
            let before = entry.storage.stats().records;
            let mut pass = Pass::default();
            self.targets.iter_mut().for_each(|t| t.failed = false);
            let mut cursor = ChannelCursor::new();
            loop {
                let (chunk, more) = self.take_chunk(&mut cursor, entry, name, before, &mut pass);
                for (target, key, value) in chunk {
                    self.forward(node, name, entry, target, key, value, &mut pass).await;
                }
                if !more {
                    break;
                }
                // Other connections share this worker thread.
                tokio::task::yield_now().await;
            }
            for target in &mut self.targets {
                if !target.send_batch(node, name, entry, &mut pass).await {
                    pass.failed = true;
                }
            }
            let now = entry.storage.stats().records;
            if !pass.failed {
                tracing::info!(
                    target: LOG_REQUEST,
                    "Finished redistributing channel '{name}': {}/{before} records iterated, channel now contains {now} records",
                    pass.iterated
                );
                return;
            }
            tracing::error!(
                target: LOG_REQUEST,
                "Finished redistributing channel '{name}': {}/{before} records iterated, channel now contains {now} records (error occurred during iteration over channel, retrying in {}s)",
                pass.iterated,
                RETRY_DELAY.as_secs()
            );
            tokio::time::sleep(RETRY_DELAY).await;
        }
    }

    /// Takes the next records from the cursor (under short shard read locks,
    /// no await) and copies out those to forward. Returns whether records may
    /// remain.
    fn take_chunk(
        &self,
        cursor: &mut ChannelCursor,
        entry: &ChannelEntry,
        name: &str,
        before: u64,
        pass: &mut Pass,
    ) -> (Chunk, bool) {
        let mut chunk = Vec::new();
        let (mut looked_at, mut copied) = (0, 0);
        let more = cursor.next_batch(&entry.storage, |key, value| {
            if looked_at == CHUNK_RECORDS || copied >= CHUNK_BYTES {
                return false;
            }
            looked_at += 1;
            if pass.iterated == pass.next_progress {
                pass.next_progress += PROGRESS_EVERY;
                tracing::trace!(
                    target: LOG_REQUEST,
                    "Progress redistributing channel '{name}': {}/{before} records iterated, {} forwarded, channel now contains {} records",
                    pass.iterated + 1,
                    pass.forwarded,
                    entry.storage.stats().records
                );
            }
            pass.iterated += 1;
            if let Some(target) = self.owner(key) {
                copied += value.len();
                chunk.push((target, key, value.to_vec()));
            }
            true
        });
        (chunk, more)
    }

    /// Deals with one record that belongs to `target`.
    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &mut self,
        node: &DhtNode,
        name: &str,
        entry: &ChannelEntry,
        target: usize,
        key: u64,
        value: Vec<u8>,
        pass: &mut Pass,
    ) {
        let batch_size = node.limits.batch_size;
        let hex = || String::from_utf8_lossy(&format_hex_key(key)).into_owned();
        if value.is_empty() {
            tracing::warn!(target: LOG_REQUEST, "Removing empty record {}", hex());
            entry.storage.remove(key);
            return;
        }
        if value.len() >= batch_size {
            tracing::warn!(target: LOG_REQUEST, "Removing too large record ({} bytes) {}", value.len(), hex());
            entry.storage.remove(key);
            return;
        }
        let target = &mut self.targets[target];
        if target.failed {
            // Already failed in this pass: the record stays for the next one.
            pass.failed = true;
            return;
        }
        if batch_record_size(value.len()) > batch_size {
            tracing::warn!(target: LOG_REQUEST, "Forwarding large record {} ({} bytes) individually", hex(), value.len());
            match target.put(name, key, &value).await {
                Ok(()) => {
                    entry.storage.remove(key);
                    node.counters.action(Action::Forwarded, 1, value.len() as u64);
                    pass.forwarded += 1;
                }
                Err(error) => {
                    tracing::error!(
                        target: LOG_REQUEST,
                        "Error while sending record {} to channel '{name}' at {}:{}: {error}",
                        hex(),
                        target.address,
                        target.port
                    );
                    target.fail();
                    pass.failed = true;
                }
            }
            return;
        }
        if target.batch_bytes + batch_record_size(value.len()) > batch_size
            && !target.send_batch(node, name, entry, pass).await
        {
            pass.failed = true;
            return;
        }
        target.batch_bytes += batch_record_size(value.len());
        target.batch.push((key, value));
    }
}

/// Bytes a record with a value of `value_len` bytes takes in a batch.
fn batch_record_size(value_len: usize) -> usize {
    BATCH_RECORD_OVERHEAD + value_len
}

/// A node records are forwarded to, with its connection and pending batch.
struct Target {
    address: String,
    port: u16,
    range: HashRange,
    client: Option<LegacyClient>,
    batch: Vec<(u64, Vec<u8>)>,
    batch_bytes: usize,
    /// A send to it failed in the current pass: later records for it wait
    /// for the next pass instead of failing one by one.
    failed: bool,
}

impl Target {
    fn new(address: String, port: u16, range: HashRange) -> Self {
        Target { address, port, range, client: None, batch: Vec::new(), batch_bytes: 0, failed: false }
    }

    /// Marks the target failed for this pass and drops its connection.
    fn fail(&mut self) {
        self.failed = true;
        self.client = None;
    }

    /// The connection, opened if needed.
    async fn connected(&mut self) -> Result<&mut LegacyClient, ClientError> {
        if self.client.is_none() {
            let connect = LegacyClient::connect((self.address.as_str(), self.port));
            let client = tokio::time::timeout(CONNECT_TIMEOUT, connect).await.map_err(|_| timed_out("connect"))??;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or(ClientError::Closed)
    }

    /// Sends one record with a legacy Put.
    async fn put(&mut self, channel: &str, key: u64, value: &[u8]) -> Result<(), ClientError> {
        let client = self.connected().await?;
        tokio::time::timeout(REQUEST_TIMEOUT, client.put(channel, key, value))
            .await
            .map_err(|_| timed_out("Put"))?
    }

    /// Sends the pending batch (if any) with a legacy PutBatch and deletes
    /// its records locally once acknowledged. False if the send failed (the
    /// records then stay, for the next pass).
    async fn send_batch(&mut self, node: &DhtNode, name: &str, entry: &ChannelEntry, pass: &mut Pass) -> bool {
        let records = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        if records.is_empty() {
            return true;
        }
        if self.failed {
            return false;
        }
        let refs: Vec<(u64, &[u8])> = records.iter().map(|(key, value)| (*key, value.as_slice())).collect();
        let batch_size = node.limits.batch_size;
        let sent = match self.connected().await {
            Ok(client) => tokio::time::timeout(REQUEST_TIMEOUT, client.put_batch(name, &refs, batch_size))
                .await
                .map_err(|_| timed_out("PutBatch"))
                .and_then(|result| result),
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => {
                let bytes: u64 = records.iter().map(|(_, value)| value.len() as u64).sum();
                for (key, _) in &records {
                    entry.storage.remove(*key);
                }
                node.counters.action(Action::Forwarded, records.len() as u64, bytes);
                pass.forwarded += records.len() as u64;
                true
            }
            Err(error) => {
                tracing::error!(
                    target: LOG_REQUEST,
                    "Error while sending batch of {} records to channel '{name}' at {}:{}: {error}",
                    records.len(),
                    self.address,
                    self.port
                );
                self.fail();
                false
            }
        }
    }
}

fn timed_out(what: &str) -> ClientError {
    ClientError::Io(io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out")))
}

/// Writes `range` into the `minval`/`maxval` lines of `[Server]` in the
/// config file at `path`, changing nothing else, so the node restarts with
/// the range a Redistribute gave it. The new text goes to a temporary file
/// next to the real one (symlinks followed), which is then renamed over it,
/// so a crash never leaves a half-written config; if the directory is not
/// writable the file is overwritten in place, as the original always does
/// (the new text has the same length).
pub fn persist_hash_range(path: &Path, range: HashRange) -> io::Result<()> {
    let path = fs::canonicalize(path)?;
    let mut text = fs::read(&path)?;
    let original = text.clone();
    update_config_value(&mut text, "Server", "minval", &format_hex_key(range.min));
    update_config_value(&mut text, "Server", "maxval", &format_hex_key(range.max));
    if text == original {
        return Ok(());
    }
    match replace_file(&path, &text) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            tracing::warn!(
                target: LOG_CONFIG,
                "cannot replace {} ({error}); rewriting it in place",
                path.display()
            );
            let mut file = OpenOptions::new().write(true).open(&path)?;
            file.seek(io::SeekFrom::Start(0))?;
            file.write_all(&text)?;
            file.sync_all()
        }
        Err(error) => Err(error),
    }
}

/// Replaces `path` by a file holding `content`, through a temporary file in
/// the same directory that keeps the old file's permissions.
fn replace_file(path: &Path, content: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp: PathBuf = dir.join(format!(".{name}.shoal-tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(content)?;
        file.set_permissions(fs::metadata(path)?.permissions())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
        return written;
    }
    // Make the rename itself durable; failing to is not worth failing for.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Replaces in place the value of every line of `section` whose trimmed text
/// starts with `key` (as the original matches it) by `value`, keeping a `0x`
/// prefix and everything else. Like the original it only replaces values of
/// the same length (16 digits), and warns about the others.
fn update_config_value(text: &mut [u8], section: &str, key: &str, value: &[u8; 16]) {
    let mut in_section = false;
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].iter().position(|&b| b == b'\n').map_or(text.len(), |i| start + i);
        let (line_start, line_end) = (start, end);
        start = end + 1;
        let (t0, t1) = trim(text, line_start, line_end);
        let trimmed = &text[t0..t1];
        if trimmed.is_empty() || trimmed.starts_with(b"//") || trimmed.starts_with(b";") || trimmed.starts_with(b"#") {
            continue;
        }
        if trimmed.len() >= 2 && trimmed[0] == b'[' && trimmed[trimmed.len() - 1] == b']' {
            in_section = &trimmed[1..trimmed.len() - 1] == section.as_bytes();
            continue;
        }
        if !in_section || !trimmed.starts_with(key.as_bytes()) {
            continue;
        }
        let Some(equals) = text[line_start..line_end].iter().position(|&b| b == b'=') else {
            tracing::warn!(target: LOG_CONFIG, "invalid key/value in config file: '=' missing");
            continue;
        };
        let (mut v0, v1) = trim(text, line_start + equals + 1, line_end);
        if text[v0..v1].starts_with(b"0x") {
            v0 += 2;
        }
        if v1 - v0 != value.len() {
            tracing::warn!(target: LOG_CONFIG, "cannot modify config value: lengths do not match");
            continue;
        }
        text[v0..v1].copy_from_slice(value);
    }
}

/// The bounds of `text[start..end]` without surrounding white space.
fn trim(text: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && text[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && text[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_protocol::legacy::batch::{Added, BatchWriter};

    fn updated(original: &str, section: &str, key: &str, value: &[u8; 16]) -> String {
        let mut text = original.as_bytes().to_vec();
        update_config_value(&mut text, section, key, value);
        String::from_utf8(text).unwrap()
    }

    const ORIGINAL: &str = "[Server]\nminval = 0x0000000000000000\nmaxval = 0xffffffffffffffff";

    #[test]
    fn config_values_are_replaced_in_place() {
        assert_eq!(
            updated(ORIGINAL, "Server", "minval", b"1234567812345678"),
            "[Server]\nminval = 0x1234567812345678\nmaxval = 0xffffffffffffffff"
        );
        assert_eq!(
            updated(ORIGINAL, "Server", "maxval", b"8765432187654321"),
            "[Server]\nminval = 0x0000000000000000\nmaxval = 0x8765432187654321"
        );
        // Other sections, other keys: untouched.
        assert_eq!(updated(ORIGINAL, "ServerX", "minval", b"1234567812345678"), ORIGINAL);
        assert_eq!(updated(ORIGINAL, "Server", "minvalX", b"1234567812345678"), ORIGINAL);
    }

    #[test]
    fn config_rewrite_keeps_layout_comments_and_other_sections() {
        let original = "; a comment\r\n[Node]\r\nminval = 0x0000000000000000\r\n\r\n[Server]\r\n  \
                        # minval = 0x0000000000000000\r\nminval=0000000000000000   \r\n\
                        maxval = 0XFFFFFFFFFFFFFFFF\r\nmaxval_note = 0x1\r\nport = 1\r\n[Other]\r\nmaxval = 0x0\r\n";
        let mut text = original.as_bytes().to_vec();
        update_config_value(&mut text, "Server", "minval", b"00000000000000ab");
        update_config_value(&mut text, "Server", "maxval", b"7fffffffffffffff");
        let expected = "; a comment\r\n[Node]\r\nminval = 0x0000000000000000\r\n\r\n[Server]\r\n  \
                        # minval = 0x0000000000000000\r\nminval=00000000000000ab   \r\n\
                        maxval = 0XFFFFFFFFFFFFFFFF\r\nmaxval_note = 0x1\r\nport = 1\r\n[Other]\r\nmaxval = 0x0\r\n";
        // `0X` is not stripped (18 chars) and `maxval_note` has the wrong
        // length: both left alone with a warning, as in the original.
        assert_eq!(String::from_utf8(text).unwrap(), expected);
    }

    #[test]
    fn persisting_rewrites_the_file_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.ini");
        let original = "[Server]\naddress = 127.0.0.1\nminval = 0x0000000000000000\nmaxval = 0xffffffffffffffff\n\n[Options_Memory]\nsize_limit = 0\n";
        fs::write(&path, original).unwrap();
        persist_hash_range(&path, HashRange { min: 0x8000_0000_0000_0000, max: u64::MAX }).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            original.replace("minval = 0x0000000000000000", "minval = 0x8000000000000000")
        );
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(persist_hash_range(&dir.path().join("missing.ini"), HashRange::FULL).is_err());
    }

    #[test]
    fn persisting_through_a_symlink_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.ini");
        let link = dir.path().join("config.ini");
        fs::write(&real, ORIGINAL).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        persist_hash_range(&link, HashRange { min: 0, max: 0x7fff_ffff_ffff_ffff }).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&real).unwrap().ends_with("maxval = 0x7fffffffffffffff"));
    }

    #[test]
    fn batch_arithmetic_matches_the_batch_writer() {
        let batch_size = 200;
        for first in [0usize, 10, 100, 168] {
            for second in [1usize, 10, 60, 136, 168, 169] {
                let mut writer = BatchWriter::new(batch_size);
                let key = format_hex_key(1);
                let a = vec![b'a'; first];
                let b = vec![b'b'; second];
                let mut ours = 0;
                for value in [&a, &b] {
                    let fits_empty = batch_record_size(value.len()) <= batch_size;
                    let fits = ours + batch_record_size(value.len()) <= batch_size;
                    let expected = match (fits_empty, fits) {
                        (false, _) => Added::TooBig,
                        (true, false) => Added::BatchFull,
                        (true, true) => Added::Yes,
                    };
                    assert_eq!(writer.add(&[&key, value]), expected, "{first} then {second}");
                    if expected == Added::Yes {
                        ours += batch_record_size(value.len());
                    }
                }
            }
        }
    }

    #[test]
    fn only_one_redistribution_at_a_time_and_the_cap_follows_it() {
        let state = RedistributionState::default();
        assert!(state.allows(u64::MAX / 2, || 1000));
        let claim = state.claim().expect("free");
        assert!(state.is_running());
        assert!(state.claim().is_none());
        claim.set_limit(1100);
        assert!(state.allows(100, || 1000));
        assert!(!state.allows(101, || 1000));
        drop(claim);
        assert!(!state.is_running());
        assert!(state.allows(10_000, || 1000));
        assert!(state.claim().is_some());
    }

    #[test]
    fn range_validity_follows_the_original() {
        assert!(is_valid(0, 0) && is_valid(0, u64::MAX) && is_valid(u64::MAX, 0));
        assert!(!is_valid(1, 0));
        assert!(is_empty(u64::MAX, 0) && !is_empty(0, u64::MAX));
    }
}
