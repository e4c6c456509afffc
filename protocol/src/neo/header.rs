//! The 10-byte header in front of every neo message after the version bytes.
//!
//! Layout (packed, little-endian, no padding):
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0 | 1 | message type: 1 = Request, 2 = Authentication (0 is never valid) |
//! | 1 | 8 | body length, `u64` |
//! | 9 | 1 | parity: XOR of bytes 0..9, so that the XOR of all 10 bytes is 0 |
//!
//! The decoder here never allocates: it looks at a buffer, and only once a
//! whole header is there does it check parity, type and length, so a caller
//! can refuse a hostile length before reserving room for the body.

use thiserror::Error;

/// Size of the header on the wire; callers need it to know how much to buffer.
pub const HEADER_LEN: usize = 10;

/// Largest body the original accepts in an Authentication message; anything
/// longer is junk or an attack during the handshake.
pub const MAX_AUTH_BODY_LEN: u64 = 999;

/// A Request message body starts with the 8-byte request id, so it can be no
/// shorter than this.
pub const REQUEST_ID_LEN: u64 = 8;

/// Default cap on a Request body. The original has none (it grows its buffer
/// to whatever the header says); shoal refuses more so that one header cannot
/// make the node reserve gigabytes.
pub const DEFAULT_MAX_BODY_LEN: u64 = 64 * 1024 * 1024;

/// The two kinds of neo message; the handshake uses one, requests the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// A message of a multiplexed request; its body starts with a request id.
    Request = 1,
    /// A message of the connect handshake (timestamp, nonce, name + code, ok).
    Authentication = 2,
}

impl MessageType {
    /// Maps the wire byte to a type, so unknown bytes can be refused.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Request),
            2 => Some(Self::Authentication),
            _ => None,
        }
    }
}

/// Why a header was refused; every variant means "close this connection".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// The XOR of all ten header bytes was not 0.
    #[error("message header parity fault (xor of all header bytes is {0:#04x})")]
    Parity(u8),
    /// The type byte is neither Request (1) nor Authentication (2).
    #[error("invalid message type {0}")]
    UnknownType(u8),
    /// A Request message too short to hold its 8-byte request id.
    #[error("request message body too short to contain a request id (length {0}, minimum 8)")]
    RequestBodyTooShort(u64),
    /// An Authentication message longer than [`MAX_AUTH_BODY_LEN`].
    #[error("authentication message body too long (length {0}, maximum 999)")]
    AuthBodyTooLong(u64),
    /// A body longer than the configured limit (shoal's own guard).
    #[error("message body too long (length {len}, maximum {max})")]
    BodyTooLong {
        /// the length the header announced
        len: u64,
        /// the limit in force
        max: u64,
    },
}

/// A decoded, validated header: what kind of message follows and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The message type.
    pub msg_type: MessageType,
    /// The number of body bytes after the header.
    pub body_len: u64,
}

/// XOR of the type byte and the eight length bytes: the value the parity
/// byte must carry.
pub fn parity(type_byte: u8, body_len: u64) -> u8 {
    body_len
        .to_le_bytes()
        .iter()
        .fold(type_byte, |acc, b| acc ^ b)
}

impl Header {
    /// A header for a body of `body_len` bytes of the given type.
    pub fn new(msg_type: MessageType, body_len: u64) -> Self {
        Self { msg_type, body_len }
    }

    /// The ten wire bytes, with the parity filled in.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = self.msg_type as u8;
        out[1..9].copy_from_slice(&self.body_len.to_le_bytes());
        out[9] = parity(out[0], self.body_len);
        out
    }

    /// Decodes a header from the start of `buf` with the default body limit.
    /// `Ok(None)` means fewer than [`HEADER_LEN`] bytes are buffered yet.
    pub fn decode(buf: &[u8]) -> Result<Option<Header>, HeaderError> {
        HeaderDecoder::default().decode(buf)
    }
}

/// Validates headers against a body-length limit the caller picks (the node
/// may allow larger bodies than a test client, or fewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderDecoder {
    /// Longest Request body accepted; Authentication bodies are always capped
    /// at [`MAX_AUTH_BODY_LEN`].
    pub max_body_len: u64,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        Self {
            max_body_len: DEFAULT_MAX_BODY_LEN,
        }
    }
}

/// One whole message found at the start of a buffer, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The validated header.
    pub header: Header,
    /// The body bytes (exactly `header.body_len` of them).
    pub body: &'a [u8],
    /// Header plus body: how many bytes of the buffer this message used.
    pub wire_len: usize,
}

impl HeaderDecoder {
    /// A decoder refusing Request bodies over `max_body_len` bytes.
    pub fn new(max_body_len: u64) -> Self {
        Self { max_body_len }
    }

    /// Decodes and validates the header at the start of `buf`.
    ///
    /// Checks, in the original's order: parity, type, the type's own length
    /// rule; then shoal's limit. `Ok(None)` until ten bytes are buffered.
    pub fn decode(&self, buf: &[u8]) -> Result<Option<Header>, HeaderError> {
        let Some(raw) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let total = raw.iter().fold(0u8, |acc, b| acc ^ b);
        if total != 0 {
            return Err(HeaderError::Parity(total));
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&raw[1..9]);
        let body_len = u64::from_le_bytes(len_bytes);
        let msg_type = MessageType::from_byte(raw[0]).ok_or(HeaderError::UnknownType(raw[0]))?;
        match msg_type {
            MessageType::Request if body_len < REQUEST_ID_LEN => {
                return Err(HeaderError::RequestBodyTooShort(body_len))
            }
            MessageType::Authentication if body_len > MAX_AUTH_BODY_LEN => {
                return Err(HeaderError::AuthBodyTooLong(body_len))
            }
            _ => {}
        }
        if body_len > self.max_body_len {
            return Err(HeaderError::BodyTooLong {
                len: body_len,
                max: self.max_body_len,
            });
        }
        Ok(Some(Header { msg_type, body_len }))
    }

    /// Finds one complete message at the start of `buf`. `Ok(None)` while the
    /// header or the body is still incomplete; an error as soon as the header
    /// is bad, without waiting for (or reserving room for) its body.
    pub fn split_message<'a>(&self, buf: &'a [u8]) -> Result<Option<Message<'a>>, HeaderError> {
        let Some(header) = self.decode(buf)? else {
            return Ok(None);
        };
        // body_len <= max_body_len was checked; still guard the conversion on
        // 32-bit targets.
        let Ok(body_len) = usize::try_from(header.body_len) else {
            return Err(HeaderError::BodyTooLong {
                len: header.body_len,
                max: self.max_body_len,
            });
        };
        let Some(end) = HEADER_LEN.checked_add(body_len) else {
            return Err(HeaderError::BodyTooLong {
                len: header.body_len,
                max: self.max_body_len,
            });
        };
        match buf.get(HEADER_LEN..end) {
            Some(body) => Ok(Some(Message {
                header,
                body,
                wire_len: end,
            })),
            None => Ok(None),
        }
    }
}

/// Appends a whole message (header + the concatenated `parts`) to `out`; the
/// body is given in parts so callers need not copy fields together first.
pub fn encode_message(msg_type: MessageType, parts: &[&[u8]], out: &mut Vec<u8>) {
    let body_len: usize = parts.iter().map(|p| p.len()).sum();
    out.reserve(HEADER_LEN + body_len);
    out.extend_from_slice(&Header::new(msg_type, body_len as u64).encode());
    for p in parts {
        out.extend_from_slice(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_captured_headers() {
        // From neo-put-get.pcap: the client's timestamp message and a Put.
        assert_eq!(
            Header::new(MessageType::Authentication, 8).encode(),
            [0x02, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x0a]
        );
        assert_eq!(
            Header::new(MessageType::Authentication, 0x4d).encode(),
            [0x02, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0x4f]
        );
        assert_eq!(
            Header::new(MessageType::Request, 0x31).encode(),
            [0x01, 0x31, 0, 0, 0, 0, 0, 0, 0, 0x30]
        );
    }

    #[test]
    fn parity_covers_every_length_byte() {
        let h = Header::new(MessageType::Request, 0x0102_0304_0506_0708);
        let b = h.encode();
        assert_eq!(b.iter().fold(0, |a, x| a ^ x), 0);
        assert_eq!(
            Header::decode(&b),
            Err(HeaderError::BodyTooLong {
                len: 0x0102_0304_0506_0708,
                max: DEFAULT_MAX_BODY_LEN
            })
        );
        assert_eq!(HeaderDecoder::new(u64::MAX).decode(&b), Ok(Some(h)));
    }

    #[test]
    fn incomplete_header_waits() {
        let b = Header::new(MessageType::Request, 8).encode();
        for n in 0..HEADER_LEN {
            assert_eq!(Header::decode(&b[..n]), Ok(None));
        }
        assert_eq!(
            Header::decode(&b),
            Ok(Some(Header::new(MessageType::Request, 8)))
        );
    }

    #[test]
    fn refuses_bad_parity() {
        let mut b = Header::new(MessageType::Request, 8).encode();
        b[9] ^= 0x40;
        assert_eq!(Header::decode(&b), Err(HeaderError::Parity(0x40)));
    }

    #[test]
    fn refuses_unknown_types_even_with_good_parity() {
        for t in [0u8, 3, 0x7f, 0xff] {
            let mut b = [0u8; HEADER_LEN];
            b[0] = t;
            b[1] = 8;
            b[9] = parity(t, 8);
            assert_eq!(Header::decode(&b), Err(HeaderError::UnknownType(t)));
        }
    }

    #[test]
    fn per_type_length_rules() {
        let short = Header::new(MessageType::Request, 7).encode();
        assert_eq!(
            Header::decode(&short),
            Err(HeaderError::RequestBodyTooShort(7))
        );
        let long_auth = Header::new(MessageType::Authentication, 1000).encode();
        assert_eq!(
            Header::decode(&long_auth),
            Err(HeaderError::AuthBodyTooLong(1000))
        );
        let ok_auth = Header::new(MessageType::Authentication, 0).encode();
        assert!(Header::decode(&ok_auth).unwrap().is_some());
    }

    #[test]
    fn limit_is_checked_before_the_body_arrives() {
        let d = HeaderDecoder::new(100);
        let b = Header::new(MessageType::Request, 101).encode();
        assert_eq!(
            d.split_message(&b),
            Err(HeaderError::BodyTooLong { len: 101, max: 100 })
        );
        let b = Header::new(MessageType::Request, u64::MAX).encode();
        assert!(d.split_message(&b).is_err());
    }

    #[test]
    fn split_message_round_trip() {
        let mut buf = Vec::new();
        encode_message(
            MessageType::Request,
            &[&7u64.to_le_bytes(), b"abc"],
            &mut buf,
        );
        encode_message(MessageType::Authentication, &[&[1]], &mut buf);
        let d = HeaderDecoder::default();
        for n in 0..21 {
            assert_eq!(d.split_message(&buf[..n]), Ok(None), "prefix {n}");
        }
        let m = d.split_message(&buf).unwrap().unwrap();
        assert_eq!(m.header, Header::new(MessageType::Request, 11));
        assert_eq!(m.body, b"\x07\0\0\0\0\0\0\0abc");
        assert_eq!(m.wire_len, 21);
        let m2 = d.split_message(&buf[m.wire_len..]).unwrap().unwrap();
        assert_eq!(m2.header.msg_type, MessageType::Authentication);
        assert_eq!(m2.body, [1]);
    }
}
