//! Pop: the oldest record of a channel. Legacy Pop never creates a channel:
//! a missing one, like one with subscribers, is answered 500 Error (the
//! original's answer, which its client treats as fatal). An empty channel
//! gives 200 and an empty value.

use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;
use shoal_storage::dmq::store::Popped;

use super::{status, storage_failed, valid_names, ClientIo, ConnectionError, DmqNode};

/// Handles a legacy Pop.
pub(super) async fn handle(channel: Vec<u8>, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
    let Some(channels) = valid_names(vec![channel], &mut io.output) else { return Ok(()) };
    match io.node.store.pop(&channels[0], false).await {
        Ok(Popped::Record(record)) => {
            io.node.counters.popped(1, record.len() as u64);
            status(&mut io.output, Status::Ok);
            put_array(&mut io.output, &record);
        }
        Ok(Popped::Empty) => {
            status(&mut io.output, Status::Ok);
            put_array(&mut io.output, b"");
        }
        Ok(Popped::NoChannel | Popped::Subscribed) => status(&mut io.output, Status::Error),
        Err(error) => storage_failed(error, &mut io.output),
    }
    Ok(())
}
