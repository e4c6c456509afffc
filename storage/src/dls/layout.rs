//! Where a key's record lives: `<channel>/<slot>/<bucket>`, with the
//! original's names, and finding a channel's buckets in key order.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Keys per bucket file (the low 12 bits of a key pick its place in one).
pub const BUCKET_KEYS: u64 = 1 << 12;

/// The number of the bucket holding `key` (all its bits but the low 12).
pub fn bucket_of(key: u64) -> u64 {
    key >> 12
}

/// The first key of bucket number `bucket`.
pub fn bucket_start(bucket: u64) -> u64 {
    bucket << 12
}

/// The path of bucket number `bucket` under the channel directory.
pub fn bucket_path(channel_dir: &Path, bucket: u64) -> PathBuf {
    channel_dir.join(format!("{:010x}", bucket >> 12)).join(format!("{:03x}", bucket & 0xfff))
}

/// The slot number a directory name stands for: exactly 10 lowercase hex
/// digits, as the original writes them; anything else is not a slot.
fn parse_slot(name: &str) -> Option<u64> {
    (name.len() == 10 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| u64::from_str_radix(name, 16).ok())
        .flatten()
}

/// A bucket file name: exactly 3 lowercase hex digits.
fn parse_bucket(name: &str) -> Option<u64> {
    (name.len() == 3 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| u64::from_str_radix(name, 16).ok())
        .flatten()
}

/// The bucket numbers of a channel with records between `low` and `high`
/// (keys, inclusive), ascending, with their paths. Files shorter than a
/// bucket header are left out (crash truncation leaves empty files);
/// directories and files with other names are ignored.
pub fn buckets_in_range(channel_dir: &Path, low: u64, high: u64) -> io::Result<Vec<(u64, PathBuf)>> {
    let (first, last) = (bucket_of(low), bucket_of(high));
    let mut slots: Vec<u64> = match fs::read_dir(channel_dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|entry| parse_slot(&entry.file_name().to_string_lossy()))
            .filter(|slot| (first >> 12..=last >> 12).contains(slot))
            .collect(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    slots.sort_unstable();
    let mut buckets = Vec::new();
    for slot in slots {
        let slot_dir = channel_dir.join(format!("{slot:010x}"));
        let mut in_slot: Vec<(u64, PathBuf)> = fs::read_dir(&slot_dir)?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let number = parse_bucket(&entry.file_name().to_string_lossy())?;
                let bucket = slot << 12 | number;
                let long_enough = entry.metadata().is_ok_and(|m| m.is_file() && m.len() >= 16);
                ((first..=last).contains(&bucket) && long_enough).then(|| (bucket, entry.path()))
            })
            .collect();
        in_slot.sort_unstable_by_key(|(bucket, _)| *bucket);
        buckets.extend(in_slot);
    }
    Ok(buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_originals_naming() {
        let dir = Path::new("ch");
        assert_eq!(bucket_path(dir, bucket_of(0x570e_13eb)), Path::new("ch/0000000057/0e1"));
        assert_eq!(bucket_path(dir, bucket_of(0x5727_5806)), Path::new("ch/0000000057/275"));
        assert_eq!(bucket_path(dir, bucket_of(u64::MAX)), Path::new("ch/ffffffffff/fff"));
        assert_eq!(bucket_start(bucket_of(0x5727_5806)), 0x5727_5000);
        assert_eq!(parse_slot("0000000057"), Some(0x57));
        assert_eq!(parse_slot("000000005G"), None);
        assert_eq!(parse_slot("00000000AB"), None, "upper case is not the original's");
        assert_eq!(parse_bucket("0e1"), Some(0xe1));
        assert_eq!(parse_bucket("e1"), None);
    }
}
