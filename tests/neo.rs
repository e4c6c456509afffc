//! The neo port (legacy port + 100) through the real binary: the connect
//! handshake and authentication against etc/credentials (the original's file
//! format), and the record requests Put, Get, Exists and Remove sharing the
//! channels with legacy clients.

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

/// Sends one request message and returns the bodies of the `count` reply
/// messages that follow.
async fn exchange(socket: &mut TcpStream, body: &[u8], count: usize) -> Vec<Vec<u8>> {
    use shoal_protocol::neo::header::encode_message;
    use shoal_protocol::neo::{HeaderDecoder, MessageType};
    let mut message = Vec::new();
    encode_message(MessageType::Request, &[body], &mut message);
    socket.write_all(&message).await.unwrap();
    let decoder = HeaderDecoder::default();
    let mut input = Vec::new();
    let mut replies = Vec::new();
    while replies.len() < count {
        match decoder.split_message(&input).unwrap() {
            Some(reply) => {
                let used = reply.wire_len;
                replies.push(reply.body.to_vec());
                input.drain(..used);
            }
            None => assert!(socket.read_buf(&mut input).await.unwrap() > 0, "node closed"),
        }
    }
    replies
}

#[tokio::test]
async fn record_requests_share_the_channels_with_legacy_clients() {
    use shoal_protocol::neo::request::{decode_get_value, decode_supported};
    use shoal_protocol::neo::{DhtRequest, ExistsStatus, GetStatus, PutStatus, RemoveStatus, SupportedStatus};

    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let (accepted, mut socket) = connect(&node, "admin", Key([0; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted));

    let put = DhtRequest::Put { channel: b"mixed", key: 7, value: b"from neo" };
    let replies = exchange(&mut socket, &put.encode_body(1), 2).await;
    assert_eq!(decode_supported(&replies[0]).unwrap(), (1, SupportedStatus::Supported));
    assert_eq!(PutStatus::decode_body(&replies[1]).unwrap(), (1, PutStatus::Put));

    // A legacy client sees the neo write, and the reverse.
    let mut legacy = node.client().await;
    assert_eq!(legacy.get("mixed", 7).await.unwrap(), Some(b"from neo".to_vec()));
    legacy.put("mixed", 8, b"from legacy").await.unwrap();
    let get = DhtRequest::Get { channel: b"mixed", key: 8 };
    let replies = exchange(&mut socket, &get.encode_body(2), 3).await;
    assert_eq!(GetStatus::decode_body(&replies[1]).unwrap(), (2, GetStatus::Got));
    assert_eq!(decode_get_value(&replies[2]).unwrap(), (2, &b"from legacy"[..]));

    let exists = DhtRequest::Exists { channel: b"mixed", key: 9 };
    let replies = exchange(&mut socket, &exists.encode_body(3), 2).await;
    assert_eq!(ExistsStatus::decode_body(&replies[1]).unwrap(), (3, ExistsStatus::NoRecord));
    let remove = DhtRequest::Remove { channel: b"mixed", key: 7 };
    let replies = exchange(&mut socket, &remove.encode_body(4), 2).await;
    assert_eq!(RemoveStatus::decode_body(&replies[1]).unwrap(), (4, RemoveStatus::Removed));
    assert_eq!(legacy.get("mixed", 7).await.unwrap(), None);
    let get = DhtRequest::Get { channel: b"mixed", key: 7 };
    let replies = exchange(&mut socket, &get.encode_body(5), 2).await;
    assert_eq!(GetStatus::decode_body(&replies[1]).unwrap(), (5, GetStatus::NoRecord));

    // An unknown command and an unknown version are answered as the
    // original answers them, and the connection stays usable.
    let mut unknown = 6u64.to_le_bytes().to_vec();
    unknown.extend_from_slice(&[11, 0]);
    let replies = exchange(&mut socket, &unknown, 1).await;
    assert_eq!(decode_supported(&replies[0]).unwrap(), (6, SupportedStatus::RequestNotSupported));
    let mut new_version = 6u64.to_le_bytes().to_vec();
    new_version.extend_from_slice(&[2, 1]); // Put, version 1
    let replies = exchange(&mut socket, &new_version, 1).await;
    assert_eq!(decode_supported(&replies[0]).unwrap(), (6, SupportedStatus::VersionNotSupported));
    let exists = DhtRequest::Exists { channel: b"mixed", key: 8 };
    let replies = exchange(&mut socket, &exists.encode_body(7), 2).await;
    assert_eq!(ExistsStatus::decode_body(&replies[1]).unwrap(), (7, ExistsStatus::RecordExists));
}

#[tokio::test]
async fn only_admin_removes_channels() {
    use shoal_protocol::neo::{DhtRequest, RemoveChannelStatus};
    let mut file = credentials_file();
    file.extend_from_slice(format!("reader:{}\n", "1".repeat(256)).as_bytes());
    let node = Node::start_with_files(&[("etc/credentials", file)]);
    let mut legacy = node.client().await;
    legacy.put("doomed", 1, b"v").await.unwrap();

    let remove = DhtRequest::RemoveChannel { channel: b"doomed" };
    let (accepted, mut reader) = connect(&node, "reader", Key([0x11; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted));
    let replies = exchange(&mut reader, &remove.encode_body(1), 2).await;
    assert_eq!(RemoveChannelStatus::decode_body(&replies[1]).unwrap(), (1, RemoveChannelStatus::NotPermitted));
    assert_eq!(legacy.get_channels().await.unwrap(), vec!["doomed"]);

    let (_, mut admin) = connect(&node, "admin", Key([0; 128])).await;
    let replies = exchange(&mut admin, &remove.encode_body(2), 2).await;
    assert_eq!(RemoveChannelStatus::decode_body(&replies[1]).unwrap(), (2, RemoveChannelStatus::ChannelRemoved));
    assert!(legacy.get_channels().await.unwrap().is_empty());
}

/// Authenticates as admin on a raw socket.
async fn admin_socket(node: &Node) -> TcpStream {
    let (accepted, socket) = connect(node, "admin", Key([0; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted), "{accepted:?}");
    socket
}

fn request_message(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::new();
    shoal_protocol::neo::header::encode_message(
        shoal_protocol::neo::MessageType::Request,
        &[&id.to_le_bytes(), payload],
        &mut message,
    );
    message
}

#[tokio::test]
async fn the_five_thousand_and_first_active_request_closes_the_connection() {
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let mut socket = admin_socket(&node).await;
    // GetHashRange stays active until the connection closes.
    let mut requests = Vec::new();
    for id in 1..=5_001u64 {
        requests.extend_from_slice(&request_message(id, &[1, 0]));
    }
    socket.write_all(&requests).await.unwrap();
    let mut replies = Vec::new();
    socket.read_to_end(&mut replies).await.expect("the node closes the connection");
    // 5,000 requests started: each answered Supported and with its range.
    assert_eq!(replies.len(), 5_000 * ((10 + 9) + (10 + 24)));
    node.wait_for_log("more than 5000 requests active at once");
    // Everyone else is served.
    let neo = node.neo().await;
    assert_eq!(neo.get_hash_range().await.unwrap().current, (0, u64::MAX));
}

#[tokio::test]
async fn a_request_message_out_of_place_closes_only_that_connection() {
    use shoal_protocol::neo::dht::get_all::GetAllArgs;
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let bystander = node.neo().await;
    bystander.put("c", 1, b"kept").await.unwrap();
    let mut socket = admin_socket(&node).await;
    let args = GetAllArgs { start_suspended: true, channel: b"c", continue_after: None, keys_only: false, value_filter: b"" };
    let mut start = vec![5, 0];
    start.extend_from_slice(&args.encode());
    socket.write_all(&request_message(1, &start)).await.unwrap();
    // An Ack while the stream runs is not something a GetAll expects.
    socket.write_all(&request_message(1, &[4])).await.unwrap();
    let mut replies = Vec::new();
    socket.read_to_end(&mut replies).await.expect("the node closes the connection");
    node.wait_for_log("unexpected control message");
    assert_eq!(bystander.get("c", 1).await.unwrap().1.as_deref(), Some(&b"kept"[..]));

    // A first message too short for a command, and a truncated argument.
    for payload in [&[2u8][..], &[2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, b'x']] {
        let mut socket = admin_socket(&node).await;
        socket.write_all(&request_message(9, payload)).await.unwrap();
        let mut rest = Vec::new();
        socket.read_to_end(&mut rest).await.expect("closed");
    }
    assert_eq!(bystander.get("c", 1).await.unwrap().1.as_deref(), Some(&b"kept"[..]));
}

#[tokio::test]
async fn credentials_are_reloaded_on_the_control_socket_command() {
    use tokio::io::AsyncBufReadExt;
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let ask = |command: &'static str| {
        let path = node.dir().join("dhtnode.socket");
        async move {
            let socket = tokio::net::UnixStream::connect(path).await.expect("control socket");
            let (read, mut write) = socket.into_split();
            write.write_all(format!("{command}\n").as_bytes()).await.unwrap();
            write.shutdown().await.unwrap();
            let mut reply = String::new();
            let mut lines = tokio::io::BufReader::new(read);
            while lines.read_line(&mut reply).await.unwrap() > 0 {}
            reply
        }
    };
    let (refused, _) = connect(&node, "newcomer", Key([0x22; 128])).await;
    assert!(matches!(refused, ClientEvent::Rejected));

    let mut file = credentials_file();
    file.extend_from_slice(format!("newcomer:{}\n", "22".repeat(128)).as_bytes());
    std::fs::write(node.dir().join("etc/credentials"), &file).unwrap();
    assert_eq!(ask("update-credentials").await, "Credentials updated.\n");
    assert_eq!(ask("list-credentials").await, "Registered credentials:\nadmin\nnewcomer\n");
    let (accepted, _) = connect(&node, "newcomer", Key([0x22; 128])).await;
    assert!(matches!(accepted, ClientEvent::Accepted), "{accepted:?}");

    // A broken file is refused and the loaded keys stay.
    std::fs::write(node.dir().join("etc/credentials"), b"broken:abc\n").unwrap();
    assert!(ask("update-credentials").await.starts_with("Error updating credentials: "));
    let (still, _) = connect(&node, "newcomer", Key([0x22; 128])).await;
    assert!(matches!(still, ClientEvent::Accepted), "{still:?}");
}

#[tokio::test]
async fn bad_headers_after_authentication_close_only_that_connection() {
    use shoal_protocol::neo::Header;
    let node = Node::start_with_files(&[("etc/credentials", credentials_file())]);
    let bystander = node.neo().await;
    bystander.put("c", 1, b"kept").await.unwrap();
    let mut bad_parity = Header::new(shoal_protocol::neo::MessageType::Request, 10).encode();
    bad_parity[9] ^= 0x01;
    // A huge body length (valid parity): refused before any room is taken.
    let oversized = Header::new(shoal_protocol::neo::MessageType::Request, u64::MAX / 2).encode();
    // Type 3 does not exist; fix the parity so only the type is wrong.
    let mut unknown_type = Header::new(shoal_protocol::neo::MessageType::Request, 10).encode();
    unknown_type[0] = 3;
    unknown_type[9] = unknown_type[..9].iter().fold(0, |p, b| p ^ b);
    // An Authentication message after the handshake is out of place.
    let late_auth = Header::new(shoal_protocol::neo::MessageType::Authentication, 1).encode();
    for header in [bad_parity, oversized, unknown_type, late_auth] {
        let mut socket = admin_socket(&node).await;
        socket.write_all(&header).await.unwrap();
        socket.write_all(&[0; 10]).await.unwrap();
        assert!(closed_by_node(socket).await, "{header:02x?}");
    }
    node.wait_for_log("bad message");
    assert_eq!(bystander.get("c", 1).await.unwrap().1.as_deref(), Some(&b"kept"[..]));
}
