//! Filling one compressed batch from a channel scan: the loop shared by the
//! legacy GetAll family, neo GetAll and neo Mirror's refreshes.

use shoal_protocol::legacy::batch::Added;
use shoal_storage::dht::{Channel, ChannelCursor};

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
