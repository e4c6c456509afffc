//! GetChannels: every channel's name, then an empty array.

use shoal_protocol::legacy::wire::put_array;
use shoal_protocol::legacy::Status;

use super::{status, ClientIo, DlsNode};

/// Handles a legacy GetChannels.
pub(super) fn handle(io: &mut ClientIo<DlsNode>) {
    status(&mut io.output, Status::Ok);
    for name in io.node.channel_names() {
        put_array(&mut io.output, name.as_bytes());
    }
    put_array(&mut io.output, b"");
}
