//! Replays what the original DhtClient sent to the original dhtnode
//! (tests/vectors/original-dhtnode/captures, legacy protocol) against our
//! dhtnode and checks that every reply is byte for byte the original's.
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

/// The original node's legacy port in the captures.
const ORIGINAL_PORT: u16 = 10_000;

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
        let from_client = tcp.destination_port() == ORIGINAL_PORT;
        let client_port = if from_client { tcp.source_port() } else { tcp.destination_port() };
        out.push(Segment { client_port, from_client, payload: tcp.payload().to_vec() });
    }
    out
}

/// Parses a GetAll-family reply (status, batches, empty array) and returns
/// its records sorted, or `Incomplete` while bytes are missing.
fn scan_reply(bytes: &[u8], arity: usize) -> Result<(usize, Vec<Vec<Vec<u8>>>), WireError> {
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
