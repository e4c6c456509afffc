//! Consume: subscribes the connection as the channel's unnamed subscriber
//! (queue `@channel`; consumers of one channel compete for its records),
//! answers 200, then sends every record as an array, waiting for pushes when
//! the queue is empty, until the channel is removed (an empty array ends the
//! stream and the connection takes requests again) or the client leaves.
//!
//! Records are written as soon as the queue runs dry, so `write_flush_ms`
//! is an upper bound on their delay rather than the delay itself.

use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};
use crate::dmq::store::Taken;

/// Records taken from the queue per storage round trip.
const TAKE_BYTES: usize = 64 * 1024;

/// Handles a legacy Consume.
pub(super) async fn handle(channel: Vec<u8>, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(vec![channel], &mut io.output) else { return Ok(()) };
    let channel = &channels[0];
    let wake = io.node.wakers.of(channel);
    if let Err(error) = io.node.store.subscribe(channel, "").await {
        storage_failed(error, &mut io.output);
        return Ok(());
    }
    status(&mut io.output, Status::Ok);
    io.flush().await?;
    loop {
        // Registered before looking, so a push in between is not missed.
        let pushed = wake.notified();
        tokio::pin!(pushed);
        pushed.as_mut().enable();
        let taken = match io.node.store.take(channel, "", TAKE_BYTES).await {
            Ok(taken) => taken,
            Err(error) => {
                tracing::error!(target: "dmqnode.request", "Consume: storage failed: {error}");
                return Err(ConnectionError::Io(std::io::Error::other(error.to_string())));
            }
        };
        match taken {
            Taken::Records(records) => {
                records.iter().for_each(|record| put_array(&mut io.output, record));
                if let Err(error) = io.flush().await {
                    // The client is gone: its queue keeps what it did not get.
                    io.node.store.requeue_now(channel, "", records);
                    return Err(error);
                }
                let bytes: usize = records.iter().map(Vec::len).sum();
                io.node.counters.popped(records.len() as u64, bytes as u64);
            }
            Taken::Empty => {
                tokio::select! {
                    () = &mut pushed => {}
                    closed = io.closed() => return closed.map_or(Ok(()), Err),
                }
            }
            Taken::Gone => {
                put_array(&mut io.output, b"");
                return io.flush().await;
            }
        }
    }
}
