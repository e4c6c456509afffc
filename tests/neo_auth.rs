//! The neo port (legacy port + 100): the connect handshake and
//! authentication against etc/credentials, with the original's credentials
//! file format, through the real binary.

mod common;

use common::Node;
use shoal_protocol::neo::connect::Step;
use shoal_protocol::neo::{ClientEvent, ClientHandshake, Key};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The integration-test credentials of the original: `admin` with a key of
/// 128 zero bytes.
fn credentials_file() -> Vec<u8> {
    format!("admin:{}\n", "0".repeat(256)).into_bytes()
}

/// Runs the client side of the handshake; returns the outcome and the socket.
async fn connect(node: &Node, name: &str, key: Key) -> (ClientEvent, TcpStream) {
    let mut socket = TcpStream::connect(("127.0.0.1", node.port + 100)).await.expect("neo port open");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut out = Vec::new();
    let mut handshake = ClientHandshake::new(name.as_bytes(), key, now, &mut out);
    let mut input = Vec::new();
    loop {
        socket.write_all(&out).await.unwrap();
        out.clear();
        let Step { consumed, event } = handshake.advance(&input, &mut out).expect("a neo handshake");
        input.drain(..consumed);
        match event {
            ClientEvent::NeedMore => {
                socket.write_all(&out).await.unwrap();
                out.clear();
                assert!(socket.read_buf(&mut input).await.unwrap() > 0, "node closed mid-handshake");
            }
            done => return (done, socket),
        }
    }
}

async fn closed_by_node(mut socket: TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(socket.read_to_end(&mut rest).await, Ok(0))
}

#[tokio::test]
async fn a_known_client_is_accepted_and_others_are_refused_and_logged() {
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let (accepted, _socket) = connect(&node, "admin", Key([0; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted), "{accepted:?}");
    node.wait_for_log("neo client 'admin' authenticated");

    let (wrong_key, socket) = connect(&node, "admin", Key([1; 128])).await;
    assert!(matches!(wrong_key, ClientEvent::Rejected), "{wrong_key:?}");
    assert!(closed_by_node(socket).await);
    let (unknown, socket) = connect(&node, "mallory", Key([0; 128])).await;
    assert!(matches!(unknown, ClientEvent::Rejected), "{unknown:?}");
    assert!(closed_by_node(socket).await);
    let log = node.wait_for_log("client 'mallory' refused");
    assert!(log.contains("client 'admin' refused"), "{log}");

    // Nothing reached the storage, and the legacy port is unaffected.
    let mut client = node.client().await;
    assert_eq!(client.get_size().await.unwrap().records, 0);
}

#[tokio::test]
async fn without_a_credentials_file_every_neo_client_is_refused() {
    let node = Node::start();
    let (event, socket) = connect(&node, "admin", Key([0; 128])).await;
    assert!(matches!(event, ClientEvent::Rejected), "{event:?}");
    assert!(closed_by_node(socket).await);
    node.wait_for_log("no neo clients can authenticate");
}

#[tokio::test]
async fn a_bad_neo_header_closes_only_that_connection() {
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let mut socket = TcpStream::connect(("127.0.0.1", node.port + 100)).await.unwrap();
    // A protocol version the node does not speak, then garbage.
    socket.write_all(&[0xee; 64]).await.unwrap();
    let mut rest = Vec::new();
    let _ = socket.read_to_end(&mut rest).await;
    let (accepted, _socket) = connect(&node, "admin", Key([0; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted));
}
