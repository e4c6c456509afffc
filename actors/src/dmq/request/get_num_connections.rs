//! GetNumConnections: the dmqnode does not support it and says so (406);
//! the connection stays usable.

use shoal_protocol::legacy::Status;

use super::{status, ClientIo, DmqNode};

/// Handles a legacy GetNumConnections.
pub(super) fn handle(io: &mut ClientIo<DmqNode>) {
    status(&mut io.output, Status::NotSupported);
}
