//! Every neo DHT request through the real binary with shoal's neo client:
//! record requests, Update, GetChannels, GetAll with suspend/resume/stop,
//! filters and continuation, Mirror, GetHashRange, many requests in flight
//! on one connection, and legacy and neo clients sharing channels.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{admin_credentials, config_ini_with_range, free_port, Node, MEMORY};
use shoal_protocol::client::neo::{GetAllEvent, GetAllStream, MirrorEvent, NeoClient};
use shoal_protocol::legacy::request::{RedistributeArgs, RedistributeTarget};
use shoal_protocol::neo::dht::get_all::GetAllArgs;
use shoal_protocol::neo::dht::get_hash_range::HashRangeUpdate;
use shoal_protocol::neo::dht::mirror::MirrorArgs;
use shoal_protocol::neo::dht::update::{value_hash, UpdateReply};
use shoal_protocol::neo::dht::Control;
use shoal_protocol::neo::{ExistsStatus, GetStatus, PutStatus, RemoveStatus};

fn start() -> Node {
    Node::start_with_files(&[admin_credentials()])
}

fn get_all_args(channel: &str) -> GetAllArgs<'_> {
    GetAllArgs { start_suspended: false, channel: channel.as_bytes(), continue_after: None, keys_only: false, value_filter: b"" }
}


/// Reads a GetAll to its end; returns the records in the order received.
async fn drain(stream: &mut GetAllStream) -> Vec<(u64, Vec<u8>)> {
    let mut records = Vec::new();
    while let Some(event) = stream.next().await.unwrap() {
        match event {
            GetAllEvent::Records(batch) => records.extend(batch),
            GetAllEvent::Ack => panic!("no control message was sent"),
        }
    }
    records
}

#[tokio::test]
async fn record_requests_and_update_behave_as_the_original() {
    let node = start();
    let neo = node.neo().await;
    assert_eq!(neo.put("ch", 1, b"one").await.unwrap(), PutStatus::Put);
    assert_eq!(neo.get("ch", 1).await.unwrap(), (GetStatus::Got, Some(b"one".to_vec())));
    assert_eq!(neo.get("ch", 2).await.unwrap(), (GetStatus::NoRecord, None));
    assert_eq!(neo.exists("ch", 1).await.unwrap(), ExistsStatus::RecordExists);
    assert_eq!(neo.get("bad name!", 1).await.unwrap(), (GetStatus::Error, None));

    // Update: read, then write back; a write based on a stale read conflicts.
    let pending = neo.update("ch", 1).await.unwrap().expect("record exists");
    assert_eq!(pending.value, b"one");
    let stale = neo.update("ch", 1).await.unwrap().expect("record exists");
    assert_eq!(pending.write(b"two").await.unwrap(), UpdateReply::Ok);
    assert_eq!(stale.write(b"lost").await.unwrap(), UpdateReply::UpdateConflict);
    assert_eq!(neo.get("ch", 1).await.unwrap().1.as_deref(), Some(&b"two"[..]));
    assert_eq!(neo.update_now("ch", 1, value_hash(b"two"), b"three").await.unwrap(), UpdateReply::Ok);
    assert_eq!(neo.update_now("ch", 1, value_hash(b"two"), b"four").await.unwrap(), UpdateReply::UpdateConflict);
    let pending = neo.update("ch", 1).await.unwrap().expect("record exists");
    assert_eq!(pending.leave().await.unwrap(), UpdateReply::Ok);
    let pending = neo.update("ch", 1).await.unwrap().expect("record exists");
    assert_eq!(pending.remove().await.unwrap(), UpdateReply::Ok);
    assert!(matches!(neo.update("ch", 1).await.unwrap(), Err(UpdateReply::NoRecord)));
    assert_eq!(neo.remove("ch", 1).await.unwrap(), RemoveStatus::NoRecord);

    neo.put("other", 5, b"x").await.unwrap();
    assert_eq!(neo.get_channels().await.unwrap(), vec!["ch", "other"]);
    neo.remove_channel("other").await.unwrap();
    assert_eq!(neo.get_channels().await.unwrap(), vec!["ch"]);
}

#[tokio::test]
async fn requests_outside_the_range_are_wrong_node() {
    let node = Node::start_with_files_and_config(&[admin_credentials()], |port| {
        // Only the even keys (bit-reversed range check).
        config_ini_with_range(port, (0, 0x7fff_ffff_ffff_ffff), MEMORY, "")
    });
    let neo = node.neo().await;
    assert_eq!(neo.put("ch", 3, b"odd").await.unwrap(), PutStatus::WrongNode);
    assert_eq!(neo.get("ch", 3).await.unwrap(), (GetStatus::WrongNode, None));
    assert_eq!(neo.update_now("ch", 3, 0, b"v").await.unwrap(), UpdateReply::WrongNode);
    assert_eq!(neo.put("ch", 4, b"even").await.unwrap(), PutStatus::Put);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_in_flight_on_one_connection_get_their_own_replies() {
    let node = start();
    let neo = Arc::new(node.neo().await);
    // A long-running request stays open on the same connection meanwhile.
    let mut watch = neo.get_hash_range().await.unwrap();
    assert_eq!(watch.current, (0, u64::MAX));
    let puts = (0..2_000u64).map(|key| {
        let neo = Arc::clone(&neo);
        tokio::spawn(async move { neo.put("many", key, format!("value {key}").as_bytes()).await.unwrap() })
    });
    for put in puts.collect::<Vec<_>>() {
        assert_eq!(put.await.unwrap(), PutStatus::Put);
    }
    let gets = (0..2_000u64).map(|key| {
        let neo = Arc::clone(&neo);
        tokio::spawn(async move { (key, neo.get("many", key).await.unwrap()) })
    });
    for get in gets.collect::<Vec<_>>() {
        let (key, (status, value)) = get.await.unwrap();
        assert_eq!(status, GetStatus::Got);
        assert_eq!(value.unwrap(), format!("value {key}").into_bytes());
    }
    // The watch is still alive and gets nothing it should not.
    assert!(tokio::time::timeout(Duration::from_millis(50), watch.next()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_all_of_a_large_channel_suspends_resumes_and_sees_every_record_once() {
    let node = start();
    // A small receive buffer (no autotuning), so what is in flight is
    // bounded by the node's queue, its send buffer and the client's queue:
    // a few MB, against 30 MB of records.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let socket = socket.connect(([127, 0, 0, 1], node.port + 100).into()).await.unwrap();
    let neo = NeoClient::over(socket, "admin", shoal_protocol::neo::Key([0; 128])).await.unwrap();
    let mut legacy = node.client().await;
    let owned: Vec<(u64, Vec<u8>)> = (0..30_000u64).map(|k| (k.wrapping_mul(0x9e37_79b9_7f4a_7c15), common::noise(1_000, k))).collect();
    let records: Vec<(u64, &[u8])> = owned.iter().map(|(k, v)| (*k, &v[..])).collect();
    let expected: BTreeMap<u64, Vec<u8>> = owned.iter().cloned().collect();
    for chunk in records.chunks(60) {
        legacy.put_batch("big", chunk, 65_535).await.unwrap();
    }

    let mut stream = neo.get_all(GetAllArgs { start_suspended: true, ..get_all_args("big") }).await.unwrap();
    // Started suspended: nothing comes until Resume.
    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err());
    stream.control(Control::Resume).await.unwrap();
    let mut seen = BTreeMap::new();
    let mut acks = 0;
    let mut suspended_once = false;
    while let Some(event) = stream.next().await.unwrap() {
        match event {
            GetAllEvent::Records(batch) => {
                for (key, v) in batch {
                    assert_eq!(expected.get(&key), Some(&v));
                    assert!(seen.insert(key, ()).is_none(), "key {key:x} sent twice");
                }
                if !suspended_once && seen.len() > 5_000 {
                    suspended_once = true;
                    stream.control(Control::Suspend).await.unwrap();
                    // Batches sent before the node saw Suspend may come first.
                    loop {
                        match stream.next().await.unwrap().expect("not finished") {
                            GetAllEvent::Ack => break,
                            GetAllEvent::Records(batch) => batch.into_iter().for_each(|(k, _)| assert!(seen.insert(k, ()).is_none())),
                        }
                    }
                    acks += 1;
                    let paused_at = seen.len();
                    assert!(tokio::time::timeout(Duration::from_millis(100), stream.next()).await.is_err(), "sent while suspended");
                    assert_eq!(seen.len(), paused_at);
                    stream.control(Control::Resume).await.unwrap();
                }
            }
            GetAllEvent::Ack => acks += 1,
        }
    }
    assert_eq!(acks, 3, "Resume at the start, then Suspend, then Resume");
    assert_eq!(seen.len(), 30_000);
}

#[tokio::test]
async fn get_all_filters_lists_keys_continues_and_stops() {
    let node = start();
    let neo = node.neo().await;
    for key in 0..500u64 {
        let value = if key % 5 == 0 { format!("needle {key}") } else { format!("hay {key}") };
        neo.put("f", key, value.as_bytes()).await.unwrap();
    }
    let filtered = drain(&mut neo.get_all(GetAllArgs { value_filter: b"needle", ..get_all_args("f") }).await.unwrap()).await;
    let mut keys: Vec<u64> = filtered.iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    assert_eq!(keys, (0..500).step_by(5).collect::<Vec<u64>>());

    let keys_only = drain(&mut neo.get_all(GetAllArgs { keys_only: true, ..get_all_args("f") }).await.unwrap()).await;
    assert_eq!(keys_only.len(), 500);
    assert!(keys_only.iter().all(|(_, v)| v.is_empty()));

    // A client that lost its connection after some records continues after
    // the last key it received and gets exactly the rest.
    let all = drain(&mut neo.get_all(get_all_args("f")).await.unwrap()).await;
    let cut = 123;
    let rest = drain(&mut neo.get_all(GetAllArgs { continue_after: Some(all[cut].0), ..get_all_args("f") }).await.unwrap()).await;
    assert_eq!(rest, all[cut + 1..]);

    // Stop ends the request cleanly; the connection carries on.
    let stream = neo.get_all(GetAllArgs { start_suspended: true, ..get_all_args("f") }).await.unwrap();
    stream.control(Control::Stop).await.unwrap();
    assert_eq!(neo.exists("f", 1).await.unwrap(), ExistsStatus::RecordExists);
    // A missing channel is created and is empty.
    assert!(drain(&mut neo.get_all(get_all_args("nothing")).await.unwrap()).await.is_empty());
}

#[tokio::test]
async fn mirror_sends_the_refresh_then_every_later_put_and_remove() {
    let node = start();
    let neo = node.neo().await;
    let writer = node.neo().await;
    let mut legacy = node.client().await;
    for key in 0..3u64 {
        neo.put("m", key, b"before").await.unwrap();
    }
    let args = MirrorArgs { start_suspended: false, channel: b"m", initial_refresh: true, periodic_refresh_s: 0 };
    let mut mirror = neo.mirror(args).await.unwrap();
    let mut refreshed = BTreeMap::new();
    while refreshed.len() < 3 {
        match mirror.next().await.unwrap().expect("running") {
            MirrorEvent::Refreshed(records) => refreshed.extend(records),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(refreshed, (0..3u64).map(|k| (k, b"before".to_vec())).collect());

    writer.put("m", 10, b"neo put").await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Changed(10, b"neo put".to_vec())));
    legacy.put("m", 11, b"legacy put").await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Changed(11, b"legacy put".to_vec())));
    writer.remove("m", 10).await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Deleted(10)));
    legacy.remove("m", 11).await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Deleted(11)));

    // Suspended, changes wait; resumed, they arrive.
    mirror.control(Control::Suspend).await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Ack));
    writer.put("m", 12, b"while suspended").await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(100), mirror.next()).await.is_err());
    mirror.control(Control::Resume).await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Ack));
    assert_eq!(mirror.next().await.unwrap(), Some(MirrorEvent::Changed(12, b"while suspended".to_vec())));

    // Removing the channel ends the Mirror.
    writer.remove_channel("m").await.unwrap();
    assert_eq!(mirror.next().await.unwrap(), None);
}

#[tokio::test]
async fn mirror_refreshes_periodically() {
    let node = start();
    let neo = node.neo().await;
    neo.put("p", 1, b"one").await.unwrap();
    let args = MirrorArgs { start_suspended: false, channel: b"p", initial_refresh: false, periodic_refresh_s: 1 };
    let mut mirror = neo.mirror(args).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), mirror.next()).await.expect("a refresh within the period");
    assert_eq!(first.unwrap(), Some(MirrorEvent::Refreshed(vec![(1, b"one".to_vec())])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_hash_range_reports_redistributions() {
    let node = start();
    let target_port = free_port();
    let neo = node.neo().await;
    let mut watch = neo.get_hash_range().await.unwrap();
    assert_eq!(watch.current, (0, u64::MAX));
    // Hand the odd keys to a target that does not hold any records: the
    // channel is empty, so nothing needs to be sent to it.
    let lower = (0, 0x7fff_ffff_ffff_ffff);
    let target = RedistributeTarget { address: "127.0.0.1".into(), port: target_port, min: 0x8000_0000_0000_0000, max: u64::MAX };
    node.client().await.redistribute(RedistributeArgs { min: lower.0, max: lower.1, targets: vec![target] }).await.unwrap();
    assert_eq!(watch.next().await.unwrap(), HashRangeUpdate::ChangeHashRange { min: lower.0, max: lower.1 });
    let expected_addr = std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, target_port + 100);
    assert_eq!(
        watch.next().await.unwrap(),
        HashRangeUpdate::NewNode { addr: expected_addr, min: 0x8000_0000_0000_0000, max: u64::MAX }
    );
    // A new GetHashRange starts from the new range.
    assert_eq!(neo.get_hash_range().await.unwrap().current, lower);
}

#[tokio::test]
async fn a_neo_client_refused_by_credentials_reaches_no_request() {
    let node = start();
    let refused = NeoClient::connect(("127.0.0.1", node.port + 100), "admin", shoal_protocol::neo::Key([9; 128])).await;
    assert!(refused.is_err());
    assert!(node.neo().await.get_channels().await.unwrap().is_empty());
}
