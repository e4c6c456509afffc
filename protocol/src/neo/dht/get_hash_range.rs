//! GetHashRange v0 (code 1): the node's hash range, then a notification
//! whenever it changes or the node learns of another node (during a
//! redistribution). The request runs until the connection closes.
//!
//! No arguments. Node → client: the first message is the current range
//! (`u64` min, `u64` max, no type byte); each later one is ChangeHashRange
//! (type 2, min, max) or NewNode (type 1, the other node's IPv4 address and
//! neo port in network byte order, 4 + 2 bytes, then min, max).

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::neo::payload::PayloadReader;
use crate::neo::request::{Command, RequestCode, RequestError};

use super::split_type;

/// GetHashRange at the version the original serves.
pub const GET_HASH_RANGE_V0: Command = Command::new(RequestCode::GetHashRange as u8, 0);

/// The first reply: the node's range when the request started.
pub fn encode_current(min: u64, max: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&max.to_le_bytes());
    out
}

/// Client side: decodes the first reply into (min, max).
pub fn decode_current(payload: &[u8]) -> Result<(u64, u64), RequestError> {
    let mut r = PayloadReader::new(payload);
    let range = (r.u64("min")?, r.u64("max")?);
    r.finish()?;
    Ok(range)
}

/// A later notification of a GetHashRange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRangeUpdate {
    /// Another node (its neo address) now holds `min..=max`.
    NewNode {
        /// where the other node serves neo
        addr: SocketAddrV4,
        /// its range's first hash
        min: u64,
        /// its range's last hash
        max: u64,
    },
    /// This node now holds `min..=max`.
    ChangeHashRange {
        /// the range's first hash
        min: u64,
        /// the range's last hash
        max: u64,
    },
}

impl HashRangeUpdate {
    /// The message payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(23);
        let (min, max) = match *self {
            Self::NewNode { addr, min, max } => {
                out.push(1);
                out.extend_from_slice(&addr.ip().octets());
                out.extend_from_slice(&addr.port().to_be_bytes());
                (min, max)
            }
            Self::ChangeHashRange { min, max } => {
                out.push(2);
                (min, max)
            }
        };
        out.extend_from_slice(&min.to_le_bytes());
        out.extend_from_slice(&max.to_le_bytes());
        out
    }

    /// Decodes a message payload.
    pub fn decode(payload: &[u8]) -> Result<Self, RequestError> {
        let (kind, rest) = split_type(payload, "GetHashRange message type")?;
        let mut r = PayloadReader::new(rest);
        let update = match kind {
            1 => {
                let ip = r.take(4, "address")?;
                let port = r.take(2, "port")?;
                let addr = SocketAddrV4::new(
                    Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]),
                    u16::from_be_bytes([port[0], port[1]]),
                );
                Self::NewNode { addr, min: r.u64("min")?, max: r.u64("max")? }
            }
            2 => Self::ChangeHashRange { min: r.u64("min")?, max: r.u64("max")? },
            byte => return Err(RequestError::UnknownStatus { kind: "GetHashRange message", byte }),
        };
        r.finish()?;
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_captured_first_reply_decodes() {
        // neo-put-get.pcap: the whole range.
        let mut payload = vec![0; 8];
        payload.extend_from_slice(&[0xff; 8]);
        assert_eq!(decode_current(&payload), Ok((0, u64::MAX)));
        assert_eq!(encode_current(0, u64::MAX), payload);
    }

    #[test]
    fn updates_put_address_and_port_in_network_order() {
        let update = HashRangeUpdate::NewNode { addr: "127.0.0.1:10100".parse().unwrap(), min: 1, max: 2 };
        let bytes = update.encode();
        assert_eq!(&bytes[..7], &[1, 127, 0, 0, 1, 0x27, 0x74]);
        assert_eq!(HashRangeUpdate::decode(&bytes), Ok(update));
        let change = HashRangeUpdate::ChangeHashRange { min: 5, max: 6 };
        assert_eq!(HashRangeUpdate::decode(&change.encode()), Ok(change));
        assert!(HashRangeUpdate::decode(&[3]).is_err());
    }
}
