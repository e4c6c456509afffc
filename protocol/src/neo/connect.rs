//! The neo connect handshake, both sides, as pure state machines over bytes.
//!
//! On the wire (client C, node N), after the TCP connect:
//!
//! 1. C -> N: one raw byte, the client's protocol version (1). No header.
//! 2. N -> C: one raw byte, the node's protocol version (1), sent before the
//!    node compares them; on a mismatch the node then closes.
//! 3. C -> N: Authentication message, body = client clock as `u64` LE Unix
//!    seconds (8 bytes).
//! 4. N -> C: Authentication message, body = 4-byte nonce.
//! 5. C -> N: Authentication message, body = `u64` LE name length, the name,
//!    then the 64-byte HMAC-SHA512 code (see [`super::auth`]).
//! 6. N -> C: Authentication message, body = one byte, 1 (accepted) or 0
//!    (rejected). After 0 the node closes the connection.
//!
//! Every body must be exactly the expected length. After step 6 both sides
//! switch to Request messages.
//!
//! The machines here do no I/O: feed them what has been read, write what
//! they append to `out`, and act on the event they return.

use thiserror::Error;

use super::auth::{self, Code, Key, Nonce, Rejection, CODE_LEN, NONCE_LEN};
use super::credentials::Credentials;
use super::header::{encode_message, HeaderDecoder, HeaderError, MessageType};

/// The only neo protocol version swarm (and so shoal) speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// A handshake failure that is a protocol error: the connection is closed
/// without a further reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnectError {
    /// More bytes arrived together with the peer's version byte, which a
    /// well-behaved peer never sends before it has the other side's version.
    #[error("peer sent data immediately after the protocol version")]
    DataAfterVersion,
    /// The peer speaks another protocol version.
    #[error("peer protocol version {theirs:#04x} is incompatible with ours ({ours:#04x})")]
    VersionMismatch {
        /// our version
        ours: u8,
        /// the peer's version
        theirs: u8,
    },
    /// The message header was refused.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A Request message arrived while the handshake was still running.
    #[error("request type mismatch: got a {0:?} message during the handshake")]
    UnexpectedType(MessageType),
    /// A handshake message body had the wrong length or inner layout.
    #[error("malformed {what} message: {detail}")]
    Malformed {
        /// which handshake message
        what: &'static str,
        /// what was wrong
        detail: String,
    },
    /// `advance` was called after the handshake ended.
    #[error("handshake already finished")]
    Finished,
}

fn malformed(what: &'static str, detail: String) -> ConnectError {
    ConnectError::Malformed { what, detail }
}

fn exact<const N: usize>(what: &'static str, body: &[u8]) -> Result<[u8; N], ConnectError> {
    body.try_into()
        .map_err(|_| malformed(what, format!("body is {} bytes, expected {N}", body.len())))
}

/// Appends the client's timestamp message (step 3).
pub fn encode_timestamp(timestamp: u64, out: &mut Vec<u8>) {
    encode_message(
        MessageType::Authentication,
        &[&timestamp.to_le_bytes()],
        out,
    );
}

/// Reads the client's timestamp from a step-3 body.
pub fn parse_timestamp(body: &[u8]) -> Result<u64, ConnectError> {
    Ok(u64::from_le_bytes(exact::<8>("timestamp", body)?))
}

/// Appends the node's nonce message (step 4).
pub fn encode_nonce(nonce: &Nonce, out: &mut Vec<u8>) {
    encode_message(MessageType::Authentication, &[nonce], out);
}

/// Reads the nonce from a step-4 body.
pub fn parse_nonce(body: &[u8]) -> Result<Nonce, ConnectError> {
    exact::<NONCE_LEN>("nonce", body)
}

/// Appends the client's name-and-code message (step 5).
pub fn encode_name_and_code(name: &[u8], code: &Code, out: &mut Vec<u8>) {
    encode_message(
        MessageType::Authentication,
        &[&(name.len() as u64).to_le_bytes(), name, code],
        out,
    );
}

/// Splits a step-5 body into the client name and its code.
pub fn parse_name_and_code(body: &[u8]) -> Result<(&[u8], Code), ConnectError> {
    const WHAT: &str = "name and code";
    let (len, rest) = body.split_first_chunk::<8>().ok_or_else(|| {
        malformed(
            WHAT,
            format!("body of {} bytes has no name length", body.len()),
        )
    })?;
    let len = u64::from_le_bytes(*len);
    let name_len = usize::try_from(len)
        .ok()
        .filter(|&n| n <= rest.len())
        .ok_or_else(|| malformed(WHAT, format!("name length {len} exceeds the body")))?;
    let (name, code) = rest.split_at(name_len);
    let code: Code = code.try_into().map_err(|_| {
        malformed(
            WHAT,
            format!("{} bytes after the name, expected {CODE_LEN}", code.len()),
        )
    })?;
    Ok((name, code))
}

/// Appends the node's verdict message (step 6).
pub fn encode_verdict(accepted: bool, out: &mut Vec<u8>) {
    encode_message(MessageType::Authentication, &[&[u8::from(accepted)]], out);
}

/// Reads the node's verdict from a step-6 body (any non-zero byte is "yes",
/// as for a D `bool`).
pub fn parse_verdict(body: &[u8]) -> Result<bool, ConnectError> {
    Ok(exact::<1>("verdict", body)?[0] != 0)
}

/// Reads one raw version byte, refusing extra bytes in the same read.
fn take_version(input: &[u8]) -> Result<Option<u8>, ConnectError> {
    match input {
        [] => Ok(None),
        [v] => Ok(Some(*v)),
        _ => Err(ConnectError::DataAfterVersion),
    }
}

/// Finds one complete Authentication message at the start of `input`.
fn take_auth_message(input: &[u8]) -> Result<Option<(&[u8], usize)>, ConnectError> {
    // Handshake bodies are tiny; the Authentication limit (999) applies anyway.
    let decoder = HeaderDecoder::default();
    match decoder.split_message(input)? {
        None => Ok(None),
        Some(m) if m.header.msg_type != MessageType::Authentication => {
            Err(ConnectError::UnexpectedType(m.header.msg_type))
        }
        Some(m) => Ok(Some((m.body, m.wire_len))),
    }
}

/// What one call of `advance` did: how much input it used and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<E> {
    /// Bytes of the input consumed; the caller drops them from its buffer.
    pub consumed: usize,
    /// The outcome so far.
    pub event: E,
}

/// What the node side of the handshake reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// More input is needed (any output must still be written).
    NeedMore,
    /// The client is authenticated; requests may follow on the connection.
    Accepted {
        /// the client's name, for logs and stats
        client_name: Vec<u8>,
    },
    /// The client was refused: write the output (the "0" verdict), log the
    /// reason, close the connection.
    Rejected {
        /// the name the client gave (may be empty or junk)
        client_name: Vec<u8>,
        /// why
        reason: Rejection,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Version,
    Timestamp,
    NameAndCode {
        client_timestamp: u64,
        node_timestamp: i64,
    },
    Done,
}

/// The node's side of the handshake for one connection.
#[derive(Debug, Clone)]
pub struct NodeHandshake {
    state: NodeState,
    nonce: Nonce,
}

impl NodeHandshake {
    /// Starts a handshake that will challenge the client with `nonce` (use
    /// [`auth::fresh_nonce`] in the node).
    pub fn new(nonce: Nonce) -> Self {
        Self {
            state: NodeState::Version,
            nonce,
        }
    }

    /// True once the handshake ended, accepted or not.
    pub fn is_done(&self) -> bool {
        self.state == NodeState::Done
    }

    /// Consumes buffered client bytes, appends the node's replies to `out`.
    ///
    /// `now` is the node clock in Unix seconds; like the original, the value
    /// passed when the client's timestamp arrives is the one compared with it.
    /// An `Err` is a protocol error: write `out` if you like, then close.
    pub fn advance(
        &mut self,
        input: &[u8],
        now: i64,
        credentials: &Credentials,
        out: &mut Vec<u8>,
    ) -> Result<Step<NodeEvent>, ConnectError> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match self.state {
                NodeState::Version => {
                    let Some(theirs) = take_version(rest)? else {
                        break;
                    };
                    consumed += 1;
                    out.push(PROTOCOL_VERSION);
                    if theirs != PROTOCOL_VERSION {
                        self.state = NodeState::Done;
                        return Err(ConnectError::VersionMismatch {
                            ours: PROTOCOL_VERSION,
                            theirs,
                        });
                    }
                    self.state = NodeState::Timestamp;
                }
                NodeState::Timestamp => {
                    let Some((body, len)) = take_auth_message(rest)? else {
                        break;
                    };
                    let client_timestamp = parse_timestamp(body)?;
                    consumed += len;
                    encode_nonce(&self.nonce, out);
                    self.state = NodeState::NameAndCode {
                        client_timestamp,
                        node_timestamp: now,
                    };
                }
                NodeState::NameAndCode {
                    client_timestamp,
                    node_timestamp,
                } => {
                    let Some((body, len)) = take_auth_message(rest)? else {
                        break;
                    };
                    let (name, code) = parse_name_and_code(body)?;
                    consumed += len;
                    self.state = NodeState::Done;
                    let verdict = auth::authenticate(
                        |n| credentials.get(n),
                        name,
                        &code,
                        client_timestamp,
                        node_timestamp,
                        &self.nonce,
                    );
                    encode_verdict(verdict.is_ok(), out);
                    let client_name = name.to_vec();
                    let event = match verdict {
                        Ok(()) => NodeEvent::Accepted { client_name },
                        Err(reason) => NodeEvent::Rejected {
                            client_name,
                            reason,
                        },
                    };
                    return Ok(Step { consumed, event });
                }
                NodeState::Done => return Err(ConnectError::Finished),
            }
        }
        Ok(Step {
            consumed,
            event: NodeEvent::NeedMore,
        })
    }
}

/// What the client side of the handshake reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEvent {
    /// More input is needed (any output must still be written).
    NeedMore,
    /// The node accepted us; requests may be sent.
    Accepted,
    /// The node refused our name, key or clock and will close.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientState {
    Version,
    Nonce,
    Verdict,
    Done,
}

/// The client's side of the handshake, for shoal's neo client and tests.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    state: ClientState,
    name: Vec<u8>,
    key: Key,
    timestamp: u64,
}

impl ClientHandshake {
    /// Starts a handshake as client `name` with `key`, claiming the clock
    /// `timestamp` (Unix seconds); appends the version byte to `out`.
    pub fn new(name: &[u8], key: Key, timestamp: u64, out: &mut Vec<u8>) -> Self {
        out.push(PROTOCOL_VERSION);
        Self {
            state: ClientState::Version,
            name: name.to_vec(),
            key,
            timestamp,
        }
    }

    /// Consumes buffered node bytes, appends the client's messages to `out`.
    pub fn advance(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Step<ClientEvent>, ConnectError> {
        let mut consumed = 0;
        loop {
            let rest = &input[consumed..];
            match self.state {
                ClientState::Version => {
                    let Some(theirs) = take_version(rest)? else {
                        break;
                    };
                    consumed += 1;
                    if theirs != PROTOCOL_VERSION {
                        self.state = ClientState::Done;
                        return Err(ConnectError::VersionMismatch {
                            ours: PROTOCOL_VERSION,
                            theirs,
                        });
                    }
                    encode_timestamp(self.timestamp, out);
                    self.state = ClientState::Nonce;
                }
                ClientState::Nonce => {
                    let Some((body, len)) = take_auth_message(rest)? else {
                        break;
                    };
                    let nonce = parse_nonce(body)?;
                    consumed += len;
                    let code = auth::auth_code(&self.key, self.timestamp, &nonce);
                    encode_name_and_code(&self.name, &code, out);
                    self.state = ClientState::Verdict;
                }
                ClientState::Verdict => {
                    let Some((body, len)) = take_auth_message(rest)? else {
                        break;
                    };
                    let ok = parse_verdict(body)?;
                    consumed += len;
                    self.state = ClientState::Done;
                    let event = if ok {
                        ClientEvent::Accepted
                    } else {
                        ClientEvent::Rejected
                    };
                    return Ok(Step { consumed, event });
                }
                ClientState::Done => return Err(ConnectError::Finished),
            }
        }
        Ok(Step {
            consumed,
            event: ClientEvent::NeedMore,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neo::auth::KEY_LEN;

    // The handshake of neo-put-get.pcap (client "admin", all-zero key,
    // original dhtnode on port 10100), byte for byte.
    const C1_VERSION: &[u8] = &[0x01];
    const N1_VERSION: &[u8] = &[0x01];
    const C2_TIMESTAMP: &[u8] = &[
        0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x0a, // header: Authentication, 8 bytes
        0x85, 0x0f, 0x03, 0x6b, 0, 0, 0, 0, // timestamp 0x6b030f85
    ];
    const N2_NONCE: &[u8] = &[
        0x02, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x06, // header: Authentication, 4 bytes
        0x79, 0x84, 0x32, 0xd3, // nonce
    ];
    const C3_NAME_CODE: &[u8] = &[
        0x02, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0x4f, // header: Authentication, 77 bytes
        0x05, 0, 0, 0, 0, 0, 0, 0, b'a', b'd', b'm', b'i', b'n', // name
        0x0c, 0x0a, 0x8e, 0x5c, 0x0b, 0xdc, 0xe6, 0x5b, 0x76, 0x74, 0x48, 0xbb, 0x4c, 0xd3, 0x1a,
        0x8e, 0xaa, 0x8b, 0x95, 0x35, 0xa8, 0x0e, 0x1d, 0x6e, 0x9b, 0xe7, 0x4f, 0xda, 0x31, 0xc9,
        0x0d, 0xab, 0x7c, 0xf6, 0xd8, 0x28, 0xce, 0xfc, 0x6e, 0x61, 0xcd, 0x60, 0xf3, 0x2b, 0x93,
        0xf3, 0xfd, 0x5f, 0x62, 0x86, 0xa1, 0xc6, 0xf5, 0xe4, 0xd0, 0x18, 0x83, 0x53, 0x81, 0x4e,
        0x72, 0x8c, 0x39, 0xd2,
    ];
    const N3_VERDICT: &[u8] = &[0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x01];

    const TS: u64 = 0x6b03_0f85;
    const NONCE: Nonce = [0x79, 0x84, 0x32, 0xd3];

    fn admin() -> Credentials {
        Credentials::single("admin", Key([0; KEY_LEN]))
    }

    #[test]
    fn captured_code_is_hmac_sha512_of_timestamp_and_nonce() {
        let (name, code) = parse_name_and_code(&C3_NAME_CODE[10..]).unwrap();
        assert_eq!(name, b"admin");
        assert_eq!(parse_timestamp(&C2_TIMESTAMP[10..]), Ok(TS));
        assert_eq!(parse_nonce(&N2_NONCE[10..]), Ok(NONCE));
        assert_eq!(auth::auth_code(&Key([0; KEY_LEN]), TS, &NONCE), code);
    }

    #[test]
    fn node_replies_exactly_as_captured() {
        let creds = admin();
        let mut node = NodeHandshake::new(NONCE);
        let mut out = Vec::new();
        let now = TS as i64 + 1;

        let s = node.advance(C1_VERSION, now, &creds, &mut out).unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 1,
                event: NodeEvent::NeedMore
            }
        );
        assert_eq!(out, N1_VERSION);
        out.clear();

        // The timestamp message arriving in two pieces.
        let s = node
            .advance(&C2_TIMESTAMP[..5], now, &creds, &mut out)
            .unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 0,
                event: NodeEvent::NeedMore
            }
        );
        assert!(out.is_empty());
        let s = node.advance(C2_TIMESTAMP, now, &creds, &mut out).unwrap();
        assert_eq!(
            s,
            Step {
                consumed: C2_TIMESTAMP.len(),
                event: NodeEvent::NeedMore
            }
        );
        assert_eq!(out, N2_NONCE);
        out.clear();

        let s = node.advance(C3_NAME_CODE, now, &creds, &mut out).unwrap();
        assert_eq!(s.consumed, C3_NAME_CODE.len());
        assert_eq!(
            s.event,
            NodeEvent::Accepted {
                client_name: b"admin".to_vec()
            }
        );
        assert_eq!(out, N3_VERDICT);
        assert!(node.is_done());
    }

    #[test]
    fn node_leaves_following_request_bytes_alone() {
        let creds = admin();
        let mut node = NodeHandshake::new(NONCE);
        let mut out = Vec::new();
        node.advance(C1_VERSION, TS as i64, &creds, &mut out)
            .unwrap();
        node.advance(C2_TIMESTAMP, TS as i64, &creds, &mut out)
            .unwrap();
        // The first request of the capture (GetHashRange) right behind step 5.
        let mut input = C3_NAME_CODE.to_vec();
        input.extend_from_slice(&[
            0x01, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0x0b, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0,
        ]);
        let s = node.advance(&input, TS as i64, &creds, &mut out).unwrap();
        assert_eq!(s.consumed, C3_NAME_CODE.len());
        assert!(matches!(s.event, NodeEvent::Accepted { .. }));
    }

    #[test]
    fn client_sends_exactly_as_captured() {
        let mut out = Vec::new();
        let mut client = ClientHandshake::new(b"admin", Key([0; KEY_LEN]), TS, &mut out);
        assert_eq!(out, C1_VERSION);
        out.clear();
        let s = client.advance(N1_VERSION, &mut out).unwrap();
        assert_eq!(
            s,
            Step {
                consumed: 1,
                event: ClientEvent::NeedMore
            }
        );
        assert_eq!(out, C2_TIMESTAMP);
        out.clear();
        let s = client.advance(N2_NONCE, &mut out).unwrap();
        assert_eq!(s.event, ClientEvent::NeedMore);
        assert_eq!(out, C3_NAME_CODE);
        out.clear();
        let s = client.advance(N3_VERDICT, &mut out).unwrap();
        assert_eq!(
            s,
            Step {
                consumed: N3_VERDICT.len(),
                event: ClientEvent::Accepted
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn client_and_node_agree() {
        let creds = Credentials::single("tester", Key([0x5a; KEY_LEN]));
        let mut node = NodeHandshake::new([1, 2, 3, 4]);
        let (mut to_node, mut to_client) = (Vec::new(), Vec::new());
        let mut client =
            ClientHandshake::new(b"tester", Key([0x5a; KEY_LEN]), 1_700_000_000, &mut to_node);
        let (mut node_event, mut client_event) = (NodeEvent::NeedMore, ClientEvent::NeedMore);
        for _ in 0..4 {
            if !node.is_done() {
                let s = node
                    .advance(&to_node, 1_700_000_100, &creds, &mut to_client)
                    .unwrap();
                to_node.drain(..s.consumed);
                node_event = s.event;
            }
            if client_event == ClientEvent::NeedMore {
                let s = client.advance(&to_client, &mut to_node).unwrap();
                to_client.drain(..s.consumed);
                client_event = s.event;
            }
        }
        assert_eq!(
            node_event,
            NodeEvent::Accepted {
                client_name: b"tester".to_vec()
            }
        );
        assert_eq!(client_event, ClientEvent::Accepted);
    }

    fn run_node(creds: &Credentials, now: i64, c3: &[u8]) -> (NodeEvent, Vec<u8>) {
        let mut node = NodeHandshake::new(NONCE);
        let mut out = Vec::new();
        node.advance(C1_VERSION, now, creds, &mut out).unwrap();
        node.advance(C2_TIMESTAMP, now, creds, &mut out).unwrap();
        out.clear();
        let s = node.advance(c3, now, creds, &mut out).unwrap();
        (s.event, out)
    }

    const REFUSED: &[u8] = &[0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x00];

    #[test]
    fn wrong_key_unknown_name_and_skew_are_answered_zero() {
        let (e, out) = run_node(
            &Credentials::single("admin", Key([1; KEY_LEN])),
            TS as i64,
            C3_NAME_CODE,
        );
        assert_eq!(
            e,
            NodeEvent::Rejected {
                client_name: b"admin".to_vec(),
                reason: Rejection::BadCode
            }
        );
        assert_eq!(out, REFUSED);

        let (e, out) = run_node(
            &Credentials::single("other", Key([0; KEY_LEN])),
            TS as i64,
            C3_NAME_CODE,
        );
        assert_eq!(
            e,
            NodeEvent::Rejected {
                client_name: b"admin".to_vec(),
                reason: Rejection::UnknownName
            }
        );
        assert_eq!(out, REFUSED);

        let (e, out) = run_node(&admin(), TS as i64 + 1801, C3_NAME_CODE);
        assert!(matches!(
            e,
            NodeEvent::Rejected {
                reason: Rejection::ClockSkew { .. },
                ..
            }
        ));
        assert_eq!(out, REFUSED);

        let mut empty = Vec::new();
        encode_name_and_code(b"", &[0; CODE_LEN], &mut empty);
        let (e, _) = run_node(&admin(), TS as i64, &empty);
        assert_eq!(
            e,
            NodeEvent::Rejected {
                client_name: vec![],
                reason: Rejection::EmptyName
            }
        );
    }

    #[test]
    fn client_sees_refusal() {
        let mut out = Vec::new();
        let mut client = ClientHandshake::new(b"admin", Key([0; KEY_LEN]), TS, &mut out);
        client.advance(N1_VERSION, &mut out).unwrap();
        client.advance(N2_NONCE, &mut out).unwrap();
        assert_eq!(
            client.advance(REFUSED, &mut out).unwrap().event,
            ClientEvent::Rejected
        );
        assert_eq!(
            client.advance(REFUSED, &mut out),
            Err(ConnectError::Finished)
        );
    }

    #[test]
    fn protocol_errors() {
        let creds = admin();
        let mut out = Vec::new();
        // Wrong version: the node still sends its own, then fails.
        let mut node = NodeHandshake::new(NONCE);
        assert_eq!(
            node.advance(&[2], 0, &creds, &mut out),
            Err(ConnectError::VersionMismatch { ours: 1, theirs: 2 })
        );
        assert_eq!(out, [1]);
        // Data glued to the version byte.
        let mut node = NodeHandshake::new(NONCE);
        assert_eq!(
            node.advance(&[1, 2], 0, &creds, &mut out),
            Err(ConnectError::DataAfterVersion)
        );
        // A Request message instead of the timestamp.
        let mut node = NodeHandshake::new(NONCE);
        node.advance(&[1], 0, &creds, &mut out).unwrap();
        let mut req = Vec::new();
        encode_message(MessageType::Request, &[&[0; 8]], &mut req);
        assert_eq!(
            node.advance(&req, 0, &creds, &mut out),
            Err(ConnectError::UnexpectedType(MessageType::Request))
        );
        // A timestamp body of the wrong size, bad parity, oversized auth body.
        for bad in [
            {
                let mut v = Vec::new();
                encode_message(MessageType::Authentication, &[&[0; 9]], &mut v);
                v
            },
            vec![0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x0b],
            vec![0x02, 0xe8, 0x03, 0, 0, 0, 0, 0, 0, 0xe9],
        ] {
            let mut node = NodeHandshake::new(NONCE);
            node.advance(&[1], 0, &creds, &mut out).unwrap();
            assert!(node.advance(&bad, 0, &creds, &mut out).is_err(), "{bad:x?}");
        }
    }

    #[test]
    fn name_and_code_layout_errors() {
        assert!(parse_name_and_code(&[0; 7]).is_err());
        let mut body = vec![];
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        body.extend_from_slice(&[0; 64]);
        assert!(parse_name_and_code(&body).is_err());
        let mut body = vec![];
        body.extend_from_slice(&1u64.to_le_bytes());
        body.extend_from_slice(&[b'a'; 66]);
        assert!(parse_name_and_code(&body).is_err());
        body.pop();
        assert_eq!(parse_name_and_code(&body).unwrap().0, b"a");
    }
}
