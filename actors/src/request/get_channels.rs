//! GetChannels: every channel name, then an empty name as the end.

use bytes::BytesMut;
use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use std::sync::Arc;

use super::{status, Outcome, Streaming};
use crate::connection::{ClientIo, ConnectionError};
use crate::node::DhtNode;
use crate::ring::{coordinator, Ring};

/// Applies a GetChannels.
pub fn apply(node: &DhtNode, out: &mut BytesMut) {
    reply(out, &node.channels.names());
}

/// On a ring member: the channels of every member, asked while the
/// connection waits.
pub fn start_ring(ring: &Arc<Ring>) -> Outcome {
    Outcome::Stream(Streaming::RingChannels(Arc::clone(ring)))
}

/// Asks every member for its channels and replies with their union.
pub async fn stream_ring(ring: Arc<Ring>, io: &mut ClientIo) -> Result<(), ConnectionError> {
    let names = coordinator::channels(&ring, &io.node).await;
    reply(&mut io.output, &names);
    Ok(())
}

/// Ok, then one array per name, then an empty one.
fn reply(out: &mut BytesMut, names: &[String]) {
    status(out, Status::Ok);
    for name in names {
        put_array(out, name.as_bytes());
    }
    put_array(out, b"");
}
