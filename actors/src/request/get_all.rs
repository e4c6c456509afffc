//! GetAll: every record (key and value) of a channel, in compressed batches (see [`super::scan`]).

use bytes::BytesMut;
use shoal_protocol::legacy::request::ChannelArg;

use super::scan::{self, ScanKind};
use super::Outcome;
use crate::node::DhtNode;

/// Validates a GetAll and prepares its scan.
pub fn start(arg: ChannelArg<'_>, node: &DhtNode, out: &mut BytesMut) -> Outcome {
    scan::start(arg.channel, node, out, ScanKind::Records)
}
