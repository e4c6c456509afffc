//! Redistribute: the node takes a new hash range and moves the records it no
//! longer owns to the nodes listed in the request (see
//! [`crate::redistribution`] for the engine). Refusals (another
//! redistribution running, invalid or empty ranges, config.ini not writable)
//! are answered Error at once; otherwise the status Ok is sent only when the
//! whole redistribution has finished, as the original does.

use bytes::BytesMut;
use shoal_protocol::legacy::request::RedistributeArgs;
use shoal_protocol::legacy::Status;

use super::{status, Outcome, Streaming};
use crate::connection::{ClientIo, ConnectionError};
use crate::node::DhtNode;
use crate::redistribution::{self, Redistribution};

/// Validates a Redistribute; the returned stream switches the node to its
/// new range and moves the records.
pub fn start(args: RedistributeArgs, node: &DhtNode, out: &mut BytesMut) -> Outcome {
    match redistribution::begin(args, node) {
        Ok(work) => Outcome::Stream(Streaming::Redistribute(Box::new(work))),
        Err(_) => {
            status(out, Status::Error);
            Outcome::Done
        }
    }
}

/// Moves the records, then replies Ok. The client's socket is not read
/// meanwhile; if the client has gone, the redistribution still completes.
pub async fn stream(work: Redistribution, io: &mut ClientIo) -> Result<(), ConnectionError> {
    let node = std::sync::Arc::clone(&io.node);
    let reply = match work.switch_range(&node).await {
        Ok(()) => {
            work.run(&node).await;
            Status::Ok
        }
        Err(_) => Status::Error,
    };
    status(&mut io.output, reply);
    io.flush().await
}
