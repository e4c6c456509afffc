//! Bad input against the real dhtnode: each case gets the original's status
//! (or a closed connection where the original closes it), the node keeps
//! serving other clients, and nothing stored is lost.

mod common;

use bytes::BytesMut;
use common::{Node, MEMORY};
use shoal_protocol::client::legacy::{ClientError, LegacyClient};
use shoal_protocol::legacy::wire::{put_array, put_u32, put_u64};
use shoal_protocol::legacy::Status;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Stores a record that every test checks survives.
async fn seed(node: &Node) -> LegacyClient {
    let mut client = node.client().await;
    client.put("kept", 42, b"precious").await.unwrap();
    client
}

async fn still_serving(node: &Node) {
    let mut client = node.client().await;
    assert_eq!(client.get("kept", 42).await.unwrap(), Some(b"precious".to_vec()));
}

/// Sends raw bytes and returns everything the node sends until it closes.
async fn send_and_collect_until_closed(node: &Node, bytes: &[u8]) -> Vec<u8> {
    let mut socket = TcpStream::connect(("127.0.0.1", node.port)).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut socket, bytes).await.unwrap();
    let mut reply = Vec::new();
    socket.read_to_end(&mut reply).await.unwrap();
    reply
}

fn status_error(result: Result<(), ClientError>) -> Status {
    match result {
        Err(ClientError::Status(status)) => status,
        other => panic!("expected a status error, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_request_code_closes_only_that_connection() {
    let node = Node::start();
    let _seeded = seed(&node).await;
    let reply = send_and_collect_until_closed(&node, &[2, 0, 0, 0, 9, 9, 9]).await;
    assert!(reply.is_empty(), "the original answers nothing and closes");
    still_serving(&node).await;
    node.wait_for_log("unknown request code 2");
}

#[tokio::test]
async fn a_lying_array_length_closes_the_connection_without_allocating() {
    let node = Node::start();
    let _seeded = seed(&node).await;
    let mut request = BytesMut::new();
    put_u32(&mut request, 7); // Get
    put_u64(&mut request, u64::MAX / 2); // channel name "length"
    let reply = send_and_collect_until_closed(&node, &request).await;
    assert!(reply.is_empty());
    still_serving(&node).await;
}

#[tokio::test]
async fn a_truncated_request_is_dropped_and_nothing_is_stored() {
    let node = Node::start();
    let mut seeded = seed(&node).await;
    let mut request = BytesMut::new();
    put_u32(&mut request, 1); // Put
    put_array(&mut request, b"kept");
    put_array(&mut request, b"000000000000002a");
    put_u64(&mut request, 10);
    request.extend_from_slice(b"half");
    {
        let mut socket = TcpStream::connect(("127.0.0.1", node.port)).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut socket, &request).await.unwrap();
    } // closed mid-request
    // The partial Put must not have replaced the stored value.
    assert_eq!(seeded.get("kept", 42).await.unwrap(), Some(b"precious".to_vec()));
    still_serving(&node).await;
}

#[tokio::test]
async fn values_too_big_or_empty_get_the_original_statuses() {
    let node = Node::start();
    let mut client = seed(&node).await;
    // batch_size 65535 leaves 65503 bytes for a value.
    client.put("kept", 1, &vec![1u8; 65_503]).await.unwrap();
    let too_big = client.put("kept", 2, &vec![1u8; 65_504]).await;
    assert_eq!(status_error(too_big), Status::ValueTooBig);
    // Far over the limit: skipped as it arrives, the connection stays usable.
    let huge = client.put("kept", 3, &vec![7u8; 12 << 20]).await;
    assert_eq!(status_error(huge), Status::ValueTooBig);
    assert_eq!(status_error(client.put("kept", 4, b"").await), Status::EmptyValue);
    assert_eq!(client.get("kept", 2).await.unwrap(), None);
    assert_eq!(client.get("kept", 42).await.unwrap(), Some(b"precious".to_vec()));
}

#[tokio::test]
async fn invalid_channel_names_get_bad_channel_name() {
    let node = Node::start();
    let mut client = seed(&node).await;
    for name in ["", "with space", "../etc", "semi;colon"] {
        assert_eq!(status_error(client.put(name, 1, b"v").await), Status::BadChannelName, "{name:?}");
        let get = client.get(name, 1).await.map(|_| ());
        assert_eq!(status_error(get), Status::BadChannelName, "{name:?}");
    }
    assert_eq!(client.get_channels().await.unwrap(), vec!["kept"]);
}

#[tokio::test]
async fn keys_outside_the_range_are_refused_with_wrong_node() {
    // The node owns the even keys: bit-reversed range 0..0x7fff...
    let memory = MEMORY;
    let node = Node::start_with_range(memory, 0, 0x7fff_ffff_ffff_ffff);
    let mut client = node.client().await;
    client.put("ranged", 2, b"even").await.unwrap();
    assert_eq!(status_error(client.put("ranged", 3, b"odd").await), Status::WrongNode);
    assert_eq!(status_error(client.remove("ranged", 3).await), Status::WrongNode);
    // Get accepts any key, as the original.
    assert_eq!(client.get("ranged", 3).await.unwrap(), None);
    assert_eq!(client.get("ranged", 2).await.unwrap(), Some(b"even".to_vec()));
    assert_eq!(client.get_responsible_range().await.unwrap(), (0, 0x7fff_ffff_ffff_ffff));
}

#[tokio::test]
async fn a_non_hex_key_closes_the_connection_and_keeps_data() {
    let node = Node::start();
    let _seeded = seed(&node).await;
    let mut request = BytesMut::new();
    put_u32(&mut request, 1); // Put
    put_array(&mut request, b"kept");
    put_array(&mut request, b"not-a-hash-key!!");
    put_array(&mut request, b"value");
    let reply = send_and_collect_until_closed(&node, &request).await;
    assert!(reply.is_empty());
    still_serving(&node).await;
}

#[tokio::test]
async fn the_size_limit_refuses_puts_with_out_of_memory() {
    // An empty channel already counts 525,376 bytes, as in the original.
    let memory = "size_limit = 526000\nlock_memory = false\nbatch_size = 65535";
    let node = Node::start_with(memory, "");
    let mut client = node.client().await;
    client.put("limited", 1, &[0u8; 100]).await.unwrap();
    let refused = client.put("limited", 2, &[0u8; 600]).await;
    assert_eq!(status_error(refused), Status::OutOfMemory);
    assert_eq!(client.get_channel_size("limited").await.unwrap().records, 1);
}

#[tokio::test]
async fn an_oversized_value_is_checked_for_channel_and_range_first() {
    let node = Node::start_with_range(MEMORY, 0, 0x7fff_ffff_ffff_ffff);
    let mut client = node.client().await;
    let big = vec![1u8; 70_000];
    assert_eq!(status_error(client.put("bad name", 2, &big).await), Status::BadChannelName);
    assert_eq!(status_error(client.put("ranged", 3, &big).await), Status::WrongNode);
    assert_eq!(status_error(client.put("ranged", 2, &big).await), Status::ValueTooBig);
    client.put("ranged", 2, b"small").await.unwrap();
}
