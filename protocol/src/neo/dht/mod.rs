//! The streaming and multi-step DHT neo requests, one file per request:
//! the arguments of the first message and every message that follows it,
//! in both directions. (The one-step record requests Put, Get, Exists,
//! Remove and RemoveChannel are in [`super::request`].)
//!
//! Every message payload after the first starts with a one-byte message
//! type of the request's own; the byte values are the original's enums
//! (`dhtproto/common/*.d`).

pub mod get_all;
pub mod get_channels;
pub mod get_hash_range;
pub mod mirror;
pub mod update;

use super::request::RequestError;

/// The flow-control messages a client sends to a streaming request
/// (GetAll, Mirror), and the Ack both sides use. Same byte values in both
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Control {
    /// Stop sending until Resume.
    Suspend = 1,
    /// Go on sending.
    Resume = 2,
    /// End the request cleanly.
    Stop = 3,
    /// The node acknowledges a control message; the client acknowledges the
    /// end of the stream (Finished, ChannelRemoved).
    Ack = 4,
}

impl Control {
    /// Decodes a control message payload (exactly one byte).
    pub fn decode(payload: &[u8]) -> Result<Self, RequestError> {
        match payload {
            [1] => Ok(Self::Suspend),
            [2] => Ok(Self::Resume),
            [3] => Ok(Self::Stop),
            [4] => Ok(Self::Ack),
            [byte, ..] => Err(RequestError::UnknownStatus { kind: "control message", byte: *byte }),
            [] => Err(RequestError::Truncated { field: "control message", needed: 1, available: 0 }),
        }
    }

    /// The one-byte payload.
    pub fn encode(self) -> [u8; 1] {
        [self as u8]
    }
}

/// Splits a message payload into its type byte and the rest.
fn split_type<'a>(payload: &'a [u8], kind: &'static str) -> Result<(u8, &'a [u8]), RequestError> {
    payload
        .split_first()
        .map(|(t, rest)| (*t, rest))
        .ok_or(RequestError::Truncated { field: kind, needed: 1, available: 0 })
}

/// Decodes `data` as every argument list and message of the DHT requests
/// (both directions) and returns how many forms accepted it. It exists for
/// the fuzz target (`fuzz/fuzz_targets/neo_request.rs`) and the property
/// test, so that both exercise exactly the decoders the node and the client
/// use: none may panic or read past `data`, whatever the lengths claim.
pub fn decode_every_form(data: &[u8]) -> usize {
    use super::request::{decode_request_start, split_request_id, DhtRequest, ORIGINAL_DHT_COMMANDS};
    let mut accepted = [
        get_all::GetAllArgs::decode(data).is_ok(),
        get_all::GetAllMessage::decode(data).is_ok(),
        mirror::MirrorArgs::decode(data).is_ok(),
        mirror::MirrorMessage::decode(data).is_ok(),
        get_channels::GetChannelsMessage::decode(data).is_ok(),
        get_hash_range::decode_current(data).is_ok(),
        get_hash_range::HashRangeUpdate::decode(data).is_ok(),
        update::UpdateArgs::decode(data).is_ok(),
        update::UpdateStep::decode(data).is_ok(),
        update::UpdateReply::decode(data).is_ok(),
        Control::decode(data).is_ok(),
    ]
    .iter()
    .filter(|ok| **ok)
    .count();
    if let Ok((_, payload)) = split_request_id(data) {
        if let Ok(start) = decode_request_start(payload) {
            accepted += ORIGINAL_DHT_COMMANDS.iter().filter(|c| DhtRequest::decode(**c, start.args).is_ok()).count();
        }
    }
    accepted
}
