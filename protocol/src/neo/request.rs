//! Request messages: how a request starts, how the node says whether it
//! supports it, and the DHT single-record requests (Put, Get, Exists,
//! Remove) at the versions the original dhtnode serves.
//!
//! Everything here works on the *body* of a Request message (type 1), i.e.
//! the bytes after the 10-byte header (see [`super::header`]). Pure byte
//! codecs: no sockets, no state.
//!
//! Body layout of every Request message, both directions:
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0 | 8 | request id, `u64` LE |
//! | 8 | … | payload |
//!
//! The first message of a request (client → node) has the payload
//! `u8 code, u8 version, arguments…`; the node answers with a one-byte
//! [`SupportedStatus`] payload, then the request's own messages follow, each
//! again prefixed by the same request id.
//!
//! Arrays inside payloads are a `u64` LE length followed by the bytes.

use thiserror::Error;

use super::payload::{put_array, PayloadReader};

/// The request id at the start of every Request body, chosen by the client.
pub type RequestId = u64;

/// Bytes taken by the request id at the start of a body.
pub const REQUEST_ID_SIZE: usize = 8;

/// Bytes taken by the command (code + version) at the start of the payload
/// of a request's first message.
pub const COMMAND_LEN: usize = 2;

/// Why a Request body could not be decoded. For the node every variant is a
/// protocol error (the original closes the connection).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The body is shorter than the 8-byte request id.
    #[error("request message body too short for a request id ({0} bytes)")]
    NoRequestId(usize),
    /// A field runs past the end of the body.
    #[error("request payload truncated: {field} needs {needed} bytes, {available} left")]
    Truncated {
        /// which field was being read
        field: &'static str,
        /// bytes the field needs (for arrays: the announced length)
        needed: u64,
        /// bytes left in the body
        available: usize,
    },
    /// Bytes left over after the last field where the original checks for it.
    #[error("request payload too long: {0} extra byte(s)")]
    TrailingBytes(usize),
    /// A status byte that is not one of the enum's values (0 is never valid).
    #[error("invalid {kind} status byte {byte:#04x}")]
    UnknownStatus {
        /// which enum was being decoded
        kind: &'static str,
        /// the byte received
        byte: u8,
    },
    /// [`DhtRequest::decode`] was given a command it does not handle.
    #[error("command code {code} version {version} is not a DHT record request")]
    NotARecordRequest {
        /// request code
        code: u8,
        /// request version
        version: u8,
    },
}

// ---------------------------------------------------------------------------
// Generic request framing
// ---------------------------------------------------------------------------

/// Splits a Request body into its request id and the rest (the payload).
/// Used for every message of a request, in both directions.
pub fn split_request_id(body: &[u8]) -> Result<(RequestId, &[u8]), RequestError> {
    if body.len() < REQUEST_ID_SIZE {
        return Err(RequestError::NoRequestId(body.len()));
    }
    let mut r = PayloadReader::new(body);
    let id = r.u64("request id")?;
    Ok((id, r.rest()))
}

/// A Request body: `id` followed by `payload`.
pub fn encode_request_body(id: RequestId, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REQUEST_ID_SIZE + payload.len());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The command at the start of a request: which request, at which version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Command {
    /// Request code (for the DHT see [`RequestCode`]).
    pub code: u8,
    /// Request version.
    pub version: u8,
}

impl Command {
    /// A command from its code and version.
    pub const fn new(code: u8, version: u8) -> Self {
        Self { code, version }
    }
}

/// The payload of a request's first message, split into command and
/// arguments (borrowed from the body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestStart<'a> {
    /// Code and version.
    pub command: Command,
    /// The request's arguments, still encoded.
    pub args: &'a [u8],
}

/// Decodes the payload (after the request id) of a message that starts a
/// request. Fewer than two bytes is an error.
pub fn decode_request_start(payload: &[u8]) -> Result<RequestStart<'_>, RequestError> {
    let mut r = PayloadReader::new(payload);
    let code = r.u8("request code")?;
    let version = r.u8("request version")?;
    Ok(RequestStart {
        command: Command::new(code, version),
        args: r.rest(),
    })
}

/// The whole body of a request's first message: id, code, version, `args`.
pub fn encode_request_start(id: RequestId, command: Command, args: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REQUEST_ID_SIZE + COMMAND_LEN + args.len());
    out.extend_from_slice(&id.to_le_bytes());
    out.push(command.code);
    out.push(command.version);
    out.extend_from_slice(args);
    out
}

/// The node's answer to a request's first message. On the wire a signed
/// byte; only [`SupportedStatus::Supported`] lets the request run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i8)]
pub enum SupportedStatus {
    /// Code and version known; the request starts (`0xfd`).
    Supported = -3,
    /// Code known, version not (`0xfe`).
    VersionNotSupported = -2,
    /// Code not known (`0xff`).
    RequestNotSupported = -1,
}

impl SupportedStatus {
    /// The wire byte.
    pub fn to_byte(self) -> u8 {
        self as i8 as u8
    }

    /// Maps a wire byte back; `None` for anything else.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b as i8 {
            -3 => Some(Self::Supported),
            -2 => Some(Self::VersionNotSupported),
            -1 => Some(Self::RequestNotSupported),
            _ => None,
        }
    }

    /// What a node supporting exactly `supported` answers to `command`.
    pub fn for_command(command: Command, supported: &[Command]) -> Self {
        if supported.contains(&command) {
            Self::Supported
        } else if supported.iter().any(|c| c.code == command.code) {
            Self::VersionNotSupported
        } else {
            Self::RequestNotSupported
        }
    }
}

/// A body carrying just a one-byte status for request `id` (the supported
/// reply and every DHT record-request status).
pub fn encode_status(id: RequestId, status: u8) -> Vec<u8> {
    encode_request_body(id, &[status])
}

/// Decodes a body that must be exactly a request id and one status byte.
pub fn decode_status(body: &[u8]) -> Result<(RequestId, u8), RequestError> {
    let (id, payload) = split_request_id(body)?;
    let mut r = PayloadReader::new(payload);
    let status = r.u8("status")?;
    r.finish()?;
    Ok((id, status))
}

/// The node's supported reply for request `id`.
pub fn encode_supported(id: RequestId, status: SupportedStatus) -> Vec<u8> {
    encode_status(id, status.to_byte())
}

/// Client side: decodes the node's supported reply.
pub fn decode_supported(body: &[u8]) -> Result<(RequestId, SupportedStatus), RequestError> {
    let (id, b) = decode_status(body)?;
    let s = SupportedStatus::from_byte(b).ok_or(RequestError::UnknownStatus {
        kind: "supported",
        byte: b,
    })?;
    Ok((id, s))
}

// ---------------------------------------------------------------------------
// DHT
// ---------------------------------------------------------------------------

/// DHT neo request codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RequestCode {
    /// Ask the node for its hash range.
    GetHashRange = 1,
    /// Write one record.
    Put = 2,
    /// Read one record.
    Get = 3,
    /// Stream a channel's contents and changes.
    Mirror = 4,
    /// Stream a channel's contents.
    GetAll = 5,
    /// List channels.
    GetChannels = 6,
    /// Check whether a record exists.
    Exists = 7,
    /// Delete one record.
    Remove = 8,
    /// Delete a channel.
    RemoveChannel = 9,
    /// Read-modify-write one record.
    Update = 10,
}

impl RequestCode {
    /// Maps a wire byte to a code.
    pub fn from_byte(b: u8) -> Option<Self> {
        use RequestCode::*;
        Some(match b {
            1 => GetHashRange,
            2 => Put,
            3 => Get,
            4 => Mirror,
            5 => GetAll,
            6 => GetChannels,
            7 => Exists,
            8 => Remove,
            9 => RemoveChannel,
            10 => Update,
            _ => return None,
        })
    }
}

/// Put at the version the original serves.
pub const PUT_V0: Command = Command::new(RequestCode::Put as u8, 0);
/// Get at the version the original serves.
pub const GET_V0: Command = Command::new(RequestCode::Get as u8, 0);
/// Exists at the version the original serves.
pub const EXISTS_V0: Command = Command::new(RequestCode::Exists as u8, 0);
/// Remove at the version the original serves.
pub const REMOVE_V0: Command = Command::new(RequestCode::Remove as u8, 0);
/// RemoveChannel, version 0.
pub const REMOVE_CHANNEL_V0: Command = Command::new(RequestCode::RemoveChannel as u8, 0);

/// Every command the original dhtnode supports: all ten codes, version 0.
pub const ORIGINAL_DHT_COMMANDS: [Command; 10] = [
    Command::new(1, 0),
    Command::new(2, 0),
    Command::new(3, 0),
    Command::new(4, 0),
    Command::new(5, 0),
    Command::new(6, 0),
    Command::new(7, 0),
    Command::new(8, 0),
    Command::new(9, 0),
    Command::new(10, 0),
];

/// The arguments of a DHT single-record request, as sent in the request's
/// first message after the command. Channel names are raw bytes (the
/// original does not check them here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhtRequest<'a> {
    /// Put v0: `channel` array, `u64` key, `value` array.
    Put {
        /// channel name
        channel: &'a [u8],
        /// record key
        key: u64,
        /// record value
        value: &'a [u8],
    },
    /// Get v0: `channel` array, `u64` key.
    Get {
        /// channel name
        channel: &'a [u8],
        /// record key
        key: u64,
    },
    /// Exists v0: `channel` array, `u64` key.
    Exists {
        /// channel name
        channel: &'a [u8],
        /// record key
        key: u64,
    },
    /// Remove v0: `channel` array, `u64` key.
    Remove {
        /// channel name
        channel: &'a [u8],
        /// record key
        key: u64,
    },
    /// RemoveChannel v0: `channel` array.
    RemoveChannel {
        /// channel name
        channel: &'a [u8],
    },
}

impl<'a> DhtRequest<'a> {
    /// The command (code, version) this request is sent with.
    pub fn command(&self) -> Command {
        match self {
            Self::Put { .. } => PUT_V0,
            Self::Get { .. } => GET_V0,
            Self::Exists { .. } => EXISTS_V0,
            Self::Remove { .. } => REMOVE_V0,
            Self::RemoveChannel { .. } => REMOVE_CHANNEL_V0,
        }
    }

    /// Node side: decodes the arguments of a request started with `command`.
    ///
    /// Like the original, Put, Get and Exists ignore bytes after the last
    /// field, while Remove refuses them ([`RequestError::TrailingBytes`]).
    pub fn decode(command: Command, args: &'a [u8]) -> Result<Self, RequestError> {
        let mut r = PayloadReader::new(args);
        let req = match command {
            PUT_V0 => {
                let channel = r.array("channel")?;
                let key = r.u64("key")?;
                let value = r.array("value")?;
                Self::Put {
                    channel,
                    key,
                    value,
                }
            }
            GET_V0 => {
                let channel = r.array("channel")?;
                let key = r.u64("key")?;
                Self::Get { channel, key }
            }
            EXISTS_V0 => {
                let channel = r.array("channel")?;
                let key = r.u64("key")?;
                Self::Exists { channel, key }
            }
            REMOVE_V0 => {
                let channel = r.array("channel")?;
                let key = r.u64("key")?;
                r.finish()?;
                return Ok(Self::Remove { channel, key });
            }
            REMOVE_CHANNEL_V0 => Self::RemoveChannel { channel: r.array("channel")? },
            Command { code, version } => {
                return Err(RequestError::NotARecordRequest { code, version })
            }
        };
        Ok(req)
    }

    /// Node side: decodes a whole first-message body (id, command,
    /// arguments).
    pub fn decode_body(body: &'a [u8]) -> Result<(RequestId, Self), RequestError> {
        let (id, payload) = split_request_id(body)?;
        let start = decode_request_start(payload)?;
        Ok((id, Self::decode(start.command, start.args)?))
    }

    /// The encoded arguments (without id and command).
    pub fn encode_args(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match *self {
            Self::Put {
                channel,
                key,
                value,
            } => {
                out.reserve(24 + channel.len() + value.len());
                put_array(&mut out, channel);
                out.extend_from_slice(&key.to_le_bytes());
                put_array(&mut out, value);
            }
            Self::Get { channel, key }
            | Self::Exists { channel, key }
            | Self::Remove { channel, key } => {
                put_array(&mut out, channel);
                out.extend_from_slice(&key.to_le_bytes());
            }
            Self::RemoveChannel { channel } => put_array(&mut out, channel),
        }
        out
    }

    /// Client side: the whole body of the request's first message.
    pub fn encode_body(&self, id: RequestId) -> Vec<u8> {
        encode_request_start(id, self.command(), &self.encode_args())
    }
}

/// Defines a one-byte status enum of a DHT request with its wire mapping
/// and body codecs. 0 ("none") is never valid on the wire.
macro_rules! status_enum {
    ($(#[$m:meta])* $name:ident, $kind:literal, { $($(#[$vm:meta])* $v:ident = $n:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vm])* $v = $n),+
        }

        impl $name {
            /// The wire byte.
            pub fn to_byte(self) -> u8 {
                self as u8
            }

            /// Maps a wire byte back; `None` for 0 and unknown values.
            pub fn from_byte(b: u8) -> Option<Self> {
                match b {
                    $($n => Some(Self::$v),)+
                    _ => None,
                }
            }

            /// Node side: the status message body for request `id`.
            pub fn encode_body(self, id: RequestId) -> Vec<u8> {
                encode_status(id, self.to_byte())
            }

            /// Client side: decodes a status message body.
            pub fn decode_body(body: &[u8]) -> Result<(RequestId, Self), RequestError> {
                let (id, b) = decode_status(body)?;
                let s = Self::from_byte(b).ok_or(RequestError::UnknownStatus { kind: $kind, byte: b })?;
                Ok((id, s))
            }
        }
    };
}

status_enum!(
    /// Node → client status of Put v0 (one message, then the request ends).
    PutStatus, "Put", {
        /// The record was written.
        Put = 1,
        /// The key is outside this node's hash range.
        WrongNode = 2,
        /// The node failed to write (e.g. the channel could not be created).
        Error = 3,
    }
);

status_enum!(
    /// Node → client status of Get v0. After [`GetStatus::Got`] a second
    /// message carries the value (see [`encode_get_value`]).
    GetStatus, "Get", {
        /// No such record.
        NoRecord = 1,
        /// Found; the value follows in the next message.
        Got = 2,
        /// The key is outside this node's hash range.
        WrongNode = 3,
        /// The node failed to read.
        Error = 4,
    }
);

status_enum!(
    /// Node → client status of Exists v0.
    ExistsStatus, "Exists", {
        /// The record exists.
        RecordExists = 1,
        /// No such record.
        NoRecord = 2,
        /// The key is outside this node's hash range.
        WrongNode = 3,
        /// The node failed to look.
        Error = 4,
    }
);

status_enum!(
    /// Node → client status of Remove v0.
    RemoveStatus, "Remove", {
        /// There was no such record.
        NoRecord = 1,
        /// The record was removed.
        Removed = 2,
        /// The key is outside this node's hash range.
        WrongNode = 3,
        /// The node failed to remove.
        Error = 4,
    }
);

status_enum!(
    /// Node → client status of RemoveChannel v0.
    RemoveChannelStatus, "RemoveChannel", {
        /// The channel is gone (or never existed).
        ChannelRemoved = 1,
        /// Only the client named `admin` may remove channels.
        NotPermitted = 2,
        /// The node failed to remove it.
        Error = 3,
    }
);

/// Node side: the message that follows [`GetStatus::Got`]: request id, then
/// the value as an array (`u64` length + bytes).
pub fn encode_get_value(id: RequestId, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REQUEST_ID_SIZE + 8 + value.len());
    out.extend_from_slice(&id.to_le_bytes());
    put_array(&mut out, value);
    out
}

/// Client side: decodes the value message of a Get. Exactly one array must
/// follow the id.
pub fn decode_get_value(body: &[u8]) -> Result<(RequestId, &[u8]), RequestError> {
    let (id, payload) = split_request_id(body)?;
    let mut r = PayloadReader::new(payload);
    let value = r.array("value")?;
    r.finish()?;
    Ok((id, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neo::header::{encode_message, HeaderDecoder, MessageType};
    use std::collections::HashMap;

    // Request traffic after the handshake, from
    // ../shared/vectors/original-dhtnode/captures/ (C = client → node,
    // N = node → client; header + body of each message, concatenated).
    const PUT_GET_C: &str = "010a000000000000000b0100000000000000010001310000000000000030020000000000000002000c00000000000000746573745f6368616e6e656c0c000000000000000300000000000000646f6f01310000000000000030030000000000000002000c00000000000000746573745f6368616e6e656c0a000000000000000300000000000000666f6f01310000000000000030040000000000000002000c00000000000000746573745f6368616e6e656c0b00000000000000030000000000000062617201260000000000000027050000000000000003000c00000000000000746573745f6368616e6e656c0c0000000000000001260000000000000027060000000000000003000c00000000000000746573745f6368616e6e656c0a0000000000000001260000000000000027070000000000000003000c00000000000000746573745f6368616e6e656c0b00000000000000011e000000000000001f080000000000000009000c00000000000000746573745f6368616e6e656c";
    const PUT_GET_N: &str = "010900000000000000080100000000000000fd0118000000000000001901000000000000000000000000000000ffffffffffffffff010900000000000000080200000000000000fd01090000000000000008020000000000000001010900000000000000080300000000000000fd01090000000000000008030000000000000001010900000000000000080400000000000000fd01090000000000000008040000000000000001010900000000000000080500000000000000fd010900000000000000080500000000000000020113000000000000001205000000000000000300000000000000646f6f010900000000000000080600000000000000fd010900000000000000080600000000000000020113000000000000001206000000000000000300000000000000666f6f010900000000000000080700000000000000fd010900000000000000080700000000000000020113000000000000001207000000000000000300000000000000626172010900000000000000080800000000000000fd01090000000000000008080000000000000001";
    const PUT_REMOVE_GET_C: &str = "010a000000000000000b0100000000000000010001320000000000000033020000000000000002000c00000000000000746573745f6368616e6e656c000000000000000004000000000000007465737401260000000000000027030000000000000008000c00000000000000746573745f6368616e6e656c000000000000000001260000000000000027040000000000000003000c00000000000000746573745f6368616e6e656c0000000000000000011e000000000000001f050000000000000009000c00000000000000746573745f6368616e6e656c";
    const PUT_REMOVE_GET_N: &str = "010900000000000000080100000000000000fd0118000000000000001901000000000000000000000000000000ffffffffffffffff010900000000000000080200000000000000fd01090000000000000008020000000000000001010900000000000000080300000000000000fd01090000000000000008030000000000000002010900000000000000080400000000000000fd01090000000000000008040000000000000001010900000000000000080500000000000000fd01090000000000000008050000000000000001";
    const GET_MISSING_C: &str = "010a000000000000000b0100000000000000010001260000000000000027020000000000000003000c00000000000000746573745f6368616e6e656c0a00000000000000011e000000000000001f030000000000000009000c00000000000000746573745f6368616e6e656c";
    const GET_MISSING_N: &str = "010900000000000000080100000000000000fd0118000000000000001901000000000000000000000000000000ffffffffffffffff010900000000000000080200000000000000fd01090000000000000008020000000000000001010900000000000000080300000000000000fd01090000000000000008030000000000000001";

    /// Splits a captured stream into Request message bodies.
    fn bodies(stream: &[u8]) -> Vec<&[u8]> {
        let dec = HeaderDecoder::default();
        let mut rest = stream;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let m = dec.split_message(rest).unwrap().expect("whole message");
            assert_eq!(m.header.msg_type, MessageType::Request);
            out.push(m.body);
            rest = &rest[m.wire_len..];
        }
        out
    }

    fn frame(body: &[u8], out: &mut Vec<u8>) {
        encode_message(MessageType::Request, &[body], out);
    }

    /// Plays the node for a captured client stream with an in-memory store,
    /// using only this module's decoders and encoders, and returns the
    /// node's byte stream. Also re-encodes each decoded DHT request and
    /// checks it against the captured client body.
    fn replay(client: &[u8]) -> Vec<u8> {
        let mut store: HashMap<(Vec<u8>, u64), Vec<u8>> = HashMap::new();
        let mut out = Vec::new();
        for body in bodies(client) {
            let (id, payload) = split_request_id(body).unwrap();
            let start = decode_request_start(payload).unwrap();
            let supported = SupportedStatus::for_command(start.command, &ORIGINAL_DHT_COMMANDS);
            assert_eq!(supported, SupportedStatus::Supported);
            frame(&encode_supported(id, supported), &mut out);
            match RequestCode::from_byte(start.command.code).unwrap() {
                RequestCode::GetHashRange => {
                    // Not decoded by this module: id, min hash, max hash.
                    let mut range = Vec::new();
                    range.extend_from_slice(&0u64.to_le_bytes());
                    range.extend_from_slice(&u64::MAX.to_le_bytes());
                    frame(&encode_request_body(id, &range), &mut out);
                }
                RequestCode::RemoveChannel => {
                    let req = DhtRequest::decode(start.command, start.args).unwrap();
                    assert_eq!(req.encode_body(id), body, "client re-encode");
                    store.clear();
                    frame(&RemoveChannelStatus::ChannelRemoved.encode_body(id), &mut out);
                }
                _ => {
                    let req = DhtRequest::decode(start.command, start.args).unwrap();
                    assert_eq!(req.encode_body(id), body, "client re-encode");
                    assert_eq!(DhtRequest::decode_body(body).unwrap(), (id, req));
                    match req {
                        DhtRequest::Put {
                            channel,
                            key,
                            value,
                        } => {
                            store.insert((channel.to_vec(), key), value.to_vec());
                            frame(&PutStatus::Put.encode_body(id), &mut out);
                        }
                        DhtRequest::Get { channel, key } => {
                            match store.get(&(channel.to_vec(), key)) {
                                Some(v) => {
                                    frame(&GetStatus::Got.encode_body(id), &mut out);
                                    frame(&encode_get_value(id, v), &mut out);
                                }
                                None => frame(&GetStatus::NoRecord.encode_body(id), &mut out),
                            }
                        }
                        DhtRequest::Exists { channel, key } => {
                            let s = if store.contains_key(&(channel.to_vec(), key)) {
                                ExistsStatus::RecordExists
                            } else {
                                ExistsStatus::NoRecord
                            };
                            frame(&s.encode_body(id), &mut out);
                        }
                        DhtRequest::Remove { channel, key } => {
                            let s = match store.remove(&(channel.to_vec(), key)) {
                                Some(_) => RemoveStatus::Removed,
                                None => RemoveStatus::NoRecord,
                            };
                            frame(&s.encode_body(id), &mut out);
                        }
                        DhtRequest::RemoveChannel { .. } => unreachable!("handled by its code above"),
                    }
                }
            }
        }
        out
    }

    fn check_capture(c: &str, n: &str) {
        let client = hex::decode(c).unwrap();
        let node = hex::decode(n).unwrap();
        assert_eq!(hex::encode(replay(&client)), hex::encode(&node));
    }

    #[test]
    fn capture_put_get() {
        check_capture(PUT_GET_C, PUT_GET_N);
    }

    #[test]
    fn capture_put_remove_get() {
        check_capture(PUT_REMOVE_GET_C, PUT_REMOVE_GET_N);
    }

    #[test]
    fn capture_get_missing() {
        check_capture(GET_MISSING_C, GET_MISSING_N);
    }

    #[test]
    fn client_side_decodes_captured_put_get_replies() {
        let node = hex::decode(PUT_GET_N).unwrap();
        let b = bodies(&node);
        assert_eq!(
            decode_supported(b[0]).unwrap(),
            (1, SupportedStatus::Supported)
        );
        assert_eq!(PutStatus::decode_body(b[3]).unwrap(), (2, PutStatus::Put));
        // request 5: supported, Got, value "doo"
        assert_eq!(
            decode_supported(b[8]).unwrap(),
            (5, SupportedStatus::Supported)
        );
        assert_eq!(GetStatus::decode_body(b[9]).unwrap(), (5, GetStatus::Got));
        assert_eq!(decode_get_value(b[10]).unwrap(), (5, &b"doo"[..]));
    }

    #[test]
    fn client_side_decodes_captured_missing_and_remove() {
        let node = hex::decode(GET_MISSING_N).unwrap();
        let b = bodies(&node);
        assert_eq!(
            GetStatus::decode_body(b[3]).unwrap(),
            (2, GetStatus::NoRecord)
        );
        let node = hex::decode(PUT_REMOVE_GET_N).unwrap();
        let b = bodies(&node);
        assert_eq!(
            RemoveStatus::decode_body(b[5]).unwrap(),
            (3, RemoveStatus::Removed)
        );
        assert_eq!(
            GetStatus::decode_body(b[7]).unwrap(),
            (4, GetStatus::NoRecord)
        );
    }

    #[test]
    fn captured_put_fields() {
        let client = hex::decode(PUT_GET_C).unwrap();
        let b = bodies(&client);
        let (id, req) = DhtRequest::decode_body(b[1]).unwrap();
        assert_eq!(id, 2);
        assert_eq!(
            req,
            DhtRequest::Put {
                channel: b"test_channel",
                key: 0x0c,
                value: b"doo"
            }
        );
        // GetHashRange start: id 1, code 1, version 0, no arguments.
        let (id, p) = split_request_id(b[0]).unwrap();
        assert_eq!(id, 1);
        let s = decode_request_start(p).unwrap();
        assert_eq!(s.command, Command::new(1, 0));
        assert!(s.args.is_empty());
        assert_eq!(encode_request_start(1, s.command, &[]), b[0]);
    }

    #[test]
    fn supported_status_bytes_and_choice() {
        assert_eq!(SupportedStatus::Supported.to_byte(), 0xfd);
        assert_eq!(SupportedStatus::VersionNotSupported.to_byte(), 0xfe);
        assert_eq!(SupportedStatus::RequestNotSupported.to_byte(), 0xff);
        for s in [
            SupportedStatus::Supported,
            SupportedStatus::VersionNotSupported,
            SupportedStatus::RequestNotSupported,
        ] {
            assert_eq!(SupportedStatus::from_byte(s.to_byte()), Some(s));
        }
        assert_eq!(SupportedStatus::from_byte(0), None);
        let all = &ORIGINAL_DHT_COMMANDS;
        assert_eq!(
            SupportedStatus::for_command(PUT_V0, all),
            SupportedStatus::Supported
        );
        assert_eq!(
            SupportedStatus::for_command(Command::new(2, 1), all),
            SupportedStatus::VersionNotSupported
        );
        assert_eq!(
            SupportedStatus::for_command(Command::new(11, 0), all),
            SupportedStatus::RequestNotSupported
        );
    }

    #[test]
    fn status_zero_and_unknown_are_refused() {
        for b in [0u8, 5, 0xff] {
            assert!(GetStatus::decode_body(&encode_status(1, b)).is_err());
        }
        assert!(PutStatus::decode_body(&encode_status(1, 4)).is_err());
        assert_eq!(
            PutStatus::decode_body(&encode_status(1, 3)).unwrap().1,
            PutStatus::Error
        );
        assert_eq!(
            decode_supported(&encode_status(9, 0)),
            Err(RequestError::UnknownStatus {
                kind: "supported",
                byte: 0
            })
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert_eq!(
            split_request_id(&[1, 2, 3]),
            Err(RequestError::NoRequestId(3))
        );
        assert!(decode_request_start(&[2]).is_err());
        assert!(decode_status(&encode_request_body(1, &[])).is_err());
        assert_eq!(
            decode_status(&encode_request_body(1, &[1, 2])),
            Err(RequestError::TrailingBytes(1))
        );
        // channel length beyond the body, and a length that would overflow usize
        let mut args = Vec::new();
        args.extend_from_slice(&u64::MAX.to_le_bytes());
        args.extend_from_slice(b"abc");
        assert!(matches!(
            DhtRequest::decode(GET_V0, &args),
            Err(RequestError::Truncated {
                field: "channel",
                ..
            })
        ));
        // key missing
        let mut args = Vec::new();
        put_array(&mut args, b"ch");
        args.extend_from_slice(&[1, 2, 3]);
        assert!(DhtRequest::decode(EXISTS_V0, &args).is_err());
        assert!(DhtRequest::decode(REMOVE_V0, &args).is_err());
        // Put value missing
        let mut args = Vec::new();
        put_array(&mut args, b"ch");
        args.extend_from_slice(&7u64.to_le_bytes());
        assert!(DhtRequest::decode(PUT_V0, &args).is_err());
        // not a record request
        assert_eq!(
            DhtRequest::decode(Command::new(5, 0), &[]),
            Err(RequestError::NotARecordRequest {
                code: 5,
                version: 0
            })
        );
        assert!(decode_get_value(&encode_request_body(1, &[3, 0, 0, 0, 0, 0, 0, 0, 1])).is_err());
    }

    #[test]
    fn trailing_bytes_follow_the_original() {
        let req = DhtRequest::Get {
            channel: b"ch",
            key: 1,
        };
        let mut args = req.encode_args();
        args.push(0);
        assert_eq!(DhtRequest::decode(GET_V0, &args).unwrap(), req);
        let req = DhtRequest::Remove {
            channel: b"ch",
            key: 1,
        };
        let mut args = req.encode_args();
        args.push(0);
        assert_eq!(
            DhtRequest::decode(REMOVE_V0, &args),
            Err(RequestError::TrailingBytes(1))
        );
    }

    #[test]
    fn round_trips() {
        let reqs = [
            DhtRequest::Put {
                channel: b"c",
                key: u64::MAX,
                value: b"",
            },
            DhtRequest::Get {
                channel: b"",
                key: 0,
            },
            DhtRequest::Exists {
                channel: b"x\xff",
                key: 42,
            },
            DhtRequest::Remove {
                channel: b"abc",
                key: 7,
            },
        ];
        for r in reqs {
            let body = r.encode_body(99);
            assert_eq!(DhtRequest::decode_body(&body).unwrap(), (99, r));
        }
        for s in [
            ExistsStatus::RecordExists,
            ExistsStatus::NoRecord,
            ExistsStatus::WrongNode,
            ExistsStatus::Error,
        ] {
            assert_eq!(
                ExistsStatus::decode_body(&s.encode_body(3)).unwrap(),
                (3, s)
            );
        }
        assert_eq!(
            decode_get_value(&encode_get_value(4, b"v")).unwrap(),
            (4, &b"v"[..])
        );
    }
}
