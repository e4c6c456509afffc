//! Neo Consume: subscribes as `subscriber@channel` (consumers of one
//! subscriber compete; each subscriber gets every record), answers Started,
//! then sends Records batches of about 100 kB, each acknowledged by the
//! client's Continue before the next; Stop is answered Stopped, and a
//! removed channel ends the request with ChannelRemoved.
//!
//! A batch goes out as soon as the queue runs dry, so `write_flush_ms` is
//! an upper bound on a record's delay rather than the delay itself.

use std::sync::Arc;

use shoal_protocol::dmq::neo::{ConsumeArgs, ConsumeControl, ConsumeMessage, ConsumeStatus};
use shoal_protocol::neo::payload::put_array;
use shoal_storage::dmq::name::{valid_channel, valid_subscriber};

use super::{valid_name, DmqNode, Replies, Task};
use crate::dmq::store::Taken;
use crate::neo::{RequestIo, TaskError};

/// Bytes after which a batch is sent (the original's).
const BATCH_BYTES: usize = 100_000;

/// Checks the names (Error when bad) and returns the consuming task.
pub(super) fn start(args: ConsumeArgs<'_>, node: &Arc<DmqNode>, reply: &mut Replies<'_>) -> Option<Task> {
    let (Some(channel), Some(subscriber)) =
        (valid_name(args.channel, valid_channel), valid_name(args.subscriber, valid_subscriber))
    else {
        reply.send(&[ConsumeStatus::Error as u8]);
        return None;
    };
    let node = Arc::clone(node);
    Some(Task::new(move |io: RequestIo| consume(node, channel, subscriber, io)))
}

async fn consume(node: Arc<DmqNode>, channel: String, subscriber: String, mut io: RequestIo) -> Result<(), TaskError> {
    if let Err(error) = node.store.subscribe(&channel, &subscriber).await {
        tracing::error!(target: "dmqnode.request", "neo Consume: storage failed: {error}");
        return io.send(&[ConsumeStatus::Error as u8]).await;
    }
    io.send(&[ConsumeStatus::Started as u8]).await?;
    let wake = node.wakers.of(&channel);
    // Records taken and not yet acknowledged go back to the queue if the
    // request ends without the client's Continue or Stop.
    let mut batch = Unacknowledged { node: Arc::clone(&node), channel, subscriber, records: Vec::new(), bytes: 0 };
    loop {
        // Registered before looking, so a push in between is not missed.
        let pushed = wake.notified();
        tokio::pin!(pushed);
        pushed.as_mut().enable();
        let room = BATCH_BYTES.saturating_sub(batch.bytes).max(1);
        match node.store.take(&batch.channel, &batch.subscriber, room).await.map_err(|_| TaskError::Closed)? {
            Taken::Records(records) => {
                let bytes: usize = records.iter().map(Vec::len).sum();
                node.counters.popped(records.len() as u64, bytes as u64);
                batch.bytes += bytes + 8 * records.len();
                batch.records.extend(records);
                if batch.bytes >= BATCH_BYTES && !batch.send(&mut io).await? {
                    return Ok(());
                }
            }
            Taken::Empty if !batch.records.is_empty() => {
                if !batch.send(&mut io).await? {
                    return Ok(());
                }
            }
            Taken::Empty => {
                tokio::select! {
                    () = &mut pushed => {}
                    message = io.recv() => {
                        // Only Stop may come while no batch is out.
                        return match ConsumeControl::decode(&message?)? {
                            ConsumeControl::Stop => io.send(&ConsumeMessage::Stopped.encode()).await,
                            ConsumeControl::Continue => Err(unexpected_continue()),
                        };
                    }
                }
            }
            Taken::Gone => return io.send(&ConsumeMessage::ChannelRemoved.encode()).await,
        }
    }
}

/// The records of the batch being built or waiting for the client's answer.
struct Unacknowledged {
    node: Arc<DmqNode>,
    channel: String,
    subscriber: String,
    records: Vec<Vec<u8>>,
    bytes: usize,
}

impl Unacknowledged {
    /// Sends the batch and waits for the client's answer: true for
    /// Continue, false after Stop (answered Stopped). Either way the client
    /// has the records.
    async fn send(&mut self, io: &mut RequestIo) -> Result<bool, TaskError> {
        let mut encoded = Vec::with_capacity(self.bytes);
        self.records.iter().for_each(|record| put_array(&mut encoded, record));
        io.send(&ConsumeMessage::Records(&encoded).encode()).await?;
        let answer = ConsumeControl::decode(&io.recv().await?)?;
        self.records.clear();
        self.bytes = 0;
        match answer {
            ConsumeControl::Continue => Ok(true),
            ConsumeControl::Stop => {
                io.send(&ConsumeMessage::Stopped.encode()).await?;
                Ok(false)
            }
        }
    }
}

impl Drop for Unacknowledged {
    fn drop(&mut self) {
        if !self.records.is_empty() {
            let records = std::mem::take(&mut self.records);
            self.node.store.requeue_now(&self.channel, &self.subscriber, records);
        }
    }
}

fn unexpected_continue() -> TaskError {
    TaskError::Protocol(shoal_protocol::neo::RequestError::UnknownStatus { kind: "Continue without a batch", byte: 1 })
}
