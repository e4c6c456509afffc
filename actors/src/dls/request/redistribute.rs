//! Redistribute: moves about `fraction` of the node's buckets to other
//! nodes. Each bucket of each channel is chosen with that probability, taken
//! out of the channel (renamed `<bucket>.tmp`, so that new writes start a
//! new file), and its records are sent as legacy PutBatch requests of at
//! most 64 KiB, round-robin over the destination nodes; a batch no node
//! accepts is retried, once a second, until one does. The sent bucket file
//! is then deleted (the original left it behind). The answer, 200, comes
//! when every channel is done; 500 for a fraction outside (0, 1], no
//! destination, or another Redistribute already running.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use shoal_protocol::client::dls::DlsLegacyClient;
use shoal_protocol::legacy::batch::{Added, BatchWriter};
use shoal_protocol::legacy::Status;
use shoal_storage::dht::hash::format_hex_key;
use shoal_storage::dls::bucket::BucketReader;
use shoal_storage::dls::chunk_reader::ReadBuffers;

use super::{status, ClientIo, ConnectionError, DlsNode};

/// Uncompressed bytes per forwarded batch.
const BATCH_SIZE: usize = 64 * 1024;

/// Handles a legacy Redistribute.
pub(super) async fn handle(fraction: f32, nodes: Vec<(&[u8], u16)>, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let targets: Vec<String> =
        nodes.iter().map(|(address, port)| format!("{}:{port}", String::from_utf8_lossy(address))).collect();
    if !(fraction > 0.0 && fraction <= 1.0) || targets.is_empty() {
        tracing::error!(target: "dlsnode.request", "Redistribute refused: fraction {fraction}, {} nodes", targets.len());
        status(&mut io.output, Status::Error);
        return Ok(());
    }
    let node = Arc::clone(&io.node);
    if node.redistributing.swap(true, Ordering::AcqRel) {
        tracing::error!(target: "dlsnode.request", "Redistribute refused: another one is running");
        status(&mut io.output, Status::Error);
        return Ok(());
    }
    let result = redistribute(&node, fraction, Forwarder { targets, next: 0, client: None }).await;
    node.redistributing.store(false, Ordering::Release);
    match result {
        Ok(()) => status(&mut io.output, Status::Ok),
        Err(error) => {
            tracing::error!(target: "dlsnode.request", "Redistribute failed: {error}");
            status(&mut io.output, Status::Error);
        }
    }
    Ok(())
}

async fn redistribute(node: &Arc<DlsNode>, fraction: f32, mut forwarder: Forwarder) -> std::io::Result<()> {
    let stopped = |_| std::io::Error::other("the disk pool stopped");
    for name in node.channel_names() {
        let shared = node.channel(&name);
        let reading = Arc::clone(&shared);
        let buckets = node.pool.run(move || reading.lock().buckets()).await.map_err(stopped)??;
        for (bucket, _) in buckets {
            let draw = getrandom::u64().map_err(|e| std::io::Error::other(e.to_string()))?;
            if draw as f64 / u64::MAX as f64 >= f64::from(fraction) {
                continue;
            }
            let detaching = Arc::clone(&shared);
            let path = node.pool.run(move || detaching.lock().detach_bucket(bucket)).await.map_err(stopped)??;
            let opened = path.clone();
            let reader = node.pool.run(move || BucketReader::open(&opened, &ReadBuffers::inline(1 << 16))).await.map_err(stopped)??;
            let outgoing = Arc::new(Mutex::new(Outgoing { reader, carry: None }));
            loop {
                let batching = Arc::clone(&outgoing);
                let (batch, records, bytes) = node.pool.run(move || next_batch(&batching)).await.map_err(stopped)??;
                let Some(batch) = batch else { break };
                forwarder.send(&name, &batch).await;
                node.counters.redistributed_records.fetch_add(records, Ordering::Relaxed);
                node.counters.redistributed_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            node.pool.run(move || std::fs::remove_file(&path)).await.map_err(stopped)??;
            tracing::info!(target: "dlsnode.request", "Redistribute: bucket {bucket:x} of '{name}' forwarded");
        }
    }
    Ok(())
}

/// A bucket being forwarded: its reader and the record that did not fit
/// the last batch.
struct Outgoing {
    reader: BucketReader,
    carry: Option<(u64, Vec<u8>)>,
}

/// The next PutBatch content from a bucket (on a disk thread): the batch,
/// its records and value bytes; `None` at the end of the bucket.
fn next_batch(outgoing: &Mutex<Outgoing>) -> std::io::Result<(Option<BytesMut>, u64, u64)> {
    let mut outgoing = outgoing.lock().unwrap_or_else(|p| p.into_inner());
    let mut batch = BatchWriter::new(BATCH_SIZE);
    let (mut records, mut bytes) = (0, 0);
    loop {
        let next = match outgoing.carry.take() {
            Some(record) => Some(record),
            None => outgoing.reader.next_record()?,
        };
        let Some((key, value)) = next else { break };
        match batch.add(&[&format_hex_key(key), &value]) {
            Added::Yes => {
                records += 1;
                bytes += value.len() as u64;
            }
            Added::TooBig => tracing::warn!(target: "dlsnode.request", "Redistribute: record {key:x} too large, dropped"),
            Added::BatchFull => {
                outgoing.carry = Some((key, value));
                break;
            }
        }
    }
    if batch.is_empty() {
        return Ok((None, 0, 0));
    }
    let mut out = BytesMut::new();
    batch.finish(&mut out);
    // finish() writes the batch as an array; PutBatch carries its content.
    Ok((Some(out.split_off(8)), records, bytes))
}

/// Sends batches round-robin to the destination nodes.
struct Forwarder {
    targets: Vec<String>,
    next: usize,
    client: Option<(usize, DlsLegacyClient)>,
}

impl Forwarder {
    /// Sends one batch, trying the nodes in turn until one accepts it.
    async fn send(&mut self, channel: &str, batch: &[u8]) {
        let mut failures = 0;
        loop {
            let target = self.next % self.targets.len();
            self.next += 1;
            if self.client.as_ref().is_none_or(|(connected, _)| *connected != target) {
                self.client = DlsLegacyClient::connect(self.targets[target].as_str()).await.ok().map(|c| (target, c));
            }
            if let Some((_, client)) = &mut self.client {
                match client.put_batch(channel, batch).await {
                    Ok(()) => return,
                    Err(error) => {
                        tracing::warn!(target: "dlsnode.request", "Redistribute: {} refused a batch: {error}", self.targets[target]);
                        self.client = None;
                    }
                }
            }
            failures += 1;
            if failures % self.targets.len() == 0 {
                // Every node failed: wait before the next round.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
