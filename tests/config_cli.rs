//! Starting dhtnode: the original's config.ini is read strictly (a broken one
//! is a one-line error and a non-zero exit, like the original), and without
//! --config the embedded default gives a working node.

mod common;

use std::process::Output;

use common::{config_ini, free_port, spawn, MEMORY};
use shoal_protocol::client::legacy::LegacyClient;

/// Runs dhtnode in a scratch directory with `config` as etc/config.ini and
/// returns its output once it exits.
fn start_with_config(config: &str) -> Output {
    let dir = tempfile::tempdir().expect("scratch dir");
    std::fs::create_dir_all(dir.path().join("etc")).expect("etc");
    std::fs::write(dir.path().join("etc/config.ini"), config).expect("config");
    spawn(dir.path(), &["--config", "etc/config.ini"]).wait_with_output().expect("exits")
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success(), "must fail: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn an_unknown_key_is_refused_and_named() {
    let config = config_ini(free_port(), MEMORY, "").replace("[Server]\n", "[Server]\nneoport = 10100\n");
    let error = one_line_error(&start_with_config(&config));
    assert!(error.contains("Server.neoport"), "{error}");
}

#[test]
fn a_bad_hash_range_is_refused() {
    let config = config_ini(free_port(), MEMORY, "").replace("0xffffffffffffffff", "0xfffffffffffffff");
    let error = one_line_error(&start_with_config(&config));
    assert!(error.contains("maxval"), "{error}");
}

#[test]
fn a_missing_required_key_is_refused() {
    let config = config_ini(free_port(), MEMORY, "").replace("address = 127.0.0.1\n", "");
    let error = one_line_error(&start_with_config(&config));
    assert!(error.contains("address"), "{error}");
}

#[test]
fn a_missing_config_file_is_refused() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let output = spawn(dir.path(), &["--config", "etc/none.ini"]).wait_with_output().expect("exits");
    let error = one_line_error(&output);
    assert!(error.contains("none.ini"), "{error}");
}

#[tokio::test]
async fn without_config_the_embedded_default_serves_on_loopback() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let port = free_port();
    let override_port = format!("Server.port={port}");
    let mut child = spawn(dir.path(), &["-O", &override_port]);
    let stdout = child.stdout.take().expect("piped");
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        let line = lines.find(|l| l.contains("listening on")).expect("readiness line");
        std::thread::spawn(move || lines.for_each(drop));
        line
    })
    .await
    .expect("reader");
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    let mut client = LegacyClient::connect(("127.0.0.1", port)).await.expect("connects");
    client.put("default", 1, b"works").await.expect("put");
    assert_eq!(client.get("default", 1).await.expect("get"), Some(b"works".to_vec()));
    assert!(dir.path().join("data").is_dir(), "data dir under the working directory");
    assert!(dir.path().join("log/root.log").is_file(), "root.log under the working directory");
    let _ = child.kill();
    let _ = child.wait();
}
