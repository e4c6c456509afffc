//! Dumps and loading against the real dhtnode: what is dumped comes back
//! after a restart, the original's files load, and damaged files are
//! reported and survived without losing what is intact.

mod common;

use std::path::{Path, PathBuf};

use common::{config_ini, Node, MEMORY};
use shoal_protocol::client::legacy::LegacyClient;

/// Restarts a node in the same directory (and port) after it exited.
fn restart(dir: &Path, port: u16) -> Node {
    Node::start_in(dir, port)
}

/// The original's dump, channel `smallvec`, keys 0..99, values 20 × 0xff.
fn original_dump() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dhtnode/smallvec.tcm")
}

/// A dump built byte by byte from the documented layout (not by shoal's writer).
fn handmade_dump(records: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut bytes = 0u64.to_le_bytes().to_vec();
    for (key, value) in records {
        bytes.extend_from_slice(&(key.len() as u64).to_le_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(&(value.len() as u64).to_le_bytes());
        bytes.extend_from_slice(value);
    }
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes
}

async fn all_sorted(client: &mut LegacyClient, channel: &str) -> Vec<(u64, Vec<u8>)> {
    let mut all = client.get_all(channel).await.unwrap();
    all.sort();
    all
}

#[tokio::test]
async fn the_originals_dump_loads_with_exactly_its_records() {
    let node = Node::start_with_files(&[("data/smallvec.tcm", std::fs::read(original_dump()).unwrap())]);
    let mut client = node.client().await;
    let all = all_sorted(&mut client, "smallvec").await;
    assert_eq!(all.len(), 100);
    for (i, (key, value)) in all.iter().enumerate() {
        assert_eq!(*key, i as u64);
        assert_eq!(value, &vec![0xff; 20]);
    }
}

#[tokio::test]
async fn a_dump_at_sigterm_comes_back_after_restart_and_reads_as_documented() {
    let mut node = Node::start();
    let port = node.port;
    let mut client = node.client().await;
    for key in 0..2_000u64 {
        client.put("kept", key, format!("value {key}").as_bytes()).await.unwrap();
    }
    client.put("other", 7, b"x").await.unwrap();
    drop(client);
    let dir = node.keep_dir();
    assert!(node.terminate().success());
    // The file is the documented layout: version 0, hex keys, end marker, padding.
    let bytes = std::fs::read(dir.path().join("data/other.tcm")).unwrap();
    let mut expected = handmade_dump(&[(b"0000000000000007", b"x")]);
    expected.resize(512, 0);
    assert_eq!(bytes, expected);

    let node = restart(dir.path(), port);
    let mut client = node.client().await;
    let all = all_sorted(&mut client, "kept").await;
    assert_eq!(all.len(), 2_000);
    assert!(all.iter().all(|(k, v)| v == format!("value {k}").as_bytes()));
    assert_eq!(client.get("other", 7).await.unwrap(), Some(b"x".to_vec()));
}

#[tokio::test]
async fn a_truncated_dump_falls_back_to_its_backup_and_says_so() {
    let good = handmade_dump(&[(b"0000000000000001", b"from backup"), (b"0000000000000002", b"two")]);
    let mut truncated = handmade_dump(&[(b"0000000000000001", b"newer"), (b"0000000000000003", b"three")]);
    truncated.truncate(truncated.len() - 12);
    let node = Node::start_with_files(&[("data/ch.tcm", truncated), ("data/ch.tcm.backup", good)]);
    let mut client = node.client().await;
    assert_eq!(
        all_sorted(&mut client, "ch").await,
        vec![(1, b"from backup".to_vec()), (2, b"two".to_vec())]
    );
    node.wait_for_log("truncated");
}

#[tokio::test]
async fn damaged_files_are_logged_and_the_rest_still_loads() {
    let mut lying = 0u64.to_le_bytes().to_vec();
    lying.extend_from_slice(&16u64.to_le_bytes());
    lying.extend_from_slice(b"0000000000000001");
    lying.extend_from_slice(&(u64::MAX / 4).to_le_bytes());
    lying.extend_from_slice(b"not that long");
    let node = Node::start_with_files(&[
        ("data/version.tcm", 3u64.to_le_bytes().to_vec()),
        ("data/lying.tcm", lying),
        ("data/garbage.tcm", b"\x00\x00\x00\x00\x00\x00\x00\x00garbage!".to_vec()),
        ("data/good.tcm", handmade_dump(&[(b"00000000000000aa", b"fine")])),
        ("data/half.tcm.Xy12Ab.dumping", handmade_dump(&[(b"00000000000000bb", b"partial")])[..20].to_vec()),
    ]);
    let mut client = node.client().await;
    assert_eq!(client.get("good", 0xaa).await.unwrap(), Some(b"fine".to_vec()));
    assert_eq!(client.get_channel_size("half").await.unwrap().records, 0);
    let log = node.wait_for_log("unsupported dump file version 3");
    assert!(log.contains("lying.tcm"), "{log}");
    assert!(log.contains("garbage.tcm"), "{log}");
    assert!(log.contains("Unfinished dump file"), "{log}");
}

#[tokio::test]
async fn removed_channels_move_to_deleted_and_stay_gone() {
    let mut node = Node::start();
    let port = node.port;
    let mut client = node.client().await;
    client.put("doomed", 1, b"v").await.unwrap();
    client.put("kept", 1, b"v").await.unwrap();
    drop(client);
    let dir = node.keep_dir();
    assert!(node.terminate().success());
    let node = restart(dir.path(), port);
    let mut client = node.client().await;
    client.remove_channel("doomed").await.unwrap();
    drop(client);
    assert!(node.terminate().success());
    assert!(dir.path().join("data/deleted/doomed.tcm").exists());
    let node = restart(dir.path(), port);
    let mut client = node.client().await;
    assert_eq!(client.get_channels().await.unwrap(), vec!["kept"]);
}

#[tokio::test]
async fn kill_during_a_dump_leaves_the_previous_dump_loadable() {
    // A 100 MB channel, so that a dump takes a while, dumped every second.
    const RECORDS: u64 = 50_000;
    let value = vec![0x5a; 2_000];
    let keys: Vec<String> = (0..RECORDS).map(|k| format!("{k:016x}")).collect();
    let records: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (k.as_bytes(), value.as_slice())).collect();
    let dump = handmade_dump(&records);
    let mut node = Node::start_with_files_and_config(&[("data/big.tcm", dump)], |port| {
        config_ini(port, MEMORY, "\n[Dump]\nperiod_s = 1\n")
    });
    let port = node.port;
    // Kill -9 right after the second periodic dump of the channel started.
    node.wait_for_log_count("Dumping channel 'big'", 2);
    let dir = node.keep_dir();
    node.kill();
    let log = std::fs::read_to_string(dir.path().join("log/root.log")).unwrap();
    assert_eq!(log.matches("Finished dumping channel 'big'").count(), 1, "killed mid-dump:\n{log}");
    let node = restart(dir.path(), port);
    let mut client = node.client().await;
    assert_eq!(client.get_channel_size("big").await.unwrap().records, RECORDS);
    node.wait_for_log("Unfinished dump file found");
}

/// Starts a node owning the even keys (bit-reversed lower half) on a dump
/// holding keys 1 (odd) and 2 (even), with `allow_out_of_range = rule`.
fn start_ranged(rule: &str) -> Node {
    let dump = handmade_dump(&[(b"0000000000000001", b"odd"), (b"0000000000000002", b"even")]);
    let memory = format!("lock_memory = false\nallow_out_of_range = {rule}\nbatch_size = 65535");
    Node::start_with_files_and_config(&[("data/ranged.tcm", dump)], |port| {
        common::config_ini_with_range(port, (0, 0x7fff_ffff_ffff_ffff), &memory, "")
    })
}

#[tokio::test]
async fn out_of_range_records_follow_allow_out_of_range() {
    let node = start_ranged("load");
    assert_eq!(node.client().await.get_channel_size("ranged").await.unwrap().records, 2);
    let node = start_ranged("ignore");
    let mut client = node.client().await;
    assert_eq!(client.get("ranged", 1).await.unwrap(), None);
    assert_eq!(client.get("ranged", 2).await.unwrap(), Some(b"even".to_vec()));
    node.wait_for_log("Found 1 out-of-range keys");
}

#[test]
fn a_fatal_out_of_range_record_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    let dump = handmade_dump(&[(b"0000000000000002", b"even"), (b"0000000000000001", b"odd")]);
    std::fs::write(dir.path().join("data/ranged.tcm"), dump).unwrap();
    let memory = "lock_memory = false\nallow_out_of_range = fatal";
    let config = common::config_ini_with_range(common::free_port(), (0, 0x7fff_ffff_ffff_ffff), memory, "");
    std::fs::write(dir.path().join("etc/config.ini"), config).unwrap();
    let output = common::spawn(dir.path(), &["--config", "etc/config.ini"]).wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("0000000000000001") && stderr.contains("fatal"), "{stderr}");
}
