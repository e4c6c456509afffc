//! GetRange: the records with keys between two hex keys, both inclusive
//! (none when low > high).

use shoal_protocol::dls::legacy::KeyRange;

use super::scan::{stream, ScanSpec};
use super::{key, valid_channel, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;

/// Handles a legacy GetRange.
pub(super) async fn handle(channel: &[u8], range: KeyRange<'_>, io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let spec = ScanSpec { channel: channel.to_owned(), low: key(range.low)?, high: key(range.high)?, filter: ValueFilter::All };
    stream(spec, io).await
}
