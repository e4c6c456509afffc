//! Update v0 (code 10): read-modify-write of one record without a lost
//! update. The client reads the value, computes the new one and sends it
//! with the 64-bit FNV-1a hash of the value it read; the node writes only if
//! the stored value still has that hash.
//!
//! Client → node, first message: a type (GetRecord, or UpdateRecord to
//! write straight away), channel array, `u64` key, and for UpdateRecord the
//! `u64` hash of the old value and the new value array. After GetRecord the
//! node sends RecordValue (value array) and waits for one more client
//! message: UpdateRecord (hash, new value), RemoveRecord or LeaveRecord.
//! The request ends with one status byte: Ok, NoRecord (GetRecord of a
//! missing record), UpdateConflict, WrongNode or Error.

use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::request::{Command, RequestCode, RequestError};

use super::split_type;

/// Update at the version the original serves.
pub const UPDATE_V0: Command = Command::new(RequestCode::Update as u8, 0);

/// 64-bit FNV-1a, the hash the client sends of the value it read.
pub fn value_hash(value: &[u8]) -> u64 {
    value.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What the client asks, in the first message or after RecordValue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStep<'a> {
    /// Send me the value (first message only).
    GetRecord,
    /// Write `value` if the stored value still hashes to `old_hash`.
    UpdateRecord {
        /// [`value_hash`] of the value the client read
        old_hash: u64,
        /// the new value
        value: &'a [u8],
    },
    /// Remove the record (after RecordValue only).
    RemoveRecord,
    /// Change nothing (after RecordValue only).
    LeaveRecord,
}

impl<'a> UpdateStep<'a> {
    fn decode_from(kind: u8, r: &mut PayloadReader<'a>) -> Result<Self, RequestError> {
        Ok(match kind {
            1 => Self::GetRecord,
            2 => Self::UpdateRecord { old_hash: r.u64("old value hash")?, value: r.array("new value")? },
            3 => Self::RemoveRecord,
            4 => Self::LeaveRecord,
            byte => return Err(RequestError::UnknownStatus { kind: "Update message", byte }),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match *self {
            Self::GetRecord => out.push(1),
            Self::UpdateRecord { old_hash, value } => {
                out.push(2);
                out.extend_from_slice(&old_hash.to_le_bytes());
                put_array(out, value);
            }
            Self::RemoveRecord => out.push(3),
            Self::LeaveRecord => out.push(4),
        }
    }

    /// Decodes the client's second message (after RecordValue).
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "Update message type")?;
        let mut r = PayloadReader::new(rest);
        Self::decode_from(kind, &mut r)
    }

    /// The client's second message payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// The arguments of an Update's first message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdateArgs<'a> {
    /// The channel.
    pub channel: &'a [u8],
    /// The record key.
    pub key: u64,
    /// GetRecord or UpdateRecord.
    pub step: UpdateStep<'a>,
}

impl<'a> UpdateArgs<'a> {
    /// Decodes the arguments (fields past the last are ignored, as the
    /// original reads them one by one).
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let kind = r.u8("Update message type")?;
        let channel = r.array("channel")?;
        let key = r.u64("key")?;
        let step = UpdateStep::decode_from(kind, &mut r)?;
        Ok(Self { channel, key, step })
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut step = Vec::new();
        self.step.encode_into(&mut step);
        let mut out = Vec::with_capacity(17 + self.channel.len() + step.len());
        out.push(step[0]);
        put_array(&mut out, self.channel);
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&step[1..]);
        out
    }
}

/// Node → client messages of an Update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateReply<'a> {
    /// The stored value (after GetRecord).
    RecordValue(&'a [u8]),
    /// Done as asked; the request ends.
    Ok,
    /// GetRecord of a missing record; the request ends.
    NoRecord,
    /// The record changed since it was read; nothing written; ends.
    UpdateConflict,
    /// The key is outside this node's range; ends.
    WrongNode,
    /// The node failed; ends.
    Error,
}

impl<'a> UpdateReply<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::RecordValue(value) => {
                let mut out = Vec::with_capacity(9 + value.len());
                out.push(5);
                put_array(&mut out, value);
                out
            }
            Self::Ok => vec![6],
            Self::NoRecord => vec![7],
            Self::UpdateConflict => vec![8],
            Self::WrongNode => vec![9],
            Self::Error => vec![10],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "Update reply type")?;
        let mut r = PayloadReader::new(rest);
        let reply = match kind {
            5 => Self::RecordValue(r.array("value")?),
            6 => Self::Ok,
            7 => Self::NoRecord,
            8 => Self::UpdateConflict,
            9 => Self::WrongNode,
            10 => Self::Error,
            byte => return Err(RequestError::UnknownStatus { kind: "Update reply", byte }),
        };
        r.finish()?;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_values() {
        assert_eq!(value_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(value_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(value_hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn arguments_and_replies_round_trip() {
        for step in [UpdateStep::GetRecord, UpdateStep::UpdateRecord { old_hash: 9, value: b"new" }] {
            let args = UpdateArgs { channel: b"c", key: 42, step };
            assert_eq!(UpdateArgs::decode(&args.encode()), Ok(args));
        }
        for step in [UpdateStep::RemoveRecord, UpdateStep::LeaveRecord, UpdateStep::UpdateRecord { old_hash: 1, value: b"" }] {
            assert_eq!(UpdateStep::decode(&step.encode()), Ok(step));
        }
        for reply in [
            UpdateReply::RecordValue(b"v"),
            UpdateReply::Ok,
            UpdateReply::NoRecord,
            UpdateReply::UpdateConflict,
            UpdateReply::WrongNode,
            UpdateReply::Error,
        ] {
            assert_eq!(UpdateReply::decode(&reply.encode()), Ok(reply));
        }
        assert!(UpdateArgs::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
