//! What every connection of a dlsnode shares: the channels, the disk
//! pool, the counters and the settings.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use dashmap::DashMap;
use shoal_protocol::dls::legacy::DlsCommand;
use shoal_storage::dls::channel::DlsChannel;
use shoal_storage::dls::chunk_reader::{ReadBuffers, Spawner};

use super::pool::DiskPool;
use super::shared_channel::SharedChannel;
use crate::connection::Traffic;
use crate::counters::RequestCounters;

/// Counters for stats.log.
#[derive(Default)]
pub struct DlsCounters {
    /// Bytes received from legacy clients.
    pub bytes_received: AtomicU64,
    /// Bytes sent to legacy clients.
    pub bytes_sent: AtomicU64,
    /// Open legacy connections.
    pub connections: Arc<AtomicU64>,
    /// Open neo connections.
    pub neo_connections: Arc<AtomicU64>,
    /// Records stored or sent by legacy requests.
    pub handled_records: AtomicU64,
    /// Their value bytes.
    pub handled_bytes: AtomicU64,
    /// Records sent to other nodes by Redistribute.
    pub redistributed_records: AtomicU64,
    /// Their value bytes.
    pub redistributed_bytes: AtomicU64,
    /// Per legacy request kind of [`COUNTED_REQUESTS`].
    pub requests: [RequestCounters; COUNTED_REQUESTS.len()],
    /// Neo Put.
    pub neo_put: RequestCounters,
    /// Neo GetRange.
    pub neo_get_range: RequestCounters,
}

/// The legacy requests stats.log reports (`request/<name>/…`), in the
/// original's order.
pub const COUNTED_REQUESTS: [DlsCommand; 8] = [
    DlsCommand::GetAll,
    DlsCommand::Redistribute,
    DlsCommand::GetRangeRegex,
    DlsCommand::GetRangeFilter,
    DlsCommand::PutBatch,
    DlsCommand::GetRange,
    DlsCommand::Put,
    DlsCommand::GetAllFilter,
];

impl DlsCounters {
    /// The counters of a legacy request kind, if stats.log reports it.
    pub fn request(&self, command: DlsCommand) -> Option<&RequestCounters> {
        COUNTED_REQUESTS.iter().position(|c| *c == command).map(|i| &self.requests[i])
    }

    /// Counts records stored or sent by legacy requests.
    pub fn handled(&self, records: u64, bytes: u64) {
        self.handled_records.fetch_add(records, std::sync::atomic::Ordering::Relaxed);
        self.handled_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The smallest read buffer a scan splits to read half of it ahead: waking
/// a disk thread costs microseconds, as long as reading a few KiB from the
/// page cache (the original's tests scan through 20-byte buffers, which
/// took twice as long read ahead).
const MIN_READ_AHEAD_BUFFER: usize = 64 * 1024;

/// The state shared by all connections of one dlsnode.
pub struct DlsNode {
    /// Every channel by name.
    pub channels: DashMap<String, Arc<SharedChannel>>,
    /// Where the channel directories are.
    pub data_dir: PathBuf,
    /// The disk threads.
    pub pool: Arc<DiskPool>,
    /// Counters for stats.log.
    pub counters: DlsCounters,
    /// `[Options_Dls] write_buffer_size`.
    pub write_buffer_size: usize,
    /// `[Performance] file_buffer_size`: read buffer of a scan.
    pub read_buffer: usize,
    /// `[Server] address`, reported by GetNumConnections.
    pub address: String,
    /// `[Server] port`, reported by GetNumConnections.
    pub port: u16,
    /// `[Server] connection_limit`, per listener.
    pub connection_limit: usize,
    /// Whether a Redistribute is running (one at a time).
    pub redistributing: std::sync::atomic::AtomicBool,
}

impl DlsNode {
    /// The channel `name`, created (in memory; its directory on the first
    /// write) if missing. The caller has validated the name.
    pub fn channel(&self, name: &str) -> Arc<SharedChannel> {
        if let Some(channel) = self.channels.get(name) {
            return Arc::clone(&channel);
        }
        let entry = self
            .channels
            .entry(name.to_owned())
            .or_insert_with(|| SharedChannel::new(DlsChannel::new(&self.data_dir, name, self.write_buffer_size)));
        Arc::clone(&entry)
    }

    /// Names of every channel, sorted.
    pub fn channel_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.channels.iter().map(|c| c.key().clone()).collect();
        names.sort_unstable();
        names
    }

    /// How a range scan reads its buckets: `file_buffer_size` bytes each,
    /// the next half read ahead on the disk pool unless the halves are too
    /// small to be worth a disk thread's wake-up (a buffer under 64 KiB).
    pub fn scan_buffers(&self) -> ReadBuffers {
        if self.read_buffer < MIN_READ_AHEAD_BUFFER {
            return ReadBuffers::inline(self.read_buffer);
        }
        ReadBuffers::ahead(self.read_buffer, Arc::clone(&self.pool) as Arc<dyn Spawner>)
    }
}

impl Traffic for DlsNode {
    fn bytes_received(&self) -> &AtomicU64 {
        &self.counters.bytes_received
    }

    fn bytes_sent(&self) -> &AtomicU64 {
        &self.counters.bytes_sent
    }
}
