//! The dmqnode's legacy protocol (`[Server] port`): requests one at a time
//! per connection, each handled by its module in [`super::request`].
//!
//! A request is decoded only once all of it has arrived, so a lying length
//! never makes the node allocate more than it received; an unknown (or
//! retired) code or an array over 10 MiB closes the connection without a
//! reply, as in the original.

use shoal_protocol::dmq::legacy::DmqRequest;
use shoal_protocol::legacy::WireError;

use super::node::DmqNode;
use super::request;
use crate::connection::{ClientIo, ConnectionError, LegacyRequests};

impl LegacyRequests for DmqNode {
    type Request = request::Owned;

    fn decode(input: &[u8]) -> Result<(request::Owned, usize), WireError> {
        let decoded = DmqRequest::decode(input)?;
        Ok((request::Owned::from(&decoded.request), decoded.consumed))
    }

    async fn handle(request: request::Owned, io: &mut ClientIo<DmqNode>) -> Result<(), ConnectionError> {
        request.handle(io).await
    }

    fn open_connections(&self) -> &std::sync::atomic::AtomicU64 {
        &self.counters.connections
    }

    fn connection_limit(&self) -> usize {
        self.connection_limit
    }
}
