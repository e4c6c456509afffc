//! Replication through real dhtnode processes in a ring: writes coordinated
//! by any member reach n replicas; a member killed under a write load is
//! removed and its keys re-replicated; a member that leaves on SIGTERM hands
//! its keys over; a new member pulls its share without a manual balance and
//! purge leaves every key on exactly its n owners; a member that missed a
//! join converges; replayed admin messages are refused.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::ring::{local_copy, member, member_with, ring_status, shoal, wait_for_agreement, wait_for_status, KEY};
use common::{free_port, send_signal, Node};
use shoal_cluster::message::{seal, PeerMessage};
use shoal_cluster::ring::{HashRing, DEFAULT_VIRTUAL_NODES};
use shoal_protocol::client::legacy::LegacyClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHANNEL: &str = "replicated";

/// A key spread like a swarm hash.
fn key(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(23) ^ 0x0123_4567_89ab_cdef
}

fn value(i: u64) -> Vec<u8> {
    format!("value of record {i}").into_bytes()
}

/// Starts `count` members, the first the seed of the others, and waits
/// until they agree; returns them with their peer ports.
async fn ring_of(count: usize, extra: &str) -> (Vec<Node>, Vec<u16>) {
    let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
    let nodes: Vec<Node> =
        ports.iter().enumerate().map(|(i, &port)| member_with(port, (i > 0).then_some(ports[0]), extra)).collect();
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), count).await;
    (nodes, ports)
}

/// How many of the members on `ports` hold `value` for `key` themselves.
async fn copies(ports: &[u16], key: u64, value: &[u8]) -> usize {
    let mut held = 0;
    for &port in ports {
        if local_copy(port, CHANNEL, key).await.value.as_deref() == Some(value) {
            held += 1;
        }
    }
    held
}

/// The placement the members compute for a view of `ports`.
fn placement(ports: &[u16]) -> HashRing {
    let mut ring = HashRing::new(DEFAULT_VIRTUAL_NODES);
    ports.iter().for_each(|port| ring.add(&format!("127.0.0.1:{port}")));
    ring
}

/// Writes `count` records through the legacy port of `node`.
async fn write_records(node: &Node, count: u64) {
    let mut client = node.client().await;
    for i in 0..count {
        client.put(CHANNEL, key(i), &value(i)).await.expect("put acknowledged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_under_load_is_removed_and_every_acknowledged_write_keeps_three_copies() {
    let (mut nodes, ports) = ring_of(5, "").await;
    let victim = nodes.pop().expect("five members");
    let victim_name = format!("127.0.0.1:{}", ports[4]);
    let survivors = &ports[..4];

    // Writers through the four survivors, recording what was acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, node) in nodes.iter().enumerate() {
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        let mut client = LegacyClient::connect(("127.0.0.1", node.port)).await.unwrap();
        writers.push(tokio::spawn(async move {
            let mut i = w as u64;
            while !stop.load(Ordering::Relaxed) {
                // A write whose replica is dead but not yet down is refused
                // (500): it is not acknowledged, and not counted.
                if client.put(CHANNEL, key(i), &value(i)).await.is_ok() {
                    acknowledged.lock().unwrap().push(i);
                }
                i += 4;
            }
        }));
    }
    let acked = || acknowledged.lock().unwrap().len();
    while acked() < 400 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    victim.kill();
    wait_for_status(&nodes[0], |s| s.contains(&format!("{victim_name} down"))).await;
    let before = acked();
    while acked() < before + 400 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }

    let (code, output) = shoal(nodes[1].dir(), ports[1], &["remove", &victim_name]);
    assert_eq!(code, Some(0), "{output}");
    let (code, output) = shoal(nodes[1].dir(), ports[1], &["balance"]);
    assert_eq!(code, Some(0), "{output}");
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), 4).await;

    let ring = placement(survivors);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let mut readers = Vec::new();
    for node in &nodes {
        readers.push(node.client().await);
    }
    for (n, &i) in acknowledged.iter().enumerate() {
        let got = readers[n % 4].get(CHANNEL, key(i)).await.unwrap();
        assert_eq!(got.as_deref(), Some(&value(i)[..]), "record {i} lost");
        assert_eq!(copies(survivors, key(i), &value(i)).await, 3, "record {i} has not three copies");
        for owner in ring.replicas(key(i), 3) {
            let port: u16 = owner.rsplit(':').next().unwrap().parse().unwrap();
            assert_eq!(local_copy(port, CHANNEL, key(i)).await.value, Some(value(i)), "owner {owner} lacks {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neo_requests_on_any_member_are_coordinated_too() {
    use shoal_protocol::neo::{ExistsStatus, GetStatus, PutStatus, RemoveStatus};
    let (nodes, ports) = ring_of(4, "").await;
    let (writer, reader) = (nodes[0].neo().await, nodes[2].neo().await);
    for i in 0..100 {
        assert_eq!(writer.put(CHANNEL, key(i), &value(i)).await.unwrap(), PutStatus::Put);
    }
    let mut legacy = nodes[3].client().await;
    for i in 0..100 {
        assert_eq!(reader.get(CHANNEL, key(i)).await.unwrap(), (GetStatus::Got, Some(value(i))), "record {i}");
        assert_eq!(legacy.get(CHANNEL, key(i)).await.unwrap(), Some(value(i)), "record {i} through legacy");
        assert_eq!(copies(&ports, key(i), &value(i)).await, 3, "record {i}");
    }
    assert_eq!(reader.remove(CHANNEL, key(0)).await.unwrap(), RemoveStatus::Removed);
    assert_eq!(writer.exists(CHANNEL, key(0)).await.unwrap(), ExistsStatus::NoRecord);
    assert_eq!(writer.remove(CHANNEL, key(0)).await.unwrap(), RemoveStatus::NoRecord);
    assert_eq!(reader.get(CHANNEL, key(0)).await.unwrap(), (GetStatus::NoRecord, None));
    assert_eq!(copies(&ports, key(0), &value(0)).await, 0, "the removal reached every replica");
    assert_eq!(writer.exists(CHANNEL, key(1)).await.unwrap(), ExistsStatus::RecordExists);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_report_their_configured_range_and_serve_every_key() {
    // The operator's old partition stays what clients see (so their node
    // lists keep working); every key is still served by every member.
    let halves = [(0, u64::MAX / 2), (u64::MAX / 2 + 1, u64::MAX)];
    let peers = [free_port(), free_port()];
    let nodes: Vec<Node> = (0..2)
        .map(|i| {
            let files = [("etc/cluster.key", KEY.as_bytes().to_vec())];
            let ring = common::ring::ring_section(peers[i], (i > 0).then_some(peers[0]), "");
            Node::start_with_files_and_config(&files, |port| common::config_ini_with_range(port, halves[i], common::MEMORY, &ring))
        })
        .collect();
    wait_for_agreement(&[&nodes[0], &nodes[1]], 2).await;
    for (node, range) in nodes.iter().zip(halves) {
        let mut client = node.client().await;
        assert_eq!(client.get_responsible_range().await.unwrap(), range);
        for i in 0..20 {
            client.put(CHANNEL, key(i), &value(i)).await.expect("any key, whatever the range");
        }
    }
    let mut client = nodes[0].client().await;
    for i in 0..20 {
        assert_eq!(client.get(CHANNEL, key(i)).await.unwrap(), Some(value(i)));
        assert_eq!(copies(&peers, key(i), &value(i)).await, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_all_through_any_member_returns_the_whole_ring_once() {
    let (nodes, _) = ring_of(4, "replicas = 2\n").await;
    write_records(&nodes[0], 300).await;
    let mut client = nodes[3].client().await;
    let mut records = client.get_all(CHANNEL).await.unwrap();
    records.sort_unstable();
    let mut expected: Vec<(u64, Vec<u8>)> = (0..300).map(|i| (key(i), value(i))).collect();
    expected.sort_unstable();
    assert_eq!(records, expected, "every record once, whatever member holds it");
    let mut keys = client.get_all_keys(CHANNEL).await.unwrap();
    keys.sort_unstable();
    assert_eq!(keys, expected.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    // A channel held by two of the four members is listed by every one.
    nodes[0].client().await.put("lonely", key(1), b"one record").await.unwrap();
    for node in &nodes {
        let names = node.client().await.get_channels().await.unwrap();
        assert!(names.contains(&"lonely".to_string()) && names.contains(&CHANNEL.to_string()), "{names:?}");
    }
    let filtered = client.get_all_filter(CHANNEL, b"record 12").await.unwrap();
    let mut found: Vec<u64> = filtered.iter().map(|(key, _)| *key).collect();
    found.sort_unstable();
    let mut wanted: Vec<u64> = (0..300).filter(|i| format!("{i}").starts_with("12")).map(key).collect();
    wanted.sort_unstable();
    assert_eq!(found, wanted);
    // Sizes: each member reports its share, so the sum over the members (as
    // the legacy client adds them up) counts every record once, not twice.
    let (mut channel_records, mut all_records, mut shares) = (0, 0, Vec::new());
    for node in &nodes {
        let mut client = node.client().await;
        let share = client.get_channel_size(CHANNEL).await.unwrap().records;
        shares.push(share);
        channel_records += share;
        all_records += client.get_size().await.unwrap().records;
    }
    assert_eq!(channel_records, 300, "{shares:?}");
    assert_eq!(all_records, 301, "the lonely record once too");
    assert!(shares.iter().all(|&share| share < 300), "shared out: {shares:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neo_get_all_through_any_member_returns_the_whole_ring_and_continues_after_a_key() {
    use shoal_protocol::client::neo::{GetAllEvent, GetAllStream};
    use shoal_protocol::neo::dht::get_all::GetAllArgs;
    async fn drain(stream: &mut GetAllStream) -> Vec<(u64, Vec<u8>)> {
        let mut records = Vec::new();
        while let Some(event) = stream.next().await.unwrap() {
            if let GetAllEvent::Records(batch) = event {
                records.extend(batch);
            }
        }
        records
    }
    let (nodes, _) = ring_of(4, "replicas = 2\n").await;
    // Large enough values for several batches.
    let big = |i: u64| format!("{i:>2000}").into_bytes();
    let mut writer = nodes[0].client().await;
    for i in 0..300 {
        writer.put(CHANNEL, key(i), &big(i)).await.unwrap();
    }
    let neo = nodes[2].neo().await;
    assert_eq!(neo.get_channels().await.unwrap(), vec![CHANNEL.to_string()], "every member's channels");
    let args = GetAllArgs { start_suspended: false, channel: CHANNEL.as_bytes(), continue_after: None, keys_only: false, value_filter: b"" };
    let all = drain(&mut neo.get_all(args).await.unwrap()).await;
    let mut sorted = all.clone();
    sorted.sort_unstable();
    let mut expected: Vec<(u64, Vec<u8>)> = (0..300).map(|i| (key(i), big(i))).collect();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "every record once");
    for cut in [0, 77, 298] {
        let rest = drain(&mut neo.get_all(GetAllArgs { continue_after: Some(all[cut].0), ..args }).await.unwrap()).await;
        assert_eq!(rest, all[cut + 1..], "continued after record #{cut}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_and_mirror_on_any_member_see_every_write_of_the_ring() {
    use shoal_protocol::client::neo::MirrorEvent;
    use shoal_protocol::neo::dht::mirror::MirrorArgs;
    let (nodes, ports) = ring_of(4, "replicas = 2\n").await;
    let mut listen = nodes[3].client().await.listen(CHANNEL).await.unwrap();
    let neo = nodes[3].neo().await;
    let args = MirrorArgs { start_suspended: false, channel: CHANNEL.as_bytes(), initial_refresh: false, periodic_refresh_s: 0 };
    let mut mirror = neo.mirror(args).await.unwrap();
    let ring = placement(&ports);
    let listener = format!("127.0.0.1:{}", ports[3]);
    // Written through another member; most of these keys are not held by
    // the listening member.
    write_records(&nodes[0], 60).await;
    assert!((0..60).filter(|&i| !ring.holds(&listener, key(i), 2)).count() > 10);
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 60 {
        let (key, value) = tokio::time::timeout(Duration::from_secs(20), listen.next()).await.expect("a change").unwrap().unwrap();
        seen.insert(key, value);
    }
    let expected: std::collections::BTreeMap<u64, Vec<u8>> = (0..60).map(|i| (key(i), value(i))).collect();
    assert_eq!(seen, expected);

    let mut mirrored = std::collections::BTreeMap::new();
    while mirrored.len() < 60 {
        match tokio::time::timeout(Duration::from_secs(20), mirror.next()).await.expect("a change").unwrap() {
            Some(MirrorEvent::Changed(key, value)) => drop(mirrored.insert(key, value)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(mirrored, expected, "Mirror sees every write too");
    let far = (0..60).find(|&i| !ring.holds(&listener, key(i), 2)).expect("a key the member does not hold");
    nodes[0].client().await.remove(CHANNEL, key(far)).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), mirror.next()).await.expect("the removal").unwrap() {
            Some(MirrorEvent::Deleted(deleted)) => break assert_eq!(deleted, key(far)),
            Some(MirrorEvent::Changed(..)) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }

    // A refresh through the member sends the whole ring's records.
    let mut refreshing = neo.mirror(MirrorArgs { initial_refresh: true, ..args }).await.unwrap();
    let mut refreshed = std::collections::BTreeMap::new();
    while refreshed.len() < 59 {
        match tokio::time::timeout(Duration::from_secs(20), refreshing.next()).await.expect("a refresh").unwrap() {
            Some(MirrorEvent::Refreshed(batch)) => refreshed.extend(batch),
            other => panic!("unexpected {other:?}"),
        }
    }
    let mut remaining = expected.clone();
    remaining.remove(&key(far));
    assert_eq!(refreshed, remaining);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_needs_its_write_acks_even_with_a_member_down() {
    let (mut nodes, ports) = ring_of(3, "write_acks = 3\n[STATS]\ninterval = 1\n").await;
    let mut client = nodes[0].client().await;
    client.put(CHANNEL, key(1), &value(1)).await.expect("three live replicas");
    nodes.pop().expect("three members").kill();
    wait_for_status(&nodes[0], |s| s.contains(&format!("127.0.0.1:{} down", ports[2]))).await;
    assert!(client.put(CHANNEL, key(2), &value(2)).await.is_err(), "two copies are not the three configured");
    nodes[0].wait_for_log("2 of 3 replicas");
    // stats.log counts it, with the view as this member sees it.
    let stats = nodes[0].dir().join("log/stats.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let line = loop {
        let text = std::fs::read_to_string(&stats).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(" ring/failed:1 ")) {
            break line.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no failure counted: {}", text.lines().last().unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for field in [" ring/replicas:3 ", " ring/members_alive:2 ", " ring/members_down:1 ", " ring/coordinated:"] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert_eq!(client.get(CHANNEL, key(1)).await.unwrap(), Some(value(1)), "reads go on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removals_are_remembered_for_their_time_to_live_then_forgotten() {
    let (nodes, ports) = ring_of(2, "tombstone_ttl_s = 1\n").await;
    let mut client = nodes[0].client().await;
    client.put(CHANNEL, key(7), &value(7)).await.unwrap();
    client.remove(CHANNEL, key(7)).await.unwrap();
    let tombstone = local_copy(ports[1], CHANNEL, key(7)).await;
    assert!(tombstone.stamp > 0 && tombstone.value.is_none(), "{tombstone:?}");
    nodes[1].wait_for_log("forgot 1 removals");
    assert_eq!(local_copy(ports[1], CHANNEL, key(7)).await.stamp, 0, "the tombstone is gone");
    assert_eq!(client.get(CHANNEL, key(7)).await.unwrap(), None, "and the record stays removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_leaving_on_sigterm_hands_over_every_record() {
    let (mut nodes, ports) = ring_of(4, "").await;
    write_records(&nodes[0], 600).await;
    let leaving = nodes.pop().expect("four members");
    assert!(leaving.terminate().success());
    let remaining = &ports[..3];
    wait_for_agreement(&nodes.iter().collect::<Vec<_>>(), 3).await;
    // Three members, n = 3: each must now hold every record, including
    // those that had a copy on the leaving member and only two elsewhere.
    for i in 0..600 {
        assert_eq!(copies(remaining, key(i), &value(i)).await, 3, "record {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_pulls_its_share_and_purge_leaves_exactly_n_copies() {
    let (mut nodes, mut ports) = ring_of(3, "replicas = 2\n").await;
    write_records(&nodes[1], 600).await;
    let port = free_port();
    nodes.push(member_with(port, Some(ports[0]), "replicas = 2\n"));
    ports.push(port);
    nodes[3].wait_for_log("pulled");
    let ring = placement(&ports);
    let newcomer = format!("127.0.0.1:{port}");
    let mut owned = 0;
    for i in 0..600 {
        if ring.holds(&newcomer, key(i), 2) {
            owned += 1;
            assert_eq!(local_copy(port, CHANNEL, key(i)).await.value, Some(value(i)), "record {i} not pulled");
        }
    }
    assert!(owned > 100, "the newcomer owns a share: {owned}");
    let mut client = nodes[3].client().await;
    for i in 0..600 {
        assert_eq!(client.get(CHANNEL, key(i)).await.unwrap(), Some(value(i)), "record {i} through the newcomer");
    }

    for (node, &peer) in nodes.iter().zip(&ports) {
        let (code, output) = shoal(node.dir(), peer, &["purge"]);
        assert_eq!(code, Some(0), "{output}");
    }
    for i in 0..600 {
        assert_eq!(copies(&ports, key(i), &value(i)).await, 2, "record {i}");
        for owner in ring.replicas(key(i), 2) {
            let owner_port: u16 = owner.rsplit(':').next().unwrap().parse().unwrap();
            assert!(local_copy(owner_port, CHANNEL, key(i)).await.value.is_some(), "{owner} lost {i}");
        }
    }

    // A runtime change of n is followed by a balance.
    let (code, output) = shoal(nodes[0].dir(), ports[0], &["set-replicas", "3"]);
    assert_eq!(code, Some(0), "{output}");
    for node in &nodes {
        wait_for_status(node, |s| s.starts_with("epoch ") && s.lines().next().unwrap().ends_with("replicas 3")).await;
    }
    for i in 0..600 {
        assert_eq!(copies(&ports, key(i), &value(i)).await, 3, "record {i} after n = 3");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarted_in_place_is_written_to_again_at_once() {
    let (mut nodes, ports) = ring_of(2, "").await;
    // One client connection, so one worker thread and its link to the member.
    let mut client = nodes[0].client().await;
    client.put(CHANNEL, key(99), &value(99)).await.expect("the link to the member is open");
    let mut restarted = nodes.pop().expect("two members");
    let (dir, port) = (restarted.keep_dir(), restarted.port);
    restarted.kill();
    let restarted = Node::start_in(dir.path(), port);
    wait_for_agreement(&[&nodes[0], &restarted], 2).await;
    // The first write after the restart finds the old connection broken and
    // goes out again on a new one: acknowledged, and stored on both.
    client.put(CHANNEL, key(100), &value(100)).await.expect("acknowledged by both members");
    assert_eq!(copies(&ports, key(100), &value(100)).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_missed_a_join_converges_without_a_restart() {
    let (nodes, ports) = ring_of(2, "").await;
    send_signal(nodes[1].pid(), nix::sys::signal::Signal::SIGSTOP);
    let port = free_port();
    let newcomer = member(port, Some(ports[0]));
    wait_for_status(&nodes[0], |s| s.contains(&format!("127.0.0.1:{port} alive"))).await;
    send_signal(nodes[1].pid(), nix::sys::signal::Signal::SIGCONT);
    wait_for_agreement(&[&nodes[0], &nodes[1], &newcomer], 3).await;
    assert!(ring_status(&nodes[1]).await.contains(&format!("127.0.0.1:{port} alive")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_joins_a_lone_member_to_a_ring_and_it_pulls_its_share() {
    let (seed, lone) = (free_port(), free_port());
    let a = member(seed, None);
    write_records(&a, 200).await;
    let b = member(lone, None);
    let (code, output) = shoal(b.dir(), lone, &["join", &format!("127.0.0.1:{seed}")]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("200 records pulled"), "{output}");
    wait_for_agreement(&[&a, &b], 2).await;
    for i in 0..200 {
        assert_eq!(local_copy(lone, CHANNEL, key(i)).await.value, Some(value(i)), "record {i}");
    }
    let (code, output) = shoal(b.dir(), lone, &["join", "127.0.0.1:1"]);
    assert_eq!(code, Some(3), "an unreachable seed is refused: {output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_forged_admin_messages_are_refused() {
    let (nodes, ports) = ring_of(2, "").await;
    write_records(&nodes[0], 50).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let sealed = seal(KEY.as_bytes(), &PeerMessage::SetReplicas { replicas: 1 }, now, 42);
    let frame = [(sealed.len() as u32).to_le_bytes().to_vec(), sealed].concat();
    let seed = ports[0];
    let send = |frame: Vec<u8>| async move {
        let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", seed)).await.unwrap();
        socket.write_all(&frame).await.unwrap();
        socket.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer).await;
        answer
    };
    assert!(!send(frame.clone()).await.is_empty(), "the first copy is answered");
    wait_for_status(&nodes[1], |s| s.lines().next().unwrap().ends_with("replicas 1")).await;
    assert!(send(frame).await.is_empty(), "a replay gets no answer");
    nodes[0].wait_for_log("replayed peer frame");

    let forged = seal(b"not the cluster key at all", &PeerMessage::Purge, now, 43);
    assert!(send([(forged.len() as u32).to_le_bytes().to_vec(), forged].concat()).await.is_empty());
    nodes[0].wait_for_log("not authenticated");
    assert_eq!(shoal(nodes[0].dir(), ports[0], &["remove", "127.0.0.1:1"]).0, Some(3), "an unknown member");
    for i in 0..50 {
        assert_eq!(local_copy(ports[0], CHANNEL, key(i)).await.value, Some(value(i)), "nothing lost");
    }
}
