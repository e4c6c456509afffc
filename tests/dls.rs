//! The dlsnode through the real binary: every legacy and neo request, the
//! original's bucket files, buckets damaged during a scan, restarts, and a
//! kill -9 under a steady put load followed by the checkpoint recovery.

mod common;

use std::time::Duration;

use common::Node;
use shoal_protocol::client::legacy::ClientError;
use shoal_protocol::dls::neo::GetRangeArgs;
use shoal_protocol::legacy::Status;

fn values(records: &[(u64, Vec<u8>)]) -> Vec<(u64, String)> {
    records.iter().map(|(k, v)| (*k, String::from_utf8_lossy(v).into_owned())).collect()
}

#[tokio::test]
async fn legacy_requests_behave_as_the_original() {
    let node = Node::start_dls(&[]);
    let mut client = node.dls().await;
    assert_eq!(client.get_version().await.unwrap(), "20110401");
    // Unordered puts, two values under one key, three buckets.
    for (key, value) in [(0x5727_5806u64, "hello"), (0x5727_5805, "a"), (0x1, "one"), (0x5727_a000, "later"), (0x5727_5806, "dup")] {
        client.put("ch", key, value.as_bytes()).await.unwrap();
    }
    let expected = vec![
        (0x1, "one".to_string()),
        (0x5727_5806, "hello".into()),
        (0x5727_5805, "a".into()),
        (0x5727_5806, "dup".into()),
        (0x5727_a000, "later".into()),
    ];
    // Bucket order, then the order of the puts (read-your-writes: the write
    // buffers are flushed before a read).
    assert_eq!(values(&client.get_all("ch").await.unwrap()), expected);
    assert_eq!(values(&client.get_range("ch", 0x5727_5806, 0x5727_5806).await.unwrap()), vec![expected[1].clone(), expected[3].clone()]);
    assert_eq!(values(&client.get_range("ch", 0x5727_5000, 0x5727_ffff).await.unwrap()), expected[1..].to_vec());
    assert!(client.get_range("ch", 0x6000_0000, 0x7000_0000).await.unwrap().is_empty());
    assert!(client.get_range("ch", 10, 1).await.unwrap().is_empty());
    assert_eq!(values(&client.get_all_filter("ch", b"l").await.unwrap()), vec![expected[1].clone(), expected[4].clone()]);
    assert_eq!(values(&client.get_range_filter("ch", 0, 0x5727_5fff, b"u").await.unwrap()), vec![expected[3].clone()]);
    assert_eq!(client.get_range_regex("ch", 0, u64::MAX, 1, b"^h.l+o$").await.unwrap().len(), 1);
    assert_eq!(client.get_range_regex("ch", 0, u64::MAX, 2, b"^HELLO$").await.unwrap().len(), 1);
    assert_eq!(client.get_range_regex("ch", 0, u64::MAX, 0, b"ne").await.unwrap().len(), 1);
    assert!(matches!(client.get_range_regex("ch", 0, u64::MAX, 1, b"(").await, Err(ClientError::Status(Status::Error))));
    assert!(matches!(client.get_range_regex("ch", 0, u64::MAX, 9, b"x").await, Err(ClientError::Status(Status::Error))));
    // Refusals leave the connection usable.
    assert!(matches!(client.put("bad.name", 1, b"v").await, Err(ClientError::Status(Status::BadChannelName))));
    assert!(matches!(client.put("ch", 1, b"").await, Err(ClientError::Status(Status::EmptyValue))));
    assert!(matches!(client.put("ch", 1, &vec![b'x'; 64 * 1024 + 1]).await, Err(ClientError::Status(Status::OutOfMemory))));
    client.put("other", 5, b"x").await.unwrap();
    assert_eq!(client.get_channels().await.unwrap(), vec!["ch", "other"]);
    let (address, port, connections) = client.get_num_connections().await.unwrap();
    assert_eq!((address.as_str(), port, connections), ("127.0.0.1", node.port, 1));
    client.remove_channel("other").await.unwrap();
    assert_eq!(client.get_channels().await.unwrap(), vec!["ch"]);
    assert!(!node.dir().join("data/other").exists());
    // A key that is not 16 hex digits closes the connection; others go on.
    let mut bad = node.dls().await;
    let mut request = bytes::BytesMut::new();
    shoal_protocol::dls::legacy::DlsRequest::Put { channel: b"ch", key: b"not-a-key", value: b"v" }.encode(&mut request);
    bad.send_raw(&request).await.unwrap();
    assert!(bad.get_version().await.is_err());
    assert_eq!(client.get_all("ch").await.unwrap().len(), 5);
}

#[tokio::test]
async fn neo_put_and_get_range_with_filters_and_stop() {
    let node = Node::start_dls(&[]);
    let neo = node.dls_neo().await;
    for key in 0..3_000u64 {
        // About 1.3 MB in all: more than one neo batch.
        let value = if key % 3 == 0 { format!("fizz {key} {}", "x".repeat(400)) } else { format!("plain {key} {}", "y".repeat(400)) };
        assert!(neo.put("n", 0x5000_0000 + key, value.as_bytes()).await.unwrap());
    }
    let args = |filter: &'static [u8], mode: u8| GetRangeArgs { channel: b"n", low: 0x5000_0000, high: 0x5000_0000 + 2_999, filter, mode };
    let all = neo.get_range(args(b"", 0), None).await.unwrap().unwrap();
    assert_eq!(all.len(), 3_000);
    assert_eq!(all.iter().map(|(k, _)| *k).collect::<Vec<_>>(), (0x5000_0000..0x5000_0000 + 3_000).collect::<Vec<_>>());
    assert_eq!(neo.get_range(args(b"fizz", 1), None).await.unwrap().unwrap().len(), 1_000);
    assert_eq!(neo.get_range(args(b"^FIZZ [0-9]*0 ", 3), None).await.unwrap().unwrap().len(), 100);
    // Stop after the first of two batches of about 1 MB.
    let first = neo.get_range(args(b"", 0), Some(1)).await.unwrap().unwrap();
    assert!(!first.is_empty() && first.len() < 3_000, "{}", first.len());
    // Refused requests get Error instead of hanging (as the original did).
    assert_eq!(neo.get_range(args(b"(", 2), None).await.unwrap(), None);
    assert_eq!(neo.get_range(args(b"x", 9), None).await.unwrap(), None);
    let backwards = GetRangeArgs { channel: b"n", low: 10, high: 1, filter: b"", mode: 0 };
    assert_eq!(neo.get_range(backwards, None).await.unwrap(), None);
    assert!(!neo.put("..", 1, b"escape").await.unwrap(), "names that are not channel names are refused");
    // Legacy and neo see the same records.
    assert_eq!(node.dls().await.get_all("n").await.unwrap().len(), 3_000);
}

#[tokio::test]
async fn scans_of_values_that_do_and_do_not_compress_return_every_byte() {
    // Noise, then text, then noise again: batches go as literal runs sent
    // from the buffer they were read into, compressed, and literal again.
    // Neo batches are about 1 MB, and after one that does not compress the
    // next 1, 2, 4 … go untried: hence 2 MB of noise, 7 MB of text, 2 MB of
    // noise.
    let node = Node::start_dls(&[]);
    let neo = node.dls_neo().await;
    let mut expected = Vec::new();
    for key in 0..3_000u64 {
        let value: Vec<u8> = if (1_000..2_000).contains(&key) {
            format!("{{\"event\":\"click\",\"n\":{key}}}").repeat(256).into_bytes()
        } else {
            common::noise(2_000, key)
        };
        assert!(neo.put("mix", 0x5000_0000 + key, &value).await.unwrap());
        expected.push((0x5000_0000 + key, value));
    }
    let args = GetRangeArgs { channel: b"mix", low: 0, high: i64::MAX, filter: b"", mode: 0 };
    assert_eq!(neo.get_range(args, None).await.unwrap().unwrap(), expected);
    let mut legacy = node.dls().await;
    let all = legacy.get_all("mix").await.unwrap();
    assert_eq!(all.into_iter().map(|(_, value)| value).collect::<Vec<_>>(), expected.iter().map(|(_, value)| value.clone()).collect::<Vec<_>>());
    // A legacy GetRange read record by record, across batches of every kind,
    // ends where the node ended it: the connection serves the next request.
    let mut streamed = Vec::new();
    let keep = |key, value: &[u8]| {
        streamed.push((key, value.to_vec()));
        Ok::<_, ClientError>(())
    };
    legacy.get_range_each("mix", 0x5000_0000 + 500, 0x5000_0000 + 2_499, keep).await.unwrap();
    assert_eq!(streamed, expected[500..2_500]);
    assert_eq!(legacy.get_range("mix", 0x5000_0000 + 2_999, u64::MAX).await.unwrap(), expected[2_999..]);
    // The callback's error ends the read at once, and is what the call returns.
    let mut seen = 0;
    let stop_at_ten = |_, _: &[u8]| {
        seen += 1;
        if seen == 10 { Err(ClientError::Closed) } else { Ok(()) }
    };
    let stopped = node.dls().await.get_range_each("mix", 0, u64::MAX, stop_at_ten).await;
    assert!(matches!(stopped, Err(ClientError::Closed)), "{stopped:?}");
    assert_eq!(seen, 10);
}

#[tokio::test]
async fn buckets_cut_or_deleted_during_a_scan_end_only_themselves() {
    // A scan reads buckets one by one through a 64 KiB buffer. Meanwhile
    // its first bucket (4 MB) is cut in the middle, long past what the scan
    // has read ahead, and its third is deleted before the scan reaches it:
    // the scan skips what it cannot read, names each bucket in the log,
    // returns no damaged record, and the node serves on.
    let node = Node::start_dls(&[]);
    let neo = node.dls_neo().await;
    let value = |key: u64| format!("record {key:06} {}", "v".repeat(1_000)).into_bytes();
    for key in 0..3 * 4096u64 {
        assert!(neo.put("cut", key, &value(key)).await.unwrap());
    }
    let bucket = |n: u64| node.dir().join(format!("data/cut/0000000000/{n:03x}"));
    let everything = GetRangeArgs { channel: b"cut", low: 0, high: i64::MAX, filter: b"", mode: 0 };
    let check = |records: &[(u64, Vec<u8>)]| {
        for pair in records.windows(2) {
            assert!(pair[0].0 < pair[1].0, "keys in order, each once");
        }
        for (key, stored) in records {
            assert_eq!(stored, &value(*key), "record {key} intact");
        }
        let in_bucket = |n: u64| records.iter().filter(|(key, _)| key >> 12 == n).count();
        (in_bucket(0), in_bucket(1), in_bucket(2))
    };
    // A read stores the queued Puts first, so the files are whole now.
    assert_eq!(neo.get_range(GetRangeArgs { high: 0, ..everything }, None).await.unwrap().unwrap().len(), 1);
    let first_len = std::fs::metadata(bucket(0)).unwrap().len();
    let mut damaged = false;
    let mut records = Vec::new();
    let finished = neo
        .get_range_each(everything, None, |key, stored| {
            if !std::mem::replace(&mut damaged, true) {
                std::fs::OpenOptions::new().write(true).open(bucket(0)).unwrap().set_len(first_len / 2 + 7).unwrap();
                std::fs::remove_file(bucket(2)).unwrap();
            }
            records.push((key, stored.to_vec()));
        })
        .await
        .unwrap();
    assert!(finished, "the request ends normally");
    let (first, second, third) = check(&records);
    assert!(first > 0 && first < 4096, "the cut bucket ends early: {first} records");
    assert_eq!(records[first - 1].0, first as u64 - 1, "what it returns of it is its start");
    assert_eq!((second, third), (4096, 0));
    node.wait_for_log("data/cut/0000000000/000");
    node.wait_for_log("data/cut/0000000000/002");
    // The next scan reads the cut bucket up to its torn record: every
    // whole record before the cut (after the 16-byte bucket header).
    let record_len = (first_len - 16) / 4096;
    let whole = (first_len / 2 + 7 - 16) / record_len;
    let again = neo.get_range(everything, None).await.unwrap().unwrap();
    assert_eq!(check(&again), (whole as usize, 4096, 0));
    assert_eq!(again[whole as usize - 1].0, whole - 1);
}

#[tokio::test]
async fn the_originals_bucket_files_are_read_as_it_reads_them() {
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dlsnode");
    let mut files = Vec::new();
    for (channel, slot_to) in [("legacy", None), ("parity-broken", None), ("empty-bucket", None), ("legacy", Some(("mixed", "0000000057"))), ("parity-fine", Some(("mixed", "0000000058")))] {
        let slot_dir = vectors.join(channel).join("0000000057");
        for bucket in std::fs::read_dir(&slot_dir).unwrap() {
            let bucket = bucket.unwrap();
            let (to_channel, to_slot) = slot_to.unwrap_or((channel, "0000000057"));
            let path = format!("data/{to_channel}/{to_slot}/{}", bucket.file_name().to_string_lossy());
            files.push((path, std::fs::read(bucket.path()).unwrap()));
        }
    }
    let borrowed: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    let node = Node::start_dls(&borrowed);
    let mut client = node.dls().await;
    assert_eq!(client.get_all("legacy").await.unwrap().len(), 4);
    assert_eq!(client.get_all("parity-broken").await.unwrap().len(), 4);
    assert_eq!(client.get_all("empty-bucket").await.unwrap().len(), 8);
    assert_eq!(client.get_all("mixed").await.unwrap().len(), 12);
    // Neo reads legacy buckets too (the original stopped at them).
    let neo = node.dls_neo().await;
    let args = GetRangeArgs { channel: b"mixed", low: 0, high: i64::MAX, filter: b"", mode: 0 };
    assert_eq!(neo.get_range(args, None).await.unwrap().unwrap().len(), 12);
}

#[tokio::test]
async fn data_survives_a_restart_and_a_clean_stop_removes_the_checkpoint() {
    let mut node = Node::start_dls(&[]);
    let dir = node.keep_dir();
    let (port, neo_port) = (node.port, node.neo_port);
    let mut client = node.dls().await;
    for key in 0..100u64 {
        client.put("kept", key << 10, format!("value {key}").as_bytes()).await.unwrap();
    }
    assert!(dir.path().join("data/checkpoint.dat").exists());
    assert!(node.terminate().success());
    assert!(!dir.path().join("data/checkpoint.dat").exists());
    let node = Node::start_dls_in_dir(dir.path(), port, neo_port);
    let records = node.dls().await.get_all("kept").await.unwrap();
    assert_eq!(records.len(), 100);
    assert_eq!(records[99], (99 << 10, b"value 99".to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_keeps_every_checkpointed_record_and_cuts_torn_ones() {
    let mut node = Node::start_dls(&[]);
    let dir = node.keep_dir();
    let (port, neo_port) = (node.port, node.neo_port);
    let mut client = node.dls().await;
    let value = |key: u64| format!("record {key} {}", "z".repeat((key % 50) as usize)).into_bytes();
    // Phase 1: records that a commit made after them covers.
    let checkpointed = 5_000u64;
    for key in 0..checkpointed {
        client.put("load", key, &value(key)).await.unwrap();
    }
    let phase_one_done = std::time::SystemTime::now();
    let checkpoint = dir.path().join("data/checkpoint.dat");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // A commit that started after phase 1 (period 1 s) has written the file.
    while std::fs::metadata(&checkpoint).and_then(|m| m.modified()).map_or(true, |m| {
        m.duration_since(phase_one_done).unwrap_or_default() < Duration::from_millis(1_200)
    }) {
        assert!(std::time::Instant::now() < deadline, "no checkpoint commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Phase 2: a steady load the kill interrupts.
    let mut acknowledged = checkpointed;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1_500) {
        client.put("load", acknowledged, &value(acknowledged)).await.unwrap();
        acknowledged += 1;
    }
    node.kill();
    // A half-written record at the end of the bucket, as a crash in the
    // middle of a write leaves it.
    let bucket = dir.path().join("data/load/0000000000/000");
    let mut torn = std::fs::read(&bucket).unwrap();
    torn.extend_from_slice(&[0xaa; 20]);
    std::fs::write(&bucket, &torn).unwrap();
    let node = Node::start_dls_in_dir(dir.path(), port, neo_port);
    node.wait_for_log("did not end cleanly");
    let mut client = node.dls().await;
    let records = client.get_all("load").await.unwrap();
    // Every checkpointed record, every record intact, none torn, none twice.
    let mut seen = std::collections::BTreeSet::new();
    for (key, stored) in &records {
        assert!(*key < acknowledged, "record {key} was never acknowledged");
        assert_eq!(stored, &value(*key), "record {key} intact");
        assert!(seen.insert(*key), "record {key} twice");
    }
    assert!((0..checkpointed).all(|key| seen.contains(&key)), "a checkpointed record is missing");
    // Writing goes on after the recovery, readable behind the old records.
    client.put("load", 1_000_000, b"after").await.unwrap();
    let after = client.get_all("load").await.unwrap();
    assert_eq!(after.last().unwrap(), &(1_000_000, b"after".to_vec()));
}

#[tokio::test]
async fn stats_log_carries_the_originals_keys() {
    let node = Node::start_dls_with(&[], "\n[STATS]\nfile_name = log/stats.log\ninterval = 1\n");
    let mut client = node.dls().await;
    for key in 0..3u64 {
        client.put("st", key, b"abc").await.unwrap();
    }
    let path = node.dir().join("log/stats.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let line = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("request/Put/handled:3")) {
            break line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no stats line with the Puts:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for key in ["action/handled/records:3", "action/handled/bytes:9", "neo_request/GetRange/handled:0", "open_fds_currently:", "handling_connections:1"] {
        assert!(line.contains(key), "{key} missing in {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redistribute_moves_whole_buckets_to_the_other_nodes() {
    let source = Node::start_dls(&[]);
    let target = Node::start_dls(&[]);
    let mut client = source.dls().await;
    // Five buckets of 300 records each.
    for bucket in 0..5u64 {
        for i in 0..300u64 {
            client.put("moved", (bucket << 12) + i, format!("value {bucket} {i}").as_bytes()).await.unwrap();
        }
    }
    let before = client.get_all("moved").await.unwrap();
    assert!(matches!(client.redistribute(0.0, &[("127.0.0.1", target.port)]).await, Err(ClientError::Status(Status::Error))));
    client.redistribute(1.0, &[("127.0.0.1", target.port)]).await.unwrap();
    // Every record is now on the target, none left here.
    assert!(client.get_all("moved").await.unwrap().is_empty());
    let mut moved = target.dls().await.get_all("moved").await.unwrap();
    moved.sort();
    let mut expected = before;
    expected.sort();
    assert_eq!(moved, expected);
    assert!(std::fs::read_dir(source.dir().join("data/moved/0000000000")).unwrap().next().is_none(), "forwarded buckets are deleted");
    // The source keeps taking writes.
    client.put("moved", 1, b"new").await.unwrap();
    assert_eq!(client.get_all("moved").await.unwrap(), vec![(1, b"new".to_vec())]);
}

#[tokio::test]
async fn lying_lengths_close_only_their_connection_and_lose_nothing() {
    let node = Node::start_dls(&[]);
    let mut bystander = node.dls().await;
    bystander.put("safe", 1, b"kept").await.unwrap();
    let mut liar = node.dls().await;
    let mut request = 3u32.to_le_bytes().to_vec();
    request.extend_from_slice(&(1u64 << 62).to_le_bytes());
    request.extend_from_slice(b"ch");
    liar.send_raw(&request).await.unwrap();
    assert!(liar.get_version().await.is_err());
    // A corrupt PutBatch closes that connection; nothing else changes.
    let mut corrupt = node.dls().await;
    let mut batch = 100u64.to_le_bytes().to_vec();
    batch.extend_from_slice(&[0xff; 20]);
    let mut request = bytes::BytesMut::new();
    shoal_protocol::dls::legacy::DlsRequest::PutBatch { channel: b"safe", batch: &batch }.encode(&mut request);
    corrupt.send_raw(&request).await.unwrap();
    assert!(corrupt.get_version().await.is_err());
    assert_eq!(bystander.get_all("safe").await.unwrap(), vec![(1, b"kept".to_vec())]);
}

/// The content of a PutBatch's batch array holding `records` (hex key text
/// and value), as the original client's batcher makes it.
fn batch(records: &[(&str, &[u8])]) -> Vec<u8> {
    use shoal_protocol::legacy::batch::{Added, BatchWriter};
    let mut writer = BatchWriter::new(1 << 20);
    for (key, value) in records {
        assert_eq!(writer.add(&[key.as_bytes(), value]), Added::Yes);
    }
    let mut out = bytes::BytesMut::new();
    writer.finish(&mut out);
    out[8..].to_vec()
}

#[tokio::test]
async fn put_batch_stores_in_order_up_to_an_empty_value_and_a_bad_key_stores_nothing() {
    let node = Node::start_dls(&[]);
    let mut client = node.dls().await;
    let first: Vec<(String, Vec<u8>)> = (0..500u64).map(|i| (format!("{:016x}", 0x5000 + i % 7), format!("v{i}").into_bytes())).collect();
    let borrowed: Vec<(&str, &[u8])> = first.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    client.put_batch("b", &batch(&borrowed)).await.unwrap();
    let stored = client.get_all("b").await.unwrap();
    let mut expected: Vec<(u64, Vec<u8>)> = first.iter().map(|(k, v)| (u64::from_str_radix(k, 16).unwrap(), v.clone())).collect();
    assert_eq!(stored, expected, "one bucket: the batch's order");
    // An empty value ends the batch: 408, the records before it stay.
    let cut = client.put_batch("b", &batch(&[("0000000000005000", b"kept"), ("0000000000005001", b""), ("0000000000005002", b"dropped")])).await;
    assert!(matches!(cut, Err(ClientError::Status(Status::EmptyValue))), "{cut:?}");
    expected.push((0x5000, b"kept".to_vec()));
    assert_eq!(client.get_all("b").await.unwrap(), expected);
    // A key that is not 16 hex digits closes the connection, storing nothing.
    let mut bad = node.dls().await;
    assert!(bad.put_batch("b", &batch(&[("0000000000005000", b"never"), ("not-a-key", b"v")])).await.is_err());
    assert!(bad.get_version().await.is_err(), "closed");
    assert_eq!(client.get_all("b").await.unwrap(), expected);
}

#[tokio::test]
async fn a_damaged_checkpoint_file_still_recovers_its_good_lines_and_cuts_torn_tails() {
    use shoal_storage::dls::record::{Version, BUCKET_HEADER};
    // Bucket 0x57275 of channel "ch": two whole records and a torn third.
    let mut bucket = BUCKET_HEADER.to_vec();
    Version::V1.encode(0x5727_5806, b"first", &mut bucket);
    let checkpointed = bucket.len();
    Version::V1.encode(0x5727_5807, b"second", &mut bucket);
    let whole = bucket.len();
    Version::V1.encode(0x5727_5808, b"torn record", &mut bucket);
    bucket.truncate(bucket.len() - 4);
    // Bucket 0x57276: written after the last commit, so not listed.
    let mut later = BUCKET_HEADER.to_vec();
    Version::V1.encode(0x5727_6000, b"later", &mut later);
    let later_whole = later.len();
    Version::V1.encode(0x5727_6001, b"torn", &mut later);
    later.truncate(later.len() - 2);
    // A line with bytes that are not text, a malformed one, then the line
    // that cuts the first bucket back to its first record.
    let mut checkpoint = b"\xff\xfe garbage\nch not-a-number 5\n".to_vec();
    checkpoint.extend_from_slice(format!("ch {} {checkpointed}\n", 0x5727_5000u64).as_bytes());
    let node = Node::start_dls(&[
        ("data/ch/0000000057/275", bucket),
        ("data/ch/0000000057/276", later),
        ("data/checkpoint.dat", checkpoint),
    ]);
    let records = node.dls().await.get_all("ch").await.unwrap();
    assert_eq!(values(&records), vec![(0x5727_5806, "first".to_string()), (0x5727_6000, "later".to_string())]);
    let len = |path: &str| std::fs::metadata(node.dir().join(path)).unwrap().len() as usize;
    assert_eq!(len("data/ch/0000000057/275"), checkpointed, "cut back to its checkpoint, not to {whole}");
    assert_eq!(len("data/ch/0000000057/276"), later_whole, "its torn tail cut off");
    let log = std::fs::read_to_string(node.dir().join("log/root.log")).unwrap();
    assert!(log.contains("line 1") && log.contains("line 2"), "each damaged line is reported: {log}");
}
