//! GetAll: every record of a channel (see [`super::scan`]).

use super::scan::{stream, ScanSpec};
use super::{valid_channel, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;

/// Handles a legacy GetAll.
pub(super) async fn handle(channel: &[u8], io: &mut ClientIo<DlsNode>) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let spec = ScanSpec { channel: channel.to_owned(), low: 0, high: u64::MAX, filter: ValueFilter::All };
    stream(spec, io).await
}
