//! GetAllFilter: the records of a channel whose value contains the filter
//! bytes (a plain substring search, as the original), in compressed batches.

use bytes::BytesMut;
use memchr::memmem::Finder;
use shoal_protocol::legacy::request::ChannelData;

use super::scan::{self, ScanKind};
use super::Outcome;
use crate::node::DhtNode;

/// Validates a GetAllFilter and prepares its scan.
pub fn start(args: ChannelData<'_>, node: &DhtNode, out: &mut BytesMut) -> Outcome {
    let finder = Finder::new(args.data).into_owned();
    scan::start(args.channel, node, out, ScanKind::Filter(Box::new(finder)))
}
