//! stats.log: the node writes one line per interval with the original's
//! keys, so operators' parsers keep working.

mod common;

use std::time::{Duration, Instant};

use common::{config_ini, Node, MEMORY};

/// Waits (bounded) for a stats.log line that contains `needle`.
fn wait_for_line(node: &Node, needle: &str) -> String {
    let path = node.dir().join("log/stats.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "no stats line with {needle}; file:\n{text}");
        // The file is appended once per second; there is nothing to await.
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn lines_carry_the_original_keys() {
    let node = Node::start_with_config(|port| {
        config_ini(port, MEMORY, "").replace("file_name = log/stats.log", "file_name = log/stats.log\ninterval = 1")
    });
    let mut client = node.client().await;
    for key in 0..3u64 {
        client.put("counted", key, b"12345").await.unwrap();
    }
    client.get("counted", 1).await.unwrap();
    let line = wait_for_line(&node, "channel/counted/records:3");
    let date_time = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(date_time.len(), "2026-11-22 21:00:00,000".len(), "{line}");
    let fields: std::collections::HashMap<&str, &str> = line
        .split(' ')
        .skip(2)
        .filter_map(|field| field.split_once(':'))
        .collect();
    for key in [
        "cpu_user", "cpu_system", "vsz", "rss", "mem_percentage", "bytes_sent", "bytes_received",
        "handling_connections", "handling_connections_pcnt", "total_bytes", "total_records",
        "channel/counted/bytes", "request/Put/max_active", "request/Put/handled",
        "request/Put/mean_handled_time_micros", "request/Get/handled_10_micros",
        "action/written/records", "action/read/bytes", "logged_info",
    ] {
        assert!(fields.contains_key(key), "missing {key} in {line}");
    }
    assert_eq!(fields["total_records"], "3");
    assert_eq!(fields["channel/counted/bytes"], (525_376 + 3 * (56 + 5)).to_string());
}
