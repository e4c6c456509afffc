//! Filling one compressed batch from a channel scan: the loop shared by the
//! legacy GetAll family, neo GetAll and neo Mirror's refreshes, over this
//! node's channel or, on a ring member, the whole ring ([`ScanSource`]).

use std::sync::Arc;

use shoal_protocol::legacy::batch::Added;
use shoal_storage::dht::{Channel, ChannelCursor};

use crate::channels::ChannelEntry;
use crate::node::DhtNode;
use crate::ring::scan::RingScan;

/// What one batch took from the scan.
#[derive(Debug, Default)]
pub struct Filled {
    /// Whether records may remain (the batch filled up first).
    pub more: bool,
    /// Records put into the batch.
    pub records: u64,
    /// Their value bytes.
    pub bytes: u64,
}

/// Feeds the cursor's next records to `add` until the batch is full or the
/// channel is exhausted. `add` returns `None` for a record it leaves out (a
/// filter), else what the batch did with it. A record too large for even an
/// empty batch is skipped, as the original skips it, after `too_big` was
/// told its key and length (to log it).
pub fn fill_batch(
    cursor: &mut ChannelCursor,
    channel: &Channel,
    mut add: impl FnMut(u64, &[u8]) -> Option<Added>,
    mut too_big: impl FnMut(u64, usize),
) -> Filled {
    let mut filled = Filled::default();
    filled.more = cursor.next_batch(channel, |key, value| match add(key, value) {
        None => true,
        Some(Added::Yes) => {
            filled.records += 1;
            filled.bytes += value.len() as u64;
            true
        }
        Some(Added::BatchFull) => false,
        Some(Added::TooBig) => {
            too_big(key, value.len());
            true
        }
    });
    filled
}

/// Where a scan's records come from.
pub enum ScanSource {
    /// This node's channel (none: a channel that does not exist, empty).
    Local(Option<Arc<ChannelEntry>>, ChannelCursor),
    /// The whole ring's records of the channel.
    Ring(Box<RingScan>),
}

impl ScanSource {
    /// The scan of `channel` (named `name`) that `node` serves, in key order
    /// after `after`: its own records, or on a ring member the whole ring's.
    pub fn in_key_order(node: &Arc<DhtNode>, channel: Option<Arc<ChannelEntry>>, name: &str, after: Option<u64>) -> Self {
        Self::with_cursor(node, channel, name, after, ChannelCursor::in_key_order(after))
    }

    /// [`ScanSource::in_key_order`] from the start, but a lone node's
    /// records in storage order (cheaper, for scans that cannot resume).
    pub fn whole(node: &Arc<DhtNode>, channel: Option<Arc<ChannelEntry>>, name: &str) -> Self {
        Self::with_cursor(node, channel, name, None, ChannelCursor::new())
    }

    fn with_cursor(node: &Arc<DhtNode>, channel: Option<Arc<ChannelEntry>>, name: &str, after: Option<u64>, cursor: ChannelCursor) -> Self {
        match node.ring() {
            Some(ring) => ScanSource::Ring(Box::new(RingScan::new(Arc::clone(ring), Arc::clone(node), name, after))),
            None => ScanSource::Local(channel, cursor),
        }
    }

    /// Fills the next batch, as [`fill_batch`] does.
    pub async fn fill(&mut self, add: impl FnMut(u64, &[u8]) -> Option<Added>, too_big: impl FnMut(u64, usize)) -> Filled {
        match self {
            ScanSource::Local(Some(channel), cursor) => fill_batch(cursor, &channel.storage, add, too_big),
            ScanSource::Local(None, _) => Filled::default(),
            ScanSource::Ring(scan) => scan.fill_batch(add, too_big).await,
        }
    }
}
