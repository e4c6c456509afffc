//! GetRangeRegex: the records in a key range whose value contains a
//! substring (mode 0) or matches a regular expression (1; 2 ignoring
//! case). A pattern that does not compile, or an unknown mode (which
//! crashed the original), is answered 500 and the connection stays usable.

use shoal_protocol::dls::legacy::{KeyRange, LegacyFilterMode};
use shoal_protocol::legacy::Status;

use super::scan::{stream, ScanSpec};
use super::{key, status, valid_channel, ClientIo, ConnectionError, DlsNode};
use crate::dls::filter::ValueFilter;

/// Handles a legacy GetRangeRegex.
pub(super) async fn handle(
    channel: &[u8],
    range: KeyRange<'_>,
    mode: u8,
    pattern: &[u8],
    io: &mut ClientIo<DlsNode>,
) -> Result<(), ConnectionError> {
    let Some(channel) = valid_channel(channel, &mut io.output) else { return Ok(()) };
    let (low, high) = (key(range.low)?, key(range.high)?);
    let filter = match mode {
        m if m == LegacyFilterMode::StringMatch as u8 => Ok(ValueFilter::substring(pattern)),
        m if m == LegacyFilterMode::Regex as u8 => ValueFilter::regex(pattern, false).map_err(|e| e.to_string()),
        m if m == LegacyFilterMode::RegexCaseInsensitive as u8 => {
            ValueFilter::regex(pattern, true).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown filter mode {other}")),
    };
    match filter {
        Ok(filter) => stream(ScanSpec { channel: channel.to_owned(), low, high, filter }, io).await,
        Err(reason) => {
            tracing::warn!(target: "dlsnode.request.GetRangeRegexRequest", "GetRangeRegex on '{channel}' refused: {reason}");
            status(&mut io.output, Status::Error);
            Ok(())
        }
    }
}
