//! Replays what the original DhtClient sent to the original dhtnode
//! (tests/vectors/original-dhtnode/captures, legacy and neo protocol)
//! against our dhtnode and checks that every reply is byte for byte the
//! original's.
//!
//! Segments are replayed in capture order over one connection per captured
//! connection, so cross-connection causality (a Listen seeing another
//! connection's Put) is kept. Compressed batches are the one place where the
//! bytes may differ (our LZO encoder is not liblzo's): for GetAll-family
//! replies the batches are decompressed and their records compared instead.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use common::Node;
use etherparse::{SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;
use shoal_protocol::legacy::batch;
use shoal_protocol::legacy::{WireError, WireReader};
use shoal_protocol::neo::connect::Step;
use shoal_protocol::neo::header::encode_message;
use shoal_protocol::neo::{ClientEvent, ClientHandshake, HeaderDecoder, Key, MessageType};

/// The original node's legacy port in the captures.
const ORIGINAL_PORT: u16 = 10_000;

/// Its neo port.
const ORIGINAL_NEO_PORT: u16 = ORIGINAL_PORT + 100;

/// One TCP payload: which captured connection, which direction, the bytes.
struct Segment {
    client_port: u16,
    from_client: bool,
    payload: Vec<u8>,
}

fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dhtnode/captures")
}

fn segments(name: &str) -> Vec<Segment> {
    segments_on(name, ORIGINAL_PORT)
}

fn segments_on(name: &str, node_port: u16) -> Vec<Segment> {
    let file = std::fs::File::open(captures_dir().join(name)).expect("capture exists");
    let mut reader = PcapReader::new(file).expect("pcap header");
    let mut out = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("pcap packet");
        let Ok(sliced) = SlicedPacket::from_ethernet(&packet.data) else { continue };
        let Some(TransportSlice::Tcp(tcp)) = sliced.transport else { continue };
        if tcp.payload().is_empty() {
            continue;
        }
        let from_client = tcp.destination_port() == node_port;
        let client_port = if from_client { tcp.source_port() } else { tcp.destination_port() };
        out.push(Segment { client_port, from_client, payload: tcp.payload().to_vec() });
    }
    out
}

/// A record's fields (key and value, or a key alone), as sent.
type Fields = Vec<Vec<u8>>;

/// Parses a GetAll-family reply (status, batches, empty array) and returns
/// its records sorted, or `Incomplete` while bytes are missing.
fn scan_reply(bytes: &[u8], arity: usize) -> Result<(usize, Vec<Fields>), WireError> {
    let mut reader = WireReader::new(bytes);
    assert_eq!(reader.u32()?, 200, "scan status");
    let mut records = Vec::new();
    loop {
        let batch = reader.array("batch", 1 << 24)?;
        if batch.is_empty() {
            records.sort();
            return Ok((reader.position(), records));
        }
        let decompressed = batch::decompress(batch, 1 << 24).expect("batch decompresses");
        for record in batch::records(&decompressed, arity).expect("batch records") {
            records.push(record.into_iter().map(<[u8]>::to_vec).collect());
        }
    }
}

/// Reads from `socket` until `parse` accepts the bytes.
fn read_until<T>(socket: &mut TcpStream, mut parse: impl FnMut(&[u8]) -> Result<T, WireError>) -> T {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match parse(&bytes) {
            Ok(value) => return value,
            Err(WireError::Incomplete) => {}
            Err(error) => panic!("reply does not parse: {error}"),
        }
        let read = socket.read(&mut chunk).expect("reply arrives in time");
        assert!(read > 0, "node closed the connection");
        bytes.extend_from_slice(&chunk[..read]);
    }
}

fn replay(name: &str) {
    let node = Node::start();
    let segments = segments(name);
    assert!(!segments.is_empty(), "{name} has payloads");
    let mut sockets: HashMap<u16, TcpStream> = HashMap::new();
    let mut last_code: HashMap<u16, u32> = HashMap::new();
    let mut i = 0;
    while i < segments.len() {
        let segment = &segments[i];
        let socket = sockets.entry(segment.client_port).or_insert_with(|| {
            let socket = TcpStream::connect(("127.0.0.1", node.port)).expect("connect");
            socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            socket
        });
        if segment.from_client {
            if segment.payload.len() >= 4 {
                let code = u32::from_le_bytes(segment.payload[..4].try_into().expect("4 bytes"));
                last_code.insert(segment.client_port, code);
            }
            socket.write_all(&segment.payload).expect("send");
            i += 1;
            continue;
        }
        let arity = match last_code.get(&segment.client_port) {
            Some(29) | Some(31) => Some(2),
            Some(30) => Some(1),
            _ => None,
        };
        match arity {
            None => {
                let mut ours = vec![0u8; segment.payload.len()];
                socket.read_exact(&mut ours).expect("reply of the original's length");
                assert_eq!(ours, segment.payload, "{name}: reply on connection {}", segment.client_port);
                i += 1;
            }
            Some(arity) => {
                // Gather the original's whole scan reply, then read ours.
                let mut original = Vec::new();
                let expected = loop {
                    let next = &segments[i];
                    assert!(!next.from_client && next.client_port == segment.client_port);
                    original.extend_from_slice(&next.payload);
                    i += 1;
                    match scan_reply(&original, arity) {
                        Ok((_, records)) => break records,
                        Err(WireError::Incomplete) => continue,
                        Err(error) => panic!("capture does not parse: {error}"),
                    }
                };
                let (_, ours) = read_until(socket, |bytes| scan_reply(bytes, arity));
                assert_eq!(ours, expected, "{name}: scan records");
                last_code.remove(&segment.client_port);
            }
        }
    }
}

#[test]
fn handshake() {
    replay("handshake.pcap");
}

#[test]
fn put_then_get() {
    replay("legacy-put-get.pcap");
}

#[test]
fn get_of_a_missing_key() {
    replay("legacy-get-missing.pcap");
}

#[test]
fn get_all() {
    replay("legacy-getall.pcap");
}

#[test]
fn remove_channel() {
    replay("legacy-removechannel.pcap");
}

#[test]
fn listen_sees_puts() {
    replay("legacy-listen-put.pcap");
}

/// Splits a byte stream into whole neo messages (type, body), skipping the
/// one-byte protocol version at the start; returns the bytes used.
fn neo_messages(stream: &[u8], skip_version: bool) -> (usize, Vec<(MessageType, Vec<u8>)>) {
    let decoder = HeaderDecoder::default();
    let mut used = usize::from(skip_version && !stream.is_empty());
    let mut out = Vec::new();
    while let Some(message) = decoder.split_message(&stream[used..]).expect("valid neo messages") {
        out.push((message.header.msg_type, message.body.to_vec()));
        used += message.wire_len;
    }
    (used, out)
}

/// Replays a neo capture over one authenticated connection of our own (the
/// handshake differs per run: nonce and clock). Each captured client
/// request message is sent once our node has sent as many messages as the
/// original had before it; then every request's messages must equal the
/// original's, in order (requests may interleave differently).
fn replay_neo(name: &str) {
    let node = Node::start_with_files(&[common::admin_credentials()]);
    let mut client_stream = Vec::new();
    let mut node_stream = Vec::new();
    // (node messages seen before it, client request body)
    let mut script: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut node_messages = 0;
    for segment in segments_on(name, ORIGINAL_NEO_PORT) {
        if segment.from_client {
            client_stream.extend_from_slice(&segment.payload);
            let (_, messages) = neo_messages(&client_stream, true);
            for (kind, body) in messages.into_iter().skip(script.len() + 2) {
                assert_eq!(kind, MessageType::Request);
                script.push((node_messages, body));
            }
        } else {
            node_stream.extend_from_slice(&segment.payload);
            node_messages = neo_messages(&node_stream, true).1.iter().filter(|(k, _)| *k == MessageType::Request).count();
        }
    }
    let expected = requests_by_id(neo_messages(&node_stream, true).1);

    let mut socket = TcpStream::connect(("127.0.0.1", node.port + 100)).expect("neo port");
    socket.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut out = Vec::new();
    let mut handshake = ClientHandshake::new(b"admin", Key([0; 128]), now, &mut out);
    let mut input = Vec::new();
    loop {
        socket.write_all(&out).expect("send");
        out.clear();
        let Step { consumed, event } = handshake.advance(&input, &mut out).expect("handshake");
        input.drain(..consumed);
        match event {
            ClientEvent::NeedMore => {
                socket.write_all(&out).expect("send");
                out.clear();
                let mut chunk = [0u8; 4096];
                let read = socket.read(&mut chunk).expect("handshake reply");
                assert!(read > 0, "node closed the handshake");
                input.extend_from_slice(&chunk[..read]);
            }
            ClientEvent::Accepted => break,
            ClientEvent::Rejected => panic!("admin refused"),
        }
    }
    let mut ours: Vec<(MessageType, Vec<u8>)> = Vec::new();
    let read_until_count = |socket: &mut TcpStream, ours: &mut Vec<(MessageType, Vec<u8>)>, input: &mut Vec<u8>, count: usize| {
        while ours.len() < count {
            let (used, messages) = neo_messages(input, false);
            input.drain(..used);
            ours.extend(messages);
            if ours.len() >= count {
                break;
            }
            let mut chunk = [0u8; 65536];
            let read = socket.read(&mut chunk).expect("node replies");
            assert!(read > 0, "{name}: node closed the connection");
            input.extend_from_slice(&chunk[..read]);
        }
    };
    for (before, body) in &script {
        read_until_count(&mut socket, &mut ours, &mut input, *before);
        let mut message = Vec::new();
        encode_message(MessageType::Request, &[body], &mut message);
        socket.write_all(&message).expect("send request");
    }
    read_until_count(&mut socket, &mut ours, &mut input, node_messages);
    assert_eq!(requests_by_id(ours), expected, "{name}: node messages per request");
}

/// Node messages grouped by request id, each group in order.
fn requests_by_id(messages: Vec<(MessageType, Vec<u8>)>) -> std::collections::BTreeMap<u64, Vec<Vec<u8>>> {
    let mut by_id = std::collections::BTreeMap::<u64, Vec<Vec<u8>>>::new();
    for (_, body) in messages.into_iter().filter(|(kind, _)| *kind == MessageType::Request) {
        let id = u64::from_le_bytes(body[..8].try_into().expect("request id"));
        by_id.entry(id).or_default().push(body[8..].to_vec());
    }
    by_id
}

#[test]
fn neo_put_get() {
    replay_neo("neo-put-get.pcap");
}

#[test]
fn neo_put_remove_get() {
    replay_neo("neo-put-remove-get.pcap");
}

#[test]
fn neo_get_missing() {
    replay_neo("neo-get-missing.pcap");
}

#[test]
fn neo_put_too_big() {
    replay_neo("neo-put-too-big.pcap");
}

#[test]
fn neo_get_channels() {
    replay_neo("neo-getchannels.pcap");
}

#[test]
fn neo_mirror_sees_later_puts() {
    replay_neo("neo-mirror-then-puts.pcap");
}
