//! DumpCycle: the node's own dumps of every channel to `<channel>.tcm`.
//!
//! [`Dumper`] does the disk work, synchronously; the [`DumpCycle`] actor runs
//! it every `[Dump] period_s` on a blocking thread (never on a connection's
//! thread) and moves removed channels' dumps to `deleted/`. The final dump at
//! shutdown runs after the connections are gone (see bin/dhtnode.rs). Dumps
//! are serialized by one lock, so the final dump waits for a periodic one
//! instead of racing it.
//!
//! A channel is copied a batch at a time under a short shard lock and written
//! outside it, so writers wait at most for one batch copy.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use shoal_storage::dht::ChannelCursor;
use shoal_storage::dump::files::{move_to_deleted, write_dump};
use shoal_storage::dump::format::encode_record;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::node::DhtNode;

/// Bytes of records copied out of a channel before they are written.
const COPY_BATCH: usize = 1 << 20;

/// Writes the node's channels to its data directory.
pub struct Dumper {
    node: Arc<DhtNode>,
    dir: PathBuf,
    /// Held while a dump or a removal touches the files.
    files: Mutex<()>,
}

impl Dumper {
    /// A dumper of `node` into `dir`.
    pub fn new(node: Arc<DhtNode>, dir: PathBuf) -> Self {
        Dumper { node, dir, files: Mutex::new(()) }
    }

    /// Dumps every channel; a channel that fails is logged and the others
    /// go on. Returns the number of channels written.
    pub fn dump_all(&self) -> usize {
        let _files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let mut written = 0;
        for (name, entry) in self.node.channels.entries() {
            let channel_started = Instant::now();
            tracing::info!(target: "dhtnode.storage.DumpManager", "Dumping channel '{name}' to disk");
            let result = write_dump(&self.dir, &name, |writer| {
                let mut cursor = ChannelCursor::new();
                let mut batch = Vec::with_capacity(COPY_BATCH + 64 * 1024);
                loop {
                    let mut records = 0;
                    let more = cursor.next_batch(&entry.storage, |key, value| {
                        if batch.len() >= COPY_BATCH {
                            return false;
                        }
                        encode_record(&mut batch, key, value);
                        records += 1;
                        true
                    });
                    writer.encoded_records(&batch, records)?;
                    batch.clear();
                    if !more {
                        return Ok(());
                    }
                }
            });
            match result {
                Ok(summary) => {
                    written += 1;
                    tracing::info!(
                        target: "dhtnode.storage.DumpManager",
                        "Finished dumping channel '{name}' to disk, took {:.3}s, wrote {} records, {} bytes",
                        channel_started.elapsed().as_secs_f64(),
                        summary.records,
                        summary.bytes
                    );
                }
                Err(error) => tracing::error!(
                    target: "dhtnode.storage.DumpManager",
                    "Failed to dump channel '{name}': {error}; the previous dump is kept"
                ),
            }
            // Removed while it was being dumped: do not let the dump bring it back.
            let still_there = self.node.channels.get(&name).is_some_and(|now| Arc::ptr_eq(&now, &entry));
            if !still_there {
                self.remove_files(&name);
            }
        }
        tracing::info!(
            target: "dhtnode.storage.DumpManager",
            "Finished dumping {written} channels, took {:.2}s",
            started.elapsed().as_secs_f64()
        );
        written
    }

    /// Moves a removed channel's dump to `deleted/`.
    pub fn channel_removed(&self, name: &str) {
        let _files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        self.remove_files(name);
    }

    fn remove_files(&self, name: &str) {
        if self.node.channels.get(name).is_some() {
            return; // re-created since: its next dump is current
        }
        if let Err(error) = move_to_deleted(&self.dir, name) {
            tracing::error!(
                target: "dhtnode.storage.DumpManager",
                "Cannot move the dump of removed channel '{name}' to deleted/: {error}"
            );
        }
    }
}

/// The actor that runs periodic dumps and file removals.
pub struct DumpCycle {
    dumper: Arc<Dumper>,
    period: Option<Duration>,
    removed: Option<UnboundedReceiver<String>>,
    dumping: Arc<AtomicBool>,
}

impl DumpCycle {
    /// Dumps every `period` (none: only removals are handled); `removed`
    /// yields the names of channels removed by requests.
    pub fn new(dumper: Arc<Dumper>, period: Option<Duration>, removed: UnboundedReceiver<String>) -> Self {
        DumpCycle { dumper, period, removed: Some(removed), dumping: Arc::new(AtomicBool::new(false)) }
    }
}

impl Actor for DumpCycle {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(removed) = self.removed.take() {
            ctx.add_stream(UnboundedReceiverStream::new(removed));
        }
        if let Some(period) = self.period {
            ctx.run_interval(period, |cycle, _| {
                if cycle.dumping.swap(true, Ordering::AcqRel) {
                    tracing::warn!(target: "dhtnode.storage.DumpManager", "Previous dump still running, skipping this one");
                    return;
                }
                let (dumper, dumping) = (Arc::clone(&cycle.dumper), Arc::clone(&cycle.dumping));
                // The blocking pool owns the dump; at shutdown the final dump
                // takes the same lock and so waits for it.
                drop(actix_rt::task::spawn_blocking(move || {
                    dumper.dump_all();
                    dumping.store(false, Ordering::Release);
                }));
            });
        }
    }
}

impl StreamHandler<String> for DumpCycle {
    fn handle(&mut self, name: String, _: &mut Self::Context) {
        let dumper = Arc::clone(&self.dumper);
        drop(actix_rt::task::spawn_blocking(move || dumper.channel_removed(&name)));
    }

    fn finished(&mut self, _: &mut Self::Context) {}
}
