//! GetChannels v0 (code 6): the names of every channel of the node.
//!
//! No arguments. Node → client: one ChannelName message per channel, then
//! Finished, which ends the request (the client sends nothing).

use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::request::{Command, RequestCode, RequestError};

use super::split_type;

/// GetChannels at the version the original serves.
pub const GET_CHANNELS_V0: Command = Command::new(RequestCode::GetChannels as u8, 0);

/// A node → client message of a GetChannels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetChannelsMessage<'a> {
    /// The node failed; the request ends.
    Error,
    /// One channel's name.
    ChannelName(&'a [u8]),
    /// Every name was sent; the request ends.
    Finished,
}

impl<'a> GetChannelsMessage<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Error => vec![1],
            Self::ChannelName(name) => {
                let mut out = Vec::with_capacity(9 + name.len());
                out.push(2);
                put_array(&mut out, name);
                out
            }
            Self::Finished => vec![3],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "GetChannels message type")?;
        let mut r = PayloadReader::new(rest);
        let message = match kind {
            1 => Self::Error,
            2 => Self::ChannelName(r.array("channel name")?),
            3 => Self::Finished,
            byte => return Err(RequestError::UnknownStatus { kind: "GetChannels message", byte }),
        };
        r.finish()?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for m in [GetChannelsMessage::Error, GetChannelsMessage::ChannelName(b"c"), GetChannelsMessage::Finished] {
            assert_eq!(GetChannelsMessage::decode(&m.encode()), Ok(m));
        }
        assert!(GetChannelsMessage::decode(&[2, 9]).is_err());
    }
}
