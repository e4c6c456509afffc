//! The range read behind GetAll, GetAllFilter, GetRange, GetRangeFilter and
//! GetRangeRegex: 200, then the records with keys in range whose value
//! passes the filter, in compressed batches of at most 64 KiB (hex key and
//! value arrays), then an empty array. Empty batches are not sent. The
//! buckets are read on the disk pool a few batches at a time (the next ones
//! while these are sent: [`crate::dls::read_ahead`]), so a slow client
//! holds back the scan instead of the node buffering it; the channel's
//! buffered writes are flushed first, so every acknowledged Put is seen.

use shoal_protocol::legacy::batch::{Added, BatchWriter};
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;
use shoal_storage::dht::hash::format_hex_key;
use shoal_storage::dls::channel::RangeScan;

use super::{disk_failed, status, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;
use crate::dls::read_ahead::read_ahead;

/// Uncompressed bytes per batch: swarm's RecordBatcher default, as the
/// original sends. Its client would take bigger ones (it reads a batch
/// into a buffer that grows), but they scanned no faster (docs/dls.md).
const BATCH_SIZE: usize = 64 * 1024;

/// Batches one disk job fills: a disk thread is woken once per 256 KiB.
const BATCHES_PER_JOB: usize = 4;

/// What a range read returns.
pub(super) struct ScanSpec {
    /// The channel (already validated).
    pub channel: String,
    /// Lowest key.
    pub low: u64,
    /// Highest key.
    pub high: u64,
    /// Which values.
    pub filter: ValueFilter,
}

/// Streams the records of `spec` to the client.
pub(super) async fn stream(spec: ScanSpec, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let node = std::sync::Arc::clone(&io.node);
    let shared = node.channel(&spec.channel);
    let buffers = node.scan_buffers();
    let (low, high) = (spec.low, spec.high);
    let opened = node.pool.run(move || shared.lock().scan(low, high, buffers)).await;
    let scan = match opened {
        Ok(Ok(scan)) => scan,
        Ok(Err(error)) => {
            disk_failed(format!("reading '{}': {error}", spec.channel), &mut io.output);
            return Ok(());
        }
        Err(error) => {
            disk_failed(error, &mut io.output);
            return Ok(());
        }
    };
    status(&mut io.output, Status::Ok);
    let filter = std::sync::Arc::new(spec.filter);
    let next_batches = |scan: (RangeScan, BatchWriter)| {
        let (filter, channel) = (std::sync::Arc::clone(&filter), spec.channel.clone());
        node.pool.run(move || read_ahead(BATCHES_PER_JOB, scan, |(scan, mut batch)| {
            let (scan, filled, more) = fill(scan, &mut batch, &filter, &channel);
            ((scan, batch), filled, more)
        }))
    };
    // One batch writer for the whole scan: its compressor learns whether
    // the values compress.
    let mut pending = Some(next_batches((scan, BatchWriter::new(BATCH_SIZE))));
    while let Some(filling) = pending.take() {
        let Ok((scan, batches)) = filling.await else {
            return Err(ConnectionError::Io(std::io::Error::other("the disk pool stopped")));
        };
        // The next batches are read while these go out.
        pending = scan.map(next_batches);
        for Batch { encoded: (buffer, start), records, bytes } in batches {
            io.write_direct(&buffer[start..]).await?;
            node.counters.handled(records, bytes);
        }
    }
    put_array(&mut io.output, b"");
    Ok(())
}

/// One filled batch, encoded (the array from the offset to the end of the
/// buffer), with its records and value bytes.
struct Batch {
    encoded: (Vec<u8>, usize),
    records: u64,
    bytes: u64,
}

/// Fills one batch from the scan with `batch` (on a disk thread); returns
/// the scan, the batch (none if empty), and whether records may remain.
fn fill(mut scan: RangeScan, batch: &mut BatchWriter, filter: &ValueFilter, channel: &str) -> (RangeScan, Option<Batch>, bool) {
    let (mut records, mut bytes) = (0, 0);
    let problem = |path: &std::path::Path, error: std::io::Error| {
        tracing::warn!(target: "dlsnode.request", "skipping bucket {} of '{channel}': {error}", path.display())
    };
    let more = loop {
        let Some((key, value)) = scan.next_record(problem) else { break false };
        if !filter.matches(value) {
            continue;
        }
        match batch.add(&[&format_hex_key(key), value]) {
            Added::Yes => {
                records += 1;
                bytes += value.len() as u64;
            }
            Added::TooBig => tracing::warn!(
                target: "dlsnode.request",
                "Large record ({} bytes) being skipped for compressed batch request on {channel}",
                value.len()
            ),
            Added::BatchFull => {
                // Send this batch; the record starts the next one.
                scan.put_back();
                break true;
            }
        }
    };
    if batch.is_empty() {
        return (scan, None, more);
    }
    (scan, Some(Batch { encoded: batch.finish_in_place(), records, bytes }), more)
}
