//! The ring status page in a real browser: headless Chromium (Debian's
//! `chromium`, installed by .ci/run) renders a member's page, and the test
//! checks what it shows: the view, the members with their states and links,
//! the channels, the keys with download links. Downloads and the refusal of
//! anything but reading are checked over plain HTTP.

mod common;

use std::process::Command;

use common::free_port;
use common::ring::{member_with, wait_for_agreement};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The DOM Chromium renders for `url`.
fn rendered(url: &str) -> String {
    let output = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--dump-dom", url])
        .output()
        .expect("Debian's chromium is installed (.ci/run installs it)");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A raw HTTP/1.1 request; the whole response.
async fn http(port: u16, request: &str) -> String {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_shows_the_ring_its_channels_and_keys() {
    // Each member's page is 100 above its peer port (free_port keeps that
    // one free too), the same offset on both, as docs/ring.md asks.
    let (a_peer, b_peer) = (free_port(), free_port());
    let a = member_with(a_peer, None, &format!("status_port = {}\n", a_peer + 100));
    let b = member_with(b_peer, Some(a_peer), &format!("status_port = {}\n", b_peer + 100));
    wait_for_agreement(&[&a, &b], 2).await;
    let mut client = a.client().await;
    for key in 1..=3u64 {
        client.put("pages", key, format!("value {key}").as_bytes()).await.unwrap();
    }

    let page = rendered(&format!("http://127.0.0.1:{}/", a_peer + 100));
    assert!(page.contains(&format!("shoal ring member 127.0.0.1:{a_peer}")), "{page}");
    assert!(page.contains("replicas <b id=\"replicas\">3</b>"), "{page}");
    for peer in [a_peer, b_peer] {
        let row = page.lines().find(|l| l.contains(&format!(">127.0.0.1:{peer}</a>"))).unwrap_or_else(|| panic!("{page}"));
        assert!(row.contains(&format!("href=\"http://127.0.0.1:{}/\"", peer + 100)), "{row}");
        assert!(row.contains("class=\"alive\">alive<"), "{row}");
        assert!(row.contains("<td>512</td>"), "every member has its tokens: {row}");
    }
    let channel_row = page.lines().find(|l| l.contains("/channel/pages")).unwrap_or_else(|| panic!("{page}"));
    assert!(channel_row.contains("<td>3</td>"), "three records: {channel_row}");

    // The other member's page, through the link's address.
    let other = rendered(&format!("http://127.0.0.1:{}/", b_peer + 100));
    assert!(other.contains(&format!("shoal ring member 127.0.0.1:{b_peer}")), "{other}");

    let keys = rendered(&format!("http://127.0.0.1:{}/channel/pages", a_peer + 100));
    for key in 1..=3u64 {
        assert!(keys.contains(&format!("href=\"/record/pages/{key:016x}\"")), "{keys}");
    }

    let download = http(a_peer + 100, &format!("GET /record/pages/{:016x} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2)).await;
    assert!(download.starts_with("HTTP/1.1 200"), "{download}");
    assert!(download.contains("attachment"), "{download}");
    assert!(download.ends_with("value 2"), "{download}");
    let refused = http(a_peer + 100, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    assert!(refused.starts_with("HTTP/1.1 405"), "{refused}");
    let missing = http(a_peer + 100, "GET /record/pages/zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}
