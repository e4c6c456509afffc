//! The dmq storage against the files the original dmqnode wrote
//! (tests/vectors/original-dmqnode, from its integrationtest/loadfiles),
//! plus restart, damage and model-based tests.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use shoal_storage::dmq::overflow::{self, Overflow, OverflowProblem};
use shoal_storage::dmq::rq;
use shoal_storage::dmq::size::ChannelSizes;
use shoal_storage::dmq::store::{DmqStore, Popped, StartupProblem};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/original-dmqnode")
}

/// A writable copy of the vector directory.
fn vector_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(vectors()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e != "md") {
            fs::write(
                dir.path().join(path.file_name().unwrap()),
                fs::read(&path).unwrap(),
            )
            .unwrap();
        }
    }
    dir
}

fn sizes() -> ChannelSizes {
    // integrationtest/loadfiles/etc/config.ini
    ChannelSizes::new(100_000).unwrap()
}

fn drain_subscriber(store: &mut DmqStore, channel: &str, subscriber: &str) -> Vec<String> {
    std::iter::from_fn(|| store.pop_subscriber(channel, subscriber).unwrap())
        .map(|r| String::from_utf8(r).unwrap())
        .collect()
}

fn drain(store: &mut DmqStore, channel: &str) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match store.pop(channel).unwrap() {
            Popped::Record(r) => out.push(String::from_utf8(r).unwrap()),
            Popped::Empty => return out,
            other => panic!("{channel}: {other:?}"),
        }
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn every_rq_vector_holds_one_hello_record() {
    for (file, record) in [
        ("@ch1.rq", "Hello ch1!"),
        ("sub1@ch1.rq", "Hello ch1!"),
        ("sub2@ch1.rq", "Hello ch1!"),
        ("ch2.rq", "Hello ch2!"),
        ("@ch3.rq", "Hello ch3!"),
    ] {
        let contents = rq::read_file(&vectors().join(file)).unwrap();
        assert_eq!(contents.damage, None, "{file}");
        assert_eq!(contents.records, vec![record.as_bytes().to_vec()], "{file}");
    }
}

#[test]
fn overflow_vector_has_one_record_per_indexed_channel() {
    let dir = vector_copy();
    let (mut overflow, problems) = Overflow::open(dir.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let names: Vec<&str> = overflow.names().collect();
    assert_eq!(
        names,
        ["@ch1", "@ch5", "ch2", "ch4", "sub1@ch1", "sub1@ch3", "sub2@ch1"]
    );
    assert_eq!((overflow.total_records(), overflow.total_bytes()), (7, 70));
    for (name, record) in [
        ("@ch1", "Hello ch1!"),
        ("sub1@ch1", "Hello ch1!"),
        ("sub2@ch1", "Hello ch1!"),
        ("ch2", "Hello ch2!"),
        ("sub1@ch3", "Hello ch3!"),
        ("ch4", "Hello ch4!"),
        ("@ch5", "Hello ch5!"),
    ] {
        assert_eq!(
            overflow.pop(name).unwrap(),
            Some(record.as_bytes().to_vec()),
            "{name}"
        );
        assert_eq!(overflow.pop(name).unwrap(), None, "{name}");
    }
    assert_eq!(
        fs::metadata(dir.path().join(overflow::DATA_FILE))
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn start_up_rebuilds_the_loadfiles_channels() {
    let dir = vector_copy();
    let (mut store, problems) = DmqStore::open(dir.path(), sizes()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        store.channel_names().collect::<Vec<_>>(),
        ["ch1", "ch2", "ch3", "ch4", "ch5"]
    );
    assert_eq!(
        file_names(dir.path()),
        ["ofchannels.csv", "overflow.dat"],
        "loaded .rq files are deleted"
    );
    let mut storages: Vec<String> = store.storage_stats().into_iter().map(|s| s.name).collect();
    storages.sort();
    assert_eq!(
        storages,
        ["@ch1", "@ch3", "@ch5", "ch2", "ch4", "sub1@ch1", "sub1@ch3", "sub2@ch1"]
    );
    assert_eq!(store.pop("ch1").unwrap(), Popped::Subscribed);
    assert_eq!(store.pop("ch9").unwrap(), Popped::NoChannel);
    assert_eq!(
        store.channel_size("ch1"),
        (6, 3 * 18 + 3 * 10),
        "ring bytes count headers, overflow bytes do not"
    );
    for sub in ["", "sub1", "sub2"] {
        assert_eq!(
            drain_subscriber(&mut store, "ch1", sub),
            ["Hello ch1!"; 2],
            "ch1 subscriber '{sub}'"
        );
    }
    assert_eq!(drain(&mut store, "ch2"), ["Hello ch2!"; 2]);
    for sub in ["", "sub1"] {
        assert_eq!(
            drain_subscriber(&mut store, "ch3", sub),
            ["Hello ch3!"],
            "ch3 subscriber '{sub}'"
        );
    }
    assert_eq!(drain(&mut store, "ch4"), ["Hello ch4!"]);
    assert_eq!(drain_subscriber(&mut store, "ch5", ""), ["Hello ch5!"]);
    store.shutdown().unwrap();
    assert!(
        file_names(dir.path()).is_empty(),
        "empty overflow files are deleted, empty rings not saved"
    );
}

#[test]
fn shutdown_and_restart_keep_every_record() {
    let dir = vector_copy();
    let (mut store, _) = DmqStore::open(dir.path(), ChannelSizes::new(25).unwrap()).unwrap();
    store.push("ch1", b"more").unwrap();
    store.push("new", b"n1").unwrap();
    store.push("new", b"n2").unwrap();
    store.push("new", b"n3").unwrap(); // a ring of 25 bytes holds two: spills
    store.shutdown().unwrap();
    let files = file_names(dir.path());
    assert!(
        files.contains(&"new.rq".to_owned()) && files.contains(&"sub2@ch1.rq".to_owned()),
        "{files:?}"
    );

    let (mut store, problems) = DmqStore::open(dir.path(), ChannelSizes::new(25).unwrap()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(drain(&mut store, "new"), ["n1", "n2", "n3"]);
    assert_eq!(
        drain_subscriber(&mut store, "ch1", "sub2"),
        ["Hello ch1!", "Hello ch1!", "more"]
    );
    assert_eq!(drain(&mut store, "ch2"), ["Hello ch2!"; 2]);
}

#[test]
fn committed_overflow_survives_a_kill_without_losing_or_repeating() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = DmqStore::open(dir.path(), ChannelSizes::new(20).unwrap()).unwrap();
    for i in 0..10 {
        store.push("q", format!("r{i}").as_bytes()).unwrap();
    }
    store.commit_index().unwrap();
    // After the commit: 3 pops (r0 r1 from the ring, r2 from disk) and 2
    // pushes, then the process dies (the store is dropped unsaved, the ring
    // is lost as in the original).
    for i in 0..3 {
        assert_eq!(
            store.pop("q").unwrap(),
            Popped::Record(format!("r{i}").into_bytes())
        );
    }
    store.push("q", b"r10").unwrap();
    store.push("q", b"r11").unwrap();
    drop(store);

    let (mut store, problems) = DmqStore::open(dir.path(), ChannelSizes::new(20).unwrap()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let expected: Vec<String> = (3..12).map(|i| format!("r{i}")).collect();
    assert_eq!(drain(&mut store, "q"), expected);
}

#[test]
fn index_of_the_original_written_before_more_pushes_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
    overflow.push("a", b"1").unwrap(); // commits: a new chain
    let index = fs::read(dir.path().join(overflow::INDEX_FILE)).unwrap();
    overflow.push("a", b"2").unwrap();
    overflow.push("b", b"x").unwrap();
    overflow.push("a", b"3").unwrap();
    drop(overflow);
    fs::write(dir.path().join(overflow::INDEX_FILE), index).unwrap();
    let (mut overflow, problems) = Overflow::open(dir.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        overflow.names().collect::<Vec<_>>(),
        ["a"],
        "b was never committed under this index"
    );
    let popped: Vec<Vec<u8>> = std::iter::from_fn(|| overflow.pop("a").unwrap()).collect();
    assert_eq!(popped, [b"1", b"2", b"3"]);
}

#[test]
fn truncated_overflow_keeps_the_records_before_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
    for i in 0..5u8 {
        overflow.push("a", &[i; 10]).unwrap();
        overflow.push("b", &[100 + i; 10]).unwrap();
    }
    overflow.close().unwrap();
    let data = dir.path().join(overflow::DATA_FILE);
    let len = fs::metadata(&data).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&data)
        .unwrap()
        .set_len(len - 5)
        .unwrap();

    let (mut overflow, problems) = Overflow::open(dir.path()).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let OverflowProblem::Chain { name, kept, .. } = &problems[0] else {
        panic!("{problems:?}")
    };
    assert_eq!((name.as_str(), *kept), ("b", 4));
    assert!(
        problems[0]
            .to_string()
            .contains("ends past the end of the file"),
        "{}",
        problems[0]
    );
    let a: Vec<Vec<u8>> = std::iter::from_fn(|| overflow.pop("a").unwrap()).collect();
    let b: Vec<Vec<u8>> = std::iter::from_fn(|| overflow.pop("b").unwrap()).collect();
    assert_eq!(a, (0..5u8).map(|i| vec![i; 10]).collect::<Vec<_>>());
    assert_eq!(b, (0..4u8).map(|i| vec![100 + i; 10]).collect::<Vec<_>>());
}

#[test]
fn data_file_without_magic_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(overflow::DATA_FILE), b"NOTADMQFILE").unwrap();
    assert!(matches!(
        Overflow::open(dir.path()),
        Err(overflow::OverflowError::Magic)
    ));
    assert_eq!(
        fs::read(dir.path().join(overflow::DATA_FILE)).unwrap(),
        b"NOTADMQFILE"
    );
}

#[test]
fn unindexed_data_is_moved_aside() {
    let dir = vector_copy();
    fs::write(dir.path().join(overflow::INDEX_FILE), b"").unwrap();
    let (overflow, problems) = Overflow::open(dir.path()).unwrap();
    assert_eq!(overflow.total_records(), 0);
    assert!(
        matches!(
            problems[..],
            [OverflowProblem::Unindexed { bytes: 302, .. }]
        ),
        "{problems:?}"
    );
    assert_eq!(
        fs::read(dir.path().join(overflow::UNINDEXED_FILE)).unwrap(),
        fs::read(vectors().join("overflow.dat")).unwrap()
    );
}

#[test]
fn truncated_rq_file_loads_its_complete_records_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = DmqStore::open(dir.path(), ChannelSizes::new(1000).unwrap()).unwrap();
    for r in ["one", "two", "three"] {
        store.push("ch", r.as_bytes()).unwrap();
    }
    store.shutdown().unwrap();
    let path = dir.path().join("ch.rq");
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
    fs::write(dir.path().join("bad.name.rq"), &bytes).unwrap();

    let (mut store, problems) =
        DmqStore::open(dir.path(), ChannelSizes::new(1000).unwrap()).unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(matches!(&problems[0], StartupProblem::InvalidName(p) if p.ends_with("bad.name.rq")));
    assert!(
        matches!(&problems[1], StartupProblem::DamagedRq { kept: 2, .. }),
        "{problems:?}"
    );
    assert_eq!(drain(&mut store, "ch"), ["one", "two"]);
    assert_eq!(
        file_names(dir.path()),
        ["bad.name.rq", "ch.rq.damaged", "overflow.dat"]
    );
}

#[test]
fn plain_and_subscriber_files_of_one_channel_stop_the_start() {
    let dir = vector_copy();
    fs::copy(vectors().join("ch2.rq"), dir.path().join("ch1.rq")).unwrap();
    let error = DmqStore::open(dir.path(), sizes()).err().expect("conflict");
    assert!(error.to_string().contains("conflicts"), "{error}");
    assert!(
        dir.path().join("ch1.rq").exists() && dir.path().join("@ch1.rq").exists(),
        "nothing deleted"
    );
}

#[test]
fn push_reaches_every_subscriber_and_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = DmqStore::open(dir.path(), ChannelSizes::new(64).unwrap()).unwrap();
    store.push("ch", b"backlog").unwrap();
    assert_eq!(store.subscribe("ch", "a").unwrap(), "a@ch");
    assert_eq!(store.subscribe("ch", "").unwrap(), "@ch");
    assert_eq!(store.subscribe("ch", "b").unwrap(), "b@ch");
    for i in 0..20 {
        store.push("ch", format!("{i:03}").as_bytes()).unwrap();
    }
    let later: Vec<String> = (0..20).map(|i| format!("{i:03}")).collect();
    let mut with_backlog = vec!["backlog".to_owned()];
    with_backlog.extend(later.iter().cloned());
    assert_eq!(drain_subscriber(&mut store, "ch", "a"), with_backlog);
    assert_eq!(drain_subscriber(&mut store, "ch", ""), later);
    assert_eq!(drain_subscriber(&mut store, "ch", "b"), later);
    assert!(store.push("../x", b"r").is_err());
    assert!(store.subscribe("ch", "a@b").is_err());
    assert!(store.remove_channel("ch").unwrap());
    assert_eq!(store.pop("ch").unwrap(), Popped::NoChannel);
}

#[derive(Debug, Clone)]
enum Op {
    Push(Vec<u8>),
    Pop,
    Commit,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Push),
        5 => Just(Op::Pop),
        1 => Just(Op::Commit),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random pushes, pops, commits and clean restarts against a VecDeque:
    /// the same records come out in the same order, wherever they were kept.
    #[test]
    fn store_behaves_like_a_fifo(ops in proptest::collection::vec(op(), 1..120), ring in 8u64..120) {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = DmqStore::open(dir.path(), ChannelSizes::new(ring).unwrap()).unwrap();
        let mut model = VecDeque::new();
        store.create("q").unwrap();
        for op in ops {
            match op {
                Op::Push(r) => {
                    store.push("q", &r).unwrap();
                    model.push_back(r);
                }
                Op::Pop => {
                    let expected = model.pop_front().map_or(Popped::Empty, Popped::Record);
                    prop_assert_eq!(store.pop("q").unwrap(), expected);
                }
                Op::Commit => store.commit_index().unwrap(),
                Op::Restart => {
                    store.shutdown().unwrap();
                    let (reopened, problems) = DmqStore::open(dir.path(), ChannelSizes::new(ring).unwrap()).unwrap();
                    prop_assert!(problems.is_empty(), "{:?}", problems);
                    store = reopened;
                    store.create("q").unwrap();
                }
            }
            prop_assert_eq!(store.channel_size("q").0, model.len() as u64);
        }
    }

    /// Any bytes as an `.rq` file: never a panic, and the records found are
    /// really in the file.
    #[test]
    fn rq_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let contents = rq::decode(&bytes);
        let total: usize = contents.records.iter().map(|r| r.len() + 8).sum();
        prop_assert!(total + 12 <= bytes.len().max(12));
    }

    /// Any bytes as the index and as data after the magic: the overflow opens
    /// or refuses cleanly, and whatever it opens can be drained.
    #[test]
    fn overflow_open_never_panics(
        index in "([a-c@]{1,3} [0-9]{1,3} [0-9]{1,3} [0-9]{1,3} [0-9]{1,3}\n){0,4}",
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut file = overflow::MAGIC.to_vec();
        file.extend_from_slice(&data);
        fs::write(dir.path().join(overflow::DATA_FILE), file).unwrap();
        fs::write(dir.path().join(overflow::INDEX_FILE), index).unwrap();
        let (mut overflow, _) = Overflow::open(dir.path()).unwrap();
        let names: Vec<String> = overflow.names().map(str::to_owned).collect();
        for name in names {
            let records = overflow.records(&name);
            let mut popped = 0;
            while overflow.pop(&name).unwrap().is_some() {
                popped += 1;
            }
            prop_assert_eq!(popped, records);
        }
    }
}
