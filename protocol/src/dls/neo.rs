//! Neo DLS requests at the versions the original dlsnode serves: Put v1 and
//! GetRange v2. Pure codecs over message payloads (after the request id).
//!
//! - Put: channel array, `i64` timestamp (the record key), value array →
//!   one status byte (1 Put, 2 Error).
//! - GetRange: channel array, `i64` low, `i64` high (both inclusive), filter
//!   array, `u8` filter mode (0 none, 1 substring, 2 regex, 3 regex ignoring
//!   case) → 1 Started or 3 Error; then Records messages, each answered by
//!   the client with Continue (1) or Stop (2); Stop is answered Stopped (4);
//!   the end is Finished (5), acknowledged by the client with Ack (6).
//!
//! A Records payload is `3`, the `u64` uncompressed length, then an array
//! holding the LZO1X stream of records `i64 key, u64 length, value`.

use bytes::BufMut;

use crate::lzo;
use crate::neo::payload::{put_array, PayloadReader};
use crate::neo::{Command, RequestError};

/// Put at the version the original serves.
pub const PUT_V1: Command = Command::new(1, 1);
/// GetRange at the version the original serves.
pub const GET_RANGE_V2: Command = Command::new(2, 2);
/// Every command the original dlsnode serves.
pub const DLS_COMMANDS: [Command; 2] = [PUT_V1, GET_RANGE_V2];

/// The arguments of a Put v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutArgs<'a> {
    /// The channel.
    pub channel: &'a [u8],
    /// The record key (by convention a Unix time).
    pub key: u64,
    /// The value.
    pub value: &'a [u8],
}

impl<'a> PutArgs<'a> {
    /// Decodes the arguments; extra bytes are an error.
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let parsed = Self { channel: r.array("channel")?, key: r.u64("timestamp")?, value: r.array("value")? };
        r.finish()?;
        Ok(parsed)
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.channel.len() + self.value.len());
        put_array(&mut out, self.channel);
        out.extend_from_slice(&self.key.to_le_bytes());
        put_array(&mut out, self.value);
        out
    }
}

/// How a neo GetRange filters values (its own byte values, unlike legacy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NeoFilterMode {
    /// No filter.
    None = 0,
    /// The value contains the filter as a substring.
    StringMatch = 1,
    /// A regular expression, case-sensitive.
    Regex = 2,
    /// A regular expression, case-insensitive.
    RegexCaseInsensitive = 3,
}

/// The arguments of a GetRange v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetRangeArgs<'a> {
    /// The channel.
    pub channel: &'a [u8],
    /// Lowest key (as the signed value the client sends).
    pub low: i64,
    /// Highest key.
    pub high: i64,
    /// The filter; empty for none.
    pub filter: &'a [u8],
    /// The mode byte as sent (see [`NeoFilterMode`]).
    pub mode: u8,
}

impl<'a> GetRangeArgs<'a> {
    /// Decodes the arguments; extra bytes are an error.
    pub fn decode(args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let parsed = Self {
            channel: r.array("channel")?,
            low: r.u64("low")? as i64,
            high: r.u64("high")? as i64,
            filter: r.array("filter")?,
            mode: r.u8("filter mode")?,
        };
        r.finish()?;
        Ok(parsed)
    }

    /// The encoded arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(33 + self.channel.len() + self.filter.len());
        put_array(&mut out, self.channel);
        out.extend_from_slice(&self.low.to_le_bytes());
        out.extend_from_slice(&self.high.to_le_bytes());
        put_array(&mut out, self.filter);
        out.push(self.mode);
        out
    }
}

/// A node → client message of a GetRange after its start status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetRangeMessage<'a> {
    /// A batch: uncompressed length and the LZO stream.
    Records {
        /// bytes the stream decompresses to
        uncompressed: u64,
        /// the LZO1X stream
        lzo: &'a [u8],
    },
    /// Answer to Stop; the request is over.
    Stopped,
    /// Every record was sent; the client answers Ack.
    Finished,
}

impl<'a> GetRangeMessage<'a> {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Self::Records { uncompressed, lzo } => {
                let mut out = Vec::with_capacity(17 + lzo.len());
                out.push(3);
                out.extend_from_slice(&uncompressed.to_le_bytes());
                put_array(&mut out, lzo);
                out
            }
            Self::Stopped => vec![4],
            Self::Finished => vec![5],
        }
    }

    /// Decodes a message payload.
    pub fn decode(payload: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(payload);
        let message = match r.u8("GetRange message type")? {
            3 => Self::Records { uncompressed: r.u64("uncompressed length")?, lzo: r.array("records")? },
            4 => Self::Stopped,
            5 => Self::Finished,
            byte => return Err(RequestError::UnknownStatus { kind: "GetRange message", byte }),
        };
        r.finish()?;
        Ok(message)
    }
}

/// A client → node message of a running GetRange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GetRangeControl {
    /// Send the next batch.
    Continue = 1,
    /// End the request.
    Stop = 2,
    /// Acknowledges Finished.
    Ack = 6,
}

impl GetRangeControl {
    /// Decodes a message payload (exactly one byte).
    pub fn decode(payload: &[u8]) -> Result<Self, RequestError> {
        match payload {
            [1] => Ok(Self::Continue),
            [2] => Ok(Self::Stop),
            [6] => Ok(Self::Ack),
            [byte, ..] => Err(RequestError::UnknownStatus { kind: "GetRange control", byte: *byte }),
            [] => Err(RequestError::Truncated { field: "GetRange control", needed: 1, available: 0 }),
        }
    }
}

/// Bytes of a Records message before its LZO stream: the type, the
/// uncompressed length and the stream's array length.
const RECORDS_HEAD: usize = 17;

/// Node side: one Records message, built around its records as they are
/// gathered, with `room` free bytes in front for whatever frames it (the
/// connection's message header). A batch that goes as a literal run, as
/// batches of values that do not compress do, gets its head written in
/// front of the records and is sent from this buffer without a copy
/// ([`lzo::InPlaceBlock`]).
pub struct RecordsBatch {
    block: lzo::InPlaceBlock,
}

impl RecordsBatch {
    /// An empty batch for about `capacity` bytes of records (more are
    /// taken, but then the message is copied once).
    pub fn new(room: usize, capacity: usize) -> Self {
        RecordsBatch { block: lzo::InPlaceBlock::new(room + RECORDS_HEAD, capacity) }
    }

    /// Appends one record: key, value length, value.
    pub fn push(&mut self, key: u64, value: &[u8]) {
        self.block.put_slice(&key.to_le_bytes());
        self.block.put_slice(&(value.len() as u64).to_le_bytes());
        self.block.put_slice(value);
    }

    /// Bytes of records in the batch.
    pub fn len(&self) -> usize {
        self.block.data().len()
    }

    /// Whether no record is in the batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Records message, compressed by `compressor` if worth it, and
    /// where its payload starts in the returned buffer (`room` bytes or
    /// more in).
    pub fn finish(self, compressor: &mut lzo::Compressor) -> (Vec<u8>, usize) {
        let len = self.len();
        let (mut buf, stream_start) = self.block.finish(compressor);
        let lzo_len = buf.len() - stream_start;
        let start = stream_start - RECORDS_HEAD;
        let mut head = &mut buf[start..stream_start];
        head.put_u8(3);
        head.put_u64_le(len as u64);
        head.put_u64_le(lzo_len as u64);
        (buf, start)
    }
}

/// Client side: the records of a Records batch, where they lie in the
/// message if it is one literal run, else decompressed into `out` (whose
/// allocation is reused from batch to batch), refusing to produce more than
/// `limit` bytes whatever the message claims.
pub fn decompress_records<'a>(uncompressed: u64, lzo: &'a [u8], limit: u64, out: &'a mut Vec<u8>) -> Result<&'a [u8], RequestError> {
    if uncompressed > limit {
        return Err(RequestError::Truncated { field: "records (over the limit)", needed: uncompressed, available: limit as usize });
    }
    if let Some(records) = crate::lzo::literal_run(lzo, uncompressed as usize) {
        return Ok(records);
    }
    // Every byte is written by a stream that decompresses to this length.
    out.resize(uncompressed as usize, 0);
    match lzokay::decompress::decompress(lzo, out) {
        Ok(len) if len == out.len() => Ok(out),
        _ => Err(RequestError::UnknownStatus { kind: "corrupt records batch", byte: 0 }),
    }
}

/// Splits decompressed GetRange records into (key, value).
pub fn records(decompressed: &[u8]) -> Result<Vec<(u64, &[u8])>, RequestError> {
    let mut r = PayloadReader::new(decompressed);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push((r.u64("key")?, r.array("value")?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observed_put_decodes_and_everything_round_trips() {
        // dls-spec.md §3.1: channel "ex", timestamp 0x12, value "z".
        let args = b"\x02\0\0\0\0\0\0\0ex\x12\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0z";
        let put = PutArgs::decode(args).unwrap();
        assert_eq!(put, PutArgs { channel: b"ex", key: 0x12, value: b"z" });
        assert_eq!(put.encode(), args);
        let range = GetRangeArgs { channel: b"ex", low: -10, high: 5, filter: b"a", mode: 2 };
        assert_eq!(GetRangeArgs::decode(&range.encode()), Ok(range));
        assert!(GetRangeArgs::decode(&range.encode()[..20]).is_err());
        for m in [GetRangeMessage::Records { uncompressed: 35, lzo: b"xyz" }, GetRangeMessage::Stopped, GetRangeMessage::Finished] {
            assert_eq!(GetRangeMessage::decode(&m.encode()), Ok(m));
        }
        assert_eq!(GetRangeControl::decode(&[6]), Ok(GetRangeControl::Ack));
        assert!(GetRangeControl::decode(&[3]).is_err());
        let mut batch = 0x10u64.to_le_bytes().to_vec();
        put_array(&mut batch, b"a");
        assert_eq!(records(&batch).unwrap(), vec![(0x10, &b"a"[..])]);
        let mut built = RecordsBatch::new(5, 100);
        built.push(0x10, b"a");
        assert_eq!(built.len(), batch.len());
        let (message, start) = built.finish(&mut lzo::Compressor::default());
        assert!(start >= 5);
        let GetRangeMessage::Records { uncompressed, lzo } = GetRangeMessage::decode(&message[start..]).unwrap() else { panic!() };
        let mut out = Vec::new();
        assert_eq!(decompress_records(uncompressed, lzo, 1 << 20, &mut out).unwrap(), batch);
        assert!(decompress_records(u64::MAX, lzo, 1 << 20, &mut out).is_err());
        assert!(records(&batch[..batch.len() - 1]).is_err());
    }

    #[test]
    fn records_batches_round_trip_sent_in_place_compressed_or_past_their_capacity() {
        let noise = crate::lzo::tests::noise;
        let text = br#"{"user":1234,"event":"click"}"#.repeat(10);
        let cases: [(Vec<Vec<u8>>, usize); 3] = [
            (noise(50_000, 3).chunks(100).map(<[u8]>::to_vec).collect(), 100_000),
            ((0..500).map(|_| text.clone()).collect(), 100_000),
            (noise(50_000, 5).chunks(100).map(<[u8]>::to_vec).collect(), 1_000),
        ];
        for (case, (values, capacity)) in cases.iter().enumerate() {
            let mut built = RecordsBatch::new(18, *capacity);
            let allocation = built.block.data().as_ptr();
            let mut expected = Vec::new();
            for (key, value) in values.iter().enumerate() {
                built.push(key as u64, value);
                expected.put_u64_le(key as u64);
                put_array(&mut expected, value);
            }
            let records_at = built.block.data().as_ptr();
            let (message, start) = built.finish(&mut lzo::Compressor::default());
            assert!(start >= 18, "case {case}");
            let in_place = message.as_ptr_range().contains(&records_at);
            assert_eq!(in_place, case == 0 && records_at == allocation, "case {case}: sent from the records' buffer");
            let GetRangeMessage::Records { uncompressed, lzo } = GetRangeMessage::decode(&message[start..]).unwrap() else { panic!() };
            assert_eq!(lzo.len() < expected.len() / 2, case == 1, "case {case}: compressed");
            // Longer than any batch, as if left by an earlier one.
            let mut out = vec![7; 200_000];
            let got = decompress_records(uncompressed, lzo, 1 << 20, &mut out).unwrap();
            assert_eq!(got, expected, "case {case}");
            let read_in_place = lzo.as_ptr_range().contains(&got.as_ptr());
            assert_eq!(read_in_place, case != 1, "case {case}: a literal run is read where it lies");
            if case == 1 {
                assert_eq!(out.len(), expected.len(), "a longer buffer is cut to the batch");
            }
        }
    }
}
