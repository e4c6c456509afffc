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
/// Every record of a legacy scan or GetAll goes through here, so the digits
/// are made all at once in a `u128` rather than one by one.
pub fn format_hex_key(key: u64) -> [u8; 16] {
    const BYTES: u128 = u128::MAX / 0xff; // 0x0101…01
    // Each nibble into the low half of its own byte, in order.
    let mut nibbles = key as u128;
    nibbles = (nibbles | (nibbles << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
    nibbles = (nibbles | (nibbles << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
    nibbles = (nibbles | (nibbles << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
    nibbles = (nibbles | (nibbles << 4)) & (BYTES * 0x0f);
    // '0' + n, and 'a' - '0' - 10 more where n > 9 (n + 6 carries into bit 4).
    let letters = ((nibbles + BYTES * 6) >> 4) & BYTES;
    (nibbles + BYTES * b'0' as u128 + letters * (b'a' - b'0' - 10) as u128).to_be_bytes()
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
        // Every digit in every position, and keys from a simple generator.
        let digits = (0..16u64).map(|d| d * 0x1111_1111_1111_1111);
        let mixed = std::iter::successors(Some(1u64), |k| Some(k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1)));
        for key in digits.chain([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]).chain(mixed.take(10_000)) {
            assert_eq!(format_hex_key(key), format!("{key:016x}").as_bytes(), "{key:#x}");
        }
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
