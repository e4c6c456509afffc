//! GetRangeFilter: the records in a key range whose value contains the
//! filter bytes.

use shoal_protocol::dls::legacy::KeyRange;

use super::scan::{stream, ScanSpec};
use super::{key, valid_channel, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;

/// Handles a legacy GetRangeFilter.
pub(super) async fn handle(
    channel: &[u8],
    range: KeyRange<'_>,
    filter: &[u8],
    io: &mut ClientIo<DlsNode>,
) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let (low, high) = (key(range.low)?, key(range.high)?);
    let spec = ScanSpec { channel: channel.to_owned(), low, high, filter: ValueFilter::substring(filter) };
    stream(spec, io).await
}
