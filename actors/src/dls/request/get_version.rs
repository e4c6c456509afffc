//! GetVersion: the API version the legacy client checks in its handshake.

use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::{Status, API_VERSION};

use super::{status, ClientIo, DlsNode};

/// Handles a legacy GetVersion.
pub(super) fn handle(io: &mut ClientIo<DlsNode>) {
    status(&mut io.output, Status::Ok);
    put_array(&mut io.output, API_VERSION.as_bytes());
}
