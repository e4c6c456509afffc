//! The bucket files written by the original dlsnode (its versioning test
//! data, tests/vectors/original-dlsnode) read as the original reads them.

use std::path::{Path, PathBuf};

use shoal_storage::dls::channel::DlsChannel;
use shoal_storage::dls::chunk_reader::ReadBuffers;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/original-dlsnode")
}

/// Copies a vector channel into a scratch data directory (the vectors are
/// read-only) and returns every record the channel gives.
fn read_channel(data: &Path, name: &str) -> Vec<(u64, Vec<u8>)> {
    let mut channel = DlsChannel::new(data, name, 1 << 16);
    let mut scan = channel.scan(0, u64::MAX, ReadBuffers::inline(64 * 1024)).unwrap();
    std::iter::from_fn(|| scan.next_record(|path, error| panic!("{}: {error}", path.display())).map(|(k, v)| (k, v.to_vec())))
        .collect()
}

fn copy_channel(name: &str, data: &Path, as_name: &str) {
    let from = vectors().join(name);
    for slot in std::fs::read_dir(&from).unwrap() {
        let slot = slot.unwrap();
        let to = data.join(as_name).join(slot.file_name());
        std::fs::create_dir_all(&to).unwrap();
        for bucket in std::fs::read_dir(slot.path()).unwrap() {
            let bucket = bucket.unwrap();
            std::fs::copy(bucket.path(), to.join(bucket.file_name())).unwrap();
        }
    }
}

fn scratch_with(channels: &[(&str, &str)]) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    for (vector, name) in channels {
        copy_channel(vector, data.path(), name);
    }
    data
}

#[test]
fn a_legacy_bucket_gives_its_four_records() {
    let data = scratch_with(&[("legacy", "legacy")]);
    let records = read_channel(data.path(), "legacy");
    let expected: Vec<(u64, &[u8])> = vec![
        (0x5727_5806, b"Hello there"),
        (0x5727_5809, b"I'm a legacy channel"),
        (0x5727_580c, b"Nice to meet you finaly"),
        (0x5727_5810, b"Oh, yes indeed."),
    ];
    assert_eq!(records, expected.into_iter().map(|(k, v)| (k, v.to_vec())).collect::<Vec<_>>());
}

#[test]
fn version_one_buckets_check_parity() {
    let data = scratch_with(&[("parity-fine", "fine"), ("parity-broken", "broken")]);
    let fine = read_channel(data.path(), "fine");
    assert_eq!(fine.len(), 8);
    assert_eq!(fine[0], (0x5727_545c, b"Hello there".to_vec()));
    assert_eq!(fine[7], (0x5727_5475, b"bye".to_vec()));
    // The fifth header is corrupt: only the first four records are served.
    let broken = read_channel(data.path(), "broken");
    assert_eq!(broken, fine[..4]);
}

#[test]
fn empty_buckets_are_skipped_and_the_rest_read() {
    let data = scratch_with(&[("empty-bucket", "empty")]);
    // 1 + 1 legacy records and 6 before the V1 bucket's bad parity.
    assert_eq!(read_channel(data.path(), "empty").len(), 8);
}

#[test]
fn mixed_versions_in_one_channel_and_appends_keep_each_buckets_format() {
    // As the original's mixed-bucket case: a legacy bucket in slot 0x57 and
    // a version-1 bucket in slot 0x58.
    let data = scratch_with(&[("legacy", "mixed"), ("putlegacy", "putlegacy")]);
    std::fs::create_dir_all(data.path().join("mixed/0000000058")).unwrap();
    std::fs::copy(vectors().join("parity-fine/0000000057/275"), data.path().join("mixed/0000000058/275")).unwrap();
    assert_eq!(read_channel(data.path(), "mixed").len(), 12);
    let mut channel = DlsChannel::new(data.path(), "putlegacy", 1 << 16);
    for (key, value) in [(0x5727_5813u64, "test1"), (0x5727_5814, "test2")] {
        channel.put(key, value.as_bytes()).unwrap();
    }
    channel.close().unwrap();
    let records = read_channel(data.path(), "putlegacy");
    assert_eq!(records.len(), 6);
    assert_eq!(records[5], (0x5727_5814, b"test2".to_vec()));
    // Still a legacy bucket: no version header was added in front.
    let bucket = std::fs::read(data.path().join("putlegacy/0000000057/275")).unwrap();
    assert_ne!(&bucket[8..16], b"DLSBUCKT");
}
