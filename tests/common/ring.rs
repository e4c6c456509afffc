//! Ring members for the tests: dhtnodes with a `[Ring]` section, their
//! `ring-status`, their local copies of records, and the `shoal` CLI.

use std::path::Path;
use std::time::Duration;

use shoal_cluster::message::{PeerMessage, Record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{config_ini, Node, MEMORY};

/// The cluster key of the tests.
pub const KEY: &str = "a cluster key of the tests, long enough";

/// `[Ring]` for a member on `peer_port`, joining through `seed`, with
/// `extra` keys.
pub fn ring_section(peer_port: u16, seed: Option<u16>, extra: &str) -> String {
    let seed = seed.map_or(String::new(), |port| format!("seed = 127.0.0.1:{port}\n"));
    format!(
        "\n[Ring]\nenabled = true\npeer_port = {peer_port}\nkey_file = etc/cluster.key\n{seed}\
         gossip_ms = 100\nsuspect_after_ms = 600\ndown_after_ms = 1500\n{extra}"
    )
}

/// A member on `peer_port` joining through `seed`.
pub fn member(peer_port: u16, seed: Option<u16>) -> Node {
    member_with(peer_port, seed, "")
}

/// [`member`] with extra `[Ring]` keys.
pub fn member_with(peer_port: u16, seed: Option<u16>, extra: &str) -> Node {
    let (credentials_path, credentials) = super::admin_credentials();
    let files = [("etc/cluster.key", KEY.as_bytes().to_vec()), (credentials_path, credentials)];
    Node::start_with_files_and_config(&files, |port| {
        config_ini(port, MEMORY, &ring_section(peer_port, seed, extra))
    })
}

/// The member's `ring-status` on its control socket.
pub async fn ring_status(node: &Node) -> String {
    let socket = tokio::net::UnixStream::connect(node.dir().join("dhtnode.socket")).await.expect("control socket");
    let (mut read, mut write) = socket.into_split();
    write.write_all(b"ring-status\n").await.unwrap();
    write.shutdown().await.unwrap();
    let mut reply = String::new();
    read.read_to_string(&mut reply).await.unwrap();
    reply
}

/// Waits (at most 20 s) until `node`'s status satisfies `done`.
pub async fn wait_for_status(node: &Node, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = ring_status(node).await;
        if done(&status) {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "ring status never got there:\n{status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a status shows `count` members, all alive, at one epoch line.
pub fn all_alive(status: &str, count: usize) -> bool {
    status.lines().filter(|l| l.ends_with(" alive")).count() == count && status.lines().count() == count + 1
}

/// Waits until every node's status shows the same epoch with `count` live
/// members.
pub async fn wait_for_agreement(nodes: &[&Node], count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut statuses = Vec::new();
        for node in nodes {
            statuses.push(ring_status(node).await);
        }
        let first = statuses[0].lines().next().unwrap_or_default().to_string();
        if statuses.iter().all(|s| all_alive(s, count) && s.lines().next().unwrap_or_default() == first) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "members never agreed: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The member's own copy of `key` (not coordinated), asked on its peer port.
pub async fn local_copy(peer_port: u16, channel: &str, key: u64) -> Record {
    let message = PeerMessage::Fetch { channel: channel.into(), keys: vec![key] };
    match shoal_actors::ring::peer::exchange(&format!("127.0.0.1:{peer_port}"), KEY.as_bytes(), &message).await {
        Ok(PeerMessage::Records(mut records)) if records.len() == 1 => records.pop().unwrap(),
        other => panic!("fetch from 127.0.0.1:{peer_port} answered {other:?}"),
    }
}

/// Runs the `shoal` CLI against the member on `peer_port`; exit code and
/// stdout.
pub fn shoal(key_dir: &Path, peer_port: u16, args: &[&str]) -> (Option<i32>, String) {
    let peer = format!("127.0.0.1:{peer_port}");
    let key_file = key_dir.join("etc/cluster.key");
    let mut all = vec!["--peer", peer.as_str(), "--key-file", key_file.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_shoal")).args(&all).output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr))
}
