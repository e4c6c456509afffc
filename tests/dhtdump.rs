//! dhtdump end to end: the real `dhtdump` binary against the real `dhtnode`
//! on loopback, each in its own scratch directory. What lands in the .tcm
//! files is read back with the storage crate's `DumpReader` and compared
//! with what the node holds.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{config_ini, free_port, Node, MEMORY};
use shoal_storage::dump::files::write_dump;
use shoal_storage::dump::format::{DumpKey, DumpReader};
use tempfile::TempDir;

/// Records of one channel, by key.
type Records = BTreeMap<u64, Vec<u8>>;

/// Longest any single wait in these tests may take.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running dhtdump; killed when dropped.
struct DhtDump {
    child: Child,
    dir: TempDir,
    lines: mpsc::Receiver<String>,
}

/// The dhtdump config.ini the tests use, for a node on `port`.
fn dump_config(port: u16) -> String {
    format!(
        "[Dht]\naddress = 127.0.0.1\nport = {port}\n\n\
         [Dump]\ndata_dir = data\nperiod_s = 3600\nmin_wait_s = 60\nretry_wait_s = 30\n\n\
         [STATS]\nfile_name = log/stats.log\ninterval = 1\n\n\
         [LOG.Root]\nconsole = false\nfile = log/root.log\nlevel = trace\n"
    )
}

impl DhtDump {
    /// Starts dhtdump against the node on `port`, with `args` after
    /// `-c etc/config.ini`, in a fresh directory that has `data/`.
    fn start(port: u16, args: &[&str]) -> DhtDump {
        let dir = TempDir::new().expect("scratch directory");
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("etc/config.ini"), dump_config(port)).unwrap();
        let mut child = dhtdump(dir.path(), args);
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || BufReader::new(stderr).lines().for_each(drop));
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        DhtDump { child, dir, lines }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn root_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log/root.log")).unwrap_or_default()
    }

    /// Waits for the next stdout line containing `needle`, skipping others.
    fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(error) => panic!("dhtdump never printed {needle:?} ({error}); root.log:\n{}", self.root_log()),
            }
        }
    }

    /// Waits until root.log contains `needle` at least `count` times.
    fn wait_log(&self, needle: &str, count: usize) -> String {
        wait_until(&format!("root.log saying {needle:?} {count} times"), || {
            let log = self.root_log();
            (log.matches(needle).count() >= count).then_some(log)
        })
    }

    /// Waits for the process to exit by itself.
    fn wait_exit(&mut self) -> ExitStatus {
        wait_until("dhtdump to exit", || self.child.try_wait().expect("wait works"))
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> ExitStatus {
        common::send_signal(self.child.id(), nix::sys::signal::Signal::SIGTERM);
        self.wait_exit()
    }
}

impl Drop for DhtDump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the dhtdump binary in `dir` with `-c etc/config.ini` and `args`.
fn dhtdump(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dhtdump"))
        .args(["-c", "etc/config.ini"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dhtdump starts")
}

/// Polls `check` every 10 ms until it yields, for at most [`PATIENCE`].
fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The records of a .tcm file.
fn read_dump(path: &Path) -> Records {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = DumpReader::new(BufReader::new(file)).expect("a version 0 dump");
    let mut records = Records::new();
    while let Some(record) = reader.next_record().expect("a complete dump") {
        let DumpKey::Hash(key) = record.key else { panic!("invalid key in {}", path.display()) };
        assert!(records.insert(key, record.value).is_none(), "duplicate key {key:016x}");
    }
    records
}

/// `count` records with distinct keys and `size`-byte values derived from `seed`.
fn records(seed: u64, count: u64, size: usize) -> Records {
    (0..count)
        .map(|i| {
            let key = (seed << 40) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let value = format!("{seed}:{i}:").into_bytes().into_iter().cycle().take(size).collect();
            (key, value)
        })
        .collect()
}

async fn put_all(node: &Node, channel: &str, records: &Records) {
    let mut client = node.client().await;
    for (key, value) in records {
        client.put(channel, *key, value).await.expect("put");
    }
}

/// A node directory for `port` whose `data/` already holds `channels`, so
/// the node serves them from its first connection on.
fn node_dir_with(port: u16, channels: &[(&str, &Records)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("etc/config.ini"), config_ini(port, MEMORY, "")).unwrap();
    for (channel, records) in channels {
        write_dump(&dir.path().join("data"), channel, |writer| {
            records.iter().try_for_each(|(key, value)| writer.record(*key, value))
        })
        .unwrap();
    }
    dir
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".dumping"))
        .collect()
}

#[tokio::test]
async fn oneshot_dumps_exactly_the_records_of_every_channel() {
    let node = Node::start();
    // "big" takes many GetAll batches (5000 × 100 B against 64 KiB batches).
    let big = records(1, 5000, 100);
    let small = records(2, 50, 20);
    let single = records(3, 1, 3);
    put_all(&node, "big", &big).await;
    put_all(&node, "small", &small).await;
    put_all(&node, "single", &single).await;

    let mut dump = DhtDump::start(node.port, &["--oneshot"]);
    let status = dump.wait_exit();
    assert!(status.success(), "{status}; root.log:\n{}", dump.root_log());

    let data = dump.data();
    assert_eq!(read_dump(&data.join("big.tcm")), big);
    assert_eq!(read_dump(&data.join("small.tcm")), small);
    assert_eq!(read_dump(&data.join("single.tcm")), single);
    assert!(temp_files(&data).is_empty());
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(data.join("big.tcm")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let log = dump.root_log();
    // bytes = Σ(key + value + 16), as the original counts.
    assert!(log.contains("[dhtnode.dhtdump.DumpCycle] - Finished dumping 'big', 5000 records, 660000 bytes, "), "{log}");
    assert!(log.contains("Finished dumping 'single', 1 records, 35 bytes, "), "{log}");
    assert!(log.contains("Dumping 3 channels"), "{log}");
    assert!(log.contains("Got list of channels: [\""), "{log}");
    assert!(log.contains("Exiting with return code 0"), "{log}");
    // One-shot mode writes no stats, like the original.
    assert!(!dump.dir.path().join("log/stats.log").exists());
}

#[tokio::test]
async fn started_before_the_node_it_retries_the_handshake_then_dumps() {
    let port = free_port();
    let mut dump = DhtDump::start(port, &["--oneshot"]);
    dump.wait_log("Error during dht handshake", 2);
    assert!(dump.child.try_wait().unwrap().is_none(), "dhtdump gave up");

    let stored = records(4, 300, 64);
    let node_dir = node_dir_with(port, &[("late", &stored)]);
    let _node = Node::start_in(node_dir.path(), port);

    let status = dump.wait_exit();
    assert!(status.success(), "{status}; root.log:\n{}", dump.root_log());
    assert_eq!(read_dump(&dump.data().join("late.tcm")), stored);
    assert!(dump.root_log().contains("retrying in 2s"));
}

#[tokio::test]
async fn cyclic_mode_keeps_dumping_across_a_node_restart() {
    let first = Node::start();
    let port = first.port;
    let a = records(5, 200, 40);
    let gone = records(6, 10, 10);
    put_all(&first, "kept", &a).await;
    put_all(&first, "gone", &gone).await;

    let fast = ["-O", "Dump.period_s=1", "-O", "Dump.min_wait_s=1", "-O", "Dump.retry_wait_s=1"];
    let mut dump = DhtDump::start(port, &fast);
    dump.wait_line("cycle finished");
    assert_eq!(read_dump(&dump.data().join("kept.tcm")), a);
    assert_eq!(read_dump(&dump.data().join("gone.tcm")), gone);
    // A second cycle rewrites the files (the period is one second).
    dump.wait_line("cycle finished");
    assert_eq!(read_dump(&dump.data().join("kept.tcm")), a);

    first.kill();
    dump.wait_line("cycle failed");
    // GetChannels, or a GetAll when the kill fell inside a cycle (the log
    // is written by a background thread, so it may lag the stdout line).
    dump.wait_log("DhtClient error during ", 1);
    // The failed cycle left the last good dumps in place.
    assert_eq!(read_dump(&dump.data().join("kept.tcm")), a);
    assert_eq!(read_dump(&dump.data().join("gone.tcm")), gone);
    assert!(temp_files(&dump.data()).is_empty());

    let b = records(7, 300, 50);
    let fresh = records(8, 5, 5);
    let second_dir = node_dir_with(port, &[("kept", &b), ("fresh", &fresh)]);
    let _second = Node::start_in(second_dir.path(), port);
    dump.wait_line("cycle finished");
    assert_eq!(read_dump(&dump.data().join("kept.tcm")), b);
    assert_eq!(read_dump(&dump.data().join("fresh.tcm")), fresh);
    // dhtdump never deletes files: the channel the new node lacks keeps its dump.
    assert_eq!(read_dump(&dump.data().join("gone.tcm")), gone);
    dump.wait_log("Detected removed channel 'gone'", 1);
    let log = dump.wait_log("sleeping for 1.00s", 1);
    assert!(log.contains("Finished dumping channels, took "), "{log}");

    // stats.log: the original's keys, the removed channel no longer listed.
    let stats_path = dump.dir.path().join("log/stats.log");
    let line = wait_until("a stats line after the restart", || {
        let text = std::fs::read_to_string(&stats_path).unwrap_or_default();
        // Lines may fall between two channels of a cycle: wait for one
        // written after both of the new node's channels were dumped.
        text.lines()
            .last()
            .filter(|l| l.contains("channel/fresh/") && l.contains("channel/kept/records_written:300 "))
            .map(str::to_string)
    });
    let fields: BTreeMap<&str, &str> =
        line.split(' ').skip(2).map(|f| f.split_once(':').expect("key:value")).collect();
    for key in ["records_written", "bytes_written", "last_time_ms"] {
        assert!(fields.contains_key(key), "{line}");
    }
    assert_eq!(fields["channel/kept/records_written"], "300");
    assert_eq!(fields["channel/kept/bytes_written"], (300 * (16 + 50 + 16)).to_string());
    assert_eq!(fields["channel/fresh/records_written"], "5");
    assert!(!line.contains("channel/gone/"), "{line}");
    assert!(line.split(' ').next().unwrap().len() == 10 && line.split(' ').nth(1).unwrap().contains(','), "{line}");

    let status = dump.terminate();
    assert!(status.success(), "{status}");
    assert!(temp_files(&dump.data()).is_empty());
}

#[tokio::test]
async fn sigterm_during_a_dump_leaves_no_temporary_file() {
    let node = Node::start();
    let mut client = node.client().await;
    // ~30 MB, so that the dump is still running when the signal arrives.
    let value = vec![b'v'; 4000];
    for key in 0..8000u64 {
        client.put("huge", key, &value).await.unwrap();
    }
    drop(client);
    let mut dump = DhtDump::start(node.port, &["--oneshot"]);
    dump.wait_log("Dumping 'huge'", 1);
    let status = dump.terminate();
    let log = dump.root_log();
    if log.contains("Finished dumping 'huge'") {
        // The dump won the race; it must then be complete.
        assert_eq!(read_dump(&dump.data().join("huge.tcm")).len(), 8000);
    } else {
        assert_eq!(status.code(), Some(1), "an interrupted one-shot run fails; {log}");
        assert!(!dump.data().join("huge.tcm").exists());
    }
    assert!(temp_files(&dump.data()).is_empty(), "{:?}", temp_files(&dump.data()));
}

#[test]
fn a_bad_config_is_a_one_line_error() {
    let dir = TempDir::new().unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let run = |config: &str, args: &[&str]| {
        std::fs::write(dir.path().join("etc/config.ini"), config).unwrap();
        let output = dhtdump(dir.path(), args).wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status, stderr)
    };
    let good = dump_config(free_port());

    let (status, stderr) = run(&good.replace("[Dump]\n", "[Dump]\nperiod = 5\n"), &[]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("invalid configuration key Dump.period"), "{stderr}");

    let (status, stderr) = run(&good, &["-O", "Dump.min_wait_s=soon"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Dump.min_wait_s"), "{stderr}");

    let (status, stderr) = run(&good, &["-O", "Dump.data_dir=missing"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("data directory missing (Dump.data_dir) does not exist"), "{stderr}");

    let (status, stderr) = run(&good.replace("address = 127.0.0.1\n", ""), &[]);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("Dht.address"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
