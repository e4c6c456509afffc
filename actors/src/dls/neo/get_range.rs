//! Neo GetRange: the records with keys in a range (and passing a filter) in
//! LZO-compressed batches of about 1 MB (records `u64 key, u64 length,
//! value`), each answered by the client with Continue or Stop; Stop gets
//! Stopped; the end is Finished, which the client acknowledges.
//!
//! Unlike the original, which leaves the client waiting or crashes, a bad
//! request (invalid channel name, unknown filter mode, pattern that does not
//! compile, low above high) is answered with the Error status. A broken or
//! legacy-format bucket ends that bucket only, never the request.

use std::sync::Arc;

use shoal_protocol::dls::neo::{GetRangeArgs, GetRangeControl, GetRangeMessage, NeoFilterMode, RecordsBatch};
use shoal_protocol::lzo::Compressor;
use shoal_storage::dls::channel::RangeScan;

use super::{valid_channel, DlsNode, Replies, Task};
use crate::dls::filter::ValueFilter;
use crate::dls::read_ahead::read_ahead;
use crate::neo::{RequestIo, TaskError, MESSAGE_ROOM};

/// Start statuses.
const STARTED: u8 = 1;
const ERROR: u8 = 3;

/// Uncompressed bytes after which a batch is sent. The original sends at
/// 100 kB, its minimum, and its client takes a batch of any size; but the
/// node waits for the client's Continue after every batch, and a wait
/// costs tens of microseconds on a busy machine, so batches ten times as
/// big scan 2–3 times as fast here (docs/dls.md, Performance).
const BATCH_BYTES: usize = 1_000_000;

/// Batches one disk job fills: one of this size is worth a disk thread's
/// wake-up by itself (two or four per job measured no faster).
const BATCHES_PER_JOB: usize = 1;

/// Checks the request (Error if bad) and returns the streaming task.
pub(super) fn start(args: GetRangeArgs<'_>, node: &Arc<DlsNode>, reply: &mut Replies<'_>) -> Option<Task> {
    let filter = match (args.mode, args.filter.is_empty()) {
        (_, true) => Ok(ValueFilter::All),
        (m, false) if m == NeoFilterMode::None as u8 => Ok(ValueFilter::All),
        (m, false) if m == NeoFilterMode::StringMatch as u8 => Ok(ValueFilter::substring(args.filter)),
        (m, false) if m == NeoFilterMode::Regex as u8 => ValueFilter::regex(args.filter, false).map_err(|e| e.to_string()),
        (m, false) if m == NeoFilterMode::RegexCaseInsensitive as u8 => {
            ValueFilter::regex(args.filter, true).map_err(|e| e.to_string())
        }
        (other, false) => Err(format!("unknown filter mode {other}")),
    };
    // Keys are walked as unsigned numbers, as the original walks buckets.
    let (low, high) = (args.low as u64, args.high as u64);
    let refusal = match (valid_channel(args.channel), filter) {
        (None, _) => Err("invalid channel name".to_string()),
        (_, Err(reason)) => Err(reason),
        (Some(_), Ok(_)) if low > high => Err("low key above high key".to_string()),
        (Some(channel), Ok(filter)) => Ok((channel.to_owned(), filter)),
    };
    let (channel, filter) = match refusal {
        Ok(accepted) => accepted,
        Err(reason) => {
            tracing::warn!(target: "dlsnode.request", "neo GetRange refused: {reason}");
            reply.send(&[ERROR]);
            return None;
        }
    };
    reply.send(&[STARTED]);
    let node = Arc::clone(node);
    Some(Task::new(move |io: RequestIo| get_range(node, channel, low, high, filter, io)))
}

async fn get_range(node: Arc<DlsNode>, channel: String, low: u64, high: u64, filter: ValueFilter, mut io: RequestIo) -> Result<(), TaskError> {
    let started = std::time::Instant::now();
    node.counters.neo_get_range.started();
    let result = stream(&node, channel, low, high, filter, &mut io).await;
    node.counters.neo_get_range.finished(started.elapsed());
    result
}

async fn stream(node: &Arc<DlsNode>, channel: String, low: u64, high: u64, filter: ValueFilter, io: &mut RequestIo) -> Result<(), TaskError> {
    let shared = node.channel(&channel);
    let buffers = node.scan_buffers();
    let opened = node.pool.run(move || shared.lock().scan(low, high, buffers)).await;
    let scan = match opened {
        Ok(Ok(scan)) => Some(scan),
        Ok(Err(error)) => {
            tracing::error!(target: "dlsnode.request", "neo GetRange on '{channel}': {error}");
            None
        }
        Err(_) => return Err(TaskError::Closed),
    };
    let filter = Arc::new(filter);
    let next_batches = |scan: (RangeScan, Compressor)| {
        let (filter, name) = (Arc::clone(&filter), channel.clone());
        // Reading and compressing both run on a disk thread.
        node.pool.run(move || {
            read_ahead(BATCHES_PER_JOB, scan, |(scan, mut compressor)| {
                let (scan, records, more) = fill(scan, &filter, &name);
                let message = (!records.is_empty()).then(|| records.finish(&mut compressor));
                ((scan, compressor), message, more)
            })
        })
    };
    // One compressor for the whole scan: it learns whether the values compress.
    let mut pending = scan.map(|scan| next_batches((scan, Compressor::default())));
    while let Some(filling) = pending.take() {
        let (scan, messages) = filling.await.map_err(|_| TaskError::Closed)?;
        // The next batch is read while the client takes this one.
        pending = scan.map(next_batches);
        for (message, payload_start) in messages {
            io.send_in_place(message, payload_start).await?;
            match GetRangeControl::decode(&io.recv().await?)? {
                GetRangeControl::Continue => {}
                GetRangeControl::Stop => return io.send(&GetRangeMessage::Stopped.encode()).await,
                GetRangeControl::Ack => return Err(unexpected_ack()),
            }
        }
    }
    io.send(&GetRangeMessage::Finished.encode()).await?;
    // Anything else the client sends before its Ack is ignored.
    while GetRangeControl::decode(&io.recv().await?) != Ok(GetRangeControl::Ack) {}
    Ok(())
}

/// Fills one batch (on a disk thread), and tells whether records may
/// remain.
fn fill(mut scan: RangeScan, filter: &ValueFilter, channel: &str) -> (RangeScan, RecordsBatch, bool) {
    // Room for a 64 KiB record (the largest Put) past the batch size.
    let mut records = RecordsBatch::new(MESSAGE_ROOM, BATCH_BYTES + 64 * 1024);
    let problem = |path: &std::path::Path, error: std::io::Error| {
        tracing::warn!(target: "dlsnode.request", "skipping bucket {} of '{channel}': {error}", path.display())
    };
    while records.len() < BATCH_BYTES {
        let Some((key, value)) = scan.next_record(problem) else { return (scan, records, false) };
        if filter.matches(value) {
            records.push(key, value);
        }
    }
    (scan, records, true)
}

fn unexpected_ack() -> TaskError {
    TaskError::Protocol(shoal_protocol::neo::RequestError::UnknownStatus { kind: "Ack before Finished", byte: 6 })
}
