//! Neo Mirror: every later write and removal on a channel, plus (if asked) a
//! refresh of all its records at the start and every `periodic_refresh_s`
//! seconds, with suspend/resume/stop.
//!
//! The request registers with the channel before Started is sent, so no
//! change the client makes after seeing Started is missed. A change is sent
//! with the value the record has when it is sent (a record removed
//! meanwhile is skipped, as in the original). A client that falls more than
//! 256 Ki changes behind loses changes and is told so with UpdateOverflow.
//! Removing the channel ends the stream with ChannelRemoved, which the
//! client acknowledges.
//!
//! On a ring member, changes to keys the member does not hold arrive from
//! their coordinators, values are read through the ring, and refreshes scan
//! the whole ring.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use shoal_protocol::legacy::batch::BatchWriter;
use crate::batch_fill::ScanSource;
use shoal_protocol::neo::dht::mirror::{MirrorArgs, MirrorMessage};

use super::flow::{await_final_ack, Flow, Next};
use super::{channel, channel_name, DhtNode, Replies, Task};
use crate::channels::ChannelEntry;
use crate::counters::Action;
use crate::listeners::{Change, ListenEvent, ListenerQueue, Watcher};
use crate::neo::{RequestIo, TaskError};
use crate::ring::coordinator;

/// Uncompressed bytes per refresh batch (the original's).
const BATCH_SIZE: usize = 64 * 1024;

/// The RecordRefreshBatch message type byte.
const RECORD_REFRESH_BATCH: u8 = 9;

/// Registers with the channel, answers Started (or Error for an invalid
/// channel name) and returns the task that forwards changes.
pub(super) fn start(args: MirrorArgs<'_>, node: &Arc<DhtNode>, reply: &mut Replies<'_>) -> Option<Task> {
    let Some(entry) = channel(args.channel, node) else {
        reply.send(&MirrorMessage::Error.encode());
        return None;
    };
    let queue = entry.listeners.register(Watcher::Mirror);
    reply.send(&MirrorMessage::Started.encode());
    let mut mirror = Mirror {
        name: channel_name(args.channel).unwrap_or_default().to_owned(),
        registration: Registration { entry, queue },
        node: Arc::clone(node),
        flow: Flow::new(args.start_suspended),
        refresh: None,
        batch: BatchWriter::new(BATCH_SIZE),
        period: (args.periodic_refresh_s > 0).then(|| Duration::from_secs(u64::from(args.periodic_refresh_s))),
    };
    if args.initial_refresh {
        mirror.refresh = Some(mirror.start_refresh());
    }
    Some(Task::new(move |io: RequestIo| mirror.run(io)))
}

/// The registration with the channel, undone however the request ends.
struct Registration {
    entry: Arc<ChannelEntry>,
    queue: Arc<ListenerQueue>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.entry.listeners.unregister(&self.queue);
    }
}

/// A running Mirror.
struct Mirror {
    /// The channel's name.
    name: String,
    registration: Registration,
    node: Arc<DhtNode>,
    flow: Flow,
    /// The refresh in progress, if any.
    refresh: Option<ScanSource>,
    batch: BatchWriter,
    period: Option<Duration>,
}

impl Mirror {
    async fn run(mut self, mut io: RequestIo) -> Result<(), TaskError> {
        let mut refresh_timer = self.period.map(|period| tokio::time::interval_at(tokio::time::Instant::now() + period, period));
        loop {
            if self.flow.poll(&mut io).await? == Next::Stop {
                return Ok(());
            }
            if !self.flow.suspended() {
                if let Some(event) = self.registration.queue.poll() {
                    if !self.forward(event, &mut io).await? {
                        return Ok(());
                    }
                    continue;
                }
                if self.refresh.is_some() {
                    self.send_refresh_batch(&io).await?;
                    continue;
                }
            }
            // Nothing to send: wait for something to happen.
            let queue = Arc::clone(&self.registration.queue);
            tokio::select! {
                payload = io.recv() => {
                    if self.flow.handle(&io, &payload?).await? == Next::Stop {
                        return Ok(());
                    }
                }
                event = queue.next(), if !self.flow.suspended() => {
                    if !self.forward(event, &mut io).await? {
                        return Ok(());
                    }
                }
                _ = next_tick(&mut refresh_timer) => {
                    if self.refresh.is_none() {
                        self.refresh = Some(self.start_refresh());
                    }
                }
            }
        }
    }

    /// Sends queued changes, or ends the stream when the channel is gone.
    /// Returns false when the request is over.
    async fn forward(&mut self, event: ListenEvent, io: &mut RequestIo) -> Result<bool, TaskError> {
        let dropped = self.registration.queue.take_dropped();
        if dropped > 0 {
            tracing::warn!(
                target: "dhtproto.node.neo.request.Mirror",
                "Mirror request: update queue overflowed, {dropped} updates discarded"
            );
            io.send(&MirrorMessage::UpdateOverflow.encode()).await?;
        }
        let changes = match event {
            ListenEvent::Changes(changes) => changes,
            ListenEvent::Finished => {
                io.send(&MirrorMessage::ChannelRemoved.encode()).await?;
                await_final_ack(io).await?;
                return Ok(false);
            }
        };
        let storage = &self.registration.entry.storage;
        let (mut records, mut bytes) = (0, 0);
        for (key, change) in changes {
            let message = match (change, self.node.ring().cloned()) {
                (Change::Removed, _) => MirrorMessage::RecordDeleted { key }.encode(),
                // On a ring member the record may live on other members.
                (Change::Written, Some(ring)) => {
                    let Ok(Some(value)) = coordinator::read(&ring, &self.node, &self.name, key).await else { continue };
                    bytes += value.len() as u64;
                    MirrorMessage::RecordChanged { key, value: &value }.encode()
                }
                (Change::Written, None) => {
                    let Some(message) = storage.get(key, |value| {
                        bytes += value.len() as u64;
                        MirrorMessage::RecordChanged { key, value }.encode()
                    }) else {
                        continue;
                    };
                    message
                }
            };
            records += 1;
            io.send(&message).await?;
        }
        self.node.counters.action(Action::Forwarded, records, bytes);
        Ok(true)
    }

    /// Starts a refresh: of this node's records, or on a ring member of the
    /// whole ring's.
    fn start_refresh(&self) -> ScanSource {
        ScanSource::in_key_order(&self.node, Some(Arc::clone(&self.registration.entry)), &self.name, None)
    }

    /// Sends the next batch of the refresh in progress.
    async fn send_refresh_batch(&mut self, io: &RequestIo) -> Result<(), TaskError> {
        let Some(refresh) = self.refresh.as_mut() else { return Ok(()) };
        let batch = &mut self.batch;
        let filled = refresh.fill(|key, value| Some(batch.add_keyed(key, value)), too_big).await;
        if !filled.more {
            self.refresh = None;
        }
        if filled.records == 0 {
            return Ok(());
        }
        self.node.counters.action(Action::Iterated, filled.records, filled.bytes);
        let mut message = BytesMut::with_capacity(BATCH_SIZE / 2);
        message.extend_from_slice(&[RECORD_REFRESH_BATCH]);
        batch.finish(&mut message);
        io.send(&message).await
    }
}

fn too_big(key: u64, len: usize) {
    tracing::warn!(target: "dhtproto.node.neo.request.Mirror", "Mirror: record 0x{key:016x} ({len} bytes) too large for a refresh batch, skipped");
}

/// The next periodic refresh, or never when there is none.
async fn next_tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}
