//! The status page of a ring member (`[Ring] status_port`): read-only HTTP,
//! rendered on the server so any browser (or curl) shows it.
//!
//! - `/`: the member's view of the ring (epoch, n, each member's state,
//!   tokens and share of the key space, with a link to its own page),
//!   and the records and bytes per channel.
//! - `/channel/<name>?after=<key>`: the channel's keys, [`KEYS_PER_PAGE`]
//!   at a time in key order, each with a download link.
//! - `/record/<channel>/<key>`: this member's copy of a value, as a file.
//!
//! Every other method is refused (405): the page changes nothing.
//! Other members' pages are linked at their host and peer port plus the
//! same offset as this member's (`status_port - peer_port`): deployments
//! give every member the same offset (docs/ring.md).

use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use bytes::Bytes;
use html_escape::{encode_double_quoted_attribute as attribute, encode_text as text};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use shoal_storage::dht::hash::{format_hex_key, parse_hex_key};
use shoal_storage::dht::ChannelCursor;
use tokio::net::TcpStream;

use super::Ring;
use crate::node::DhtNode;
use crate::service::{Served, Service};

/// Keys listed per page of a channel.
pub const KEYS_PER_PAGE: usize = 500;

/// Browsers and scripts at once; more wait in the backlog.
const PAGE_CONNECTIONS: usize = 64;

/// The status page's service.
pub struct StatusPage {
    ring: Arc<Ring>,
    node: Arc<DhtNode>,
    /// `status_port - peer_port`, to link the other members' pages.
    offset: i32,
    open: AtomicU64,
}

impl StatusPage {
    /// The page of `ring`'s member holding `node`'s records; `offset` is
    /// `status_port - peer_port`.
    pub fn new(ring: Arc<Ring>, node: Arc<DhtNode>, offset: i32) -> Self {
        StatusPage { ring, node, offset, open: AtomicU64::new(0) }
    }
}

impl Service for StatusPage {
    fn serve(&self, socket: TcpStream) -> Served {
        let (ring, node, offset) = (Arc::clone(&self.ring), Arc::clone(&self.node), self.offset);
        Box::pin(async move {
            let respond = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = route(&ring, &node, offset, &request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), respond)
                .await
                .map_err(|e| format!("status page: {e}"))
        })
    }

    fn open_connections(&self) -> &AtomicU64 {
        &self.open
    }

    fn connection_limit(&self) -> usize {
        PAGE_CONNECTIONS
    }
}

type Page = Response<Full<Bytes>>;

fn route(ring: &Ring, node: &DhtNode, offset: i32, request: &Request<Incoming>) -> Page {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "the status page is read-only\n");
    }
    let path = request.uri().path();
    let after = request.uri().query().and_then(|q| q.strip_prefix("after=")).and_then(|k| parse_hex_key(k.as_bytes()));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [""] => html(overview(ring, node, offset)),
        ["channel", channel] => match channel_page(node, channel, after) {
            Some(page) => html(page),
            None => plain(StatusCode::NOT_FOUND, "no such channel\n"),
        },
        ["record", channel, key] => match record(node, channel, key) {
            Some(value) => Response::builder()
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_DISPOSITION, format!("attachment; filename=\"{channel}-{key}\""))
                .body(Full::new(Bytes::from(value)))
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "")),
            None => plain(StatusCode::NOT_FOUND, "no such record\n"),
        },
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn plain(status: StatusCode, body: &'static str) -> Page {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/plain"));
    response
}

fn html(body: String) -> Page {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>shoal ring member</title>\
         <style>body{{font-family:sans-serif}}td,th{{padding:2px 10px;text-align:left}}\
         .alive{{color:green}}.suspect{{color:orange}}.down{{color:red}}</style></head><body>\n{body}</body></html>\n"
    );
    let mut response = Response::new(Full::new(Bytes::from(page)));
    response.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// The link to `member`'s own status page.
fn page_of(member: &str, offset: i32) -> Option<String> {
    let (host, port) = member.rsplit_once(':')?;
    let port = i32::from(port.parse::<u16>().ok()?) + offset;
    u16::try_from(port).ok().map(|port| format!("http://{host}:{port}/"))
}

fn overview(ring: &Ring, node: &DhtNode, offset: i32) -> String {
    let me = ring.me();
    let (placement, n) = ring.placement();
    let shares = placement.shares();
    let (view, health) = {
        let membership = ring.membership();
        (membership.view(), membership.health())
    };
    let mut page = format!(
        "<h1>shoal ring member {}</h1>\n<p id=\"view\">epoch <b id=\"epoch\">{}</b>, replicas <b id=\"replicas\">{n}</b>, \
         {} members, {} record versions kept</p>\n<h2>Members</h2>\n<table id=\"members\">\
         <tr><th>member</th><th>state</th><th>tokens</th><th>primary share</th></tr>\n",
        text(&me),
        view.epoch,
        view.members.len(),
        ring.versions.len()
    );
    for (member, state) in &health {
        let (tokens, share) = shares.get(member.as_str()).copied().unwrap_or((0, 0.0));
        let name = match page_of(member, offset) {
            Some(link) => format!("<a href=\"{}\">{}</a>", attribute(&link), text(member)),
            None => text(member).into_owned(),
        };
        let state = state.as_str();
        let _ = writeln!(
            page,
            "<tr><td>{name}{}</td><td class=\"{state}\">{state}</td><td>{tokens}</td><td>{:.1}%</td></tr>",
            if *member == me { " (this member)" } else { "" },
            share * 100.0
        );
    }
    page.push_str("</table>\n<h2>Channels</h2>\n<table id=\"channels\"><tr><th>channel</th><th>records</th><th>bytes</th></tr>\n");
    for (name, stats) in node.channels.stats() {
        let _ = writeln!(
            page,
            "<tr><td><a href=\"/channel/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            attribute(&name),
            text(&name),
            stats.records,
            stats.value_bytes
        );
    }
    page.push_str("</table>\n");
    page
}

fn channel_page(node: &DhtNode, channel: &str, after: Option<u64>) -> Option<String> {
    let entry = node.channels.get(channel)?;
    let mut keys = Vec::with_capacity(KEYS_PER_PAGE);
    let mut cursor = ChannelCursor::in_key_order(after);
    cursor.next_batch(&entry.storage, |key, value| {
        if keys.len() == KEYS_PER_PAGE {
            return false;
        }
        keys.push((key, value.len()));
        true
    });
    let name = text(channel);
    let mut page = format!("<h1>Channel {name}</h1>\n<p><a href=\"/\">ring status</a></p>\n<table id=\"keys\"><tr><th>key</th><th>bytes</th></tr>\n");
    for (key, len) in &keys {
        let key = String::from_utf8_lossy(&format_hex_key(*key)).into_owned();
        let _ = writeln!(page, "<tr><td><a href=\"/record/{}/{key}\" download>{key}</a></td><td>{len}</td></tr>", attribute(channel));
    }
    page.push_str("</table>\n");
    if let (KEYS_PER_PAGE, Some((last, _))) = (keys.len(), keys.last()) {
        let last = String::from_utf8_lossy(&format_hex_key(*last)).into_owned();
        let _ = writeln!(page, "<p><a id=\"next\" href=\"/channel/{}?after={last}\">next keys</a></p>", attribute(channel));
    }
    Some(page)
}

fn record(node: &DhtNode, channel: &str, key: &str) -> Option<Vec<u8>> {
    let key = parse_hex_key(key.as_bytes())?;
    node.channels.get(channel)?.storage.get(key, <[u8]>::to_vec)
}
