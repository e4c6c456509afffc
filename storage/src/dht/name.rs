//! Channel names: the original accepts only non-empty ASCII names of letters,
//! digits, `_` and `-`; anything else could escape the data directory when it
//! becomes a dump file name, so every entry point checks it.

/// Whether `name` is a channel name the original node would accept.
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
