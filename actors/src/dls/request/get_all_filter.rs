//! GetAllFilter: every record whose value contains the filter bytes.

use super::scan::{stream, ScanSpec};
use super::{valid_channel, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;

/// Handles a legacy GetAllFilter.
pub(super) async fn handle(channel: &[u8], filter: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let spec = ScanSpec { channel: channel.to_owned(), low: 0, high: u64::MAX, filter: ValueFilter::substring(filter) };
    stream(spec, io).await
}
