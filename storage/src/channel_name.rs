//! Channel names: the original nodes (dht, dmq and dls alike) accept only
//! non-empty ASCII names of letters, digits, `_` and `-`. Names become file
//! and directory names (dumps, queue files, bucket directories), where
//! anything else could escape the data directory, so every entry point
//! checks them with this one rule.

/// Whether `name` is a channel name the original nodes would accept.
pub fn is_valid_channel_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_original_alphabet_only() {
        assert!(is_valid_channel_name(b"test_channel-1"));
        assert!(!is_valid_channel_name(b""));
        assert!(!is_valid_channel_name(b"../etc"));
        assert!(!is_valid_channel_name(b"a b"));
        assert!(!is_valid_channel_name("ä".as_bytes()));
    }
}
