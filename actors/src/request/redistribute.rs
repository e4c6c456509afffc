//! Redistribute: not served yet. The request is read whole (so the
//! connection stays usable) and answered Error, the status the original
//! gives when it cannot start a redistribution; moving records to other
//! nodes comes with the persistence work (issue "dhtnode persistence").

use bytes::BytesMut;
use shoal_protocol::legacy::request::RedistributeArgs;
use shoal_protocol::legacy::Status;

use super::status;

/// Answers a Redistribute.
pub fn apply(args: RedistributeArgs, out: &mut BytesMut) {
    tracing::warn!(
        target: "shoal.request",
        "Redistribute to {} nodes refused: not supported by this version",
        args.targets.len()
    );
    status(out, Status::Error);
}
