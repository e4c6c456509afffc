//! dhtdump's dump cycle: a sidecar that periodically copies every channel of
//! a running node, over the legacy protocol, into `<data_dir>/<channel>.tcm`
//! (the files the node loads when it starts), as the original dhtdump does.
//!
//! [`DumpCycle`] is the actor `bin/dhtdump.rs` starts. It owns:
//!
//! - the cycle loop (an actor future, so that stopping the actor system
//!   abandons it): connect and handshake (retried every 2 s while the node
//!   is down), a randomized initial wait (not in one-shot mode), then
//!   cycles of GetChannels and one GetAll per channel, and the wait between
//!   cycles: `period_s` minus the cycle's duration but at least
//!   `min_wait_s`, or `retry_wait_s` after a cycle with an error;
//! - the stats.log timer (cyclic mode only, like the original), writing
//!   [`DumpStats::line`] every `[STATS] interval` on wall-clock multiples.
//!
//! Records of a GetAll go, a reply batch at a time, through a bounded
//! channel to a blocking thread that writes them with
//! [`shoal_storage::dump::files::write_dump`]: the network side
//! never waits for the disk except when the channel is full, and the disk
//! side never runs on the event loop. If the GetAll fails, or the system
//! stops in the middle of a dump, the channel closes without its end
//! message, the writer reports an error and `write_dump` removes its
//! temporary file, so the previous `<channel>.tcm` stays in place.
//!
//! Differences from the original, on purpose:
//!
//! - an error on one channel does not mark every later channel of the same
//!   cycle as failed (the original's shared error flag does); the cycle as a
//!   whole still counts as failed and is retried after `retry_wait_s`;
//! - in one-shot mode the process exits (status 0) after the first
//!   successful cycle instead of idling until it is killed;
//! - `channel/<ch>/…` stats describe the channel's last *successful* dump.
//!
//! Log lines use the original's logger names as tracing targets
//! (`dhtnode.dhtdump.DumpCycle`, `dhtnode.dhtdump.main`) and its wording.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use shoal_protocol::client::legacy::{ClientError, LegacyClient, Record};
use shoal_storage::dump::files::write_dump;
use tokio::sync::mpsc;

use crate::config::{DhtDumpConfig, DhtTarget, DumpCycleConfig};

/// Logger name of the cycle's log lines, as the original's.
const LOG: &str = "dhtnode.dhtdump.DumpCycle";
/// Logger name of the start-up lines, as the original's.
const LOG_MAIN: &str = "dhtnode.dhtdump.main";

/// Pause between handshake attempts while the node is unreachable (fixed in
/// the original too).
pub const HANDSHAKE_RETRY: Duration = Duration::from_secs(2);

/// Reply batches queued between the network and the file writer (each at
/// most the node's batch size, 64 KiB by default).
const QUEUED_BATCHES: usize = 16;

/// Bytes a record counts for in dhtdump's logs and stats: key, value and
/// their two 8-byte length fields, as the original counts.
pub fn record_bytes(key_len: usize, value_len: usize) -> u64 {
    (key_len + value_len + 16) as u64
}

/// A byte count as ocean's `BitGrouping` prints it in the original's
/// "dumped …" line: the non-zero groups of 10 bits, largest first, each with
/// its binary prefix and a `b` (`2636` → `2Kb 588b`, `0` → `0b`).
pub fn bit_grouping(bytes: u64) -> String {
    if bytes == 0 {
        return "0b".to_string();
    }
    const PREFIXES: [&str; 7] = ["E", "P", "T", "G", "M", "K", ""];
    let mut groups = Vec::new();
    for (i, prefix) in PREFIXES.iter().enumerate() {
        let shift = 10 * (PREFIXES.len() - 1 - i);
        let group = (bytes >> shift) & 0x3ff;
        if group != 0 {
            groups.push(format!("{group}{prefix}b"));
        }
    }
    groups.join(" ")
}

/// Records and bytes, as counted in the stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Records.
    pub records: u64,
    /// Bytes, per [`record_bytes`].
    pub bytes: u64,
}

/// What dhtdump's stats.log lines report, with the original's keys.
#[derive(Debug, Default)]
pub struct DumpStats {
    /// Written since the last line (reset by [`line`](Self::line)).
    since_last_line: Written,
    /// Duration of the last complete cycle.
    last_time_ms: u64,
    /// Size of each channel's last successful dump; a channel is dropped
    /// when the node no longer lists it.
    channels: BTreeMap<String, Written>,
}

impl DumpStats {
    /// Counts records as they are handed to the file writer.
    pub fn written(&mut self, records: u64, bytes: u64) {
        self.since_last_line.records += records;
        self.since_last_line.bytes += bytes;
    }

    /// Records the totals of a channel's finished dump.
    pub fn channel_dumped(&mut self, channel: &str, totals: Written) {
        self.channels.insert(channel.to_string(), totals);
    }

    /// Forgets a channel the node no longer has.
    pub fn channel_removed(&mut self, channel: &str) {
        self.channels.remove(channel);
    }

    /// Records the duration of a finished cycle.
    pub fn cycle_finished(&mut self, duration: Duration) {
        self.last_time_ms = duration.as_millis() as u64;
    }

    /// Bytes of the last dump of every channel (the "dumped …" figure).
    pub fn total_bytes(&self) -> u64 {
        self.channels.values().map(|c| c.bytes).sum()
    }

    /// The next stats.log line (timestamp, then `key:value` pairs); resets
    /// the per-line counters.
    pub fn line(&mut self) -> String {
        let mut line = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f").to_string();
        let since = std::mem::take(&mut self.since_last_line);
        let _ = write!(
            line,
            " records_written:{} bytes_written:{} last_time_ms:{}",
            since.records, since.bytes, self.last_time_ms
        );
        for (name, totals) in &self.channels {
            let _ = write!(
                line,
                " channel/{name}/records_written:{} channel/{name}/bytes_written:{}",
                totals.records, totals.bytes
            );
        }
        line
    }
}

/// The dump cycle actor; see the module documentation.
pub struct DumpCycle {
    target: DhtTarget,
    dump: Arc<DumpCycleConfig>,
    oneshot: bool,
    stats_file: PathBuf,
    stats_interval: Duration,
    stats: Arc<Mutex<DumpStats>>,
}

impl DumpCycle {
    /// A dump cycle for `config`; `oneshot` dumps once, at once, then stops
    /// the actor system with exit code 0.
    pub fn new(config: &DhtDumpConfig, oneshot: bool) -> Self {
        DumpCycle {
            target: config.dht.clone(),
            dump: Arc::new(config.dump.clone()),
            oneshot,
            stats_file: config.stats.file_name.clone(),
            stats_interval: Duration::from_secs(config.stats.interval.max(1)),
            stats: Arc::default(),
        }
    }

    fn write_stats_line(&mut self) {
        let line = self.stats.lock().unwrap_or_else(|p| p.into_inner()).line();
        crate::stats::append_line(&self.stats_file, &line);
    }
}

impl Actor for DumpCycle {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.oneshot {
            ctx.run_later(crate::stats::until_next_tick(self.stats_interval), |cycle, ctx| {
                cycle.write_stats_line();
                ctx.run_interval(cycle.stats_interval, |cycle, _| cycle.write_stats_line());
            });
        }
        let cycles = run(self.target.clone(), Arc::clone(&self.dump), Arc::clone(&self.stats), self.oneshot);
        ctx.spawn(cycles.into_actor(self).map(|(), _, ctx: &mut Context<Self>| {
            // Only a one-shot run ends: its dump is complete.
            ctx.stop();
            System::current().stop_with_code(0);
        }));
    }
}

/// The cycle loop; returns only in one-shot mode, after a good cycle.
async fn run(target: DhtTarget, dump: Arc<DumpCycleConfig>, stats: Arc<Mutex<DumpStats>>, oneshot: bool) {
    let mut node = NodeConnection::new(target);
    node.handshake().await;
    if !oneshot {
        let wait = Duration::from_secs(random_u64() % dump.period_s.max(1));
        tracing::info!(target: LOG, "Performing initial dump in {}s (randomized)", wait.as_secs());
        tokio::time::sleep(wait).await;
    }
    let mut last_channels: Vec<String> = Vec::new();
    loop {
        let started = Instant::now();
        let ok = cycle(&mut node, &dump, &stats, &mut last_channels).await;
        let took = started.elapsed();
        stats.lock().unwrap_or_else(|p| p.into_inner()).cycle_finished(took);
        let wait = if ok {
            if oneshot {
                tracing::info!(target: LOG, "Finished dumping channels, took {:.2}s", took.as_secs_f64());
                println!("dhtdump: cycle finished, {} channels", last_channels.len());
                return;
            }
            let mut wait = dump.period_s as f64 - took.as_secs_f64();
            if wait < dump.min_wait_s as f64 {
                tracing::warn!(
                    target: LOG,
                    "Calculated wait time too short -- either the channel dump took an unusually long \
                     time, or the dump period is set too low in config.ini."
                );
                wait = dump.min_wait_s as f64;
            }
            let total = stats.lock().unwrap_or_else(|p| p.into_inner()).total_bytes();
            let next = chrono::Local::now() + chrono::Duration::milliseconds((wait * 1000.0) as i64);
            tracing::info!(
                target: LOG,
                "Finished dumping channels, took {:.2}s, dumped {}, sleeping for {:.2}s (next cycle scheduled at {})",
                took.as_secs_f64(),
                bit_grouping(total),
                wait,
                next.format("%Y-%m-%d %H:%M:%S")
            );
            println!("dhtdump: cycle finished, {} channels", last_channels.len());
            Duration::from_secs_f64(wait)
        } else {
            let wait = dump.retry_wait_s;
            tracing::warn!(target: LOG, "Dump not completed successfully. Retrying in {wait}s");
            println!("dhtdump: cycle failed");
            Duration::from_secs(wait)
        };
        tokio::time::sleep(wait).await;
    }
}

/// One cycle: the channel list, then every channel. True when nothing failed.
async fn cycle(
    node: &mut NodeConnection,
    dump: &DumpCycleConfig,
    stats: &Mutex<DumpStats>,
    last_channels: &mut Vec<String>,
) -> bool {
    tracing::info!(target: LOG, "Getting list of channels");
    let channels = match node.get_channels().await {
        Ok(channels) => channels,
        Err(error) => {
            tracing::error!(target: LOG, "DhtClient error during GetChannels: {error}");
            tracing::info!(target: LOG, "Got list of channels: []");
            return false;
        }
    };
    tracing::info!(target: LOG, "Got list of channels: {channels:?}");
    for old in last_channels.iter().filter(|old| !channels.contains(old)) {
        tracing::info!(target: LOG, "Detected removed channel '{old}'");
        stats.lock().unwrap_or_else(|p| p.into_inner()).channel_removed(old);
    }
    *last_channels = channels.clone();

    tracing::info!(target: LOG, "Dumping {} channels", channels.len());
    let mut ok = true;
    for channel in &channels {
        tracing::info!(target: LOG, "Dumping '{channel}'");
        let started = Instant::now();
        let (totals, result) = dump_channel(node, &dump.data_dir, channel, stats).await;
        let failed = match &result {
            Ok(()) => false,
            Err(DumpFailure::Node(error)) => {
                tracing::error!(target: LOG, "DhtClient error during GetAll: {error}");
                tracing::warn!(target: LOG, "Removing partial dump file of channel '{channel}'");
                true
            }
            Err(DumpFailure::File(error)) => {
                tracing::error!(
                    target: LOG,
                    "Failed to dump channel to file '{}': {error}",
                    dump.data_dir.join(format!("{channel}.tcm")).display()
                );
                true
            }
        };
        tracing::info!(
            target: LOG,
            "Finished dumping '{channel}', {} records, {} bytes, {:.2}s{}",
            totals.records,
            totals.bytes,
            started.elapsed().as_secs_f64(),
            if failed { " [error]" } else { "" }
        );
        if failed {
            ok = false;
        } else {
            stats.lock().unwrap_or_else(|p| p.into_inner()).channel_dumped(channel, totals);
        }
    }
    ok
}

/// Why a channel's dump was not completed.
#[derive(Debug)]
enum DumpFailure {
    /// The GetAll failed; the old dump stays.
    Node(ClientError),
    /// Writing the file failed.
    File(io::Error),
}

/// What the network side tells the file writer.
enum ToWriter {
    /// Records to append.
    Records(Vec<Record>),
    /// The GetAll is complete: finish the file.
    End,
}

/// Streams one channel's GetAll into its dump file; see the module
/// documentation for how failures keep the old file.
async fn dump_channel(
    node: &mut NodeConnection,
    dir: &Path,
    channel: &str,
    stats: &Mutex<DumpStats>,
) -> (Written, Result<(), DumpFailure>) {
    let (sender, mut receiver) = mpsc::channel::<ToWriter>(QUEUED_BATCHES);
    let writer = {
        let dir = dir.to_path_buf();
        let channel = channel.to_string();
        tokio::task::spawn_blocking(move || {
            write_dump(&dir, &channel, |file| loop {
                match receiver.blocking_recv() {
                    Some(ToWriter::Records(records)) => {
                        for (key, value) in &records {
                            file.record(*key, value)?;
                        }
                    }
                    Some(ToWriter::End) => return Ok(()),
                    None => return Err(io::Error::other("dump abandoned")),
                }
            })
        })
    };

    let mut totals = Written::default();
    let read = async {
        let client = node.client().await?;
        let mut batches = client.get_all_batches(channel).await?;
        while let Some(mut records) = batches.next_batch().await? {
            // Empty values cannot be loaded by the node; the original skips them.
            records.retain(|(_, value)| !value.is_empty());
            let bytes: u64 = records.iter().map(|(_, value)| record_bytes(16, value.len())).sum();
            totals.records += records.len() as u64;
            totals.bytes += bytes;
            stats.lock().unwrap_or_else(|p| p.into_inner()).written(records.len() as u64, bytes);
            if sender.send(ToWriter::Records(records)).await.is_err() {
                // The writer gave up; its error is reported below.
                return Ok(false);
            }
        }
        Ok::<bool, ClientError>(true)
    }
    .await;

    let result = match read {
        Ok(true) => {
            let _ = sender.send(ToWriter::End).await;
            drop(sender);
            finish_writer(writer).await
        }
        Ok(false) => {
            // The connection is in the middle of the reply: start afresh.
            node.reset();
            drop(sender);
            finish_writer(writer).await
        }
        Err(error) => {
            node.reset();
            drop(sender);
            let _ = finish_writer(writer).await; // removes the temporary file
            Err(DumpFailure::Node(error))
        }
    };
    (totals, result)
}

async fn finish_writer(
    writer: tokio::task::JoinHandle<io::Result<shoal_storage::dump::files::DumpSummary>>,
) -> Result<(), DumpFailure> {
    match writer.await {
        Ok(Ok(_summary)) => Ok(()),
        Ok(Err(error)) => Err(DumpFailure::File(error)),
        Err(join) => Err(DumpFailure::File(io::Error::other(format!("dump writer failed: {join}")))),
    }
}

/// The legacy connection to the node, reopened after any error.
struct NodeConnection {
    target: DhtTarget,
    client: Option<LegacyClient>,
}

impl NodeConnection {
    fn new(target: DhtTarget) -> Self {
        NodeConnection { target, client: None }
    }

    /// The original's start: a handshake (GetVersion, GetResponsibleRange)
    /// repeated every [`HANDSHAKE_RETRY`] until the node answers.
    async fn handshake(&mut self) {
        loop {
            let attempt = async {
                let client = self.client().await?;
                let version = client.get_version().await?;
                let range = client.get_responsible_range().await?;
                Ok::<_, ClientError>((version, range))
            }
            .await;
            match attempt {
                Ok((version, (min, max))) => {
                    tracing::info!(
                        target: LOG_MAIN,
                        "Connected to dht node {}:{} (API version {version}, hash range 0x{min:016x}..0x{max:016x})",
                        self.target.address,
                        self.target.port
                    );
                    return;
                }
                Err(error) => {
                    self.reset();
                    tracing::error!(
                        target: LOG_MAIN,
                        "Error during dht handshake: {}:{}: {error}, retrying in {}s",
                        self.target.address,
                        self.target.port,
                        HANDSHAKE_RETRY.as_secs()
                    );
                    tokio::time::sleep(HANDSHAKE_RETRY).await;
                }
            }
        }
    }

    /// The open connection, connecting first if there is none.
    async fn client(&mut self) -> Result<&mut LegacyClient, ClientError> {
        if self.client.is_none() {
            let address = (self.target.address.as_str(), self.target.port);
            self.client = Some(LegacyClient::connect(address).await?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Drops the connection (after an error its state is unknown).
    fn reset(&mut self) {
        self.client = None;
    }

    async fn get_channels(&mut self) -> Result<Vec<String>, ClientError> {
        let result = async { self.client().await?.get_channels().await }.await;
        if result.is_err() {
            self.reset();
        }
        result
    }
}

/// A random number for the initial wait, so that the sidecars of many nodes
/// do not all dump at once.
fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Without randomness the wait is simply 0; nothing depends on it.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_grouping_matches_ocean() {
        assert_eq!(bit_grouping(0), "0b");
        assert_eq!(bit_grouping(1000), "1000b");
        assert_eq!(bit_grouping(1024), "1Kb");
        assert_eq!(bit_grouping(1025), "1Kb 1b");
        assert_eq!(bit_grouping(2636), "2Kb 588b");
        assert_eq!(bit_grouping(10_000_000), "9Mb 549Kb 640b");
        assert_eq!(bit_grouping(10_000_000_000), "9Gb 320Mb 761Kb");
        assert_eq!(bit_grouping((1 << 20) + 5), "1Mb 5b");
    }

    #[test]
    fn stats_line_has_the_original_keys() {
        let mut stats = DumpStats::default();
        stats.written(51, 2636);
        stats.channel_dumped("smallvec", Written { records: 50, bytes: 2600 });
        stats.channel_dumped("rust", Written { records: 1, bytes: 36 });
        stats.cycle_finished(Duration::from_millis(2));
        let line = stats.line();
        let fields = line.split_once(',').unwrap().1.split_once(' ').unwrap().1;
        assert_eq!(
            fields,
            "records_written:51 bytes_written:2636 last_time_ms:2 \
             channel/rust/records_written:1 channel/rust/bytes_written:36 \
             channel/smallvec/records_written:50 channel/smallvec/bytes_written:2600"
        );
        // Per-line counters reset, channel totals stay until removed.
        assert!(stats.line().contains(" records_written:0 bytes_written:0 "));
        stats.channel_removed("rust");
        assert!(!stats.line().contains("rust"));
        assert_eq!(stats.total_bytes(), 2600);
    }

    #[test]
    fn record_bytes_counts_lengths() {
        assert_eq!(record_bytes(16, 100), 132);
    }
}
