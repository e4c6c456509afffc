//! GetNumConnections: the node's address and port and its open legacy
//! connections (this one included).

use std::sync::atomic::Ordering;

use shoal_protocol::legacy::wire::{put_array, put_u64};
use shoal_protocol::legacy::Status;

use super::{status, ClientIo, DlsNode};

/// Handles a legacy GetNumConnections.
pub(super) fn handle(io: &mut ClientIo<DlsNode>) {
    let node = &io.node;
    let connections = node.counters.connections.load(Ordering::Relaxed);
    let (address, port) = (node.address.clone(), node.port);
    status(&mut io.output, Status::Ok);
    put_array(&mut io.output, address.as_bytes());
    io.output.extend_from_slice(&port.to_le_bytes());
    put_u64(&mut io.output, connections);
}
