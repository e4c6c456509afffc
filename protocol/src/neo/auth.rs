//! Neo authentication: the HMAC-SHA512 code a client proves it knows its key
//! with, and the node's checks on name and timestamp.
//!
//! The code is `HMAC-SHA512(key, timestamp_le_u64 ++ nonce)`: the key is the
//! client's 128-byte secret (the SHA-512 block size), the timestamp is the
//! client's clock in Unix seconds as 8 little-endian bytes, the nonce the four
//! random bytes the node sent for this connection.

use hmac::{Hmac, Mac};
use sha2::Sha512;
use thiserror::Error;

/// Key length in bytes (1024 bits, SHA-512's block size), fixed by swarm.
pub const KEY_LEN: usize = 128;
/// HMAC-SHA512 output length in bytes.
pub const CODE_LEN: usize = 64;
/// Length of the node's per-connection nonce in bytes.
pub const NONCE_LEN: usize = 4;
/// Longest client name the node accepts (same limit as the credentials file).
pub const MAX_NAME_LEN: usize = 100;
/// Largest accepted difference between client and node clocks, in seconds
/// (the original allows 30 minutes either way).
pub const MAX_CLOCK_SKEW_S: i64 = 30 * 60;

type HmacSha512 = Hmac<Sha512>;

/// A client's secret key. Its `Debug` never shows the bytes, so keys cannot
/// leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub [u8; KEY_LEN]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The node's one-use random challenge for one connection.
pub type Nonce = [u8; NONCE_LEN];
/// The HMAC a client sends to prove it holds its key.
pub type Code = [u8; CODE_LEN];

/// Computes the code a client sends for `timestamp` and the node's `nonce`.
pub fn auth_code(key: &Key, timestamp: u64, nonce: &Nonce) -> Code {
    let mut mac = HmacSha512::new_from_slice(&key.0).expect("HMAC accepts any key length");
    mac.update(&timestamp.to_le_bytes());
    mac.update(nonce);
    mac.finalize().into_bytes().into()
}

/// Checks a client's code by recomputing it; the comparison takes the same
/// time wherever the codes differ.
pub fn verify_code(key: &Key, timestamp: u64, nonce: &Nonce, code: &Code) -> bool {
    let mut mac = HmacSha512::new_from_slice(&key.0).expect("HMAC accepts any key length");
    mac.update(&timestamp.to_le_bytes());
    mac.update(nonce);
    mac.verify_slice(code).is_ok()
}

/// A fresh nonce from the operating system's random source, for the node.
pub fn fresh_nonce() -> std::io::Result<Nonce> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(nonce)
}

/// True for the bytes a client name may contain: printable ASCII other than
/// space (C `isgraph` in the POSIX locale).
pub fn is_name_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

/// Why the node turned a client away. The node answers "false" and closes
/// the connection; the text is what it logs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The client sent a zero-length name.
    #[error("Empty client name")]
    EmptyName,
    /// The name is longer than [`MAX_NAME_LEN`].
    #[error("Client name too long")]
    NameTooLong,
    /// The name is not in the credentials and has a byte outside `isgraph`.
    #[error("Invalid character in client name")]
    InvalidNameCharacter,
    /// The name is well-formed but not in the credentials.
    #[error("Unknown client name")]
    UnknownName,
    /// The timestamp does not fit a signed 64-bit `time_t`.
    #[error("Client timestamp above time_t.max")]
    TimestampTooLarge,
    /// The timestamp is 0.
    #[error("Zero client timestamp")]
    ZeroTimestamp,
    /// The clocks differ by more than [`MAX_CLOCK_SKEW_S`].
    #[error("Client/node timestamp difference > 30 minutes (client {client}, node {node})")]
    ClockSkew {
        /// the client's timestamp
        client: u64,
        /// the node's clock when the handshake started
        node: i64,
    },
    /// The code does not match the key the node holds for that name.
    #[error("Client authentication rejected")]
    BadCode,
}

/// The node's timestamp check, in the original's order: fits `time_t`, not
/// zero, within 30 minutes of the node's clock.
pub fn check_timestamp(client: u64, node: i64) -> Result<(), Rejection> {
    let Ok(c) = i64::try_from(client) else {
        return Err(Rejection::TimestampTooLarge);
    };
    if c == 0 {
        return Err(Rejection::ZeroTimestamp);
    }
    if (i128::from(c) - i128::from(node)).abs() > i128::from(MAX_CLOCK_SKEW_S) {
        return Err(Rejection::ClockSkew { client, node });
    }
    Ok(())
}

/// The node's whole decision on a client's name and code, in the original's
/// order: name length, then (if the name is known) timestamp and code, else
/// name characters and "unknown". `lookup` finds a name's key.
pub fn authenticate<'k>(
    lookup: impl FnOnce(&[u8]) -> Option<&'k Key>,
    name: &[u8],
    code: &Code,
    client_timestamp: u64,
    node_timestamp: i64,
    nonce: &Nonce,
) -> Result<(), Rejection> {
    if name.is_empty() {
        return Err(Rejection::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Rejection::NameTooLong);
    }
    match lookup(name) {
        Some(key) => {
            check_timestamp(client_timestamp, node_timestamp)?;
            if verify_code(key, client_timestamp, nonce, code) {
                Ok(())
            } else {
                Err(Rejection::BadCode)
            }
        }
        None if !name.iter().all(|&b| is_name_byte(b)) => Err(Rejection::InvalidNameCharacter),
        None => Err(Rejection::UnknownName),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_1() {
        // HMAC-SHA512 test vector (key 0x0b * 20, "Hi There") through the same
        // primitive, to pin the hash and MAC choice independently of swarm.
        let mut mac = HmacSha512::new_from_slice(&[0x0b; 20]).unwrap();
        mac.update(b"Hi There");
        let out = mac.finalize().into_bytes();
        assert_eq!(out[..8], [0x87, 0xaa, 0x7c, 0xde, 0xa5, 0xef, 0x61, 0x9d]);
    }

    #[test]
    fn code_is_over_timestamp_then_nonce() {
        let key = Key([7; KEY_LEN]);
        let code = auth_code(&key, 0x1122_3344_5566_7788, &[1, 2, 3, 4]);
        assert!(verify_code(
            &key,
            0x1122_3344_5566_7788,
            &[1, 2, 3, 4],
            &code
        ));
        assert!(!verify_code(
            &key,
            0x1122_3344_5566_7789,
            &[1, 2, 3, 4],
            &code
        ));
        assert!(!verify_code(
            &key,
            0x1122_3344_5566_7788,
            &[1, 2, 3, 5],
            &code
        ));
        assert!(!verify_code(
            &Key([8; KEY_LEN]),
            0x1122_3344_5566_7788,
            &[1, 2, 3, 4],
            &code
        ));
    }

    #[test]
    fn timestamp_rules() {
        assert_eq!(
            check_timestamp(u64::MAX, 0),
            Err(Rejection::TimestampTooLarge)
        );
        assert_eq!(
            check_timestamp(1 << 63, 0),
            Err(Rejection::TimestampTooLarge)
        );
        assert_eq!(check_timestamp(0, 0), Err(Rejection::ZeroTimestamp));
        assert_eq!(check_timestamp(1000 + 1800, 1000), Ok(()));
        assert_eq!(check_timestamp(1000, 1000 + 1800), Ok(()));
        assert!(matches!(
            check_timestamp(1000 + 1801, 1000),
            Err(Rejection::ClockSkew { .. })
        ));
        assert!(matches!(
            check_timestamp(1, i64::MIN),
            Err(Rejection::ClockSkew { .. })
        ));
    }

    #[test]
    fn decision_order() {
        let key = Key([0; KEY_LEN]);
        let nonce = [9, 9, 9, 9];
        let code = auth_code(&key, 5000, &nonce);
        let known = |n: &[u8]| (n == b"admin").then_some(&key);
        assert_eq!(
            authenticate(known, b"admin", &code, 5000, 5000, &nonce),
            Ok(())
        );
        assert_eq!(
            authenticate(known, b"", &code, 5000, 5000, &nonce),
            Err(Rejection::EmptyName)
        );
        assert_eq!(
            authenticate(known, &[b'a'; 101], &code, 5000, 5000, &nonce),
            Err(Rejection::NameTooLong)
        );
        assert_eq!(
            authenticate(known, b"ad min", &code, 5000, 5000, &nonce),
            Err(Rejection::InvalidNameCharacter)
        );
        assert_eq!(
            authenticate(known, b"bob", &code, 5000, 5000, &nonce),
            Err(Rejection::UnknownName)
        );
        // A known name with a bad clock is refused for the clock, before the code.
        assert!(matches!(
            authenticate(known, b"admin", &[0; CODE_LEN], 5000, 9000, &nonce),
            Err(Rejection::ClockSkew { .. })
        ));
        assert_eq!(
            authenticate(known, b"admin", &[0; CODE_LEN], 5000, 5000, &nonce),
            Err(Rejection::BadCode)
        );
    }

    #[test]
    fn key_debug_hides_bytes() {
        assert_eq!(format!("{:?}", Key([0xab; KEY_LEN])), "Key(..)");
    }
}
