//! Redistribute between real dhtnode processes on loopback: the node gives
//! away half of the key space and its records with it, persists its new
//! range, and only then answers.

mod common;

use std::collections::BTreeMap;

use common::{config_ini_with_range, free_port, Node, MEMORY};
use shoal_protocol::client::legacy::{ClientError, LegacyClient};
use shoal_protocol::legacy::request::{RedistributeArgs, RedistributeTarget};
use shoal_protocol::legacy::Status;

/// The lower half of the (bit-reversed) key space: the even keys.
const LOWER: (u64, u64) = (0, 0x7fff_ffff_ffff_ffff);
/// The upper half: the odd keys.
const UPPER: (u64, u64) = (0x8000_0000_0000_0000, u64::MAX);
/// The empty range.
const EMPTY: (u64, u64) = (u64::MAX, 0);
const FULL: (u64, u64) = (0, u64::MAX);

/// Node A's extra config: redistribution progress lines are Trace.
const TRACE_REDISTRIBUTION: &str = "\n[LOG.dhtnode.request]\nlevel = trace\n";

type Records = BTreeMap<u64, Vec<u8>>;

/// `count` well-spread distinct keys (both parities) with varied values.
fn records(seed: u64, count: u64) -> Records {
    (0..count)
        .map(|i| {
            let key = (i + seed * 1_000_000).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
            (key, format!("value {i} of {seed} {}", "x".repeat((i % 40) as usize)).into_bytes())
        })
        .collect()
}

async fn store(client: &mut LegacyClient, channel: &str, records: &Records, batch_size: usize) {
    let all: Vec<(u64, &[u8])> = records.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    for chunk in all.chunks(500) {
        client.put_batch(channel, chunk, batch_size).await.unwrap();
    }
}

async fn contents(client: &mut LegacyClient, channel: &str) -> Records {
    let mut out = Records::new();
    for (key, value) in client.get_all(channel).await.unwrap() {
        assert!(out.insert(key, value).is_none(), "key {key:016x} sent twice");
    }
    out
}

fn target(port: u16, (min, max): (u64, u64)) -> RedistributeTarget {
    RedistributeTarget { address: "127.0.0.1".into(), port, min, max }
}

fn args((min, max): (u64, u64), targets: Vec<RedistributeTarget>) -> RedistributeArgs {
    RedistributeArgs { min, max, targets }
}

fn split(records: &Records) -> (Records, Records) {
    records.clone().into_iter().partition(|(key, _)| key % 2 == 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redistribute_moves_every_record_the_node_gives_away() {
    let a = Node::start_with_config(|port| config_ini_with_range(port, FULL, MEMORY, TRACE_REDISTRIBUTION));
    // B's batch_size is larger so that it accepts the single Put of a record
    // too big for one of A's batches.
    let b_memory = MEMORY.replace("batch_size = 65535", "batch_size = 131070");
    let b = Node::start_with_range(&b_memory, EMPTY.0, EMPTY.1);
    let config_before = std::fs::read_to_string(a.dir().join("etc/config.ini")).unwrap();

    let mut client_a = a.client().await;
    let mut first = records(1, 5_000);
    let second = records(2, 5_000);
    store(&mut client_a, "first", &first, 65_535).await;
    store(&mut client_a, "second", &second, 65_535).await;
    // An odd key with a value too big for a batch of A's (forwarded with a
    // single Put), and one of batch_size bytes or more (dropped, as the
    // original does). PutBatch itself has no value size limit.
    let (large, too_large) = (0x1001u64, 0x1003u64);
    client_a.put_batch("first", &[(large, &[7u8; 65_520])], 131_070).await.unwrap();
    client_a.put_batch("first", &[(too_large, &[8u8; 70_000])], 131_070).await.unwrap();
    first.insert(large, vec![7u8; 65_520]);

    // As dhtredist does: B takes the upper half first (nothing to forward)...
    b.client().await.redistribute(args(UPPER, vec![])).await.unwrap();
    // ...then A keeps the lower half and sends the rest to B. The reply
    // comes only once all of it is done.
    client_a.redistribute(args(LOWER, vec![target(b.port, UPPER)])).await.unwrap();

    let mut client_b = b.client().await;
    for (channel, all) in [("first", &first), ("second", &second)] {
        let (even, odd) = split(all);
        assert!(!even.is_empty() && !odd.is_empty());
        let on_a = contents(&mut client_a, channel).await;
        let on_b = contents(&mut client_b, channel).await;
        assert_eq!(on_a.len(), even.len(), "A keeps exactly its keys in {channel}");
        assert!(on_a == even, "A's records in {channel} differ");
        assert_eq!(on_b.len(), odd.len(), "B got exactly the others in {channel}");
        assert!(on_b == odd, "B's records in {channel} differ");
    }
    assert_eq!(client_a.get("first", too_large).await.unwrap(), None);
    assert_eq!(client_b.get("first", too_large).await.unwrap(), None);

    assert_eq!(client_a.get_responsible_range().await.unwrap(), LOWER);
    assert_eq!(client_b.get_responsible_range().await.unwrap(), UPPER);
    // A refuses the keys it gave away from now on.
    let refused = client_a.put("first", 0x5, b"odd").await.unwrap_err();
    assert!(matches!(refused, ClientError::Status(Status::WrongNode)), "{refused:?}");

    // config.ini: the new range, written as the harness writes it, and the
    // rest of the file byte for byte the same.
    let config_after = std::fs::read_to_string(a.dir().join("etc/config.ini")).unwrap();
    assert_eq!(config_after, config_ini_with_range(a.port, LOWER, MEMORY, TRACE_REDISTRIBUTION));
    assert_eq!(
        config_after,
        config_before.replace("maxval = 0xffffffffffffffff", "maxval = 0x7fffffffffffffff")
    );
    let b_config = std::fs::read_to_string(b.dir().join("etc/config.ini")).unwrap();
    assert!(b_config.contains("minval = 0x8000000000000000\nmaxval = 0xffffffffffffffff\n"), "{b_config}");

    let log = a.wait_for_log("Finishing redistribution.");
    for line in [
        "Info [dhtnode.request.RedistributeRequest] - Setting hash range: 0x0000000000000000..0x7FFFFFFFFFFFFFFF",
        "Info [dhtnode.node.RedistributionProcess] - Starting redistribution. Calculated maximum storage size = ",
        "Redistributing channel 'first'",
        "Redistributing channel 'second'",
        "Trace [dhtnode.request.RedistributeRequest] - Progress redistributing channel 'first': 1/5002 records iterated",
        "Finished redistributing channel 'first': 5002/5002 records iterated, channel now contains 2500 records",
        "Finished redistributing channel 'second': 5000/5000 records iterated, channel now contains 2500 records",
        "Forwarding large record 0000000000001001 (65520 bytes) individually",
        "Removing too large record (70000 bytes) 0000000000001003",
        "Info [dhtnode.node.RedistributionProcess] - Finishing redistribution.",
    ] {
        assert!(log.contains(line), "root.log lacks {line:?}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redistribution_retries_until_its_target_comes_up() {
    let a = Node::start();
    let all = records(3, 2_000);
    let mut client_a = a.client().await;
    store(&mut client_a, "ch", &all, 65_535).await;
    let b_port = free_port();

    let mut redistributing = a.client().await;
    let work = tokio::spawn(async move { redistributing.redistribute(args(LOWER, vec![target(b_port, UPPER)])).await });
    a.wait_for_log("Error while sending batch of");
    a.wait_for_log("(error occurred during iteration over channel, retrying in 2s)");

    // Only one redistribution at a time.
    let refused = client_a.redistribute(args(FULL, vec![])).await.unwrap_err();
    assert!(matches!(refused, ClientError::Status(Status::Error)), "{refused:?}");
    a.wait_for_log("Attempt to start multiple simultaneous Redistribute requests");
    assert_eq!(client_a.get_responsible_range().await.unwrap(), LOWER);

    // Meanwhile PutBatch may grow A only to 1.1 x its size at the start.
    let mut extra = Records::new();
    let mut capped = false;
    for round in 0..40u64 {
        let batch: Vec<(u64, Vec<u8>)> = (0..50).map(|i| ((round * 50 + i) * 2 + 0x10_0000, vec![b'e'; 1_000])).collect();
        let refs: Vec<(u64, &[u8])> = batch.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        match client_a.put_batch("ch", &refs, 65_535).await {
            Ok(()) => extra.extend(batch),
            Err(ClientError::Status(Status::OutOfMemory)) => {
                capped = true;
                // Records of the batch before the refused one stay stored.
                for (key, value) in batch {
                    if client_a.exists("ch", key).await.unwrap() {
                        extra.insert(key, value);
                    }
                }
                break;
            }
            Err(error) => panic!("PutBatch failed: {error}"),
        }
    }
    assert!(capped, "PutBatch was never refused during the redistribution");
    a.wait_for_log("Batch rejected: uneven redistribution");
    assert!(!work.is_finished(), "the redistribution cannot finish while B is down");

    let b = Node::start_with_config(move |_| config_ini_with_range(b_port, UPPER, MEMORY, ""));
    work.await.unwrap().unwrap();
    a.wait_for_log("Finished redistributing channel 'ch': ");

    let (even, odd) = split(&all);
    let mut expected_a = even;
    expected_a.extend(extra);
    let mut client_b = LegacyClient::connect(("127.0.0.1", b_port)).await.unwrap();
    assert!(contents(&mut client_a, "ch").await == expected_a, "A's records differ");
    assert!(contents(&mut client_b, "ch").await == odd, "B's records differ");
    drop(b);

    // Finished: the cap is gone and another redistribution may start.
    let more: Vec<(u64, &[u8])> = (0..60u64).map(|i| (i * 2 + 0x20_0000, &[b'f'; 1_000][..])).collect();
    client_a.put_batch("ch", &more, 65_535).await.unwrap();
    client_a.redistribute(args(LOWER, vec![])).await.unwrap();
}

#[tokio::test]
async fn invalid_redistributions_are_refused_and_change_nothing() {
    let a = Node::start();
    let mut client = a.client().await;
    client.put("ch", 0x2, b"even").await.unwrap();
    client.put("ch", 0x3, b"odd").await.unwrap();
    let config = std::fs::read_to_string(a.dir().join("etc/config.ini")).unwrap();

    for bad in [
        args((5, 4), vec![]),
        args(LOWER, vec![target(1, (9, 1))]),
        args(EMPTY, vec![]),
    ] {
        let refused = client.redistribute(bad.clone()).await.unwrap_err();
        assert!(matches!(refused, ClientError::Status(Status::Error)), "{bad:?}: {refused:?}");
        assert_eq!(client.get_responsible_range().await.unwrap(), FULL);
    }
    assert_eq!(std::fs::read_to_string(a.dir().join("etc/config.ini")).unwrap(), config);
    let log = a.wait_for_log("Hash range for a node is invalid");
    assert!(log.contains("Received invalid hash range from client"), "{log}");

    // Without etc/config.ini (relative to the working directory) the range
    // cannot be persisted: refused, range unchanged.
    std::fs::rename(a.dir().join("etc/config.ini"), a.dir().join("etc/moved.ini")).unwrap();
    let refused = client.redistribute(args(LOWER, vec![])).await.unwrap_err();
    assert!(matches!(refused, ClientError::Status(Status::Error)), "{refused:?}");
    assert_eq!(client.get_responsible_range().await.unwrap(), FULL);
    std::fs::rename(a.dir().join("etc/moved.ini"), a.dir().join("etc/config.ini")).unwrap();

    // No targets: the range changes, and records nobody listed owns stay
    // (the original only forwards to the listed nodes).
    client.redistribute(args(LOWER, vec![])).await.unwrap();
    assert_eq!(client.get_responsible_range().await.unwrap(), LOWER);
    assert_eq!(client.get("ch", 0x3).await.unwrap(), Some(b"odd".to_vec()));
    assert_eq!(client.get("ch", 0x2).await.unwrap(), Some(b"even".to_vec()));
}
