//! Legacy requests: their fields, decoded on the node and encoded by clients.
//!
//! Requests share a few shapes (a channel; a channel and a key; ...), so the
//! enum names the kind and the shape structs carry the fields. Fields borrow
//! from the input buffer: a node handles a request before consuming its
//! bytes, and copies only what a streaming request keeps.

use bytes::BytesMut;

use super::codes::Command;
use super::wire::{put_array, put_u32, put_u64, WireError, WireReader};

/// Longest array the original's reader accepts (10 MiB); a longer one closes
/// the connection.
pub const MAX_ARRAY: u64 = 10 * 1024 * 1024;

/// Limits that depend on the node's configuration.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest value a Put stores; a longer one is skipped unread and
    /// answered ValueTooBig, as the original does.
    pub max_put_value: u64,
}

/// A channel name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelArg<'a> {
    /// The channel name, not yet validated.
    pub channel: &'a [u8],
}

/// A channel and a record key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyArgs<'a> {
    /// The channel name, not yet validated.
    pub channel: &'a [u8],
    /// The key as sent: 16 hex digits if the client is well-behaved.
    pub key: &'a [u8],
}

/// The fields of a Put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutArgs<'a> {
    /// Channel and key.
    pub target: KeyArgs<'a>,
    /// The value, or `None` when it exceeded the node's limit and was skipped.
    pub value: Option<&'a [u8]>,
}

/// A channel and a second array: GetAllFilter's filter or PutBatch's batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// The channel name, not yet validated.
    pub channel: &'a [u8],
    /// The second array.
    pub data: &'a [u8],
}

/// One target of a Redistribute: a node and the hash range it now owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedistributeTarget {
    /// The node's address as text.
    pub address: String,
    /// Its legacy port.
    pub port: u16,
    /// Lowest (bit-reversed) hash it owns.
    pub min: u64,
    /// Highest (bit-reversed) hash it owns.
    pub max: u64,
}

/// The fields of a Redistribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedistributeArgs {
    /// This node's new range, lowest hash.
    pub min: u64,
    /// This node's new range, highest hash.
    pub max: u64,
    /// Where the records outside the new range go.
    pub targets: Vec<RedistributeTarget>,
}

/// A decoded legacy request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// Store a record.
    Put(PutArgs<'a>),
    /// Read a record.
    Get(KeyArgs<'a>),
    /// Does a record exist.
    Exists(KeyArgs<'a>),
    /// Remove a record.
    Remove(KeyArgs<'a>),
    /// List channels.
    GetChannels,
    /// One channel's counts.
    GetChannelSize(ChannelArg<'a>),
    /// All channels' counts.
    GetSize,
    /// The node's hash range.
    GetResponsibleRange,
    /// Drop a channel.
    RemoveChannel(ChannelArg<'a>),
    /// Open connections.
    GetNumConnections,
    /// Protocol version.
    GetVersion,
    /// Stream changes.
    Listen(ChannelArg<'a>),
    /// Stream all records.
    GetAll(ChannelArg<'a>),
    /// Stream all keys.
    GetAllKeys(ChannelArg<'a>),
    /// Stream records whose value contains `data`.
    GetAllFilter(ChannelData<'a>),
    /// New range and targets for the records outside it.
    Redistribute(RedistributeArgs),
    /// Store a compressed batch (`data`).
    PutBatch(ChannelData<'a>),
}

/// A request together with how much input it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The request.
    pub request: Request<'a>,
    /// Bytes of the input buffer the request occupies.
    pub consumed: usize,
    /// Bytes after those that belong to the request but are to be discarded
    /// as they arrive (an oversized Put value).
    pub skip: u64,
}

impl<'a> Request<'a> {
    /// The request's command code.
    pub fn command(&self) -> Command {
        match self {
            Request::Put(_) => Command::Put,
            Request::Get(_) => Command::Get,
            Request::Exists(_) => Command::Exists,
            Request::Remove(_) => Command::Remove,
            Request::GetChannels => Command::GetChannels,
            Request::GetChannelSize(_) => Command::GetChannelSize,
            Request::GetSize => Command::GetSize,
            Request::GetResponsibleRange => Command::GetResponsibleRange,
            Request::RemoveChannel(_) => Command::RemoveChannel,
            Request::GetNumConnections => Command::GetNumConnections,
            Request::GetVersion => Command::GetVersion,
            Request::Listen(_) => Command::Listen,
            Request::GetAll(_) => Command::GetAll,
            Request::GetAllKeys(_) => Command::GetAllKeys,
            Request::GetAllFilter(_) => Command::GetAllFilter,
            Request::Redistribute(_) => Command::Redistribute,
            Request::PutBatch(_) => Command::PutBatch,
        }
    }

    /// Decodes the request at the start of `input`, if all of it has arrived.
    ///
    /// An unknown code is [`WireError::UnknownCommand`]: the original closes
    /// the connection then, since the bytes after it cannot be interpreted.
    pub fn decode(input: &'a [u8], limits: &DecodeLimits) -> Result<Decoded<'a>, WireError> {
        let mut r = WireReader::new(input);
        let code = r.u32()?;
        let command = Command::from_code(code).ok_or(WireError::UnknownCommand(code))?;
        let mut skip = 0;
        let request = match command {
            Command::Put => {
                let target = key_args(&mut r)?;
                let len = r.u64()?;
                let value = if len > limits.max_put_value {
                    skip = len;
                    None
                } else {
                    Some(r.bytes(len as usize)?)
                };
                Request::Put(PutArgs { target, value })
            }
            Command::Get => Request::Get(key_args(&mut r)?),
            Command::Exists => Request::Exists(key_args(&mut r)?),
            Command::Remove => Request::Remove(key_args(&mut r)?),
            Command::GetChannels => Request::GetChannels,
            Command::GetChannelSize => Request::GetChannelSize(channel_arg(&mut r)?),
            Command::GetSize => Request::GetSize,
            Command::GetResponsibleRange => Request::GetResponsibleRange,
            Command::RemoveChannel => Request::RemoveChannel(channel_arg(&mut r)?),
            Command::GetNumConnections => Request::GetNumConnections,
            Command::GetVersion => Request::GetVersion,
            Command::Listen => Request::Listen(channel_arg(&mut r)?),
            Command::GetAll => Request::GetAll(channel_arg(&mut r)?),
            Command::GetAllKeys => Request::GetAllKeys(channel_arg(&mut r)?),
            Command::GetAllFilter => Request::GetAllFilter(channel_data(&mut r, "filter")?),
            Command::Redistribute => Request::Redistribute(redistribute_args(&mut r)?),
            Command::PutBatch => Request::PutBatch(channel_data(&mut r, "batch")?),
        };
        Ok(Decoded { request, consumed: r.position(), skip })
    }

    /// Appends the request's bytes (code first) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        put_u32(out, self.command() as u32);
        match self {
            Request::Put(args) => {
                put_key_args(out, &args.target);
                put_array(out, args.value.unwrap_or_default());
            }
            Request::Get(args) | Request::Exists(args) | Request::Remove(args) => {
                put_key_args(out, args)
            }
            Request::GetChannelSize(arg)
            | Request::RemoveChannel(arg)
            | Request::Listen(arg)
            | Request::GetAll(arg)
            | Request::GetAllKeys(arg) => put_array(out, arg.channel),
            Request::GetAllFilter(args) | Request::PutBatch(args) => {
                put_array(out, args.channel);
                put_array(out, args.data);
            }
            Request::Redistribute(args) => {
                put_u64(out, args.min);
                put_u64(out, args.max);
                for target in &args.targets {
                    put_array(out, target.address.as_bytes());
                    out.extend_from_slice(&target.port.to_le_bytes());
                    put_u64(out, target.min);
                    put_u64(out, target.max);
                }
                put_array(out, b"");
            }
            Request::GetChannels
            | Request::GetSize
            | Request::GetResponsibleRange
            | Request::GetNumConnections
            | Request::GetVersion => {}
        }
    }
}

fn channel_arg<'a>(r: &mut WireReader<'a>) -> Result<ChannelArg<'a>, WireError> {
    Ok(ChannelArg { channel: r.array("channel name", MAX_ARRAY)? })
}

fn key_args<'a>(r: &mut WireReader<'a>) -> Result<KeyArgs<'a>, WireError> {
    let channel = r.array("channel name", MAX_ARRAY)?;
    let key = r.array("key", MAX_ARRAY)?;
    Ok(KeyArgs { channel, key })
}

fn channel_data<'a>(
    r: &mut WireReader<'a>,
    field: &'static str,
) -> Result<ChannelData<'a>, WireError> {
    let channel = r.array("channel name", MAX_ARRAY)?;
    let data = r.array(field, MAX_ARRAY)?;
    Ok(ChannelData { channel, data })
}

fn put_key_args(out: &mut BytesMut, args: &KeyArgs<'_>) {
    put_array(out, args.channel);
    put_array(out, args.key);
}

fn redistribute_args(r: &mut WireReader<'_>) -> Result<RedistributeArgs, WireError> {
    let min = r.u64()?;
    let max = r.u64()?;
    let mut targets = Vec::new();
    loop {
        let address = r.array("node address", 1024)?;
        if address.is_empty() {
            break;
        }
        let address = std::str::from_utf8(address)
            .map_err(|_| WireError::Malformed("node address"))?
            .to_string();
        targets.push(RedistributeTarget { address, port: r.u16()?, min: r.u64()?, max: r.u64()? });
    }
    Ok(RedistributeArgs { min, max, targets })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DecodeLimits = DecodeLimits { max_put_value: 65_536 - 32 };

    /// The Put of "doo" under key 0xc that the original client sent
    /// (captures/legacy-put-get.pcap).
    const CAPTURED_PUT: &[u8] = b"\x01\x00\x00\x00\x0c\x00\x00\x00\x00\x00\x00\x00test_channel\
\x10\x00\x00\x00\x00\x00\x00\x00000000000000000c\x03\x00\x00\x00\x00\x00\x00\x00doo";

    #[test]
    fn decodes_the_captured_put_and_encodes_it_back() {
        let decoded = Request::decode(CAPTURED_PUT, &LIMITS).expect("complete request");
        assert_eq!(decoded.consumed, CAPTURED_PUT.len());
        let Request::Put(args) = &decoded.request else { panic!("not a Put") };
        assert_eq!(args.target.channel, b"test_channel");
        assert_eq!(args.target.key, b"000000000000000c");
        assert_eq!(args.value, Some(&b"doo"[..]));
        let mut out = BytesMut::new();
        decoded.request.encode(&mut out);
        assert_eq!(&out[..], CAPTURED_PUT);
    }

    #[test]
    fn every_prefix_is_incomplete_and_unknown_codes_are_refused() {
        for cut in 0..CAPTURED_PUT.len() {
            assert_eq!(
                Request::decode(&CAPTURED_PUT[..cut], &LIMITS),
                Err(WireError::Incomplete),
                "prefix of {cut} bytes"
            );
        }
        assert_eq!(
            Request::decode(&[2, 0, 0, 0], &LIMITS),
            Err(WireError::UnknownCommand(2))
        );
    }

    #[test]
    fn an_oversized_put_value_is_skipped_not_buffered() {
        let mut out = BytesMut::new();
        put_u32(&mut out, Command::Put as u32);
        put_array(&mut out, b"ch");
        put_array(&mut out, b"000000000000000c");
        put_u64(&mut out, 1 << 40);
        let decoded = Request::decode(&out, &LIMITS).expect("header is complete");
        assert_eq!(decoded.skip, 1 << 40);
        assert_eq!(decoded.consumed, out.len());
        assert!(matches!(decoded.request, Request::Put(PutArgs { value: None, .. })));
    }

    #[test]
    fn redistribute_round_trips() {
        let request = Request::Redistribute(RedistributeArgs {
            min: 0,
            max: 0x7fff_ffff_ffff_ffff,
            targets: vec![RedistributeTarget {
                address: "127.0.0.1".into(),
                port: 10_001,
                min: 0x8000_0000_0000_0000,
                max: u64::MAX,
            }],
        });
        let mut out = BytesMut::new();
        request.encode(&mut out);
        let decoded = Request::decode(&out, &LIMITS).expect("complete");
        assert_eq!(decoded.request, request);
        assert_eq!(decoded.consumed, out.len());
    }
}
