//! Record keys and the node's hash range.
//!
//! Clients address records by a 64-bit hash, written on the legacy wire and in
//! dump files as 16 hex digits. A node is responsible for the keys whose
//! *bit-reversed* value lies in its inclusive range `min..=max` (swarm's
//! `HashRange`/`isWithinNodeResponsibility`), so two nodes splitting the space
//! in halves own the even and the odd keys.

/// Parses a key as the original does: exactly 16 hex digits, either case.
pub fn parse_hex_key(text: &[u8]) -> Option<u64> {
    let digits: &[u8; 16] = text.try_into().ok()?;
    // Digit by digit: no UTF-8 check, no sign or radix handling to skip.
    digits.iter().try_fold(0u64, |key, &digit| Some(key << 4 | u64::from(char::from(digit).to_digit(16)?)))
}

/// Formats a key the way the original writes it: 16 lower-case hex digits.
pub fn format_hex_key(key: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    let digits = b"0123456789abcdef";
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = digits[((key >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

/// The inclusive range of (bit-reversed) hashes a node is responsible for.
///
/// `min > max` is the original's "empty range" (it uses
/// `0xffffffffffffffff..0`) and matches no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashRange {
    /// Lowest bit-reversed hash owned.
    pub min: u64,
    /// Highest bit-reversed hash owned.
    pub max: u64,
}

impl HashRange {
    /// The whole key space.
    pub const FULL: HashRange = HashRange { min: 0, max: u64::MAX };

    /// Whether this node is responsible for `key`.
    pub fn owns(&self, key: u64) -> bool {
        let position = key.reverse_bits();
        self.min <= position && position <= self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex() {
        for key in [0, 5, 0x0123_4567_89ab_cdef, u64::MAX] {
            assert_eq!(parse_hex_key(&format_hex_key(key)), Some(key));
        }
        assert_eq!(&format_hex_key(0xc), b"000000000000000c");
        assert_eq!(parse_hex_key(b"000000000000000C"), Some(12));
        assert_eq!(parse_hex_key(b"00000000000000c"), None);
        assert_eq!(parse_hex_key(b"000000000000000g"), None);
        assert_eq!(parse_hex_key(b"+00000000000000c"), None);
    }

    #[test]
    fn ownership_uses_the_bit_reversed_key() {
        let lower_half = HashRange { min: 0, max: 0x7fff_ffff_ffff_ffff };
        assert!(lower_half.owns(2));
        assert!(!lower_half.owns(3));
        assert!(!lower_half.owns(0x0123_4567_89ab_cdef));
        let empty = HashRange { min: u64::MAX, max: 0 };
        assert!(!empty.owns(0) && !empty.owns(u64::MAX));
        assert!(HashRange::FULL.owns(12345));
    }
}
