//! Mirror v0 (code 4): a live copy of a channel: every later change and
//! removal, optionally a refresh of all records at the start and every
//! `periodic_refresh_s` seconds, with suspend/resume/stop.
//!
//! Client → node, first message: `bool` start suspended, channel array,
//! `bool` initial refresh, `u32` refresh period in seconds (0 = none). Then
//! [`Control`](super::Control) messages.
//!
//! Node → client: Started (or Error, which ends the request), then any mix
//! of RecordChanged (`u64` key, value array: the value when it is sent, so
//! two quick writes may arrive as one), RecordDeleted (`u64` key),
//! RecordRefreshBatch (compressed batch of `u64` key + value array records)
//! and UpdateOverflow (changes were dropped because the client fell too far
//! behind); ChannelRemoved ends the stream and the client answers Ack.

use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::request::{Command, RequestCode, RequestError};

use super::split_type;

/// Mirror at the version the original serves.
pub const MIRROR_V0: Command = Command::new(RequestCode::Mirror as u8, 0);

/// The arguments of a Mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MirrorArgs<'a> {
    /// Start in the suspended state.
    pub start_suspended: bool,
    /// The channel.
    pub channel: &'a [u8],
    /// Send every record once at the start.
    pub initial_refresh: bool,
    /// Send every record again every this many seconds; 0 = never.
    pub periodic_refresh_s: u32,
}

impl<'a> MirrorArgs<'a> {
    /// Decodes the arguments; bytes after the last field are an error.
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let parsed = Self {
            start_suspended: r.bool("start suspended")?,
            channel: r.array("channel")?,
            initial_refresh: r.bool("initial refresh")?,
            periodic_refresh_s: r.u32("periodic refresh")?,
        };
        r.finish()?;
        Ok(parsed)
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.channel.len());
        out.push(self.start_suspended as u8);
        put_array(&mut out, self.channel);
        out.push(self.initial_refresh as u8);
        out.extend_from_slice(&self.periodic_refresh_s.to_le_bytes());
        out
    }
}

/// A node → client message of a Mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorMessage<'a> {
    /// Acknowledges a control message.
    Ack,
    /// The request runs.
    Started,
    /// The request could not start; it ends.
    Error,
    /// A record was written; its value now.
    RecordChanged {
        /// record key
        key: u64,
        /// current value
        value: &'a [u8],
    },
    /// A record was removed.
    RecordDeleted {
        /// record key
        key: u64,
    },
    /// Records of a refresh: a compressed batch (the array's content).
    RecordRefreshBatch(&'a [u8]),
    /// The channel was removed; the client answers Ack and the request ends.
    ChannelRemoved,
    /// Changes were dropped because the client fell behind.
    UpdateOverflow,
}

impl<'a> MirrorMessage<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match *self {
            Self::Ack => out.push(4),
            Self::Started => out.push(5),
            Self::Error => out.push(6),
            Self::RecordChanged { key, value } => {
                out.reserve(17 + value.len());
                out.push(7);
                out.extend_from_slice(&key.to_le_bytes());
                put_array(&mut out, value);
            }
            Self::RecordDeleted { key } => {
                out.push(8);
                out.extend_from_slice(&key.to_le_bytes());
            }
            Self::RecordRefreshBatch(batch) => {
                out.reserve(9 + batch.len());
                out.push(9);
                put_array(&mut out, batch);
            }
            Self::ChannelRemoved => out.push(10),
            Self::UpdateOverflow => out.push(11),
        }
        out
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "Mirror message type")?;
        let mut r = PayloadReader::new(rest);
        let message = match kind {
            4 => Self::Ack,
            5 => Self::Started,
            6 => Self::Error,
            7 => Self::RecordChanged { key: r.u64("key")?, value: r.array("value")? },
            8 => Self::RecordDeleted { key: r.u64("key")? },
            9 => Self::RecordRefreshBatch(r.array("refresh batch")?),
            10 => Self::ChannelRemoved,
            11 => Self::UpdateOverflow,
            byte => return Err(RequestError::UnknownStatus { kind: "Mirror message", byte }),
        };
        r.finish()?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_messages_round_trip() {
        let args = MirrorArgs { start_suspended: false, channel: b"m", initial_refresh: true, periodic_refresh_s: 7 };
        assert_eq!(MirrorArgs::decode(&args.encode()), Ok(args));
        assert!(MirrorArgs::decode(&args.encode()[..10]).is_err());
        for m in [
            MirrorMessage::Ack,
            MirrorMessage::Started,
            MirrorMessage::Error,
            MirrorMessage::RecordChanged { key: 3, value: b"v" },
            MirrorMessage::RecordDeleted { key: 4 },
            MirrorMessage::RecordRefreshBatch(b"b"),
            MirrorMessage::ChannelRemoved,
            MirrorMessage::UpdateOverflow,
        ] {
            assert_eq!(MirrorMessage::decode(&m.encode()), Ok(m));
        }
        assert!(MirrorMessage::decode(&[12]).is_err());
        assert!(MirrorMessage::decode(&[7, 1, 2]).is_err());
    }
}
