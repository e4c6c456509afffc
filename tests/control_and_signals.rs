//! The unix control socket and the signals an operator (or systemd) sends.

mod common;

use common::Node;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

async fn ask(node: &Node, command: &str) -> String {
    let socket = UnixStream::connect(node.dir().join("dhtnode.socket")).await.expect("control socket");
    let (read, mut write) = socket.into_split();
    write.write_all(format!("{command}\n").as_bytes()).await.unwrap();
    let mut reply = String::new();
    BufReader::new(read).read_line(&mut reply).await.unwrap();
    reply
}

#[tokio::test]
async fn the_control_socket_answers_commands() {
    let node = Node::start();
    assert!(ask(&node, "show_version").await.starts_with("dhtnode (shoal)"));
    assert_eq!(ask(&node, "reopen_files log/root.log").await, "ACK\n");
    assert_eq!(ask(&node, "no_such_command").await, "Command not found\n");
}

#[tokio::test]
async fn sighup_reopens_the_log_and_sigterm_stops_cleanly() {
    let node = Node::start();
    let root_log = node.dir().join("log/root.log");
    node.wait_for_log("Starting DHT node");
    std::fs::rename(&root_log, node.dir().join("log/root.log.1")).unwrap();
    common::send_signal(node.pid(), nix::sys::signal::Signal::SIGHUP);
    // The node survives SIGHUP and writes new lines to a fresh root.log.
    let mut client = node.client().await;
    client.put("after_rotation", 1, b"v").await.unwrap();
    node.wait_for_log("SIGHUP received");
    let socket = node.dir().join("dhtnode.socket");
    assert!(socket.exists());
    let status = node.terminate();
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "the socket file is removed at exit");
}
