//! The byte figure the original dhtnode reports for a channel.
//!
//! The original's GetSize, GetChannelSize, stats.log and `size_limit` all use
//! its storage engine's memory accounting (Tokyo Cabinet's `tcmdbmsiz`), not
//! the payload: a fixed bucket array per channel plus a per-record overhead.
//! shoal reports the same figure so that operators' limits, dashboards and
//! alerts keep their meaning when the node is swapped.

/// Overhead the original counts for every record, besides its value bytes.
pub const RECORD_OVERHEAD: u64 = 56;

/// What an empty channel counts, for the original's `bnum` setting
/// (`0` = its default of 65,536 buckets).
pub fn empty_channel_bytes(bnum: u64) -> u64 {
    let bnum = if bnum == 0 { 65_536 } else { bnum };
    // 8 internal maps, each with bnum/8 + 17 buckets of 8 bytes.
    8 * 8 * (bnum / 8 + 17)
}

/// The reported size of a channel holding `records` records whose values add
/// up to `value_bytes`.
pub fn channel_bytes(bnum: u64, records: u64, value_bytes: u64) -> u64 {
    empty_channel_bytes(bnum) + records * RECORD_OVERHEAD + value_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_figures_observed_on_the_original() {
        assert_eq!(empty_channel_bytes(0), 525_376);
        assert_eq!(channel_bytes(0, 50, 50 * 20), 529_176);
        assert_eq!(channel_bytes(0, 1, 4), 525_436);
    }
}
