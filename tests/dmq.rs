//! The dmqnode through the real binary: every legacy and neo request, FIFO
//! across the ring and the disk overflow, subscribers, consumers, the
//! original's files, restarts after SIGTERM and kill -9, and bad input.

mod common;

use std::time::Duration;

use common::Node;
use shoal_protocol::client::legacy::ClientError;
use shoal_protocol::dmq::neo::PopReply;
use shoal_protocol::legacy::Status;

/// Ring size of most tests: 10 MB, as the original's test config.
const RING: u64 = 10_000_000;

#[tokio::test]
async fn legacy_push_pop_and_statuses_are_the_originals() {
    let node = Node::start_dmq(RING, &[]);
    let mut client = node.dmq().await;
    client.push("ch", b"one").await.unwrap();
    client.push("ch", b"two").await.unwrap();
    assert_eq!(client.pop("ch").await.unwrap(), Some(b"one".to_vec()));
    assert_eq!(client.pop("ch").await.unwrap(), Some(b"two".to_vec()));
    assert_eq!(client.pop("ch").await.unwrap(), None);
    // Legacy Pop never creates a channel: a missing one is an error.
    assert!(matches!(client.pop("missing").await, Err(ClientError::Status(Status::Error))));
    assert!(matches!(client.push("bad.name", b"x").await, Err(ClientError::Status(Status::BadChannelName))));
    assert!(matches!(client.push("ch", b"").await, Err(ClientError::Status(Status::EmptyValue))));
    assert!(matches!(client.get_num_connections().await, Err(ClientError::Status(Status::NotSupported))));
    // The connection is still in sync after every refusal.
    client.push_multi(&["a", "b"], b"both").await.unwrap();
    assert_eq!(client.pop("a").await.unwrap(), Some(b"both".to_vec()));
    assert_eq!(client.pop("b").await.unwrap(), Some(b"both".to_vec()));
    client.produce(&["p"], &[b"r1", b"r2", b"r3"]).await.unwrap();
    client.produce(&["p", "q"], &[b"m"]).await.unwrap();
    for expected in [&b"r1"[..], b"r2", b"r3", b"m"] {
        assert_eq!(client.pop("p").await.unwrap().as_deref(), Some(expected));
    }
    assert_eq!(client.pop("q").await.unwrap().as_deref(), Some(&b"m"[..]));
    client.remove_channel("q").await.unwrap();
    assert!(matches!(client.pop("q").await, Err(ClientError::Status(Status::Error))));
}

#[tokio::test]
async fn a_full_ring_spills_to_disk_and_drains_back_in_order() {
    // A ring of 1,000 bytes holds about 50 records of 12 bytes.
    let node = Node::start_dmq(1_000, &[]);
    let mut client = node.dmq().await;
    let mut model = std::collections::VecDeque::new();
    for i in 0..2_500u32 {
        let record = format!("record {i:05}").into_bytes();
        client.push("fifo", &record).await.unwrap();
        model.push_back(record);
        // Interleave pops, so records move between ring and disk both ways.
        if i % 7 == 0 {
            assert_eq!(client.pop("fifo").await.unwrap(), model.pop_front(), "after push #{i}");
        }
    }
    while let Some(expected) = model.pop_front() {
        assert_eq!(client.pop("fifo").await.unwrap(), Some(expected));
    }
    assert_eq!(client.pop("fifo").await.unwrap(), None);
}

#[tokio::test]
async fn legacy_consume_streams_pushes_until_the_channel_is_removed() {
    let node = Node::start_dmq(RING, &[]);
    let mut pusher = node.dmq().await;
    pusher.push("c", b"before").await.unwrap();
    let mut consumer = node.dmq().await;
    consumer.consume("c").await.unwrap();
    // The backlog goes to the first consumer.
    assert_eq!(consumer.next_record().await.unwrap(), Some(b"before".to_vec()));
    pusher.push("c", b"after").await.unwrap();
    assert_eq!(consumer.next_record().await.unwrap(), Some(b"after".to_vec()));
    // With a subscriber, Pop is refused.
    assert!(matches!(pusher.pop("c").await, Err(ClientError::Status(Status::Error))));
    pusher.remove_channel("c").await.unwrap();
    assert_eq!(consumer.next_record().await.unwrap(), None);
    // The consumer's connection takes requests again.
    consumer.push("c", b"new").await.unwrap();
    assert_eq!(consumer.pop("c").await.unwrap(), Some(b"new".to_vec()));
}

#[tokio::test]
async fn neo_push_pop_and_subscribers_each_get_every_record() {
    let node = Node::start_dmq(RING, &[]);
    let neo = node.dmq_neo().await;
    assert!(neo.push(&["n1", "n2"], b"hello").await.unwrap());
    assert_eq!(neo.pop("n1").await.unwrap(), Ok(b"hello".to_vec()));
    assert_eq!(neo.pop("n2").await.unwrap(), Ok(b"hello".to_vec()));
    assert_eq!(neo.pop("n1").await.unwrap(), Err(PopReply::Empty));
    assert!(!neo.push(&["n1"], b"").await.unwrap(), "empty records are refused");
    assert!(!neo.push(&["bad.name"], b"x").await.unwrap());

    // Two subscribers: each gets every record pushed after they subscribed.
    let mut sub1 = neo.consume("s", "sub1").await.unwrap();
    let mut sub2 = neo.consume("s", "sub2").await.unwrap();
    assert_eq!(neo.pop("s").await.unwrap(), Err(PopReply::Subscribed));
    for i in 0..100u32 {
        assert!(neo.push(&["s"], format!("m{i}").as_bytes()).await.unwrap());
    }
    for consumer in [&mut sub1, &mut sub2] {
        let mut got = Vec::new();
        while got.len() < 100 {
            let batch = consumer.batch().await.unwrap().expect("a batch");
            got.extend(batch);
            consumer.more().await.unwrap();
        }
        assert_eq!(got, (0..100).map(|i| format!("m{i}").into_bytes()).collect::<Vec<_>>());
    }
    sub1.stop().await.unwrap();
    assert_eq!(sub1.batch().await.unwrap(), None);
    // sub2 still gets later records; sub1's queue keeps filling for later.
    assert!(neo.push(&["s"], b"later").await.unwrap());
    assert_eq!(sub2.batch().await.unwrap(), Some(vec![b"later".to_vec()]));
    sub2.more().await.unwrap();
    let mut legacy = node.dmq().await;
    legacy.remove_channel("s").await.unwrap();
    assert_eq!(tokio::time::timeout(Duration::from_secs(10), sub2.batch()).await.unwrap().unwrap(), None);
}

#[tokio::test]
async fn queues_survive_sigterm_and_the_originals_files_load() {
    let mut node = Node::start_dmq(1_000, &[]);
    let dir = node.keep_dir();
    let (port, neo_port) = (node.port, node.neo_port);
    let mut client = node.dmq().await;
    for i in 0..300u32 {
        client.push("kept", format!("record {i:05}").as_bytes()).await.unwrap();
    }
    assert!(node.terminate().success());
    assert!(dir.path().join("data/kept.rq").exists());
    let node = Node::start_dmq_in_dir(dir.path(), port, neo_port);
    let mut client = node.dmq().await;
    for i in 0..300u32 {
        assert_eq!(client.pop("kept").await.unwrap(), Some(format!("record {i:05}").into_bytes()));
    }

    // The files written by the original dmqnode.
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dmqnode");
    let files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&vectors)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != "README.md")
        .map(|e| (format!("data/{}", e.file_name().to_string_lossy()), std::fs::read(e.path()).unwrap()))
        .collect();
    let borrowed: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, c)| (p.as_str(), c.clone())).collect();
    let original = Node::start_dmq(RING, &borrowed);
    let neo = original.dmq_neo().await;
    assert_eq!(neo.pop("ch2").await.unwrap(), Ok(b"Hello ch2!".to_vec()));
    assert_eq!(neo.pop("ch2").await.unwrap(), Ok(b"Hello ch2!".to_vec()));
    assert_eq!(neo.pop("ch2").await.unwrap(), Err(PopReply::Empty));
    assert_eq!(neo.pop("ch4").await.unwrap(), Ok(b"Hello ch4!".to_vec()));
    assert_eq!(neo.pop("ch1").await.unwrap(), Err(PopReply::Subscribed));
    let mut sub1 = neo.consume("ch1", "sub1").await.unwrap();
    assert_eq!(sub1.batch().await.unwrap(), Some(vec![b"Hello ch1!".to_vec(), b"Hello ch1!".to_vec()]));
}

#[tokio::test]
async fn kill_9_loses_no_overflow_record_and_bad_input_closes_only_that_connection() {
    let mut node = Node::start_dmq(1_000, &[]);
    let dir = node.keep_dir();
    let (port, neo_port) = (node.port, node.neo_port);
    let mut client = node.dmq().await;
    for i in 0..500u32 {
        client.push("spill", format!("record {i:05}").as_bytes()).await.unwrap();
    }
    // Garbage on another connection: an unknown code closes it, nothing else.
    let mut garbage = node.dmq().await;
    garbage.send_raw(&[3, 0, 0, 0]).await.unwrap();
    assert!(garbage.pop("spill").await.is_err());
    assert_eq!(client.pop("spill").await.unwrap(), Some(b"record 00000".to_vec()));
    node.kill();
    let node = Node::start_dmq_in_dir(dir.path(), port, neo_port);
    let mut client = node.dmq().await;
    // The ring's records die with the process (as in the original, which
    // saves rings only at shutdown); every record on disk survives, in order,
    // and the popped one does not come back.
    let mut survivors = Vec::new();
    while let Some(record) = client.pop("spill").await.unwrap() {
        survivors.push(String::from_utf8(record).unwrap());
    }
    assert!(!survivors.is_empty(), "the overflow's records survive");
    let first: u32 = survivors[0][7..].parse().unwrap();
    assert!(first > 0);
    let expected: Vec<String> = (first..500).map(|i| format!("record {i:05}")).collect();
    assert_eq!(survivors, expected);
}

#[tokio::test]
async fn stats_log_reports_queues_with_the_originals_keys() {
    let config = "\n[STATS]\nfile_name = log/stats.log\ninterval = 1\n[Stats]\nconsole_stats_enabled = true\n";
    let node = Node::start_dmq_with(RING, &[], config);
    let mut client = node.dmq().await;
    for _ in 0..3 {
        client.push("st", b"abc").await.unwrap();
    }
    let path = node.dir().join("log/stats.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let line = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("channel/st/records:3")) {
            break line.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no stats line with the channel:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // A 3-byte record takes 11 ring bytes (8-byte header), as the original counts.
    for key in ["request/Push/handled:3", "request/Push/mean_handled_time_micros:", "neo_request/consume/max_active:0", "channel/st/bytes:33", "channel/st/bytes_memory:33", "channel/st/records_memory:3", "total_records:3", "handling_connections:1", "cpu_user:"] {
        assert!(line.contains(key), "{key} missing in {line}");
    }
    assert!(line.contains("action/pushed/records:3") || std::fs::read_to_string(&path).unwrap().contains("action/pushed/records:3"));
    // The console line: memory, connections, and each queue's fill.
    let console = node.wait_for_stdout("st: 3 records 33 bytes");
    assert!(console.contains("1 connections"), "{console}");
}

#[tokio::test]
async fn a_neo_consumer_that_leaves_without_acknowledging_loses_nothing() {
    let node = Node::start_dmq(RING, &[]);
    let pusher = node.dmq_neo().await;
    let first = node.dmq_neo().await;
    let mut leaving = first.consume("d", "sub").await.unwrap();
    for i in 0..10u32 {
        assert!(pusher.push(&["d"], format!("r{i}").as_bytes()).await.unwrap());
    }
    let mut seen = Vec::new();
    while seen.len() < 10 {
        seen.extend(leaving.batch().await.unwrap().expect("a batch"));
        if seen.len() < 10 {
            leaving.more().await.unwrap();
        }
    }
    // The last batch was received but never acknowledged: the client goes.
    drop(leaving);
    drop(first);
    let second = node.dmq_neo().await;
    let mut staying = second.consume("d", "sub").await.unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(10), staying.batch()).await.unwrap().unwrap().unwrap();
    assert!(!batch.is_empty(), "the unacknowledged batch is delivered again");
    let expected: Vec<Vec<u8>> = (10 - batch.len() as u32..10).map(|i| format!("r{i}").into_bytes()).collect();
    assert_eq!(batch, expected);
}

#[tokio::test]
async fn lying_lengths_and_truncated_requests_close_only_their_connection() {
    let node = Node::start_dmq(RING, &[]);
    let mut bystander = node.dmq().await;
    bystander.push("safe", b"kept").await.unwrap();
    // A Push whose channel claims 2^62 bytes: refused before anything is
    // allocated, the connection closed without a reply.
    let mut liar = node.dmq().await;
    let mut request = 1u32.to_le_bytes().to_vec();
    request.extend_from_slice(&(1u64 << 62).to_le_bytes());
    request.extend_from_slice(b"ch");
    liar.send_raw(&request).await.unwrap();
    assert!(liar.pop("safe").await.is_err());
    // A request cut off by the client's close.
    let mut cut = node.dmq().await;
    cut.send_raw(&[1, 0, 0, 0, 5, 0, 0, 0]).await.unwrap();
    drop(cut);
    // Both ports still serve, and nothing stored was lost.
    let neo = node.dmq_neo().await;
    assert!(neo.push(&["safe"], b"neo").await.unwrap());
    assert_eq!(bystander.pop("safe").await.unwrap(), Some(b"kept".to_vec()));
    assert_eq!(bystander.pop("safe").await.unwrap(), Some(b"neo".to_vec()));
}
