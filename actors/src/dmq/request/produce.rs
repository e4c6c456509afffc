//! Produce and ProduceMulti: after 200 the client streams records (arrays)
//! into the channels, and an empty array ends the stream; there is no reply
//! per record. Records received before the client goes away are kept.

use bytes::Buf;
use shoal_protocol::dmq::legacy::decode_stream_record;
use shoal_protocol::legacy::{Status, WireError};

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};

/// Handles a legacy Produce (one channel) or ProduceMulti.
pub(super) async fn handle(channels: Vec<Vec<u8>>, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(channels, &mut io.output) else { return Ok(()) };
    for channel in &channels {
        if let Err(error) = io.node.store.create(channel).await {
            storage_failed(error, &mut io.output);
            return Ok(());
        }
    }
    status(&mut io.output, Status::Ok);
    io.flush().await?;
    loop {
        let record = match decode_stream_record(&io.input) {
            Ok((record, used)) => {
                let record = record.map(<[u8]>::to_vec);
                io.input.advance(used);
                record
            }
            Err(WireError::Incomplete) => {
                if !io.fill().await? {
                    return io.end_of_input();
                }
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let Some(record) = record else { return Ok(()) };
        let len = record.len();
        if let Err(error) = io.node.store.push(channels.clone(), record).await {
            // No reply channel for a stream: log and end the connection.
            tracing::error!(target: "dmqnode.request", "Produce: storage failed: {error}");
            return Err(ConnectionError::Io(std::io::Error::other(error.to_string())));
        }
        io.node.counters.pushed(len);
    }
}
