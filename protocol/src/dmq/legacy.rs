//! Legacy DMQ requests: codes, fields and streams, decoded on the node and
//! encoded by clients.
//!
//! | code | request | arguments after the `i32` code | reply |
//! |-----:|---------|--------------------------------|-------|
//! | 1 | Push | channel, value | status |
//! | 2 | Pop | channel | status, then (200) the value (empty: none) |
//! | 6 | Consume | channel | status, then records until an empty array (channel removed) |
//! | 8 | GetNumConnections | — | 406 NotSupported |
//! | 9 | PushMulti | channels (list ended by an empty array), value | status |
//! | 10 | Produce | channel | status, then the client streams records, an empty array ends |
//! | 11 | ProduceMulti | channels (list), | as Produce, each record to every channel |
//! | 12 | RemoveChannel | channel | status |
//!
//! Codes 3, 4, 5, 7 and 13 are retired; like any unknown code they close the
//! connection without a reply.

use bytes::BytesMut;

use crate::legacy::request::MAX_ARRAY;
use crate::legacy::wire::{put_array, put_u32, put_u64, WireError, WireReader};

/// Legacy DMQ request codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum DmqCommand {
    /// Push a record to a channel.
    Push = 1,
    /// Pop a record from a channel.
    Pop = 2,
    /// Stream a channel's records.
    Consume = 6,
    /// Not served by the dmqnode (406).
    GetNumConnections = 8,
    /// Push a record to several channels.
    PushMulti = 9,
    /// Stream records into a channel.
    Produce = 10,
    /// Stream records into several channels.
    ProduceMulti = 11,
    /// Remove a channel and its records.
    RemoveChannel = 12,
}

impl DmqCommand {
    /// Every code the node handles.
    pub const ALL: [DmqCommand; 8] = [
        Self::Push,
        Self::Pop,
        Self::Consume,
        Self::GetNumConnections,
        Self::PushMulti,
        Self::Produce,
        Self::ProduceMulti,
        Self::RemoveChannel,
    ];

    /// The command of a wire code; `None` for unknown and retired codes.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u32 == code)
    }

    /// The name stats.log and the logs use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Push => "Push",
            Self::Pop => "Pop",
            Self::Consume => "Consume",
            Self::GetNumConnections => "GetNumConnections",
            Self::PushMulti => "PushMulti",
            Self::Produce => "Produce",
            Self::ProduceMulti => "ProduceMulti",
            Self::RemoveChannel => "RemoveChannel",
        }
    }
}

/// A legacy DMQ request with its fields (borrowed from the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmqRequest<'a> {
    /// Push `value` to `channel`.
    Push {
        /// channel name, not yet validated
        channel: &'a [u8],
        /// the record
        value: &'a [u8],
    },
    /// Pop from `channel`.
    Pop {
        /// channel name, not yet validated
        channel: &'a [u8],
    },
    /// Consume `channel` (as the unnamed subscriber).
    Consume {
        /// channel name, not yet validated
        channel: &'a [u8],
    },
    /// GetNumConnections (not supported by the dmqnode).
    GetNumConnections,
    /// Push `value` to every channel.
    PushMulti {
        /// channel names, not yet validated
        channels: Vec<&'a [u8]>,
        /// the record
        value: &'a [u8],
    },
    /// Produce into `channel`.
    Produce {
        /// channel name, not yet validated
        channel: &'a [u8],
    },
    /// Produce into every channel.
    ProduceMulti {
        /// channel names, not yet validated
        channels: Vec<&'a [u8]>,
    },
    /// Remove `channel`.
    RemoveChannel {
        /// channel name, not yet validated
        channel: &'a [u8],
    },
}

/// A decoded request and how many input bytes it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedDmq<'a> {
    /// The request.
    pub request: DmqRequest<'a>,
    /// Bytes of input it took.
    pub consumed: usize,
}

/// Most channels one PushMulti or ProduceMulti may name: far more than any
/// client sends, and a bound on what a lying client makes the node collect.
pub const MAX_CHANNELS: usize = 1024;

fn array<'a>(r: &mut WireReader<'a>, field: &'static str) -> Result<&'a [u8], WireError> {
    r.array(field, MAX_ARRAY)
}

/// A list of channel names ended by an empty array.
fn channel_list<'a>(r: &mut WireReader<'a>) -> Result<Vec<&'a [u8]>, WireError> {
    let mut channels = Vec::new();
    loop {
        let channel = array(r, "channel")?;
        if channel.is_empty() {
            return Ok(channels);
        }
        if channels.len() == MAX_CHANNELS {
            return Err(WireError::TooLong { field: "channel list", len: MAX_CHANNELS as u64 + 1, limit: MAX_CHANNELS as u64 });
        }
        channels.push(channel);
    }
}

impl<'a> DmqRequest<'a> {
    /// The request's command.
    pub fn command(&self) -> DmqCommand {
        match self {
            Self::Push { .. } => DmqCommand::Push,
            Self::Pop { .. } => DmqCommand::Pop,
            Self::Consume { .. } => DmqCommand::Consume,
            Self::GetNumConnections => DmqCommand::GetNumConnections,
            Self::PushMulti { .. } => DmqCommand::PushMulti,
            Self::Produce { .. } => DmqCommand::Produce,
            Self::ProduceMulti { .. } => DmqCommand::ProduceMulti,
            Self::RemoveChannel { .. } => DmqCommand::RemoveChannel,
        }
    }

    /// Node side: decodes the next request once all of it has arrived
    /// (`Incomplete` before); an unknown code or an array over 10 MiB is an
    /// error that closes the connection, as in the original.
    pub fn decode(input: &'a [u8]) -> Result<DecodedDmq<'a>, WireError> {
        let mut r = WireReader::new(input);
        let code = r.u32()?;
        let command = DmqCommand::from_code(code).ok_or(WireError::UnknownCommand(code))?;
        let request = match command {
            DmqCommand::Push => Self::Push { channel: array(&mut r, "channel")?, value: array(&mut r, "value")? },
            DmqCommand::Pop => Self::Pop { channel: array(&mut r, "channel")? },
            DmqCommand::Consume => Self::Consume { channel: array(&mut r, "channel")? },
            DmqCommand::GetNumConnections => Self::GetNumConnections,
            DmqCommand::PushMulti => Self::PushMulti { channels: channel_list(&mut r)?, value: array(&mut r, "value")? },
            DmqCommand::Produce => Self::Produce { channel: array(&mut r, "channel")? },
            DmqCommand::ProduceMulti => Self::ProduceMulti { channels: channel_list(&mut r)? },
            DmqCommand::RemoveChannel => Self::RemoveChannel { channel: array(&mut r, "channel")? },
        };
        Ok(DecodedDmq { request, consumed: r.position() })
    }

    /// Client side: appends the request's bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        put_u32(out, self.command() as u32);
        let list = |out: &mut BytesMut, channels: &[&[u8]]| {
            channels.iter().for_each(|c| put_array(out, c));
            put_u64(out, 0);
        };
        match self {
            Self::Push { channel, value } => {
                put_array(out, channel);
                put_array(out, value);
            }
            Self::Pop { channel }
            | Self::Consume { channel }
            | Self::Produce { channel }
            | Self::RemoveChannel { channel } => put_array(out, channel),
            Self::GetNumConnections => {}
            Self::PushMulti { channels, value } => {
                list(out, channels);
                put_array(out, value);
            }
            Self::ProduceMulti { channels } => list(out, channels),
        }
    }
}

/// One record of a Produce stream (or a Consume stream, node → client): an
/// array; `None` is the empty array that ends the stream.
pub fn decode_stream_record(input: &[u8]) -> Result<(Option<&[u8]>, usize), WireError> {
    let mut r = WireReader::new(input);
    let record = array(&mut r, "record")?;
    Ok(((!record.is_empty()).then_some(record), r.position()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(request: DmqRequest<'_>) {
        let mut out = BytesMut::new();
        request.encode(&mut out);
        let decoded = DmqRequest::decode(&out).expect("complete");
        assert_eq!(decoded.consumed, out.len());
        assert_eq!(decoded.request, request);
        for cut in 0..out.len() {
            assert_eq!(DmqRequest::decode(&out[..cut]), Err(WireError::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn every_request_round_trips_and_every_prefix_is_incomplete() {
        round_trip(DmqRequest::Push { channel: b"ch", value: b"hello" });
        round_trip(DmqRequest::Pop { channel: b"ch" });
        round_trip(DmqRequest::Consume { channel: b"ch" });
        round_trip(DmqRequest::GetNumConnections);
        round_trip(DmqRequest::PushMulti { channels: vec![b"a", b"b"], value: b"v" });
        round_trip(DmqRequest::PushMulti { channels: vec![], value: b"v" });
        round_trip(DmqRequest::Produce { channel: b"ch" });
        round_trip(DmqRequest::ProduceMulti { channels: vec![b"a"] });
        round_trip(DmqRequest::RemoveChannel { channel: b"ch" });
    }

    #[test]
    fn the_observed_push_decodes() {
        // dmq-spec.md §2.2: Push "ch" "hello".
        let bytes = b"\x01\0\0\0\x02\0\0\0\0\0\0\0ch\x05\0\0\0\0\0\0\0hello";
        let decoded = DmqRequest::decode(bytes).unwrap();
        assert_eq!(decoded.request, DmqRequest::Push { channel: b"ch", value: b"hello" });
    }

    #[test]
    fn retired_codes_and_huge_arrays_are_refused() {
        for code in [0u32, 3, 4, 5, 7, 13, 99] {
            assert_eq!(DmqRequest::decode(&code.to_le_bytes()), Err(WireError::UnknownCommand(code)));
        }
        let mut huge = 1u32.to_le_bytes().to_vec();
        huge.extend_from_slice(&(MAX_ARRAY + 1).to_le_bytes());
        assert!(matches!(DmqRequest::decode(&huge), Err(WireError::TooLong { .. })));
    }

    #[test]
    fn stream_records_end_with_an_empty_array() {
        assert_eq!(decode_stream_record(b"\x01\0\0\0\0\0\0\0x"), Ok((Some(&b"x"[..]), 9)));
        assert_eq!(decode_stream_record(&[0; 8]), Ok((None, 8)));
        assert_eq!(decode_stream_record(&[1, 0]), Err(WireError::Incomplete));
    }
}
