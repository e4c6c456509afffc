//! Legacy DLS requests: codes and fields, decoded on the node and encoded by
//! clients. Replies reuse the DHT's legacy shapes (status, arrays, LZO
//! batches ended by an empty array).
//!
//! | code | request | arguments after the `i32` code |
//! |-----:|---------|--------------------------------|
//! | 3 | Put | channel, key (16 hex digits), value |
//! | 17 | GetChannels | — |
//! | 22 | RemoveChannel | channel |
//! | 23 | GetNumConnections | — |
//! | 24 | GetVersion | — |
//! | 28 | GetRange | channel, low key, high key |
//! | 29 | GetAll | channel |
//! | 31 | GetAllFilter | channel, filter |
//! | 32 | GetRangeFilter | channel, low key, high key, filter |
//! | 34 | GetRangeRegex | channel, low key, high key, `u8` mode, pattern |
//! | 35 | Redistribute | `f32` fraction, (address, `u16` port)…, empty address |
//! | 36 | PutBatch | channel, batch |
//!
//! The retired size requests 18 and 19, like any unknown code, close the
//! connection without a reply.

use bytes::BytesMut;

use crate::legacy::request::MAX_ARRAY;
use crate::legacy::wire::{put_array, put_u32, WireError, WireReader};

/// Legacy DLS request codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum DlsCommand {
    /// Append a record.
    Put = 3,
    /// List channels.
    GetChannels = 17,
    /// Remove a channel and its files.
    RemoveChannel = 22,
    /// Open connections of the node.
    GetNumConnections = 23,
    /// The API version.
    GetVersion = 24,
    /// Records in a key range.
    GetRange = 28,
    /// Every record.
    GetAll = 29,
    /// Records whose value contains a filter.
    GetAllFilter = 31,
    /// Records in a range whose value contains a filter.
    GetRangeFilter = 32,
    /// Records in a range matching a substring or regular expression.
    GetRangeRegex = 34,
    /// Move a fraction of the buckets to other nodes.
    Redistribute = 35,
    /// Append a compressed batch of records.
    PutBatch = 36,
}

impl DlsCommand {
    /// Every code the node handles.
    pub const ALL: [DlsCommand; 12] = [
        Self::Put,
        Self::GetChannels,
        Self::RemoveChannel,
        Self::GetNumConnections,
        Self::GetVersion,
        Self::GetRange,
        Self::GetAll,
        Self::GetAllFilter,
        Self::GetRangeFilter,
        Self::GetRangeRegex,
        Self::Redistribute,
        Self::PutBatch,
    ];

    /// The command of a wire code; `None` for unknown and retired codes.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u32 == code)
    }
}

/// How GetRangeRegex matches values (the legacy byte values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LegacyFilterMode {
    /// The value contains the pattern as a substring.
    StringMatch = 0,
    /// A regular expression, case-sensitive, matching anywhere.
    Regex = 1,
    /// A regular expression, case-insensitive.
    RegexCaseInsensitive = 2,
}

/// A key range as sent (16 hex digits each, both ends inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange<'a> {
    /// Lowest key.
    pub low: &'a [u8],
    /// Highest key.
    pub high: &'a [u8],
}

/// A legacy DLS request with its fields (borrowed from the input).
#[derive(Debug, Clone, PartialEq)]
pub enum DlsRequest<'a> {
    /// Put.
    Put {
        /// channel name, not yet validated
        channel: &'a [u8],
        /// key as sent
        key: &'a [u8],
        /// the value
        value: &'a [u8],
    },
    /// GetChannels.
    GetChannels,
    /// RemoveChannel.
    RemoveChannel {
        /// channel name
        channel: &'a [u8],
    },
    /// GetNumConnections.
    GetNumConnections,
    /// GetVersion.
    GetVersion,
    /// GetRange.
    GetRange {
        /// channel name
        channel: &'a [u8],
        /// the keys
        range: KeyRange<'a>,
    },
    /// GetAll.
    GetAll {
        /// channel name
        channel: &'a [u8],
    },
    /// GetAllFilter.
    GetAllFilter {
        /// channel name
        channel: &'a [u8],
        /// substring the value must contain
        filter: &'a [u8],
    },
    /// GetRangeFilter.
    GetRangeFilter {
        /// channel name
        channel: &'a [u8],
        /// the keys
        range: KeyRange<'a>,
        /// substring the value must contain
        filter: &'a [u8],
    },
    /// GetRangeRegex.
    GetRangeRegex {
        /// channel name
        channel: &'a [u8],
        /// the keys
        range: KeyRange<'a>,
        /// the mode byte as sent (see [`LegacyFilterMode`])
        mode: u8,
        /// the substring or expression
        pattern: &'a [u8],
    },
    /// Redistribute.
    Redistribute {
        /// share of the buckets to move, in (0, 1]
        fraction: f32,
        /// the nodes to send them to
        nodes: Vec<(&'a [u8], u16)>,
    },
    /// PutBatch.
    PutBatch {
        /// channel name
        channel: &'a [u8],
        /// the batch array's content
        batch: &'a [u8],
    },
}

/// Most destination nodes a Redistribute may name.
pub const MAX_NODES: usize = 1024;

fn array<'a>(r: &mut WireReader<'a>, field: &'static str) -> Result<&'a [u8], WireError> {
    r.array(field, MAX_ARRAY)
}

fn range<'a>(r: &mut WireReader<'a>) -> Result<KeyRange<'a>, WireError> {
    Ok(KeyRange { low: array(r, "low key")?, high: array(r, "high key")? })
}

impl<'a> DlsRequest<'a> {
    /// The request's command.
    pub fn command(&self) -> DlsCommand {
        match self {
            Self::Put { .. } => DlsCommand::Put,
            Self::GetChannels => DlsCommand::GetChannels,
            Self::RemoveChannel { .. } => DlsCommand::RemoveChannel,
            Self::GetNumConnections => DlsCommand::GetNumConnections,
            Self::GetVersion => DlsCommand::GetVersion,
            Self::GetRange { .. } => DlsCommand::GetRange,
            Self::GetAll { .. } => DlsCommand::GetAll,
            Self::GetAllFilter { .. } => DlsCommand::GetAllFilter,
            Self::GetRangeFilter { .. } => DlsCommand::GetRangeFilter,
            Self::GetRangeRegex { .. } => DlsCommand::GetRangeRegex,
            Self::Redistribute { .. } => DlsCommand::Redistribute,
            Self::PutBatch { .. } => DlsCommand::PutBatch,
        }
    }

    /// Node side: decodes the next request once all of it has arrived
    /// (`Incomplete` before); returns it with the bytes it used. An unknown
    /// code or an array over 10 MiB is an error that closes the connection.
    pub fn decode(input: &'a [u8]) -> Result<(Self, usize), WireError> {
        let mut r = WireReader::new(input);
        let code = r.u32()?;
        let command = DlsCommand::from_code(code).ok_or(WireError::UnknownCommand(code))?;
        let request = match command {
            DlsCommand::Put => Self::Put {
                channel: array(&mut r, "channel")?,
                key: array(&mut r, "key")?,
                value: array(&mut r, "value")?,
            },
            DlsCommand::GetChannels => Self::GetChannels,
            DlsCommand::RemoveChannel => Self::RemoveChannel { channel: array(&mut r, "channel")? },
            DlsCommand::GetNumConnections => Self::GetNumConnections,
            DlsCommand::GetVersion => Self::GetVersion,
            DlsCommand::GetRange => Self::GetRange { channel: array(&mut r, "channel")?, range: range(&mut r)? },
            DlsCommand::GetAll => Self::GetAll { channel: array(&mut r, "channel")? },
            DlsCommand::GetAllFilter => {
                Self::GetAllFilter { channel: array(&mut r, "channel")?, filter: array(&mut r, "filter")? }
            }
            DlsCommand::GetRangeFilter => Self::GetRangeFilter {
                channel: array(&mut r, "channel")?,
                range: range(&mut r)?,
                filter: array(&mut r, "filter")?,
            },
            DlsCommand::GetRangeRegex => Self::GetRangeRegex {
                channel: array(&mut r, "channel")?,
                range: range(&mut r)?,
                mode: r.u8()?,
                pattern: array(&mut r, "pattern")?,
            },
            DlsCommand::Redistribute => {
                let fraction = f32::from_bits(r.u32()?);
                let mut nodes = Vec::new();
                loop {
                    let address = array(&mut r, "node address")?;
                    if address.is_empty() {
                        break;
                    }
                    if nodes.len() == MAX_NODES {
                        return Err(WireError::TooLong {
                            field: "node list",
                            len: MAX_NODES as u64 + 1,
                            limit: MAX_NODES as u64,
                        });
                    }
                    nodes.push((address, r.u16()?));
                }
                Self::Redistribute { fraction, nodes }
            }
            DlsCommand::PutBatch => Self::PutBatch { channel: array(&mut r, "channel")?, batch: array(&mut r, "batch")? },
        };
        Ok((request, r.position()))
    }

    /// Client side: appends the request's bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        put_u32(out, self.command() as u32);
        let put_range = |out: &mut BytesMut, range: &KeyRange<'_>| {
            put_array(out, range.low);
            put_array(out, range.high);
        };
        match self {
            Self::Put { channel, key, value } => {
                put_array(out, channel);
                put_array(out, key);
                put_array(out, value);
            }
            Self::GetChannels | Self::GetNumConnections | Self::GetVersion => {}
            Self::RemoveChannel { channel } | Self::GetAll { channel } => put_array(out, channel),
            Self::GetRange { channel, range } => {
                put_array(out, channel);
                put_range(out, range);
            }
            Self::GetAllFilter { channel, filter } => {
                put_array(out, channel);
                put_array(out, filter);
            }
            Self::GetRangeFilter { channel, range, filter } => {
                put_array(out, channel);
                put_range(out, range);
                put_array(out, filter);
            }
            Self::GetRangeRegex { channel, range, mode, pattern } => {
                put_array(out, channel);
                put_range(out, range);
                out.extend_from_slice(&[*mode]);
                put_array(out, pattern);
            }
            Self::Redistribute { fraction, nodes } => {
                put_u32(out, fraction.to_bits());
                for (address, port) in nodes {
                    put_array(out, address);
                    out.extend_from_slice(&port.to_le_bytes());
                }
                put_array(out, b"");
            }
            Self::PutBatch { channel, batch } => {
                put_array(out, channel);
                put_array(out, batch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(request: DlsRequest<'_>) {
        let mut out = BytesMut::new();
        request.encode(&mut out);
        assert_eq!(DlsRequest::decode(&out), Ok((request, out.len())));
        for cut in 0..out.len() {
            assert_eq!(DlsRequest::decode(&out[..cut]), Err(WireError::Incomplete), "cut at {cut}");
        }
    }

    #[test]
    fn every_request_round_trips_and_every_prefix_is_incomplete() {
        let range = KeyRange { low: b"0000000000000000", high: b"00000000000000ff" };
        round_trip(DlsRequest::Put { channel: b"ch", key: b"0000000057275806", value: b"hello" });
        round_trip(DlsRequest::GetChannels);
        round_trip(DlsRequest::RemoveChannel { channel: b"ch" });
        round_trip(DlsRequest::GetNumConnections);
        round_trip(DlsRequest::GetVersion);
        round_trip(DlsRequest::GetRange { channel: b"ex", range });
        round_trip(DlsRequest::GetAll { channel: b"ch" });
        round_trip(DlsRequest::GetAllFilter { channel: b"ch", filter: b"f" });
        round_trip(DlsRequest::GetRangeFilter { channel: b"ch", range, filter: b"f" });
        round_trip(DlsRequest::GetRangeRegex { channel: b"ch", range, mode: 1, pattern: b"a.*b" });
        round_trip(DlsRequest::Redistribute { fraction: 0.5, nodes: vec![(&b"127.0.0.1"[..], 10000)] });
        round_trip(DlsRequest::PutBatch { channel: b"ch", batch: b"batch" });
    }

    #[test]
    fn the_observed_requests_decode() {
        // dls-spec.md §2.4: Put ch1 0000000057275806 "hello".
        let put = b"\x03\0\0\0\x03\0\0\0\0\0\0\0ch1\x10\0\0\0\0\0\0\x000000000057275806\x05\0\0\0\0\0\0\0hello";
        let (request, used) = DlsRequest::decode(put).unwrap();
        assert_eq!(used, put.len());
        assert_eq!(request, DlsRequest::Put { channel: b"ch1", key: b"0000000057275806", value: b"hello" });
        for code in [0u32, 18, 19, 99] {
            assert_eq!(DlsRequest::decode(&code.to_le_bytes()), Err(WireError::UnknownCommand(code)));
        }
    }
}
