//! The dlsnode's legacy protocol (`[Server] port`): requests one at a time
//! per connection through the shared request loop, each handled by its
//! module in [`super::request`].

use shoal_protocol::dls::legacy::DlsRequest;
use shoal_protocol::legacy::WireError;

use super::node::DlsNode;
use super::request::Owned;
use crate::connection::{ClientIo, ConnectionError, LegacyRequests};

impl LegacyRequests for DlsNode {
    type Request = Owned;

    fn decode(input: &[u8]) -> Result<(Owned, usize), WireError> {
        // Kept as received: the handler decodes them again, borrowing.
        let (_, consumed) = DlsRequest::decode(input)?;
        Ok((Owned::from(&input[..consumed]), consumed))
    }

    async fn handle(request: Owned, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
        request.handle(io).await
    }

    fn open_connections(&self) -> &std::sync::atomic::AtomicU64 {
        &self.counters.connections
    }

    fn connection_limit(&self) -> usize {
        self.connection_limit
    }
}
