//! Ring sizes: `[Server] channel_size_limit` for every queue, unless the
//! channel name starts with a `[ChannelSizeById]` prefix. Every queue of a
//! channel (plain or subscriber) gets the size of the channel name.

/// Why a `[ChannelSizeById]` entry was refused (the original refuses to
/// start on both).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeConfigError {
    /// An empty prefix would match every channel.
    #[error("[ChannelSizeById]: empty channel prefix")]
    EmptyPrefix,
    /// One prefix starts with the other, so a channel could match both.
    #[error("[ChannelSizeById]: prefixes '{0}' and '{1}' overlap")]
    Overlap(String, String),
    /// A size of 0 could hold nothing.
    #[error("ring size 0 for '{0}'")]
    Zero(String),
}

/// Ring sizes per channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSizes {
    default: u64,
    prefixes: Vec<(String, u64)>,
}

impl ChannelSizes {
    /// Sizes with `channel_size_limit` for every channel.
    pub fn new(channel_size_limit: u64) -> Result<ChannelSizes, SizeConfigError> {
        if channel_size_limit == 0 {
            return Err(SizeConfigError::Zero("channel_size_limit".into()));
        }
        Ok(ChannelSizes {
            default: channel_size_limit,
            prefixes: Vec::new(),
        })
    }

    /// Adds a `[ChannelSizeById]` entry. Since overlapping prefixes are
    /// refused, at most one prefix matches a channel and the order of the
    /// entries does not matter.
    pub fn add(&mut self, prefix: &str, size: u64) -> Result<(), SizeConfigError> {
        if prefix.is_empty() {
            return Err(SizeConfigError::EmptyPrefix);
        }
        if size == 0 {
            return Err(SizeConfigError::Zero(prefix.into()));
        }
        if let Some((other, _)) = self
            .prefixes
            .iter()
            .find(|(p, _)| p.starts_with(prefix) || prefix.starts_with(p.as_str()))
        {
            return Err(SizeConfigError::Overlap(prefix.into(), other.clone()));
        }
        self.prefixes.push((prefix.into(), size));
        Ok(())
    }

    /// The ring size of the queues of `channel`.
    pub fn size_for(&self, channel: &str) -> u64 {
        self.prefixes
            .iter()
            .find(|(p, _)| channel.starts_with(p.as_str()))
            .map_or(self.default, |&(_, size)| size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rule_as_the_original() {
        let mut sizes = ChannelSizes::new(4711).unwrap();
        sizes.add("Die", 123).unwrap();
        sizes.add("Katze", 456).unwrap();
        assert_eq!(
            sizes.add("Katzeklo", 789),
            Err(SizeConfigError::Overlap("Katzeklo".into(), "Katze".into()))
        );
        assert_eq!(
            sizes.add("Ka", 789),
            Err(SizeConfigError::Overlap("Ka".into(), "Katze".into()))
        );
        assert_eq!(sizes.add("", 44), Err(SizeConfigError::EmptyPrefix));
        assert_eq!(sizes.size_for("Die"), 123);
        assert_eq!(sizes.size_for("Dieses"), 123);
        assert_eq!(sizes.size_for("Katzeklo"), 456);
        assert_eq!(sizes.size_for("Kat"), 4711);
        assert_eq!(sizes.size_for("Hundekuchen"), 4711);
        assert_eq!(sizes.size_for(""), 4711);
    }

    #[test]
    fn zero_sizes_are_refused() {
        assert!(ChannelSizes::new(0).is_err());
        assert_eq!(
            ChannelSizes::new(1).unwrap().add("a", 0),
            Err(SizeConfigError::Zero("a".into()))
        );
    }
}
