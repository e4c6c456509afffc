//! The original dlsnode test suites, redone against our `dlsnode` binary.
//!
//! The original node was tested by two turtle runners, both of which start
//! the binary with no arguments in a sandbox directory (etc/config.ini,
//! etc/credentials, log/) and drive it with the original swarm DlsClient:
//!
//! - dlsnode's `integrationtest/dlstest/main.d` runs the generic DLS suite
//!   kept in dlsproto under `src/dlstest/` (cases in `src/dlstest/cases/legacy/`
//!   and `src/dlstest/cases/neo/`, the bulk verification in
//!   `src/dlstest/util/LocalStore.d`, the record generators in
//!   `src/dlstest/util/Record.d`) with the config and credentials in
//!   dlsnode's `integrationtest/dlstest/etc/`. Every case gets a new client,
//!   works on the channel `test_channel`, and its cleanup is a legacy
//!   RemoveChannel of that channel, so the cases also check that a removed
//!   channel can be used again. Here the cases are grouped into a few tests,
//!   each with its own node so they run in parallel; inside a test the cases
//!   run one after the other on that node, each with its cleanup.
//! - dlsnode's `integrationtest/versioning/` starts a node on bucket files
//!   written by older versions (`integrationtest/versioning/data/`, copied
//!   into `tests/vectors/original-dlsnode/`) and reads them with legacy
//!   GetAll. `tests/dls.rs` already counts the records of the `legacy`,
//!   `parity-broken`, `empty-bucket` and `mixed` channels; this file adds the
//!   cases it leaves out: `parity-fine` alone, and the two cases that append
//!   with legacy Puts to an existing version-1 bucket (`putversionone`) and
//!   to an existing unversioned bucket (`putlegacy`).
//!
//! What differs from the originals, on purpose:
//! - ports are free ones from the test harness instead of 10000/10001 and
//!   11000/11001, the bind address is 127.0.0.1 instead of 0.0.0.0, and the
//!   node is our test binary started in the sandbox (not a copy in `bin/`);
//! - the bulk cases write their 10,000 or 100,000 records over two
//!   connections at once (the original client also has two, but waits for
//!   each Put before sending the next); every key's values still go over
//!   one connection in the original order, and the records are the same;
//! - a rejected PCRE must be answered with status 500 and leave the
//!   connection usable (the original client drops a connection after a 500,
//!   so its suite never looked at that);
//! - the original runner disables the two neo Unordered cases (too slow on
//!   the original's storage); they run here, so enabling them finds nothing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use common::{free_port, Node};
use shoal_protocol::client::dls::{DlsLegacyClient, DlsNeoClient};
use shoal_protocol::client::legacy::ClientError;
use shoal_protocol::dls::neo::{GetRangeArgs, NeoFilterMode};
use shoal_protocol::legacy::Status;
use tempfile::TempDir;

/// The channel every dlstest case works on.
const TEST_CHANNEL: &str = "test_channel";
/// Keys written by each bulk case.
const BULK_RECORDS: u32 = 10_000;
/// Values per key in the "multiple put" bulk cases.
const VALUES_PER_KEY: u32 = 10;
/// What the legacy handshake (GetVersion) must answer.
const API_VERSION: &str = "20110401";
/// Legacy GetRangeRegex filter mode of a case-sensitive PCRE (the client's
/// `pcre()` default).
const LEGACY_PCRE: u8 = 1;
/// Connections a bulk case writes over at once. Each writes one key (one
/// bucket) at a time; more writers than the three buckets a channel keeps
/// open would make the unordered cases close (and fsync) a bucket on nearly
/// every Put, which is slow and not what the suite measures.
const WRITERS: usize = 2;

/// The log line the Ranges PCRE cases store.
const LOGLINE: &str = "http://eu-sonar.sociomantic.com/js/2010-07-01/action/click?&aid=google&fpc=7161999584528497855&aaid=zalando&size=3&cid=445&ao=%5B%7B%22id%22%3A%2216880840621970542745%22%2C%22fsize%22%3A22%7D%5D";
/// The line GetRangePCREHalfMatching stores under its middle key, which its
/// pattern must not match.
const BAD_LOGLINE: &str = "http://eu-sonar.sociomantic.com/js/2010-07-01/action/click?&aid=facebook&fpc=7161999584528497855&aaid=bbc&size=3&cid=445&ao=%5B%7B%22id%22%3A%2216880840621970542745%22%2C%22fsize%22%3A22%7D%5D";

/// Records by key, each key's values in no particular order (the suites
/// never look at the order).
type Records = BTreeMap<u64, Vec<Vec<u8>>>;

/// dlstest's etc/config.ini with our ports. The port lines keep the
/// `key = value` spelling the harness rewrites if a port was taken.
fn dlstest_config(port: u16, neo_port: u16) -> String {
    format!(
        "; Test DLS Node Configuration\n\n\n[Server]\n\n\
         address                 = 127.0.0.1\n\
         port = {port}\n\
         neoport = {neo_port}\n\
         data_dir                = data\n\
         connection_limit        = 5000\n\
         unix_socket_path        = dlsnode.socket\n\n\
         [Performance]\nfile_buffer_size = 20\n\n\
         ; DLS node configuration\n\n\
         [Options_LogFiles]\n\nwrite_buffer_size = 65535\n"
    )
}

/// The versioning suite's etc/config.ini (no `[Performance]`) with our ports.
fn versioning_config(port: u16, neo_port: u16) -> String {
    format!(
        "; Test DLS Node Configuration\n\n\n[Server]\n\n\
         address                 = 127.0.0.1\n\
         port = {port}\n\
         neoport = {neo_port}\n\
         data_dir                = data\n\
         connection_limit        = 5000\n\
         unix_socket_path        = dlsnode.socket\n\n\
         ; DLS node configuration\n\n\
         [Options_LogFiles]\n\nwrite_buffer_size = 65535\n"
    )
}

/// A node started as turtle starts it: a sandbox with etc/config.ini, the
/// suites' etc/credentials (`test` with a key of 128 zero bytes), log/ and
/// any data files, the binary run there with no arguments.
struct Sandbox {
    node: Node,
    // Dropped after the node (fields drop in order).
    _dir: TempDir,
}

impl Sandbox {
    fn start(config: fn(u16, u16) -> String, files: &[(String, Vec<u8>)]) -> Sandbox {
        let dir = TempDir::new().expect("sandbox");
        let credentials = format!("test:{}\n", "0".repeat(256)).into_bytes();
        let (port, neo_port) = (free_port(), free_port());
        let fixed = [("etc/config.ini".to_string(), config(port, neo_port).into_bytes()), ("etc/credentials".to_string(), credentials)];
        for (path, content) in fixed.iter().chain(files) {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("relative path")).expect("sandbox dirs");
            std::fs::write(path, content).expect("sandbox file");
        }
        std::fs::create_dir_all(dir.path().join("log")).expect("log dir");
        let node = Node::start_dls_in_dir(dir.path(), port, neo_port);
        Sandbox { node, _dir: dir }
    }

    /// A new legacy connection after the client's node handshake (GetVersion).
    async fn legacy(&self) -> DlsLegacyClient {
        let mut client = self.node.dls().await;
        assert_eq!(client.get_version().await.expect("handshake"), API_VERSION);
        client
    }

    /// A new neo connection, authenticated as the suites' client `test`.
    async fn neo(&self) -> DlsNeoClient {
        DlsNeoClient::connect(("127.0.0.1", self.node.neo_port), "test", shoal_protocol::neo::Key([0; 128]))
            .await
            .expect("the neo port accepts the suite's credentials")
    }
}

/// Every case's cleanup: a legacy RemoveChannel of the test channel.
async fn cleanup(client: &mut DlsLegacyClient) {
    client.remove_channel(TEST_CHANNEL).await.expect("cleanup RemoveChannel");
}

fn records_of<K: Into<u64> + Copy>(pairs: &[(K, &[&str])]) -> Records {
    pairs.iter().map(|(k, vs)| ((*k).into(), vs.iter().map(|v| v.as_bytes().to_vec()).collect())).collect()
}

fn group(pairs: Vec<(u64, Vec<u8>)>) -> Records {
    let mut out = Records::new();
    for (key, value) in pairs {
        out.entry(key).or_default().push(value);
    }
    out
}

fn shown(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    if text.len() > 60 {
        format!("{:?}…", &text[..60])
    } else {
        format!("{text:?}")
    }
}

/// Up to five keys in hex, for messages.
fn first_keys(keys: &[&u64]) -> String {
    keys.iter().take(5).map(|k| format!("{k:#x}")).collect::<Vec<_>>().join(", ")
}

/// Compares what a request returned with what it should have, as the
/// suites do (same keys, same number of values per key, every value there;
/// order ignored). `Err` says what differs.
fn compare(expected: &Records, got: Vec<(u64, Vec<u8>)>) -> Result<(), String> {
    let total = got.len();
    let mut got = group(got);
    let mut expected = expected.clone();
    for values in got.values_mut().chain(expected.values_mut()) {
        values.sort();
    }
    if got == expected {
        return Ok(());
    }
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(k)).collect();
    let mut text =
        format!("expected {} keys / {} records, got {} keys / {} records", expected.len(), expected.values().map(Vec::len).sum::<usize>(), got.len(), total);
    if !missing.is_empty() {
        text += &format!("; {} keys missing, first {}", missing.len(), first_keys(&missing));
    }
    if !extra.is_empty() {
        text += &format!("; {} keys not expected, first {}", extra.len(), first_keys(&extra));
    }
    if let Some((key, want)) = expected.iter().find(|(k, v)| got.get(k).is_some_and(|g| g != *v)) {
        let have = &got[key];
        text += &format!(
            "; key {key:#x}: expected {} values {:?}, got {} values {:?}",
            want.len(),
            want.iter().take(10).map(|v| shown(v)).collect::<Vec<_>>(),
            have.len(),
            have.iter().take(10).map(|v| shown(v)).collect::<Vec<_>>()
        );
    }
    Err(text)
}

#[track_caller]
fn assert_records(request: &str, expected: &Records, got: Result<Vec<(u64, Vec<u8>)>, ClientError>) {
    let got = got.unwrap_or_else(|e| panic!("{request} failed: {e}"));
    if let Err(difference) = compare(expected, got) {
        panic!("{request}: {difference}");
    }
}

/// Puts `records` one at a time, waiting for each status.
async fn put_all_legacy(client: &mut DlsLegacyClient, channel: &str, records: &Records) {
    for (key, values) in records {
        for value in values {
            client.put(channel, *key, value).await.unwrap_or_else(|e| panic!("Put {key:#x} to {channel}: {e}"));
        }
    }
}

// ---------------------------------------------------------------------------
// Bulk records and the LocalStore verification
// ---------------------------------------------------------------------------

/// 64-bit FNV-1a.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The ordered cases' key of record `i`.
fn sequential_key(i: u32) -> u64 {
    u64::from(i)
}

/// The unordered cases' key of record `i`: FNV-1a-64 over the four bytes of
/// the 32-bit index as they lie in memory (little-endian), with the top bit
/// cleared so the key is also a valid neo (signed) timestamp.
fn spread_key(i: u32) -> u64 {
    fnv1a64(&i.to_le_bytes()) & !(1 << 63)
}

/// Value number `j` of a key: the key in decimal, followed by `j` unless it
/// is 0.
fn bulk_value(key: u64, j: u32) -> Vec<u8> {
    if j == 0 {
        key.to_string().into_bytes()
    } else {
        format!("{key}{j}").into_bytes()
    }
}

/// The keys of a bulk case in put order, with their values in put order.
fn bulk_records(key: fn(u32) -> u64, values_per_key: u32) -> Vec<(u64, Vec<Vec<u8>>)> {
    (0..BULK_RECORDS).map(key).map(|k| (k, (0..values_per_key).map(|j| bulk_value(k, j)).collect())).collect()
}

fn local_store(records: &[(u64, Vec<Vec<u8>>)]) -> Records {
    let mut local = Records::new();
    for (key, values) in records {
        local.entry(*key).or_default().extend(values.iter().cloned());
    }
    local
}

/// How a verification request filters values.
#[derive(Clone, Copy, Debug)]
enum Filter {
    None,
    /// The substring "0" (legacy GetAllFilter / GetRangeFilter, neo
    /// StringMatch).
    Substring,
    /// The PCRE `^1.*`, case-sensitive (legacy GetRangeRegex mode PCRE, neo
    /// PCRE): the value starts with '1'.
    Pcre,
}

impl Filter {
    fn pattern(self) -> &'static [u8] {
        match self {
            Filter::None => b"",
            Filter::Substring => b"0",
            Filter::Pcre => b"^1.*",
        }
    }

    fn passes(self, value: &[u8]) -> bool {
        match self {
            Filter::None => true,
            Filter::Substring => value.contains(&b'0'),
            Filter::Pcre => value.first() == Some(&b'1'),
        }
    }

    fn neo_mode(self) -> u8 {
        match self {
            Filter::None => NeoFilterMode::None as u8,
            Filter::Substring => NeoFilterMode::StringMatch as u8,
            Filter::Pcre => NeoFilterMode::Regex as u8,
        }
    }
}

/// The records of `local` with keys in `low..=high` that pass `filter`.
fn expected_range(local: &Records, low: u64, high: u64, filter: Filter) -> Records {
    let mut out = Records::new();
    for (key, values) in local.range(low..=high.max(low)) {
        if *key > high {
            break;
        }
        let passing: Vec<_> = values.iter().filter(|v| filter.passes(v)).cloned().collect();
        if !passing.is_empty() {
            out.insert(*key, passing);
        }
    }
    out
}

/// The five key ranges the LocalStore verification reads, computed as it
/// computes them: the smallest key is taken as 0 whatever the data (its
/// search starts at 0 and unsigned keys never go below), `mid` is
/// `min / 2 + max / 2 - 1`.
fn verification_ranges(local: &Records) -> [(u64, u64); 5] {
    let min = 0u64;
    let max = *local.keys().next_back().expect("records to verify");
    let mid = min / 2 + max / 2 - 1;
    [(min, max), (min, max - mid), (min + mid / 4, max + 1), (max + 1, max + 2), (min / 2, max)]
}

/// The bulk cases' verification through legacy requests: GetAll,
/// GetAllFilter "0", then the five ranges with GetRange, GetRangeFilter "0"
/// and GetRangeRegex PCRE `^1.*`. Every mismatch is collected, then the
/// case fails with all of them.
async fn verify_legacy(client: &mut DlsLegacyClient, local: &Records) {
    let mut failures = Vec::new();
    let mut check = |request: String, expected: Records, got: Result<Vec<(u64, Vec<u8>)>, ClientError>| match got {
        Err(e) => failures.push(format!("{request}: failed: {e}")),
        Ok(got) => {
            if let Err(difference) = compare(&expected, got) {
                failures.push(format!("{request}: {difference}"));
            }
        }
    };
    check("GetAll".into(), local.clone(), client.get_all(TEST_CHANNEL).await);
    let filtered = expected_range(local, 0, u64::MAX, Filter::Substring);
    check("GetAllFilter \"0\"".into(), filtered, client.get_all_filter(TEST_CHANNEL, b"0").await);
    for filter in [Filter::None, Filter::Substring, Filter::Pcre] {
        for (low, high) in verification_ranges(local) {
            let expected = expected_range(local, low, high, filter);
            let (request, got) = match filter {
                Filter::None => ("GetRange", client.get_range(TEST_CHANNEL, low, high).await),
                Filter::Substring => ("GetRangeFilter \"0\"", client.get_range_filter(TEST_CHANNEL, low, high, b"0").await),
                Filter::Pcre => ("GetRangeRegex PCRE \"^1.*\"", client.get_range_regex(TEST_CHANNEL, low, high, LEGACY_PCRE, b"^1.*").await),
            };
            check(format!("{request} {low:#x}..={high:#x}"), expected, got);
        }
    }
    assert!(failures.is_empty(), "{} verification requests differ:\n{}", failures.len(), failures.join("\n"));
}

/// The neo cases' verification: the same fifteen ranges and filters through
/// neo GetRange (no GetAll). Keys go out as the signed timestamps they are.
async fn verify_neo(client: &DlsNeoClient, local: &Records) {
    let mut failures = Vec::new();
    for filter in [Filter::None, Filter::Substring, Filter::Pcre] {
        for (low, high) in verification_ranges(local) {
            let expected = expected_range(local, low, high, filter);
            let args = GetRangeArgs { channel: TEST_CHANNEL.as_bytes(), low: low as i64, high: high as i64, filter: filter.pattern(), mode: filter.neo_mode() };
            let request = format!("neo GetRange {low:#x}..={high:#x} filter {filter:?} {:?}", String::from_utf8_lossy(filter.pattern()));
            match client.get_range(args, None).await {
                Err(e) => failures.push(format!("{request}: failed: {e}")),
                Ok(None) => failures.push(format!("{request}: the node answered Error")),
                Ok(Some(got)) => {
                    if let Err(difference) = compare(&expected, got) {
                        failures.push(format!("{request}: {difference}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} verification requests differ:\n{}", failures.len(), failures.join("\n"));
}

/// Writes a bulk case's records with legacy Puts over [`WRITERS`]
/// connections; every key (with all its values, in order) goes over one.
async fn bulk_put_legacy(sandbox: &Sandbox, records: &[(u64, Vec<Vec<u8>>)]) {
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let mut client = sandbox.legacy().await;
        let share: Vec<_> = records.iter().skip(writer).step_by(WRITERS).cloned().collect();
        writers.spawn(async move {
            for (key, values) in share {
                for value in values {
                    client.put(TEST_CHANNEL, key, &value).await.unwrap_or_else(|e| panic!("legacy Put {key:#x}: {e}"));
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
}

/// [`bulk_put_legacy`] with neo Puts.
async fn bulk_put_neo(sandbox: &Sandbox, records: &[(u64, Vec<Vec<u8>>)]) {
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let client = sandbox.neo().await;
        let share: Vec<_> = records.iter().skip(writer).step_by(WRITERS).cloned().collect();
        writers.spawn(async move {
            for (key, values) in share {
                for value in values {
                    let stored = client.put(TEST_CHANNEL, key, &value).await.unwrap_or_else(|e| panic!("neo Put {key:#x}: {e}"));
                    assert!(stored, "neo Put {key:#x} answered Error");
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
}

/// One legacy bulk case: the puts, the verification, the cleanup.
async fn legacy_bulk_case(sandbox: &Sandbox, name: &str, key: fn(u32) -> u64, values_per_key: u32) {
    let started = Instant::now();
    let records = bulk_records(key, values_per_key);
    bulk_put_legacy(sandbox, &records).await;
    let put = started.elapsed();
    let mut client = sandbox.legacy().await;
    verify_legacy(&mut client, &local_store(&records)).await;
    cleanup(&mut client).await;
    eprintln!("{name}: puts {put:?}, total {:?}", started.elapsed());
}

/// One neo bulk case: neo puts, neo verification, legacy cleanup.
async fn neo_bulk_case(sandbox: &Sandbox, name: &str, key: fn(u32) -> u64, values_per_key: u32) {
    let started = Instant::now();
    let records = bulk_records(key, values_per_key);
    bulk_put_neo(sandbox, &records).await;
    let put = started.elapsed();
    let client = sandbox.neo().await;
    verify_neo(&client, &local_store(&records)).await;
    cleanup(&mut sandbox.legacy().await).await;
    eprintln!("{name}: puts {put:?}, total {:?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// dlstest: legacy cases
// ---------------------------------------------------------------------------

/// Basic.GetAll, Basic.RemoveChannel and the six Ranges cases
/// (`src/dlstest/cases/legacy/Basic.d`, `Ranges.d`), in that order on one
/// node, each with a new client and the RemoveChannel cleanup.
#[tokio::test]
async fn dlstest_legacy_basic_and_ranges() {
    let sandbox = Sandbox::start(dlstest_config, &[]);

    // Basic.GetAll: three keys with two values each, GetAll returns them.
    let mut client = sandbox.legacy().await;
    let records = records_of(&[(0u64, &["record 0", "record 01"][..]), (1, &["record 1", "record 10"]), (2, &["record 2", "record 20"])]);
    put_all_legacy(&mut client, TEST_CHANNEL, &records).await;
    assert_records("Basic.GetAll: GetAll", &records, client.get_all(TEST_CHANNEL).await);
    cleanup(&mut client).await;

    // Basic.RemoveChannel: three records, RemoveChannel, GetAll is empty.
    let mut client = sandbox.legacy().await;
    let records = records_of(&[(0u64, &["record 0"][..]), (1, &["record 1"]), (2, &["record 2"])]);
    put_all_legacy(&mut client, TEST_CHANNEL, &records).await;
    client.remove_channel(TEST_CHANNEL).await.expect("RemoveChannel");
    assert_records("Basic.RemoveChannel: GetAll after RemoveChannel", &Records::new(), client.get_all(TEST_CHANNEL).await);
    cleanup(&mut client).await;

    // The three plain Ranges cases store keys 0..=5 ("record <k>").
    let six_records: Records = (0..6u64).map(|k| (k, vec![format!("record {k}").into_bytes()])).collect();

    // Ranges.GetRange: 1..=3 gives exactly keys 1, 2, 3 (bounds inclusive).
    let mut client = sandbox.legacy().await;
    put_all_legacy(&mut client, TEST_CHANNEL, &six_records).await;
    let expected = expected_range(&six_records, 1, 3, Filter::None);
    assert_eq!(expected.len(), 3);
    assert_records("Ranges.GetRange: GetRange 1..=3", &expected, client.get_range(TEST_CHANNEL, 1, 3).await);
    cleanup(&mut client).await;

    // Ranges.GetRangeEmpty: 6..=8 lies above the data.
    let mut client = sandbox.legacy().await;
    put_all_legacy(&mut client, TEST_CHANNEL, &six_records).await;
    assert_records("Ranges.GetRangeEmpty: GetRange 6..=8", &Records::new(), client.get_range(TEST_CHANNEL, 6, 8).await);
    cleanup(&mut client).await;

    // Ranges.GetRangeExact: 0..=5 gives all six.
    let mut client = sandbox.legacy().await;
    put_all_legacy(&mut client, TEST_CHANNEL, &six_records).await;
    assert_records("Ranges.GetRangeExact: GetRange 0..=5", &six_records, client.get_range(TEST_CHANNEL, 0, 5).await);
    cleanup(&mut client).await;

    // Ranges.GetRangePCREMatching: the log line under keys 1..=3, PCRE
    // "(aid=google)" over 0..=6 matches all three.
    let mut client = sandbox.legacy().await;
    let records = records_of(&[(1u64, &[LOGLINE][..]), (2, &[LOGLINE]), (3, &[LOGLINE])]);
    put_all_legacy(&mut client, TEST_CHANNEL, &records).await;
    assert_records(
        "Ranges.GetRangePCREMatching: GetRangeRegex PCRE \"(aid=google)\" 0..=6",
        &records,
        client.get_range_regex(TEST_CHANNEL, 0, 6, LEGACY_PCRE, b"(aid=google)").await,
    );
    cleanup(&mut client).await;

    // Ranges.GetRangePCREHalfMatching: the alternation matches the lines
    // under keys 1 and 3, not the facebook/bbc one under 2; range 0..=4.
    let mut client = sandbox.legacy().await;
    let records = records_of(&[(1u64, &[LOGLINE][..]), (2, &[BAD_LOGLINE]), (3, &[LOGLINE])]);
    put_all_legacy(&mut client, TEST_CHANNEL, &records).await;
    let pattern = b"(aid=google.*(aaid=zalando|aaid=zalando-fr|aaid=zalando-uk))|((aaid=zalando|aaid=zalando-fr|aaid=zalando-uk).*aid=google)";
    let expected = records_of(&[(1u64, &[LOGLINE][..]), (3, &[LOGLINE])]);
    assert_records(
        "Ranges.GetRangePCREHalfMatching: GetRangeRegex PCRE (alternation) 0..=4",
        &expected,
        client.get_range_regex(TEST_CHANNEL, 0, 4, LEGACY_PCRE, pattern).await,
    );
    cleanup(&mut client).await;

    // Ranges.GetRangePCREMalformed: "*vw=1&" does not compile; the request
    // must fail (the node answers 500) and return nothing. The suite's
    // client treats a closed connection as a mere warning, so a status is
    // required; we also want the connection to stay usable.
    let mut client = sandbox.legacy().await;
    put_all_legacy(&mut client, TEST_CHANNEL, &records).await;
    match client.get_range_regex(TEST_CHANNEL, 0, 6, LEGACY_PCRE, b"*vw=1&").await {
        Err(ClientError::Status(Status::Error)) => {}
        other => panic!("Ranges.GetRangePCREMalformed: GetRangeRegex PCRE \"*vw=1&\" 0..=6: expected status 500, got {other:?}"),
    }
    assert_eq!(client.get_version().await.expect("the connection is still usable after the 500"), API_VERSION);
    cleanup(&mut client).await;
    assert!(sandbox.legacy().await.get_all(TEST_CHANNEL).await.expect("GetAll").is_empty(), "the cleanups leave nothing");
}

/// OrderedPut and OrderedMultiplePut (`src/dlstest/cases/legacy/`): keys
/// 0..10,000 with the key in decimal as value (one value per key, then ten),
/// verified like LocalStore does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlstest_legacy_ordered_puts() {
    let sandbox = Sandbox::start(dlstest_config, &[]);
    legacy_bulk_case(&sandbox, "legacy OrderedPut", sequential_key, 1).await;
    legacy_bulk_case(&sandbox, "legacy OrderedMultiplePut", sequential_key, VALUES_PER_KEY).await;
}

/// UnorderedPut (`src/dlstest/cases/legacy/UnorderedPut.d`): the keys
/// spread over the whole positive range, about one bucket per key. Each
/// unordered case has its own node (they are the slowest, mostly file
/// system work on 10,000 bucket directories), so the two run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlstest_legacy_unordered_put() {
    let sandbox = Sandbox::start(dlstest_config, &[]);
    legacy_bulk_case(&sandbox, "legacy UnorderedPut", spread_key, 1).await;
}

/// UnorderedMultiplePut (`src/dlstest/cases/legacy/UnorderedMultiplePut.d`):
/// ten values under each of the spread keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlstest_legacy_unordered_multiple_put() {
    let sandbox = Sandbox::start(dlstest_config, &[]);
    legacy_bulk_case(&sandbox, "legacy UnorderedMultiplePut", spread_key, VALUES_PER_KEY).await;
}

/// The neo OrderedPut and OrderedMultiplePut (`src/dlstest/cases/neo/`):
/// neo Puts, verified with neo GetRange only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlstest_neo_ordered_puts() {
    let sandbox = Sandbox::start(dlstest_config, &[]);
    neo_bulk_case(&sandbox, "neo OrderedPut", sequential_key, 1).await;
    neo_bulk_case(&sandbox, "neo OrderedMultiplePut", sequential_key, VALUES_PER_KEY).await;
}

/// The neo UnorderedPut and UnorderedMultiplePut, which the original runner
/// disables: spread keys through neo Put, verified with neo GetRange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlstest_neo_unordered_puts() {
    let sandbox = Sandbox::start(dlstest_config, &[]);
    neo_bulk_case(&sandbox, "neo UnorderedPut", spread_key, 1).await;
    neo_bulk_case(&sandbox, "neo UnorderedMultiplePut", spread_key, VALUES_PER_KEY).await;
}

#[test]
fn the_unordered_keys_are_the_suites() {
    // FNV-1a-64 of the empty input and of "a" (published test values), and
    // the first unordered key: the four zero bytes of index 0, top bit
    // cleared.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(spread_key(0), fnv1a64(&[0, 0, 0, 0]) & 0x7fff_ffff_ffff_ffff);
    let keys: std::collections::BTreeSet<u64> = (0..BULK_RECORDS).map(spread_key).collect();
    assert_eq!(keys.len(), BULK_RECORDS as usize, "10,000 distinct keys");
}

// ---------------------------------------------------------------------------
// dlsnode's versioning suite
// ---------------------------------------------------------------------------

/// The versioning runner's data directory: the original's bucket files
/// copied to the channels it copies them to.
fn versioning_files() -> Vec<(String, Vec<u8>)> {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dlsnode");
    let copies = [
        ("putlegacy", "putlegacy", "0000000057"),
        ("parity-fine", "putversionone", "0000000057"),
        ("legacy", "legacy", "0000000057"),
        ("parity-fine", "parity-fine", "0000000057"),
        ("parity-broken", "parity-broken", "0000000057"),
        ("legacy", "mixed", "0000000057"),
        ("parity-fine", "mixed", "0000000058"),
        ("empty-bucket", "empty-bucket", "0000000057"),
    ];
    let mut files = Vec::new();
    for (from, channel, slot) in copies {
        let mut buckets: Vec<_> = std::fs::read_dir(vectors.join(from).join("0000000057")).expect("vector dir").map(|e| e.expect("entry").path()).collect();
        buckets.sort();
        for bucket in buckets {
            let name = bucket.file_name().expect("bucket name").to_string_lossy().into_owned();
            files.push((format!("data/{channel}/{slot}/{name}"), std::fs::read(&bucket).expect("vector")));
        }
    }
    files
}

/// The records of the version-1 bucket `parity-fine/0000000057/275`.
fn parity_fine_records() -> Vec<(u64, &'static [&'static str])> {
    vec![
        (0x5727_545c, &["Hello there"][..]),
        (0x5727_5461, &["how are you are you fine"]),
        (0x5727_5464, &["I'm very good! Thanks!"]),
        (0x5727_546a, &["Let's see"]),
        (0x5727_546d, &["This one will get broken"]),
        (0x5727_5471, &["we'll never receive this one"]),
        (0x5727_5474, &["nor this one"]),
        (0x5727_5475, &["bye"]),
    ]
}

/// The records of the unversioned bucket `putlegacy/0000000057/275`.
fn legacy_records() -> Vec<(u64, &'static [&'static str])> {
    vec![
        (0x5727_5806, &["Hello there"][..]),
        (0x5727_5809, &["I'm a legacy channel"]),
        (0x5727_580c, &["Nice to meet you finaly"]),
        (0x5727_5810, &["Oh, yes indeed."]),
    ]
}

/// TestParityFine, TestVersionOneWrite and TestLegacyWrite
/// (`integrationtest/versioning/cases/`) on a node started in the
/// versioning runner's sandbox, each with its RemoveChannel cleanup.
#[tokio::test]
async fn versioning_suite_reads_and_appends_to_old_buckets() {
    let sandbox = Sandbox::start(versioning_config, &versioning_files());

    // parity-fine: all eight records of a sound version-1 bucket.
    let channel = "parity-fine";
    let mut client = sandbox.legacy().await;
    assert_records("TestParityFine: GetAll parity-fine", &records_of(&parity_fine_records()), client.get_all(channel).await);
    client.remove_channel(channel).await.expect("cleanup");

    // putversionone: four legacy Puts appended to the version-1 bucket
    // (same slot and bucket), GetAll gives 8 + 4.
    let channel = "putversionone";
    let mut client = sandbox.legacy().await;
    let new = records_of(&[(0x5727_5476u64, &["test1"][..]), (0x5727_5477, &["test2"]), (0x5727_5478, &["test3"]), (0x5727_5479, &["test4"])]);
    put_all_legacy(&mut client, channel, &new).await;
    let mut all = records_of(&parity_fine_records());
    all.extend(new);
    assert_eq!(all.len(), 12);
    assert_records("TestVersionOneWrite: GetAll putversionone after 4 Puts", &all, client.get_all(channel).await);
    client.remove_channel(channel).await.expect("cleanup");

    // putlegacy: four legacy Puts appended to the unversioned bucket, GetAll
    // gives 4 + 4.
    let channel = "putlegacy";
    let mut client = sandbox.legacy().await;
    let new = records_of(&[(0x5727_5813u64, &["test1"][..]), (0x5727_5814, &["test2"]), (0x5727_5815, &["test3"]), (0x5727_5817, &["test4"])]);
    put_all_legacy(&mut client, channel, &new).await;
    let mut all = records_of(&legacy_records());
    all.extend(new);
    assert_eq!(all.len(), 8);
    assert_records("TestLegacyWrite: GetAll putlegacy after 4 Puts", &all, client.get_all(channel).await);
    client.remove_channel(channel).await.expect("cleanup");
}
