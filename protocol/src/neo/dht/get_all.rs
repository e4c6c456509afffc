//! GetAll v0 (code 5): every record of a channel in compressed batches, with
//! suspend/resume/stop, an optional value filter, keys-only mode and
//! continuation after a given key (for a client that reconnects).
//!
//! Client → node, first message: `bool` start suspended, channel array,
//! `bool` continuing, `u64` continue-after key, `bool` keys only, value
//! filter array (empty = every record; otherwise a substring the value must
//! contain). Then [`Control`](super::Control) messages.
//!
//! Node → client: Started (or Error, which ends the request), any number of
//! RecordBatch, Finished; the client then sends Ack and the request ends.
//! Each control message is acknowledged with Ack unless the stream has
//! already finished. A batch is swarm's RecordBatcher format (see
//! `legacy::batch`) whose keys are the 8 raw little-endian key bytes.

use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::request::{Command, RequestCode, RequestError};

use super::split_type;

/// GetAll at the version the original serves.
pub const GET_ALL_V0: Command = Command::new(RequestCode::GetAll as u8, 0);

/// The arguments of a GetAll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetAllArgs<'a> {
    /// Start in the suspended state (nothing sent until Resume).
    pub start_suspended: bool,
    /// The channel.
    pub channel: &'a [u8],
    /// Continue after this key (the last one the client received).
    pub continue_after: Option<u64>,
    /// Send keys without values.
    pub keys_only: bool,
    /// Only records whose value contains this; empty for all.
    pub value_filter: &'a [u8],
}

impl<'a> GetAllArgs<'a> {
    /// Decodes the arguments; bytes after the last field are an error.
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let start_suspended = r.bool("start suspended")?;
        let channel = r.array("channel")?;
        let continuing = r.bool("continuing")?;
        let continue_from = r.u64("continue from")?;
        let keys_only = r.bool("keys only")?;
        let value_filter = r.array("value filter")?;
        r.finish()?;
        Ok(Self {
            start_suspended,
            channel,
            continue_after: continuing.then_some(continue_from),
            keys_only,
            value_filter,
        })
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(35 + self.channel.len() + self.value_filter.len());
        out.push(self.start_suspended as u8);
        put_array(&mut out, self.channel);
        out.push(self.continue_after.is_some() as u8);
        out.extend_from_slice(&self.continue_after.unwrap_or(0).to_le_bytes());
        out.push(self.keys_only as u8);
        put_array(&mut out, self.value_filter);
        out
    }
}

/// A node → client message of a GetAll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetAllMessage<'a> {
    /// Acknowledges a control message.
    Ack,
    /// The request runs.
    Started,
    /// The request could not start (e.g. an invalid channel name); it ends.
    Error,
    /// A compressed batch of records (the array's content).
    RecordBatch(&'a [u8]),
    /// Every record was sent; the client answers Ack.
    Finished,
}

impl<'a> GetAllMessage<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Ack => vec![4],
            Self::Started => vec![5],
            Self::Error => vec![6],
            Self::RecordBatch(batch) => {
                let mut out = Vec::with_capacity(9 + batch.len());
                out.push(7);
                put_array(&mut out, batch);
                out
            }
            Self::Finished => vec![8],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "GetAll message type")?;
        let mut r = PayloadReader::new(rest);
        let message = match kind {
            4 => Self::Ack,
            5 => Self::Started,
            6 => Self::Error,
            7 => Self::RecordBatch(r.array("record batch")?),
            8 => Self::Finished,
            byte => return Err(RequestError::UnknownStatus { kind: "GetAll message", byte }),
        };
        r.finish()?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip_and_lying_lengths_are_refused() {
        let args = GetAllArgs {
            start_suspended: true,
            channel: b"ch",
            continue_after: Some(0x1234),
            keys_only: false,
            value_filter: b"needle",
        };
        let bytes = args.encode();
        assert_eq!(GetAllArgs::decode(&bytes), Ok(args));
        let mut lie = bytes.clone();
        lie[1] = 0xff; // channel length far past the end
        assert!(matches!(GetAllArgs::decode(&lie), Err(RequestError::Truncated { .. })));
        assert!(GetAllArgs::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn messages_round_trip() {
        for m in [
            GetAllMessage::Ack,
            GetAllMessage::Started,
            GetAllMessage::Error,
            GetAllMessage::RecordBatch(b"batch"),
            GetAllMessage::Finished,
        ] {
            assert_eq!(GetAllMessage::decode(&m.encode()), Ok(m));
        }
        assert!(GetAllMessage::decode(&[9]).is_err());
        assert!(GetAllMessage::decode(&[]).is_err());
    }
}
