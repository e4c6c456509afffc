//! The ring's membership through real dhtnode processes: nodes join
//! through a seed and converge on one view; a silent member turns suspect,
//! then down; peer messages that are not sealed with the cluster key, and
//! garbage, are refused and logged without changing anything.

mod common;

use std::time::Duration;

use common::ring::{member, ring_section, ring_status, shoal, wait_for_status};
use common::{config_ini, free_port, MEMORY};
use shoal_cluster::message::{seal, PeerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_through_a_seed_converge_and_detect_a_crash() {
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let a = member(ports[0], None);
    let b = member(ports[1], Some(ports[0]));
    let c = member(ports[2], Some(ports[0]));
    let all_alive = |status: &str| status.lines().filter(|l| l.ends_with(" alive")).count() == 3;
    let views = [
        wait_for_status(&a, all_alive).await,
        wait_for_status(&b, all_alive).await,
        wait_for_status(&c, all_alive).await,
    ];
    // Wait until every member reports the same epoch.
    let epoch = |status: &str| status.lines().next().unwrap_or_default().to_string();
    let mut agreed = views.iter().all(|v| epoch(v) == epoch(&views[0]));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !agreed {
        assert!(std::time::Instant::now() < deadline, "views never agreed: {views:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = [ring_status(&a).await, ring_status(&b).await, ring_status(&c).await];
        agreed = now.iter().all(|v| epoch(v) == epoch(&now[0]) && all_alive(v));
    }
    for port in &ports {
        assert!(ring_status(&a).await.contains(&format!("127.0.0.1:{port} alive")));
    }

    // Unauthenticated and garbage peer traffic changes nothing.
    let forged = seal(b"some other key entirely", &PeerMessage::Remove { member: format!("127.0.0.1:{}", ports[1]) }, 0, 1);
    for frame in [[(forged.len() as u32).to_le_bytes().to_vec(), forged].concat(), vec![0xff; 64]] {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", ports[0])).await.unwrap();
        socket.write_all(&frame).await.unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
        assert!(rest.is_empty(), "no answer to a refused frame");
    }
    a.wait_for_log("refused a peer message");
    assert_eq!(ring_status(&a).await.lines().filter(|l| l.ends_with(" alive")).count(), 3);

    // A crashed member turns suspect, then down.
    c.kill();
    let c_name = format!("127.0.0.1:{}", ports[2]);
    wait_for_status(&a, |s| s.contains(&format!("{c_name} suspect")) || s.contains(&format!("{c_name} down"))).await;
    wait_for_status(&a, |s| s.contains(&format!("{c_name} down"))).await;
    assert!(ring_status(&b).await.contains(&format!("127.0.0.1:{} alive", ports[0])));

    // The shoal CLI: status, whereis, remove, records; exit codes.
    let shoal = |args: &[&str]| shoal(a.dir(), ports[0], args);
    let (code, status) = shoal(&["status"]);
    assert_eq!(code, Some(0));
    assert_eq!(status.lines().count(), 4, "{status}");
    assert!(status.contains(&format!("{c_name} down")), "the CLI shows health: {status}");
    assert!(status.contains(&format!("127.0.0.1:{} alive", ports[1])), "{status}");
    let (code, holders) = shoal(&["whereis", "000000000000002a"]);
    assert_eq!((code, holders.lines().count()), (Some(0), 3), "{holders}");
    assert_eq!(shoal(&["remove", &c_name]).0, Some(0));
    assert_eq!(shoal(&["remove", "10.0.0.1:1"]).0, Some(3), "an unknown member is refused");
    wait_for_status(&b, |s| !s.contains(&c_name)).await;
    let node = format!("127.0.0.1:{}", a.port);
    assert_eq!(shoal(&["put", "--node", &node, "ch", "000000000000002a", "hello"]).0, Some(0));
    assert_eq!(shoal(&["get", "--node", &node, "ch", "000000000000002a"]), (Some(0), "hello\n".to_string()));
    assert_eq!(shoal(&["get", "--node", &node, "ch", "000000000000002b"]).0, Some(1));
    assert_eq!(shoal(&["get", "--node", &node, "ch", "not-a-key"]).0, Some(2));
    std::fs::write(a.dir().join("wrong.key"), "another key, long enough for a ring").unwrap();
    let wrong = std::process::Command::new(env!("CARGO_BIN_EXE_shoal"))
        .args(["--peer", &format!("127.0.0.1:{}", ports[0]), "--key-file", a.dir().join("wrong.key").to_str().unwrap(), "status"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(4));
}

#[tokio::test]
async fn a_ring_needs_its_cluster_key() {
    let port = free_port();
    // With [Ring] but without the key file the node refuses to start.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/config.ini"), config_ini(port, MEMORY, &ring_section(free_port(), None, ""))).unwrap();
    let output = std::process::Command::new(common::dhtnode_binary())
        .args(["-c", "etc/config.ini"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cluster key"), "{}", String::from_utf8_lossy(&output.stderr));
}
