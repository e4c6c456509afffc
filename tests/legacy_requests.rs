//! Every legacy request against the real dhtnode binary, through the Rust
//! client that speaks the original client's bytes.

mod common;

use common::Node;
use shoal_protocol::client::legacy::{ClientError, LegacyClient};
use shoal_protocol::legacy::Status;

#[tokio::test]
async fn single_record_requests_behave_as_the_original() {
    let node = Node::start();
    let mut client = node.client().await;
    assert_eq!(client.get_version().await.unwrap(), "20110401");
    assert_eq!(client.get_responsible_range().await.unwrap(), (0, u64::MAX));

    client.put("test_channel", 0xc, b"doo").await.unwrap();
    client.put("test_channel", 0xb, b"bar").await.unwrap();
    assert_eq!(client.get("test_channel", 0xc).await.unwrap(), Some(b"doo".to_vec()));
    assert_eq!(client.get("test_channel", 0xa).await.unwrap(), None);
    assert_eq!(client.get("no_such_channel", 0xa).await.unwrap(), None);
    assert!(client.exists("test_channel", 0xb).await.unwrap());
    assert!(!client.exists("test_channel", 0xa).await.unwrap());

    client.put("test_channel", 0xc, b"overwritten").await.unwrap();
    assert_eq!(client.get("test_channel", 0xc).await.unwrap(), Some(b"overwritten".to_vec()));
    client.remove("test_channel", 0xb).await.unwrap();
    client.remove("test_channel", 0xb).await.unwrap();
    assert_eq!(client.get("test_channel", 0xb).await.unwrap(), None);

    // Get and Exists on a missing channel do not create it.
    assert_eq!(client.get_channels().await.unwrap(), vec!["test_channel".to_string()]);
}

#[tokio::test]
async fn sizes_and_channels_use_the_original_accounting() {
    let node = Node::start();
    let mut client = node.client().await;
    for key in 0..50u64 {
        client.put("sized", key, &[0xff; 20]).await.unwrap();
    }
    client.put("other", 1, b"abcd").await.unwrap();
    let sized = client.get_channel_size("sized").await.unwrap();
    assert_eq!((sized.address.as_str(), sized.port), ("127.0.0.1", node.port));
    // The original reports 529,176 bytes for exactly this channel.
    assert_eq!((sized.records, sized.bytes), (50, 529_176));
    let total = client.get_size().await.unwrap();
    assert_eq!((total.records, total.bytes), (51, 529_176 + 525_436));
    let missing = client.get_channel_size("missing").await.unwrap();
    assert_eq!((missing.records, missing.bytes), (0, 0));
    assert_eq!(client.get_channels().await.unwrap(), vec!["other", "sized"]);

    client.remove_channel("sized").await.unwrap();
    assert_eq!(client.get_channels().await.unwrap(), vec!["other"]);
    let total = client.get_size().await.unwrap();
    assert_eq!((total.records, total.bytes), (1, 525_436));
    assert_eq!(client.get("sized", 3).await.unwrap(), None);

    let (address, port, connections) = client.get_num_connections().await.unwrap();
    assert_eq!((address.as_str(), port), ("127.0.0.1", node.port));
    assert_eq!(connections, 1);
}

#[tokio::test]
async fn bulk_requests_span_many_batches() {
    let node = Node::start();
    let mut client = node.client().await;
    // 3,000 records of 100 bytes: several 64 KiB batches.
    for key in 0..3_000u64 {
        let mut value = vec![b'a' + (key % 26) as u8; 100];
        value[..8].copy_from_slice(&key.to_le_bytes());
        client.put("bulk", key, &value).await.unwrap();
    }
    let mut all = client.get_all("bulk").await.unwrap();
    all.sort();
    assert_eq!(all.len(), 3_000);
    for (key, value) in &all {
        assert_eq!(value[..8], key.to_le_bytes());
        assert_eq!(value.len(), 100);
    }
    let mut keys = client.get_all_keys("bulk").await.unwrap();
    keys.sort();
    assert_eq!(keys, (0..3_000).collect::<Vec<u64>>());
    let filtered = client.get_all_filter("bulk", b"zzzzzzzzzz").await.unwrap();
    assert_eq!(filtered.len(), 3_000 / 26 + usize::from(3_000 % 26 > 25));
    assert!(filtered.iter().all(|(key, _)| key % 26 == 25));
    assert!(client.get_all("missing").await.unwrap().is_empty());
    // The connection is still in step after the streams.
    assert_eq!(client.get_version().await.unwrap(), "20110401");
}

/// The original node writes a bulk reply through a 64 KiB buffer, so its
/// Ok arrives with the first records, and so does ours: the original
/// client, handed a bulk request's status the instant it has sent the
/// request, can fail it (docs/protocol-legacy.md, "Timing").
#[tokio::test]
async fn a_small_bulk_reply_arrives_in_one_piece_with_its_status() {
    use bytes::BytesMut;
    use shoal_protocol::legacy::request::ChannelArg;
    use shoal_protocol::legacy::Request;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let node = Node::start();
    let mut client = node.client().await;
    for key in 0..3u64 {
        client.put("small", key, b"value").await.unwrap();
    }
    for request in [Request::GetAll(ChannelArg { channel: b"small" }), Request::GetAllKeys(ChannelArg { channel: b"small" })] {
        let mut bytes = BytesMut::new();
        request.encode(&mut bytes);
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", node.port)).await.unwrap();
        socket.write_all(&bytes).await.unwrap();
        let mut first = vec![0u8; 64 * 1024];
        let read = socket.read(&mut first).await.unwrap();
        // Ok (u32), one batch (u64 length and bytes), the empty end array.
        assert!(read >= 4 + 8 + 8, "the first read holds only {read} bytes");
        assert_eq!(first[..4], (Status::Ok as u32).to_le_bytes());
        let batch = u64::from_le_bytes(first[4..12].try_into().unwrap()) as usize;
        assert!(batch > 0);
        assert_eq!(read, 4 + 8 + batch + 8, "the whole reply comes in the first read");
        assert_eq!(first[read - 8..read], [0; 8]);
    }
}

#[tokio::test]
async fn put_batch_stores_every_record_without_waking_listeners() {
    let node = Node::start();
    let mut client = node.client().await;
    let values: Vec<Vec<u8>> = (0..200u64).map(|k| format!("value {k}").into_bytes()).collect();
    let records: Vec<(u64, &[u8])> = values.iter().enumerate().map(|(k, v)| (k as u64, v.as_slice())).collect();
    client.put_batch("batched", &records, 65_535).await.unwrap();
    assert_eq!(client.get_channel_size("batched").await.unwrap().records, 200);
    assert_eq!(client.get("batched", 199).await.unwrap(), Some(b"value 199".to_vec()));
    let empty: [(u64, &[u8]); 2] = [(500, b"fine"), (501, b"")];
    let error = client.put_batch("batched", &empty, 65_535).await.unwrap_err();
    assert!(matches!(error, ClientError::Status(Status::EmptyValue)), "{error}");
    // Records before the empty one are kept, as by the original.
    assert!(client.exists("batched", 500).await.unwrap());
}

#[tokio::test]
async fn listen_streams_later_puts_until_the_channel_is_removed() {
    let node = Node::start();
    let listener = LegacyClient::connect(("127.0.0.1", node.port)).await.unwrap();
    let mut stream = listener.listen("watched").await.unwrap();
    let mut writer = node.client().await;
    for key in 0..100u64 {
        writer.put("watched", key, format!("v{key}").as_bytes()).await.unwrap();
    }
    writer.put("unwatched", 1, b"x").await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 100 {
        let (key, value) = stream.next().await.unwrap().expect("stream still open");
        assert_eq!(value, format!("v{key}").into_bytes());
        seen.push(key);
    }
    seen.sort();
    assert_eq!(seen, (0..100).collect::<Vec<u64>>());
    writer.remove_channel("watched").await.unwrap();
    assert_eq!(stream.next().await.unwrap(), None);
}

#[tokio::test]
async fn many_concurrent_clients_lose_nothing() {
    let node = Node::start();
    let port = node.port;
    let tasks: Vec<_> = (0..50u64)
        .map(|client_id| {
            tokio::spawn(async move {
                let mut client = LegacyClient::connect(("127.0.0.1", port)).await.unwrap();
                for i in 0..200u64 {
                    let key = client_id << 32 | i;
                    client.put("shared", key, &key.to_le_bytes()).await.unwrap();
                    assert_eq!(client.get("shared", key).await.unwrap(), Some(key.to_le_bytes().to_vec()));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let mut client = node.client().await;
    let size = client.get_channel_size("shared").await.unwrap();
    assert_eq!(size.records, 50 * 200);
    assert_eq!(client.get_all_keys("shared").await.unwrap().len(), 50 * 200);
}
