//! Neo DMQ requests at the versions the original dmqnode serves: Push v3,
//! Pop v1, Consume v4. Pure codecs over message payloads (after the request
//! id), both directions.
//!
//! - Push: `u8` count, that many channel arrays, value array → one status
//!   byte (1 Pushed, 2 Error).
//! - Pop: channel array → 1 Popped + value array, 2 Empty, 3 Error,
//!   4 Subscribed (the channel has subscribers; use Consume).
//! - Consume: channel array, subscriber array (empty: the unnamed
//!   subscriber) → 1 Started or 2 Error; then the node sends Records
//!   (type 3, an array holding records as arrays end to end) and waits for
//!   Continue (1) or Stop (2) from the client before the next batch; Stop is
//!   answered with Stopped (4); a removed channel ends it with
//!   ChannelRemoved (5).

use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::{Command, RequestError};

/// Push at the version the original serves.
pub const PUSH_V3: Command = Command::new(1, 3);
/// Pop at the version the original serves.
pub const POP_V1: Command = Command::new(2, 1);
/// Consume at the version the original serves.
pub const CONSUME_V4: Command = Command::new(6, 4);

/// Every command the original dmqnode serves.
pub const DMQ_COMMANDS: [Command; 3] = [PUSH_V3, POP_V1, CONSUME_V4];

/// The arguments of a Push v3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushArgs<'a> {
    /// The channels (at most 255).
    pub channels: Vec<&'a [u8]>,
    /// The record.
    pub value: &'a [u8],
}

impl<'a> PushArgs<'a> {
    /// Decodes the arguments; extra bytes are an error (as the original).
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let count = r.u8("channel count")?;
        let channels = (0..count).map(|_| r.array("channel")).collect::<Result<Vec<_>, _>>()?;
        let value = r.array("value")?;
        r.finish()?;
        Ok(Self { channels, value })
    }

    /// The encoded arguments; `None` for more than 255 channels.
    pub fn encode(&self) -> Option<Vec<u8>> {
        let count = u8::try_from(self.channels.len()).ok()?;
        let mut out = vec![count];
        self.channels.iter().for_each(|c| put_array(&mut out, c));
        put_array(&mut out, self.value);
        Some(out)
    }
}

/// Node → client status of a Push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PushStatus {
    /// Stored in every channel.
    Pushed = 1,
    /// The node failed.
    Error = 2,
}

/// Decodes the arguments of a Pop v1: the channel.
pub fn decode_pop_args(args: &[u8]) -> Result<&[u8], RequestError> {
    let mut r = PayloadReader::new(args);
    let channel = r.array("channel")?;
    r.finish()?;
    Ok(channel)
}

/// Node → client reply of a Pop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopReply<'a> {
    /// The oldest record, now removed from the queue.
    Popped(&'a [u8]),
    /// The queue is empty.
    Empty,
    /// The node failed.
    Error,
    /// The channel has subscribers: records go to their queues, not to Pop.
    Subscribed,
}

impl<'a> PopReply<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Popped(value) => {
                let mut out = Vec::with_capacity(9 + value.len());
                out.push(1);
                put_array(&mut out, value);
                out
            }
            Self::Empty => vec![2],
            Self::Error => vec![3],
            Self::Subscribed => vec![4],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(payload);
        let reply = match r.u8("Pop status")? {
            1 => Self::Popped(r.array("value")?),
            2 => Self::Empty,
            3 => Self::Error,
            4 => Self::Subscribed,
            byte => return Err(RequestError::UnknownStatus { kind: "Pop", byte }),
        };
        r.finish()?;
        Ok(reply)
    }
}

/// The arguments of a Consume v4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeArgs<'a> {
    /// The channel.
    pub channel: &'a [u8],
    /// The subscriber; empty for the unnamed one.
    pub subscriber: &'a [u8],
}

impl<'a> ConsumeArgs<'a> {
    /// Decodes the arguments; extra bytes are an error.
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let parsed = Self { channel: r.array("channel")?, subscriber: r.array("subscriber")? };
        r.finish()?;
        Ok(parsed)
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.channel.len() + self.subscriber.len());
        put_array(&mut out, self.channel);
        put_array(&mut out, self.subscriber);
        out
    }
}

/// The first status of a Consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConsumeStatus {
    /// Subscribed; records follow.
    Started = 1,
    /// The node failed; the request is over.
    Error = 2,
}

/// A later node → client message of a Consume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumeMessage<'a> {
    /// A batch: records as arrays end to end (the array's content).
    Records(&'a [u8]),
    /// Answer to Stop; the request is over.
    Stopped,
    /// The channel was removed; the request is over.
    ChannelRemoved,
}

impl<'a> ConsumeMessage<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Records(batch) => {
                let mut out = Vec::with_capacity(9 + batch.len());
                out.push(3);
                put_array(&mut out, batch);
                out
            }
            Self::Stopped => vec![4],
            Self::ChannelRemoved => vec![5],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(payload);
        let message = match r.u8("Consume message type")? {
            3 => Self::Records(r.array("records")?),
            4 => Self::Stopped,
            5 => Self::ChannelRemoved,
            byte => return Err(RequestError::UnknownStatus { kind: "Consume message", byte }),
        };
        r.finish()?;
        Ok(message)
    }

    /// Splits the content of a Records batch into its records.
    pub fn records(batch: &'a [u8]) -> Result<Vec<&'a [u8]>, RequestError> {
        let mut r = PayloadReader::new(batch);
        let mut records = Vec::new();
        while !r.is_empty() {
            records.push(r.array("record")?);
        }
        Ok(records)
    }
}

/// A client → node message of a running Consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ConsumeControl {
    /// The last batch was taken: send the next.
    Continue = 1,
    /// End the request.
    Stop = 2,
}

impl ConsumeControl {
    /// Decodes a message payload (exactly one byte).
    pub fn decode(payload: &[u8]) -> Result<Self, RequestError> {
        match payload {
            [1] => Ok(Self::Continue),
            [2] => Ok(Self::Stop),
            [byte, ..] => Err(RequestError::UnknownStatus { kind: "Consume control", byte: *byte }),
            [] => Err(RequestError::Truncated { field: "Consume control", needed: 1, available: 0 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observed_push_decodes() {
        // dmq-spec.md §3.1: one channel "nq", value "hello".
        let args = b"\x01\x02\0\0\0\0\0\0\0nq\x05\0\0\0\0\0\0\0hello";
        let push = PushArgs::decode(args).unwrap();
        assert_eq!(push, PushArgs { channels: vec![b"nq"], value: b"hello" });
        assert_eq!(push.encode().unwrap(), args);
        assert!(PushArgs::decode(&args[..args.len() - 1]).is_err());
        assert!(PushArgs { channels: vec![b"c"; 256], value: b"" }.encode().is_none());
    }

    #[test]
    fn pop_and_consume_round_trip() {
        for reply in [PopReply::Popped(b"v"), PopReply::Empty, PopReply::Error, PopReply::Subscribed] {
            assert_eq!(PopReply::decode(&reply.encode()), Ok(reply));
        }
        let args = ConsumeArgs { channel: b"ch", subscriber: b"sub" };
        assert_eq!(ConsumeArgs::decode(&args.encode()), Ok(args));
        let mut batch = Vec::new();
        put_array(&mut batch, b"one");
        put_array(&mut batch, b"two");
        let message = ConsumeMessage::Records(&batch);
        let encoded = message.encode();
        let ConsumeMessage::Records(content) = ConsumeMessage::decode(&encoded).unwrap() else { panic!() };
        assert_eq!(ConsumeMessage::records(content).unwrap(), vec![&b"one"[..], &b"two"[..]]);
        assert!(ConsumeMessage::records(&batch[..batch.len() - 1]).is_err());
        assert_eq!(ConsumeControl::decode(&[2]), Ok(ConsumeControl::Stop));
        assert!(ConsumeControl::decode(&[3]).is_err());
    }
}
